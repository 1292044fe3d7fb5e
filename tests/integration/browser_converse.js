'use strict';
// Drives a running headless Chromium through the DevTools protocol as one of two users who
// talk to each other: opens the app, signs in with the login form, waits for the socket's
// welcome and for the WebSocket transport, says `ready`, then either speaks first and waits
// for the peer's answer (`--order first`), or waits for the peer's message and answers it
// (`--order reply`). Every message is sent as a chat with an ack and comes back to both users
// as a broadcast. Prints one JSON object per line for each step; exit status 0 when every
// step passed.
//
//   node browser_converse.js --devtools ws://127.0.0.1:PORT/devtools/browser/ID --url URL
//        --user NAME --text TEXT --peer OTHER --peer-text TEXT --order first|reply
//        [--timeout-ms N]
//
// A test starts the `first` user only once the `reply` user printed `ready`, and the `reply`
// user speaks only once the first message reached it: each broadcast has a listener waiting
// for it, in the recording and in its replay. The page hooks it relies on (window.welcomed,
// window.chat, window.events, window.socket) are described in tests/apps/common/chat.html.

const {DevTools, print, fail, openTab, signIn, untilWebSocket, finish, parseFlags} = require('./devtools');

function parseArgs(argv) {
  const args = parseFlags(argv, {devtools: null, url: null, user: null, text: null, peer: null,
                                 peerText: null, order: null, timeoutMs: 60000}, {
    '--devtools': ['devtools', 'string'],
    '--url': ['url', 'string'],
    '--timeout-ms': ['timeoutMs', 'number'],
    '--user': ['user', 'string'],
    '--text': ['text', 'string'],
    '--peer': ['peer', 'string'],
    '--peer-text': ['peerText', 'string'],
    '--order': ['order', 'string'],
  });
  const required = {devtools: '--devtools', url: '--url', user: '--user', text: '--text',
                    peer: '--peer', peerText: '--peer-text', order: '--order'};
  for (const [name, flag] of Object.entries(required)) {
    if (args[name] === null) fail(`${flag} is required`);
  }
  if (args.order !== 'first' && args.order !== 'reply') fail('--order is first or reply');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  setTimeout(() => fail('timed out'), args.timeoutMs).unref();
  const devtools = new DevTools(args.devtools);
  await devtools.opened;

  const tab = await openTab(devtools);
  const {page, evaluate, until} = tab;
  // Waits until a chat broadcast from `from` with `text` has reached this page.
  const received = (from, text) => until(`window.events.some((e) => e.name === 'chat' &&
      e.args[0] && e.args[0].from === ${JSON.stringify(from)} &&
      e.args[0].text === ${JSON.stringify(text)})`);

  await signIn(tab, args.url, args.user);
  await untilWebSocket(tab);
  print({type: 'ready', transport: 'websocket'});

  const speak = async () => {
    const ack = await evaluate(`window.chat(${JSON.stringify(args.text)})`);
    print({type: 'ack', ack});
    await received(args.user, args.text);
  };
  if (args.order === 'reply') {
    await received(args.peer, args.peerText);
    print({type: 'heard', from: args.peer});
    await speak();
  } else {
    await speak();
    await received(args.peer, args.peerText);
    print({type: 'heard', from: args.peer});
  }
  print({type: 'events', events: await evaluate('window.events')});

  // Closing the socket first lets its close go through the proxy before the browser exits.
  await evaluate('window.socket.close(), true');
  await page('Page.navigate', {url: 'about:blank'});
  await finish(devtools);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
