'use strict';
// Drives a running headless Chromium through the DevTools protocol as a user of one of the
// channel apps (tests/apps/channels): opens the app's page, whose own script signs in and
// does the channel interaction, awaits the page's `window.done`, then leaves the page the way
// a user does (navigates away), which closes its sockets and streams, and closes the browser.
// Prints one JSON object per line: `page`, `result` (the value window.done resolved with),
// `left`, `done`; exit status 0 when every step passed.
//
//   node browser_channels.js --devtools ws://127.0.0.1:PORT/devtools/browser/ID --url URL
//        [--timeout-ms N]

const {DevTools, print, fail, openTab, finish, parseFlags} = require('./devtools');

function parseArgs(argv) {
  const args = parseFlags(argv, {devtools: null, url: null, timeoutMs: 60000}, {
    '--devtools': ['devtools', 'string'],
    '--url': ['url', 'string'],
    '--timeout-ms': ['timeoutMs', 'number'],
  });
  if (!args.devtools || !args.url) fail('--devtools and --url are required');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  setTimeout(() => fail('timed out'), args.timeoutMs).unref();
  const devtools = new DevTools(args.devtools);
  await devtools.opened;

  const tab = await openTab(devtools);
  const {devtools: dt, sessionId, page, evaluate, until} = tab;
  let loaded = dt.next('Page.loadEventFired', sessionId);
  const navigation = await page('Page.navigate', {url: args.url});
  if (navigation.errorText) fail(`navigation to ${args.url} failed: ${navigation.errorText}`);
  await loaded;
  await until(`typeof window.done !== 'undefined'`);
  print({type: 'page', title: await evaluate('document.title')});

  let value;
  try {
    value = await evaluate('window.done');
  } catch (err) {
    fail(`window.done rejected: ${err.message}; page status: ` +
         await evaluate(`(document.getElementById('status') || {}).textContent`));
  }
  print({type: 'result', value});

  // The user leaves the page: the browser closes its WebSockets (1001) and event streams.
  loaded = dt.next('Page.loadEventFired', sessionId);
  await page('Page.navigate', {url: 'about:blank'});
  await loaded;
  print({type: 'left'});
  await finish(devtools);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
