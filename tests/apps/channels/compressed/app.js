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

const express = require('express');
const compression = require('compression');
const session = require('express-session');
const http = require('node:http');
const crypto = require('node:crypto');
const {Server} = require('socket.io');
const common = require('../common');

const options = common.parseOptions();
const PAGE = common.pageOf(__dirname);

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

const sessions = session({
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  saveUninitialized: false,
  cookie: {httpOnly: true, sameSite: 'lax'},
});

const app = express();
app.disable('x-powered-by');
// compression 1.8 prefers brotli when a request offers it, and Chromium offers it even on
// http://127.0.0.1; this app serves gzip, as many do, so the offer is narrowed to what it
// serves before the middleware negotiates.
app.use((req, res, next) => {
  const offered = String(req.headers['accept-encoding'] || '');
  req.headers['accept-encoding'] =
      offered.split(',').filter((coding) => /^\s*(gzip|deflate)\b/i.test(coding)).join(',');
  next();
});
app.use(compression({threshold: 0}));
app.use(sessions);
app.use(express.json({limit: '16kb'}));

app.get('/', (req, res) => res.type('html').send(PAGE));

app.post('/login', (req, res, next) => {
  const username = String((req.body && req.body.username) || '').trim();
  if (!username || username.length > 64) return res.status(400).json({error: 'username'});
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = username;
    req.session.save((saveErr) => (saveErr ? next(saveErr) : res.json({username})));
  });
});

app.get('/api/me', (req, res) => {
  const username = req.session && req.session.username;
  if (!username) return res.status(401).json({error: 'not signed in'});
  res.json({username, theme: 'dark'});
});

const server = http.createServer(app);
const io = new Server(server);
io.engine.use(sessions);

io.use((socket, next) => {
  const username = socket.request.session && socket.request.session.username;
  if (!username) return next(new Error('unauthorized'));
  socket.data.username = username;
  next();
});

let nextId = 1;
io.on('connection', (socket) => {
  const username = socket.data.username;
  socket.emit('welcome', {username});
  socket.emit('catalog', catalog());
  socket.on('chat', (message, ack) => {
    if (!message || typeof message.text !== 'string') {
      if (typeof ack === 'function') ack({ok: false, error: 'text missing'});
      return;
    }
    const id = nextId++;
    io.emit('chat', {from: username, text: message.text});
    if (typeof ack === 'function') ack({ok: true, id});
  });
});

common.serve(server, options.port, () => io.close());
