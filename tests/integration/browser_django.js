'use strict';
// Drives a running headless Chromium through the DevTools protocol as a user of the Django +
// Channels chat app (tests/apps/django_channels): opens the chat room, which sends a signed-out
// user to Django's login form; signs in with that form (its csrfmiddlewaretoken field and the
// csrftoken cookie go with it, as the browser sends them); lands back in the room, whose own
// script joins the room's WebSocket, says hello and posts a read receipt (AJAX with
// X-CSRFToken); awaits the page's `window.done`, then navigates away, which closes the
// WebSocket as a user's leaving does, and closes the browser.
// Prints one JSON object per line: `page`, `login`, `result` (what window.done resolved
// with), `left`, `done`; exit status 0 when every step passed.
//
//   node browser_django.js --devtools ws://127.0.0.1:PORT/devtools/browser/ID --url ORIGIN
//        [--room lobby] [--user alice] [--timeout-ms N]

const {DevTools, print, fail, openTab, finish, parseFlags} = require('./devtools');

function parseArgs(argv) {
  const args = parseFlags(argv, {devtools: null, url: null, room: 'lobby', user: 'alice',
                                 timeoutMs: 60000}, {
    '--devtools': ['devtools', 'string'],
    '--url': ['url', 'string'],
    '--room': ['room', 'string'],
    '--user': ['user', 'string'],
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
  const room = `${args.url}/chat/${args.room}/`;
  let loaded = dt.next('Page.loadEventFired', sessionId);
  const navigation = await page('Page.navigate', {url: room});
  if (navigation.errorText) fail(`navigation to ${room} failed: ${navigation.errorText}`);
  await loaded;
  await until(`document.getElementById('login-form') !== null`);
  print({type: 'page', title: await evaluate('document.title'),
         location: await evaluate('location.href')});

  loaded = dt.next('Page.loadEventFired', sessionId);
  await evaluate(`(() => {
      document.getElementById('id_username').value = ${JSON.stringify(args.user)};
      document.getElementById('id_password').value = 'secret';
      document.getElementById('login').click();
      return true;
    })()`);
  await loaded;
  await until(`typeof window.done !== 'undefined'`);
  print({type: 'login', location: await evaluate('location.href'),
         title: await evaluate('document.title')});

  let value;
  try {
    value = await evaluate('window.done');
  } catch (err) {
    fail(`window.done rejected: ${err.message}; page status: ` +
         await evaluate(`(document.getElementById('status') || {}).textContent`));
  }
  print({type: 'result', value});

  // The user leaves the page: the browser closes the room's WebSocket (1001).
  loaded = dt.next('Page.loadEventFired', sessionId);
  await page('Page.navigate', {url: 'about:blank'});
  await loaded;
  print({type: 'left'});
  await finish(devtools);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
