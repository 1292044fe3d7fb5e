'use strict';
// Socket.IO 4 on a custom path, WebSocket only: a page signs in over JSON (express-session
// cookie), then opens its socket with `transports: ['websocket']` and `path: '/rt/'`, so the
// Engine.IO session starts on the WebSocket (`GET /rt/?EIO=4&transport=websocket`, no polling).
//
//   GET  /              the page (page.html)
//   POST /login         {username} → {username}, session cookie
//   GET  /rt/socket.io.js  the browser client, served by socket.io on its path
//   socket (path /rt/)  welcome {username, room} on connect; chat {text} + ack → broadcast chat
//                       {from, text}, ack {ok: true, id}. Sockets without a session are
//                       refused (CONNECT_ERROR "unauthorized").
//
// VARIANT=changed: the welcome's `room` is "hall" instead of "lobby".

const express = require('express');
const session = require('express-session');
const http = require('node:http');
const crypto = require('node:crypto');
const {Server} = require('socket.io');
const common = require('../common');

const options = common.parseOptions();
const PAGE = common.pageOf(__dirname);

const sessions = session({
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  saveUninitialized: false,
  cookie: {httpOnly: true, sameSite: 'lax'},
});

const app = express();
app.disable('x-powered-by');
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

const server = http.createServer(app);
const io = new Server(server, {path: '/rt/'});
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
  socket.emit('welcome', {username, room: options.changed ? 'hall' : 'lobby'});
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
