'use strict';
// The anchor of the replay CPU benchmark (bench/replay_cpu.sh): what a Node script with the real
// socket.io-client 4 spends on the session that tests/apps/clients/chat_client.js records. Each
// session signs in with a POST /login form (its own connection), keeps the session cookie,
// connects the socket with it on long-polling, waits for `welcome` and for the upgrade to
// WebSocket, emits two `chat` events with acks, waits for the acks and its broadcasts, and
// disconnects. Sessions run `--concurrency` at a time until `--sessions` have run.
//
//   node bench/replay_anchor.js --url http://127.0.0.1:PORT [--sessions 300] [--concurrency 10]
//        [--user alice] [--chats 2] [--timeout-ms 30000] [--session synthetic|browser]
//
// With `--session browser` each session first does what Chromium does in the recording that
// bench/browser_session.js makes (bench/replay_cpu.sh's browser row), on one keep-alive
// connection pool per session with a browser's request headers: GET / (the login form),
// GET /favicon.ico (404), POST /login (303 and the session cookie), GET / (the chat page),
// GET /socket.io/socket.io.js and GET /api/me with the cookie, every body read and decoded
// (gzip, deflate, br) as a browser or fetch() would, the JSON one parsed; then the socket as
// above. The chats are sent one after the other, each once the previous ack and broadcast came,
// as the browser session does.
//
// Prints one JSON line: sessions done and failed, the process's CPU (process.cpuUsage(), user +
// system) over the sessions only and over the whole process including start-up, in µs, and the
// wall time. Exit status: 0 when every session completed, 1 otherwise.

const http = require('node:http');
const zlib = require('node:zlib');
const {io} = require('socket.io-client');

function parseArgs(argv) {
  const args =
      {url: null, sessions: 300, concurrency: 10, user: 'alice', chats: 2, timeoutMs: 30000,
       session: 'synthetic'};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--url')
      args.url = next().replace(/\/$/, '');
    else if (flag === '--sessions')
      args.sessions = Number(next());
    else if (flag === '--concurrency')
      args.concurrency = Number(next());
    else if (flag === '--user')
      args.user = next();
    else if (flag === '--chats')
      args.chats = Number(next());
    else if (flag === '--timeout-ms')
      args.timeoutMs = Number(next());
    else if (flag === '--session')
      args.session = next();
    else
      fail(`unknown option ${flag}`);
  }
  if (!args.url) fail('--url is required');
  if (args.session !== 'synthetic' && args.session !== 'browser')
    fail('--session is synthetic or browser');
  for (const name of ['sessions', 'concurrency', 'chats', 'timeoutMs']) {
    if (!Number.isInteger(args[name]) || args[name] < 1)
      fail(`--${name} must be a positive integer`);
  }
  return args;
}

function fail(message) {
  process.stdout.write(JSON.stringify({type: 'error', message}) + '\n');
  process.exit(2);
}

// POST /login on a connection of its own (agent: false, as chat_client.js does); resolves with
// the Cookie header made of the name=value pairs of every Set-Cookie.
function signIn(args) {
  const body = `username=${encodeURIComponent(args.user)}&password=secret`;
  const options = {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
    },
  };
  return new Promise((resolve, reject) => {
    const answered = (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode >= 400) return reject(new Error(`login answered ${res.statusCode}`));
        const pairs = (res.headers['set-cookie'] || []).map((line) => line.split(';')[0].trim());
        resolve(pairs.filter((pair) => pair.indexOf('=') > 0).join('; '));
      });
    };
    const req = http.request(`${args.url}/login`, options, answered);
    req.on('error', reject);
    req.end(body);
  });
}

// The request headers Chromium sends (bench/browser_session.js's recording has them all).
const BROWSER_HEADERS = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'HeadlessChrome/156.0.0.0 Safari/537.36',
  'sec-ch-ua': '"Not:A-Brand";v="8", "Chromium";v="156"',
  'sec-ch-ua-mobile': '?0',
  'sec-ch-ua-platform': '"Linux"',
  'accept-encoding': 'gzip, deflate, br',
  'accept-language': 'en-US,en;q=0.9',
};
const NAVIGATE = {
  'accept': 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,' +
      'image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
  'upgrade-insecure-requests': '1',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};

// One request on `agent`; resolves with {status, headers, body} (the body decoded from its
// Content-Encoding, as a string).
function fetchText(args, agent, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${args.url}${path}`, {method, agent, headers}, (res) => {
      const coding = String(res.headers['content-encoding'] || '').trim();
      let stream = res;
      if (coding === 'gzip')
        stream = res.pipe(zlib.createGunzip());
      else if (coding === 'deflate')
        stream = res.pipe(zlib.createInflate());
      else if (coding === 'br')
        stream = res.pipe(zlib.createBrotliDecompress());
      const chunks = [];
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () => resolve({
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// What the browser does before its socket connects; resolves with the Cookie header.
async function browse(args, agent) {
  const referer = `${args.url}/`;
  const page = (extra) => ({...BROWSER_HEADERS, ...NAVIGATE, ...extra});
  const sub = (extra) => ({...BROWSER_HEADERS, 'referer': referer, ...extra});
  const expect = (answer, status, what) => {
    if (answer.status !== status) throw new Error(`${what} answered ${answer.status}`);
    return answer;
  };
  expect(await fetchText(args, agent, 'GET', '/', page({'sec-fetch-site': 'none'})), 200, 'GET /');
  await fetchText(args, agent, 'GET', '/favicon.ico', sub({
    'accept': 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'no-cors',
    'sec-fetch-dest': 'image',
  }));
  const form = `username=${encodeURIComponent(args.user)}&password=secret`;
  const login = expect(await fetchText(args, agent, 'POST', '/login', page({
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': Buffer.byteLength(form),
    'cache-control': 'max-age=0',
    'origin': args.url,
    'referer': referer,
    'sec-fetch-site': 'same-origin',
  }), form), 303, 'POST /login');
  const pairs = (login.headers['set-cookie'] || []).map((line) => line.split(';')[0].trim());
  const cookie = pairs.filter((pair) => pair.indexOf('=') > 0).join('; ');
  expect(await fetchText(args, agent, 'GET', '/', page({
    'cache-control': 'max-age=0',
    'referer': referer,
    'sec-fetch-site': 'same-origin',
    cookie,
  })), 200, 'GET / signed in');
  const script = expect(await fetchText(args, agent, 'GET', '/socket.io/socket.io.js', sub({
    'accept': '*/*',
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'no-cors',
    'sec-fetch-dest': 'script',
    cookie,
  })), 200, 'GET /socket.io/socket.io.js');
  if (script.body.length < 1000) throw new Error('the socket.io client script is too short');
  const me = expect(await fetchText(args, agent, 'GET', '/api/me', sub({
    'accept': '*/*',
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'cors',
    'sec-fetch-dest': 'empty',
    cookie,
  })), 200, 'GET /api/me');
  if (JSON.parse(me.body).username !== args.user) throw new Error('/api/me named another user');
  return cookie;
}

// One session; resolves when the acks and the broadcasts of its chats have come, rejects on a
// refusal, an early disconnect or the timeout.
async function session(args) {
  if (args.session === 'browser') {
    const agent = new http.Agent({keepAlive: true, maxSockets: 6});
    try {
      const cookie = await browse(args, agent);
      return await socketSession(args, cookie, {
        'user-agent': BROWSER_HEADERS['user-agent'],
        'accept-language': BROWSER_HEADERS['accept-language'],
      });
    } finally {
      agent.destroy();
    }
  }
  return socketSession(args, await signIn(args), {});
}

async function socketSession(args, cookie, headers) {
  return new Promise((resolve, reject) => {
    const socket = io(args.url, {
      transports: ['polling', 'websocket'],
      forceNew: true,
      reconnection: false,
      extraHeaders: {...headers, cookie},
    });
    let welcomed = false, upgraded = false, chatting = false, finished = false;
    let acksLeft = args.chats;
    const expected = [];
    const seen = new Set();
    const timer = setTimeout(() => end(new Error('timed out')), args.timeoutMs);
    const end = (err) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      if (err)
        reject(err);
      else
        resolve();
    };
    // The browser session sends its chats one after the other, each once the previous one's
    // ack and broadcast came; the synthetic one sends them all at once.
    const oneByOne = args.session === 'browser';
    let sent = 0;
    const finishIfDone = () => {
      if (!chatting) return;
      const answered = acksLeft === args.chats - sent && expected.every((text) => seen.has(text));
      if (!answered) return;
      if (sent < args.chats)
        sendChat();
      else
        end(null);
    };
    const sendChat = () => {
      sent++;
      const text = `hello ${sent} from ${args.user}`;
      expected.push(text);
      socket.emit('chat', {text}, () => {
        acksLeft--;
        finishIfDone();
      });
    };
    const startChatting = () => {
      if (chatting || !welcomed || !upgraded) return;
      chatting = true;
      if (oneByOne)
        sendChat();
      else
        while (sent < args.chats) sendChat();
    };
    socket.on('connect', () => {
      const engine = socket.io.engine;
      if (engine.transport.name === 'websocket')
        upgraded = true;
      else
        engine.once('upgrade', () => {
          upgraded = true;
          startChatting();
        });
      startChatting();
    });
    socket.on('welcome', () => {
      welcomed = true;
      startChatting();
    });
    socket.on('chat', (payload) => {
      if (payload && payload.from === args.user) seen.add(payload.text);
      finishIfDone();
    });
    socket.on('connect_error', (err) => end(new Error(`refused: ${err && err.message}`)));
    socket.on('disconnect', (reason) => end(new Error(`disconnected: ${reason}`)));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const before = process.cpuUsage();
  const started = process.hrtime.bigint();
  let next = 0, done = 0, failed = 0;
  let firstError = null;
  const worker = async () => {
    while (next < args.sessions) {
      next++;
      try {
        await session(args);
        done++;
      } catch (err) {
        failed++;
        if (!firstError) firstError = String(err && err.message ? err.message : err);
      }
    }
  };
  await Promise.all(Array.from({length: Math.min(args.concurrency, args.sessions)}, worker));
  const sessionsCpu = process.cpuUsage(before);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const totalCpu = process.cpuUsage();  // since the process started
  const us = (cpu) => cpu.user + cpu.system;
  process.stdout.write(JSON.stringify({
    type: 'result',
    sessions: done,
    failed,
    first_error: firstError,
    cpu_us: us(sessionsCpu),
    cpu_user_us: sessionsCpu.user,
    cpu_system_us: sessionsCpu.system,
    process_cpu_us: us(totalCpu),
    wall_ms: Math.round(wallMs),
  }) + '\n');
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
