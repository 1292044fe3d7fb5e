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

const {DevTools} = require('./devtools');

function parseArgs(argv) {
  const args = {devtools: null, url: null, user: 'alice', text: 'hello from chromium',
                timeoutMs: 60000};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) fail(`${flag} needs a value`);
    if (flag === '--devtools') args.devtools = value;
    else if (flag === '--url') args.url = value;
    else if (flag === '--user') args.user = value;
    else if (flag === '--text') args.text = value;
    else if (flag === '--timeout-ms') args.timeoutMs = Number(value);
    else fail(`unknown option ${flag}`);
  }
  if (!args.devtools || !args.url) fail('--devtools and --url are required');
  return args;
}

function print(record) { process.stdout.write(JSON.stringify(record) + '\n'); }

function fail(message) {
  print({type: 'error', message});
  process.exit(1);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  setTimeout(() => fail('timed out'), args.timeoutMs).unref();
  const devtools = new DevTools(args.devtools);
  await devtools.opened;

  const {targetId} = await devtools.send('Target.createTarget', {url: 'about:blank'});
  const {sessionId} = await devtools.send('Target.attachToTarget', {targetId, flatten: true});
  const page = (method, params) => devtools.send(method, params, sessionId);
  await page('Page.enable');
  await page('Runtime.enable');

  // Evaluates an expression in the page, awaiting a promise, and returns its value.
  const evaluate = async (expression) => {
    const result = await page('Runtime.evaluate',
                              {expression, awaitPromise: true, returnByValue: true});
    if (result.exceptionDetails) {
      const detail = result.exceptionDetails.exception || result.exceptionDetails;
      throw new Error(detail.description || detail.text || JSON.stringify(detail));
    }
    return result.result.value;
  };
  // Waits in the page until `condition` (an expression) holds.
  const until = (condition) => evaluate(`new Promise((resolve) => {
      const check = () => { if (${condition}) resolve(true); else setTimeout(check, 20); };
      check();
    })`);

  // The login page.
  let loaded = devtools.next('Page.loadEventFired', sessionId);
  const navigation = await page('Page.navigate', {url: args.url + '/'});
  if (navigation.errorText) fail(`navigation to ${args.url}/ failed: ${navigation.errorText}`);
  await loaded;
  await until(`document.getElementById('login-form') !== null`);
  print({type: 'page', title: await evaluate('document.title')});

  // Sign in with the form, as a user would: a POST, a redirect, the chat page.
  loaded = devtools.next('Page.loadEventFired', sessionId);
  await evaluate(`(() => {
      document.getElementById('username').value = ${JSON.stringify(args.user)};
      document.getElementById('password').value = 'secret';
      document.getElementById('login').click();
      return true;
    })()`);
  await loaded;
  await until(`typeof window.welcomed !== 'undefined'`);
  print({type: 'login', location: await evaluate('location.href')});

  await evaluate('window.connected');
  const welcome = await evaluate('window.welcomed');
  print({type: 'welcome', args: [welcome]});

  // Chats go over the WebSocket, once the Engine.IO transport has been upgraded to it.
  await until(`window.socket && window.socket.io && window.socket.io.engine &&
               window.socket.io.engine.transport.name === 'websocket'`);
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
  print({type: 'done'});
  try {
    await devtools.send('Browser.close');
  } catch (err) {
    // The browser may close the connection before answering.
  }
  process.exit(0);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
