'use strict';
// Express behind the `compression` middleware (threshold 0: every compressible response, the
// HTML page and each JSON answer, is gzip'd for a browser that accepts gzip), with Socket.IO 4
// kept on long-polling. Socket.IO's requests bypass Express; there Engine.IO's own
// httpCompression (threshold 1 KiB) gzips the polling response that carries the large
// `catalog` event.
//
//   GET  /                    the page (page.html)
//   POST /login               {username} → {username}, session cookie
//   GET  /api/me              {username, theme}
//   GET  /socket.io/socket.io.js   the browser client (served by socket.io)
//   socket                    welcome {username} and catalog {products: [...]} (a few KiB) on
//                             connect; chat {text} + ack → broadcast chat {from, text}, ack
//                             {ok: true, id}. Sockets without a session are refused.
//
// VARIANT=changed: the stock of product 5 of `catalog` is 1 instead of 0.

const compression = require('compression');
const http = require('node:http');
const {Server} = require('socket.io');
const common = require('../common');

const options = common.parseOptions();

// The same every run: 30 products, about 3 KiB of JSON.
function catalog() {
  const kinds = ['teapot', 'kettle', 'mug', 'saucer', 'spoon'];
  const products = [];
  for (let i = 0; i < 30; i++) {
    products.push({
      sku: `SKU-${1000 + i}`,
      title: `${kinds[i % kinds.length]} model ${i}, stoneware`,
      stock: i % 4 === 1 ? 0 : 3 * i,
      price: {amount: 500 + 25 * i, currency: 'EUR'},
    });
  }
  if (options.changed) products[5].stock = 1;
  return {products};
}

// compression 1.8 prefers brotli when a request offers it, and Chromium offers it even on
// http://127.0.0.1; this app serves gzip, as many do, so the offer is narrowed to what it
// serves before the middleware negotiates.
function gzipOrDeflateOnly(req, res, next) {
  const offered = String(req.headers['accept-encoding'] || '');
  req.headers['accept-encoding'] =
      offered.split(',').filter((coding) => /^\s*(gzip|deflate)\b/i.test(coding)).join(',');
  next();
}

const sessions = common.cookieSessions();
const app = common.sessionApp(
    __dirname, sessions, [gzipOrDeflateOnly, compression({threshold: 0})]);

app.get('/api/me', (req, res) => {
  const username = req.session && req.session.username;
  if (!username) return res.status(401).json({error: 'not signed in'});
  res.json({username, theme: 'dark'});
});

const server = http.createServer(app);
const io = new Server(server);
common.requireSessionV4(io, sessions);

const chat = common.chatRoom(io);
io.on('connection', (socket) => {
  const username = socket.data.username;
  socket.emit('welcome', {username});
  socket.emit('catalog', catalog());
  chat(socket, username);
});

common.serve(server, options.port, () => io.close());
