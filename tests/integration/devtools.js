'use strict';
// What the browser drivers (browser_drive.js, browser_converse.js, browser_har.js) share: a
// Chrome DevTools protocol connection (commands with ids, answered by id; events by name and
// session, on flattened target sessions), a tab to drive, the test apps' sign-in, and the
// lines they print.

const WebSocket = require('ws');

class DevTools {
  constructor(url) {
    // Network events with response bodies (browser_har.js) can be large.
    this.ws = new WebSocket(url, {perMessageDeflate: false, maxPayload: 256 * 1024 * 1024});
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.id !== undefined) {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!waiter) return;
        if (message.error) waiter.reject(new Error(JSON.stringify(message.error)));
        else waiter.resolve(message.result);
        return;
      }
      for (const listener of [...this.listeners]) listener(message);
    });
  }
  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    const message = {id, method, params};
    if (sessionId) message.sessionId = sessionId;
    this.ws.send(JSON.stringify(message));
    return new Promise((resolve, reject) => this.pending.set(id, {resolve, reject}));
  }
  // Every event, for as long as the connection lives.
  on(listener) { this.listeners.push(listener); }
  // Resolves with the next event of that name (on that session) for which `accept` holds.
  next(method, sessionId, accept = () => true) {
    return new Promise((resolve) => {
      const listener = (message) => {
        if (message.method !== method || message.sessionId !== sessionId) return;
        if (!accept(message.params)) return;
        this.listeners.splice(this.listeners.indexOf(listener), 1);
        resolve(message.params);
      };
      this.listeners.push(listener);
    });
  }
}

// One JSON object per line on stdout: the C++ tests look the steps up by their type.
function print(record) { process.stdout.write(JSON.stringify(record) + '\n'); }

// The last line: what went wrong. Exit status 1.
function fail(message) {
  print({type: 'error', message});
  process.exit(1);
}

// A new tab on a session of its own, with Page and Runtime events on. `page(method, params)`
// sends a command to it; `evaluate(expression)` evaluates in it, awaiting a promise, and
// returns the value; `until(condition)` waits in the page until the expression holds, so that
// a wait ends on the page's own state.
async function openTab(devtools) {
  const {targetId} = await devtools.send('Target.createTarget', {url: 'about:blank'});
  const {sessionId} = await devtools.send('Target.attachToTarget', {targetId, flatten: true});
  const page = (method, params) => devtools.send(method, params, sessionId);
  await page('Page.enable');
  await page('Runtime.enable');
  const evaluate = async (expression) => {
    const result =
        await page('Runtime.evaluate', {expression, awaitPromise: true, returnByValue: true});
    if (result.exceptionDetails) {
      const detail = result.exceptionDetails.exception || result.exceptionDetails;
      throw new Error(detail.description || detail.text || JSON.stringify(detail));
    }
    return result.result.value;
  };
  const until = (condition) => evaluate(`new Promise((resolve) => {
      const check = () => { if (${condition}) resolve(true); else setTimeout(check, 20); };
      check();
    })`);
  return {devtools, sessionId, page, evaluate, until};
}

// Opens the app at `url` and signs in as `user` with the login form, as a user would: a POST,
// a redirect, the chat page, whose socket is welcomed. Prints `page`, `login` and `welcome`.
// The page hooks (window.welcomed, window.connected, ...) are described in
// tests/apps/common/chat.html.
async function signIn(tab, url, user) {
  const {devtools, sessionId, page, evaluate, until} = tab;
  let loaded = devtools.next('Page.loadEventFired', sessionId);
  const navigation = await page('Page.navigate', {url: url + '/'});
  if (navigation.errorText) fail(`navigation to ${url}/ failed: ${navigation.errorText}`);
  await loaded;
  await until(`document.getElementById('login-form') !== null`);
  print({type: 'page', title: await evaluate('document.title')});

  loaded = devtools.next('Page.loadEventFired', sessionId);
  await evaluate(`(() => {
      document.getElementById('username').value = ${JSON.stringify(user)};
      document.getElementById('password').value = 'secret';
      document.getElementById('login').click();
      return true;
    })()`);
  await loaded;
  await until(`typeof window.welcomed !== 'undefined'`);
  print({type: 'login', location: await evaluate('location.href')});
  await evaluate('window.connected');
  print({type: 'welcome', args: [await evaluate('window.welcomed')]});
}

// Waits until the Engine.IO transport has been upgraded to WebSocket.
function untilWebSocket(tab) {
  return tab.until(`window.socket && window.socket.io && window.socket.io.engine &&
                    window.socket.io.engine.transport.name === 'websocket'`);
}

// Prints `done`, closes the browser and exits 0.
async function finish(devtools) {
  print({type: 'done'});
  try {
    await devtools.send('Browser.close');
  } catch (err) {
    // The browser may close the connection before answering.
  }
  process.exit(0);
}

// `--flag value` pairs into `defaults` (a copy): `flags` maps each flag to its field and how
// the value is read ('string', 'number', or 'list' to collect every occurrence); an unknown
// flag or a flag without a value fails the driver.
function parseFlags(argv, defaults, flags) {
  const args = {...defaults};
  for (const [, [name, kind]] of Object.entries(flags)) {
    if (kind === 'list') args[name] = [...(args[name] || [])];
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) fail(`${flag} needs a value`);
    const spec = flags[flag];
    if (!spec) fail(`unknown option ${flag}`);
    const [name, kind] = spec;
    if (kind === 'list') args[name].push(value);
    else args[name] = kind === 'number' ? Number(value) : value;
  }
  return args;
}

module.exports = {DevTools, print, fail, openTab, signIn, untilWebSocket, finish, parseFlags};
