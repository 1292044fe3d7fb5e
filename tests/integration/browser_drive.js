'use strict';
// Drives a running headless Chromium through the DevTools protocol, as a user of the test apps
// would: opens the app, signs in with the login form, waits for the socket's welcome, waits
// for the WebSocket transport, sends a chat message and waits for its ack and its broadcast.
// Prints one JSON object per line for each step; exit status 0 when every step passed.
//
//   node browser_drive.js --devtools ws://127.0.0.1:PORT/devtools/browser/ID --url URL
//        --user NAME --text TEXT [--timeout-ms N]
//
// The page hooks it relies on (window.welcomed, window.chat, window.events, window.socket) are
// described in tests/apps/common/chat.html.

const {DevTools, print, fail, openTab, signIn, untilWebSocket, finish, parseFlags} = require('./devtools');

function parseArgs(argv) {
  const defaults = {devtools: null, url: null, user: 'alice', text: 'hello from chromium',
                    timeoutMs: 60000};
  const args = parseFlags(argv, defaults, {
    '--devtools': ['devtools', 'string'],
    '--url': ['url', 'string'],
    '--timeout-ms': ['timeoutMs', 'number'],
    '--user': ['user', 'string'],
    '--text': ['text', 'string'],
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
  const {page, evaluate, until} = tab;
  await signIn(tab, args.url, args.user);

  // Chats go over the WebSocket, once the Engine.IO transport has been upgraded to it.
  await untilWebSocket(tab);
  print({type: 'upgrade', transport: 'websocket'});

  const ack = await evaluate(`window.chat(${JSON.stringify(args.text)})`);
  print({type: 'ack', ack});
  await until(`window.events.some((e) => e.name === 'chat' && e.args[0] &&
               e.args[0].text === ${JSON.stringify(args.text)})`);
  const events = await evaluate('window.events');
  print({type: 'events', events});

  // Closing the socket first lets its close go through the proxy before the browser exits.
  await evaluate('window.socket.close(), true');
  await page('Page.navigate', {url: 'about:blank'});
  await finish(devtools);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
