// A raw-socket HTTP/1.1 server for the replayer's hostile-server tests
// (tests/integration/hostile_replay_test.cpp). Raw `net` rather than `http`, so that it can
// send a head a byte at a time, stop half-way or never answer.
//
//   node server.js --port 0 --mode polite|hostile [--big-mb 200] [--slow-ms 3000]
//
// Prints `LISTENING <port>` once it listens. Each response closes its connection. Paths:
//   /a, /b, /c      "ok <path>" at once, in both modes
//   /trickle-body   20-byte body; hostile: the head at once, then the body a byte a second
//   /trickle-head   "hello"; hostile: the head itself a byte every 200 ms
//   /silent         "hello"; hostile: accepts and never answers
//   /head-only      "hello"; hostile: a head declaring 100 bytes, then nothing
//   /slow           "slow"; hostile: after --slow-ms
//   /big            a chunked body of --big-mb MiB (a repeating pattern), in both modes
'use strict';
const net = require('net');

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}
const port = Number(option('--port', '0'));
const hostile = option('--mode', 'polite') === 'hostile';
const bigBytes = Number(option('--big-mb', '200')) * 1024 * 1024;
const slowMs = Number(option('--slow-ms', '3000'));

function head(status, headers) {
  let text = `HTTP/1.1 ${status} OK\r\n`;
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`;
  return text + 'Connection: close\r\n\r\n';
}

function plain(body) {
  return head(200, {'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body)}) +
         body;
}

// Writes `text` a byte every `ms`, while the client is still there.
function trickle(socket, text, ms, done) {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) {
      clearInterval(timer);
      if (!socket.destroyed && done) done();
      return;
    }
    socket.write(text[i++]);
  }, ms);
  socket.on('close', () => clearInterval(timer));
}

// The chunked big body: 64 KiB chunks of a repeating pattern, written as fast as the client
// reads (backpressure honoured).
function big(socket) {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; ++i) chunk[i] = 97 + (i % 26);
  const frame = Buffer.concat(
      [Buffer.from(chunk.length.toString(16) + '\r\n'), chunk, Buffer.from('\r\n')]);
  socket.write(head(200, {'Content-Type': 'application/octet-stream',
                          'Transfer-Encoding': 'chunked'}));
  let left = bigBytes / chunk.length;
  const pump = () => {
    while (left > 0 && !socket.destroyed) {
      --left;
      if (!socket.write(frame)) return socket.once('drain', pump);
    }
    if (!socket.destroyed) socket.end('0\r\n\r\n');
  };
  pump();
}

function answer(socket, path) {
  switch (path) {
    case '/trickle-body': {
      const body = 'abcdefghijklmnopqrst';
      if (!hostile) return socket.end(plain(body));
      socket.write(head(200, {'Content-Type': 'text/plain', 'Content-Length': body.length}));
      return trickle(socket, body, 1000, () => socket.end());
    }
    case '/trickle-head':
      if (!hostile) return socket.end(plain('hello'));
      return trickle(socket, plain('hello'), 200, () => socket.end());
    case '/silent':
      if (!hostile) return socket.end(plain('hello'));
      return;  // never answers
    case '/head-only':
      if (!hostile) return socket.end(plain('hello'));
      return socket.write(head(200, {'Content-Type': 'text/plain', 'Content-Length': 100}));
    case '/slow':
      if (!hostile) return socket.end(plain('slow'));
      setTimeout(() => socket.destroyed || socket.end(plain('slow')), slowMs);
      return;
    case '/big':
      return big(socket);
    default:
      return socket.end(plain('ok ' + path));
  }
}

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  let buffered = '';
  const onData = (data) => {
    buffered += data.toString('latin1');
    const end = buffered.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.removeListener('data', onData);
    const target = buffered.split(' ')[1] || '/';
    answer(socket, target.split('?')[0]);
  };
  socket.on('data', onData);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
