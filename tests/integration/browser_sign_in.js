'use strict';
// Drives a running headless Chromium through the DevTools protocol as a user of an app whose
// sign-in page has the usual form (#login-form, #username, #password, #login; see
// devtools.js signIn) and whose signed-in page sets the usual hooks (window.connected,
// window.welcomed) and `window.done`, a promise of what the page did (the express_helmet and
// inline_state apps): signs in, awaits window.done, then leaves the page as a user does, which
// closes its socket, and closes the browser. Prints one JSON object per line: `page`, `login`,
// `welcome`, `result` (what window.done resolved with), `left`, `done`; exit status 0 when
// every step passed.
//
//   node browser_sign_in.js --devtools ws://127.0.0.1:PORT/devtools/browser/ID
//        --url ORIGIN [--user NAME] [--timeout-ms N]

const {DevTools, print, fail, openTab, signIn, finish, parseFlags} = require('./devtools');

async function main() {
  const args = parseFlags(process.argv.slice(2),
                          {devtools: null, url: null, user: 'alice', timeoutMs: 60000}, {
                            '--devtools': ['devtools', 'string'],
                            '--url': ['url', 'string'],
                            '--user': ['user', 'string'],
                            '--timeout-ms': ['timeoutMs', 'number'],
                          });
  if (!args.devtools || !args.url) fail('--devtools and --url are required');
  setTimeout(() => fail('timed out'), args.timeoutMs).unref();
  const devtools = new DevTools(args.devtools);
  await devtools.opened;

  const tab = await openTab(devtools);
  await signIn(tab, args.url, args.user);
  let value;
  try {
    value = await tab.evaluate('window.done');
  } catch (err) {
    fail(`window.done rejected: ${err.message}; page status: ` +
         await tab.evaluate(`(document.getElementById('status') || {}).textContent`));
  }
  print({type: 'result', value});

  // The user leaves the page: the browser closes the socket's WebSocket (1001).
  const loaded = devtools.next('Page.loadEventFired', tab.sessionId);
  await tab.page('Page.navigate', {url: 'about:blank'});
  await loaded;
  print({type: 'left'});
  await finish(devtools);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
