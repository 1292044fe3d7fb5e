'use strict';
// Socket.IO 2 (Engine.IO v3), WebSocket only: a page signs in over JSON (express-session
// cookie), then opens its socket with `transports: ['websocket']`, so the Engine.IO session
// starts on the WebSocket (`GET /socket.io/?EIO=3&transport=websocket`, no polling). Socket.IO
// 2 has no CONNECT payload: the upgrade request itself is authorised by its session cookie
// (`allowRequest`, 403 without one).
//
//   GET  /                   the page (page.html)
//   POST /login              {username} → {username}, session cookie
//   GET  /client/socket.io.js   the socket.io-client 2.5 browser build (the server's own lookup
//                            would find the 4.x client next to the npm alias)
//   socket                   welcome {username, room} on connect; chat {text} + ack → broadcast
//                            chat {from, text}, ack {ok: true, id}
//
// VARIANT=changed: the welcome's `room` is "hall" instead of "lobby".

const express = require('express');
const session = require('express-session');
const http = require('node:http');
const crypto = require('node:crypto');
const socketio = require('socket.io-v2');
const common = require('../common');

const options = common.parseOptions();
const PAGE = common.pageOf(__dirname);
const CLIENT_SCRIPT = require.resolve('socket.io-client-v2/dist/socket.io.js');

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
app.get('/client/socket.io.js', (req, res) => res.type('js').sendFile(CLIENT_SCRIPT));

app.post('/login', (req, res, next) => {
  const username = String((req.body && req.body.username) || '').trim();
  if (!username || username.length > 64) return res.status(400).json({error: 'username'});
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = username;
    req.session.save((saveErr) => (saveErr ? next(saveErr) : res.json({username})));
  });
});

// express-session needs a response to hook; nothing is written, the session is not modified.
const noResponse = {getHeader() {}, setHeader() {}, writeHead() {}, end() {}};

const server = http.createServer(app);
const io = socketio(server, {
  serveClient: false,
  allowRequest: (req, callback) => {
    sessions(req, noResponse, () => {
      req.username = (req.session && req.session.username) || null;
      callback(null, !!req.username);
    });
  },
});

let nextId = 1;
io.on('connection', (socket) => {
  const username = socket.request.username;
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
