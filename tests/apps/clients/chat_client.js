'use strict';
// A scripted user of the test apps with the real Socket.IO client libraries: signs in over
// node:http, keeps the session cookie, connects the socket with it, waits for the welcome,
// sends chat messages with acks, waits for their broadcasts, and prints one JSON object per
// line for everything it saw. Exit status: 0 done, 1 failed, 3 the socket was refused.
//
//   node chat_client.js --url http://127.0.0.1:PORT [--flavor v4|v2|v09] [--user alice]
//        [--auth cookie|token|query] [--transport upgrade|polling|websocket] [--chats N]
//        [--text 'hello {n} from {user}'] [--binary] [--no-login] [--no-welcome] [--insecure]
//        [--timeout-ms N]
//
// --flavor picks the client library: v4 = socket.io-client 4 (the express_v4 and flask apps),
// v2 = socket.io-client 2.5, v09 = socket.io-client 0.9.16. With --transport upgrade (the
// default) the client starts on long-polling and the chat messages are sent once the transport
// has been upgraded to WebSocket, so both transports carry traffic. --binary also sends a `bin`
// event holding the bytes 01 02 03 ff (before the chats) and waits for its ack. --no-welcome chats
// as soon as the socket is connected (for an app that sends no welcome).

const http = require('node:http');
const https = require('node:https');

function parseArgs(argv) {
  const args = {
    url: null,
    flavor: 'v4',
    user: 'alice',
    auth: 'cookie',
    transport: 'upgrade',
    chats: 2,
    text: 'hello {n} from {user}',
    login: true,
    welcome: true,
    binary: false,
    insecure: false,
    timeoutMs: 30000,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fatal(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--url')
      args.url = next().replace(/\/$/, '');
    else if (flag === '--flavor')
      args.flavor = next();
    else if (flag === '--user')
      args.user = next();
    else if (flag === '--auth')
      args.auth = next();
    else if (flag === '--transport')
      args.transport = next();
    else if (flag === '--chats')
      args.chats = Number(next());
    else if (flag === '--text')
      args.text = next();
    else if (flag === '--no-login')
      args.login = false;
    else if (flag === '--binary')
      args.binary = true;
    else if (flag === '--no-welcome')
      args.welcome = false;
    else if (flag === '--insecure')
      args.insecure = true;
    else if (flag === '--timeout-ms')
      args.timeoutMs = Number(next());
    else
      fatal(`unknown option ${flag}`);
  }
  if (!args.url) fatal('--url is required');
  if (!['v4', 'v2', 'v09'].includes(args.flavor)) fatal('--flavor must be v4, v2 or v09');
  if (!['cookie', 'token', 'query'].includes(args.auth)) fatal('bad --auth');
  if (!['upgrade', 'polling', 'websocket'].includes(args.transport)) fatal('bad --transport');
  return args;
}

function print(record) { process.stdout.write(JSON.stringify(record) + '\n'); }

function fatal(message, status = 1) {
  print({type: 'error', message});
  process.exit(status);
}

// One HTTP request; resolves with {status, headers, body}.
function request(args, method, path, {body, cookie} = {}) {
  const url = new URL(args.url + path);
  const module = url.protocol === 'https:' ? https : http;
  const headers = {};
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const req = module.request(
        url, {method, headers, rejectUnauthorized: !args.insecure, agent: false}, (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => resolve({
                          status: res.statusCode,
                          headers: res.headers,
                          body: Buffer.concat(chunks).toString('utf8'),
                        }));
        });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// The name=value pairs of every Set-Cookie, as a Cookie header (a one-origin cookie jar).
function cookieHeader(setCookies, jar) {
  for (const line of setCookies || []) {
    const pair = line.split(';')[0];
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
}

async function signIn(args) {
  const jar = new Map();
  const form = `username=${encodeURIComponent(args.user)}&password=secret`;
  const login = await request(args, 'POST', '/login', {body: form});
  const cookie = cookieHeader(login.headers['set-cookie'], jar);
  print({type: 'login', status: login.status, location: login.headers.location || null});
  if (login.status >= 400) fatal(`login answered ${login.status}`);
  let token = null;
  if (args.auth !== 'cookie') {
    const answer = await request(args, 'GET', '/api/token', {cookie});
    if (answer.status !== 200) fatal(`/api/token answered ${answer.status}`);
    token = JSON.parse(answer.body).token;
    print({type: 'token', length: token.length});
  }
  return {cookie, token};
}

function transportsFor(args) {
  if (args.transport === 'polling') return ['polling'];
  if (args.transport === 'websocket') return ['websocket'];
  return ['polling', 'websocket'];
}

// socket.io-client 4 and 2 take the same options for what matters here.
function connectModern(args, session) {
  const lib = args.flavor === 'v4' ? require('socket.io-client') : require('socket.io-client-v2');
  const connect = lib.io || lib;
  const options = {
    transports: transportsFor(args),
    forceNew: true,
    reconnection: false,
    rejectUnauthorized: !args.insecure,
  };
  if (session.cookie) options.extraHeaders = {cookie: session.cookie};
  if (args.auth === 'token') options.auth = {token: session.token};
  if (args.auth === 'query') options.query = {token: session.token};
  const socket = connect(args.url, options);
  return {
    socket,
    engine: () => socket.io.engine,
    describe: () => ({id: socket.id, transport: socket.io.engine.transport.name}),
    close: () => socket.close(),
    refusedEvents: ['connect_error', 'error'],
  };
}

// socket.io-client 0.9 in Node sends its requests through the `xmlhttprequest` shim, which
// refuses to set a Cookie header (as browsers do, where the cookie jar adds it). This adds
// the session cookie at the http.request level for requests to the app, as a browser's cookie
// jar would.
function addCookieToRequests(args, cookie) {
  const target = new URL(args.url);
  for (const module of [http, https]) {
    const original = module.request;
    module.request = function(options, ...rest) {
      if (options && typeof options === 'object' && !(options instanceof URL)) {
        const host = options.hostname || options.host;
        if (cookie && (host === target.hostname || host === target.host)) {
          options.headers = Object.assign({}, options.headers, {cookie});
        }
      }
      return original.call(this, options, ...rest);
    };
  }
}

function connect09(args, session) {
  addCookieToRequests(args, session.cookie);
  const io = require('socket.io-client-v09');
  // The client's option merge is index-wise on arrays (a `transports` option of one element
  // only replaces the first default), so the list is set where the defaults live.
  io.transports = args.transport === 'polling' ? ['xhr-polling'] : ['websocket'];
  const options = {
    'force new connection': true,
    'reconnect': false,
  };
  if (args.auth === 'query') options.query = `token=${encodeURIComponent(session.token)}`;
  const socket = io.connect(args.url, options);
  return {
    socket,
    engine: () => null,
    // 0.9 has one session id (the handshake's) and no socket id of its own.
    describe: () => ({id: socket.socket.sessionid, transport: socket.socket.transport.name}),
    close: () => socket.disconnect(),
    refusedEvents: ['error'],
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const session = args.login ? await signIn(args) : {cookie: null, token: null};
  const client = args.flavor === 'v09' ? connect09(args, session) : connectModern(args, session);
  const socket = client.socket;

  const timer = setTimeout(() => fatal('timed out'), args.timeoutMs);
  const expectedTexts = [];
  const seenTexts = new Set();
  let acksLeft = args.chats;
  let welcomed = false;
  let upgraded = args.transport !== 'upgrade';
  let chatting = false;
  let finished = false;

  const finishIfDone = () => {
    if (finished || !chatting || acksLeft > 0) return;
    if (!expectedTexts.every((text) => seenTexts.has(text))) return;
    finished = true;
    clearTimeout(timer);
    print({type: 'done'});
    client.close();
    // Let the close frame or the closing poll go out before exiting.
    setTimeout(() => process.exit(0), 100);
  };

  const startChatting = () => {
    if (chatting || !welcomed || !upgraded) return;
    chatting = true;
    if (args.binary) {
      acksLeft++;
      socket.emit('bin', Buffer.from([1, 2, 3, 255]), (ack) => {
        const echo = ack && ack.echo ? Buffer.from(ack.echo).toString('hex') : null;
        print({type: 'binack', ack: Object.assign({}, ack, {echo})});
        acksLeft--;
        finishIfDone();
      });
    }
    for (let n = 1; n <= args.chats; n++) {
      const text = args.text.split('{n}').join(String(n)).split('{user}').join(args.user);
      expectedTexts.push(text);
      socket.emit('chat', {text}, (ack) => {
        print({type: 'ack', text, ack});
        acksLeft--;
        finishIfDone();
      });
    }
    finishIfDone();
  };

  socket.on('connect', () => {
    const engine = client.engine();
    print(Object.assign({type: 'connect'}, client.describe()));
    if (engine && engine.transport.name === 'websocket') upgraded = true;
    if (engine && !upgraded) {
      engine.once('upgrade', (transport) => {
        print({type: 'upgrade', transport: transport.name});
        upgraded = true;
        startChatting();
      });
    }
    // 0.9 exposes no transport switch; it opens on the transport it was given.
    if (!engine) upgraded = true;
    if (!args.welcome) welcomed = true;
    startChatting();
  });
  for (const name of client.refusedEvents) {
    socket.on(name, (err) => {
      const message = err && err.message ? err.message : String(err);
      print({type: 'refused', event: name, message});
      clearTimeout(timer);
      process.exit(3);
    });
  }
  socket.on('welcome', (payload) => {
    print({type: 'event', name: 'welcome', args: [payload]});
    welcomed = true;
    startChatting();
  });
  socket.on('notice', (payload) => print({type: 'event', name: 'notice', args: [payload]}));
  socket.on('chat', (payload) => {
    print({type: 'event', name: 'chat', args: [payload]});
    if (payload && payload.from === args.user) seenTexts.add(payload.text);
    finishIfDone();
  });
  socket.on('disconnect', (reason) => {
    if (!chatting) fatal(`disconnected before chatting: ${reason}`);
  });
}

main().catch((err) => fatal(err && err.stack ? err.stack : String(err)));
