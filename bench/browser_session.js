'use strict';
// The browser session of the replay CPU benchmark (bench/replay_cpu.sh): drives a running
// headless Chromium through the DevTools protocol (tests/integration/devtools.js) as a user of
// the express_v4 app would: opens the app, signs in with the login form (a POST, a redirect,
// the chat page, its script, the socket on long-polling), waits for the welcome and for the
// upgrade to WebSocket, sends `--chats` chat messages with acks one after the other and waits
// for each ack and broadcast, then closes the socket and the browser. Prints one JSON object
// per line for each step; exit status 0 when every step passed.
//
//   node bench/browser_session.js --devtools ws://127.0.0.1:PORT/devtools/browser/ID
//        --url URL [--user alice] [--chats 2] [--timeout-ms 60000]
//
// The chat texts are `hello N from USER`, as bench/replay_anchor.js sends them.

const path = require('node:path');
const {DevTools, print, fail, openTab, signIn, untilWebSocket, finish, parseFlags} =
    require(path.join(__dirname, '..', 'tests', 'integration', 'devtools'));

function parseArgs(argv) {
  const args = parseFlags(argv, {devtools: null, url: null, user: 'alice', chats: 2,
                                 timeoutMs: 60000}, {
    '--devtools': ['devtools', 'string'],
    '--url': ['url', 'string'],
    '--user': ['user', 'string'],
    '--chats': ['chats', 'number'],
    '--timeout-ms': ['timeoutMs', 'number'],
  });
  if (!args.devtools || !args.url) fail('--devtools and --url are required');
  if (!Number.isInteger(args.chats) || args.chats < 1) fail('--chats must be a positive integer');
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
  await untilWebSocket(tab);
  print({type: 'upgrade', transport: 'websocket'});

  for (let n = 1; n <= args.chats; n++) {
    const text = JSON.stringify(`hello ${n} from ${args.user}`);
    const ack = await evaluate(`window.chat(${text})`);
    if (!ack || ack.ok !== true) fail(`chat ${n} was not acknowledged: ${JSON.stringify(ack)}`);
    print({type: 'ack', n, ack});
    await until(`window.events.some((e) => e.name === 'chat' && e.args[0] &&
                 e.args[0].text === ${text})`);
  }

  // Closing the socket first lets its close go through the proxy before the browser exits.
  await evaluate('window.socket.close(), true');
  await page('Page.navigate', {url: 'about:blank'});
  await finish(devtools);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
