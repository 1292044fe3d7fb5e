'use strict';
// The anchor of the replay CPU benchmark (bench/replay_cpu.sh): what a Node script with the real
// socket.io-client 4 spends on the session that tests/apps/clients/chat_client.js records. Each
// session signs in with a POST /login form (its own connection), keeps the session cookie,
// connects the socket with it on long-polling, waits for `welcome` and for the upgrade to
// WebSocket, emits two `chat` events with acks, waits for the acks and its broadcasts, and
// disconnects. Sessions run `--concurrency` at a time until `--sessions` have run.
//
//   node bench/replay_anchor.js --url http://127.0.0.1:PORT [--sessions 300] [--concurrency 10]
//        [--user alice] [--chats 2] [--timeout-ms 30000]
//
// Prints one JSON line: sessions done and failed, the process's CPU (process.cpuUsage(), user +
// system) over the sessions only and over the whole process including start-up, in µs, and the
// wall time. Exit status: 0 when every session completed, 1 otherwise.

const http = require('node:http');
const {io} = require('socket.io-client');

function parseArgs(argv) {
  const args =
      {url: null, sessions: 300, concurrency: 10, user: 'alice', chats: 2, timeoutMs: 30000};
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
    else
      fail(`unknown option ${flag}`);
  }
  if (!args.url) fail('--url is required');
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

// One session; resolves when the acks and the broadcasts of its chats have come, rejects on a
// refusal, an early disconnect or the timeout.
async function session(args) {
  const cookie = await signIn(args);
  return new Promise((resolve, reject) => {
    const socket = io(args.url, {
      transports: ['polling', 'websocket'],
      forceNew: true,
      reconnection: false,
      extraHeaders: {cookie},
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
    const finishIfDone = () => {
      if (chatting && acksLeft === 0 && expected.every((text) => seen.has(text))) end(null);
    };
    const startChatting = () => {
      if (chatting || !welcomed || !upgraded) return;
      chatting = true;
      for (let n = 1; n <= args.chats; n++) {
        const text = `hello ${n} from ${args.user}`;
        expected.push(text);
        socket.emit('chat', {text}, () => {
          acksLeft--;
          finishIfDone();
        });
      }
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
