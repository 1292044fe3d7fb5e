'use strict';
// A plain Node HTTP + WebSocket server for the relay tests, and a WebSocket client for it.
//
//   node echo_app.js serve               prints `LISTENING <port>`; exits on SIGTERM
//     GET  /big?n=N    N bytes of 'x', streamed in 64 KiB writes (chunked: no Content-Length)
//     POST /echo       the request body streamed back as it arrives (chunked); Node answers
//                      `Expect: 100-continue` with a 100 before the body is sent
//     GET  /ws         a WebSocket echo with permessage-deflate on for every message
//   node echo_app.js ws-client URL TEXT...
//                    connects to URL with permessage-deflate offered, sends each TEXT, waits
//                    for each echo, closes with code 1000 and prints one JSON line per event
//
// Streaming both ways is the point: neither side holds a whole body.

const http = require('node:http');
const WebSocket = require('ws');

function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'GET' && url.pathname === '/big') {
      let left = Number(url.searchParams.get('n') || 0);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      res.writeHead(200, {'content-type': 'application/octet-stream'});
      const pump = () => {
        while (left > 0) {
          const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= piece.length;
          if (!res.write(piece)) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/echo') {
      res.writeHead(200, {'content-type': 'application/octet-stream'});
      req.pipe(res);
      return;
    }
    res.writeHead(404, {'content-type': 'text/plain'});
    res.end('not found\n');
  });
  const wss = new WebSocket.WebSocketServer({
    server,
    path: '/ws',
    perMessageDeflate: {threshold: 0},
  });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, {binary: isBinary}));
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${server.address().port}\n`);
  });
  const stop = () => {
    for (const client of wss.clients) client.terminate();
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function wsClient(url, texts) {
  const print = (record) => process.stdout.write(JSON.stringify(record) + '\n');
  const socket = new WebSocket(url, {perMessageDeflate: {threshold: 0}});
  const timer = setTimeout(() => {
    print({type: 'error', message: 'timed out'});
    process.exit(1);
  }, 20000);
  let next = 0;
  socket.on('open', () => {
    print({type: 'open', extensions: socket.extensions});
    socket.send(texts[next]);
  });
  socket.on('message', (data) => {
    print({type: 'echo', text: data.toString()});
    if (++next < texts.length) socket.send(texts[next]);
    else socket.close(1000, 'done');
  });
  socket.on('close', (code) => {
    clearTimeout(timer);
    print({type: 'close', code});
    process.exit(next === texts.length ? 0 : 1);
  });
  socket.on('error', (err) => {
    print({type: 'error', message: err.message});
    process.exit(1);
  });
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'serve') serve();
else if (mode === 'ws-client' && rest.length >= 2) wsClient(rest[0], rest.slice(1));
else {
  process.stderr.write('usage: echo_app.js serve | ws-client URL TEXT...\n');
  process.exit(2);
}
