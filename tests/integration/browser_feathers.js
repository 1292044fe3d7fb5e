'use strict';
// Drives a running headless Chromium through the DevTools protocol as a user of the Feathers
// chat (tests/apps/feathers): opens the chat page, whose script signs up, logs in, loads the
// messages and sends two, awaits the page's `window.done`; then, unless --visits 1, opens the
// page again (a reload: a new socket, re-authenticated with the JWT the first visit stored)
// and awaits `window.done` again; then leaves the page (navigates away, which closes the
// socket) and closes the browser. Prints one JSON object per line: `page`, `result` (per visit:
// the value window.done resolved with), `left`, `done`; exit status 0 when every step passed.
//
//   node browser_feathers.js --devtools ws://127.0.0.1:PORT/devtools/browser/ID --url URL
//        [--visits 1|2] [--timeout-ms N]

const {DevTools, print, fail, openTab, finish, parseFlags} = require('./devtools');

function parseArgs(argv) {
  const args = parseFlags(argv, {devtools: null, url: null, visits: 2, timeoutMs: 60000}, {
    '--devtools': ['devtools', 'string'],
    '--url': ['url', 'string'],
    '--visits': ['visits', 'number'],
    '--timeout-ms': ['timeoutMs', 'number'],
  });
  if (!args.devtools || !args.url) fail('--devtools and --url are required');
  if (args.visits !== 1 && args.visits !== 2) fail('--visits must be 1 or 2');
  return args;
}

// Opens `url` in the tab and resolves with what the page's window.done resolved with.
async function visit(tab, url) {
  const {devtools, sessionId, page, evaluate, until} = tab;
  const loaded = devtools.next('Page.loadEventFired', sessionId);
  const navigation = await page('Page.navigate', {url});
  if (navigation.errorText) fail(`navigation to ${url} failed: ${navigation.errorText}`);
  await loaded;
  await until(`typeof window.done !== 'undefined'`);
  print({type: 'page', title: await evaluate('document.title')});
  try {
    return await evaluate('window.done');
  } catch (err) {
    fail(`window.done rejected: ${err.message}; page status: ` +
         await evaluate(`(document.getElementById('status') || {}).textContent`));
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  setTimeout(() => fail('timed out'), args.timeoutMs).unref();
  const devtools = new DevTools(args.devtools);
  await devtools.opened;

  const tab = await openTab(devtools);
  for (let n = 1; n <= args.visits; n++) print({type: 'result', visit: n, value: await visit(tab, args.url)});

  // The user leaves the page: the browser closes the socket.
  const loaded = devtools.next('Page.loadEventFired', tab.sessionId);
  await tab.page('Page.navigate', {url: 'about:blank'});
  await loaded;
  print({type: 'left'});
  await finish(devtools);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
