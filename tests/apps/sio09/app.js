'use strict';
// Express 4 + express-session + Socket.IO 0.9.19 (the legacy "protocol 1"): the same
// login-and-chat app as express_v4.
//
//   GET  /  POST /login  POST /logout  GET /api/me  GET /api/token   as in express_v4
//   socket.io   welcome {username} on connect; chat {text} + ack → broadcast chat {from, text},
//               ack {ok: true, id}
//
// 0.9 decides on the handshake request (GET /socket.io/1/): the `authorization` callback runs
// express-session on it; anonymous users get the callback's error, which 0.9 answers with
// 500 "handshake error" (PROTOCOLS.md §3). --auth cookie (default) reads the session cookie;
// --auth query reads ?token= from the handshake URL.

const express = require('express');
const session = require('express-session');
const socketio = require('socket.io-v09');
const common = require('../common/server');

const options = common.parseOptions(process.argv.slice(2), process.env, ['cookie', 'query']);
const tokens = new common.TokenBook();
const room = new common.ChatRoom(options.variant);
const TITLE = 'Socket.IO 0.9 chat';

const sessions = session({
  secret: common.randomSecret(),
  resave: false,
  saveUninitialized: false,
  cookie: {httpOnly: true, secure: false, sameSite: 'lax'},
});

const app = express();
app.disable('x-powered-by');
app.use(sessions);
app.use(express.urlencoded({extended: false, limit: '16kb'}));

const signedIn = (req) => (req.session && req.session.username) || null;
const chatPage = () => common.chatPage(TITLE, '/socket.io/socket.io.js', 'v09', options.auth);

app.get('/', (req, res) => {
  res.type('html').send(signedIn(req) ? chatPage() : common.loginPage(TITLE));
});

app.post('/login', (req, res, next) => {
  const username = String(req.body.username || '').trim();
  if (!username || username.length > 64) {
    res.status(400).type('text').send('username missing or too long\n');
    return;
  }
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = username;
    req.session.save((saveErr) => {
      if (saveErr) return next(saveErr);
      if (options.variant === 'status')
        res.status(200).type('html').send(chatPage());
      else
        res.redirect(303, '/');
    });
  });
});

app.post('/logout', (req, res) => {
  req.session.destroy(() => res.redirect(303, '/'));
});

app.get('/api/me', (req, res) => {
  const username = signedIn(req);
  if (!username) return res.status(401).json({error: 'not signed in'});
  res.json(room.me(username));
});

app.get('/api/token', (req, res) => {
  const username = signedIn(req);
  if (!username) return res.status(401).json({error: 'not signed in'});
  if (!req.session.token) req.session.token = tokens.issue(username);
  res.json({token: req.session.token});
});

const server = common.createServer(app, options);
// The flash policy server would listen on a fixed port; logging would go to stdout.
const io = socketio.listen(server, {'log': false, 'flash policy server': false});

// The session middleware needs a request and a response; 0.9 hands the callback a summary of
// the handshake request (headers, url, query), and nothing is written to the response because
// the session is never modified here.
const noResponse = {
  getHeader() {},
  setHeader() {},
  writeHead() {},
  end() {}
};

io.set('authorization', (handshake, callback) => {
  if (options.auth === 'query') {
    const username = tokens.user(handshake.query && handshake.query.token);
    if (!username) return callback('unauthorized', false);
    handshake.username = username;
    return callback(null, true);
  }
  const req = {headers: handshake.headers, url: handshake.url, originalUrl: handshake.url};
  sessions(req, noResponse, () => {
    const username = signedIn(req);
    if (!username) return callback('unauthorized', false);
    handshake.username = username;
    callback(null, true);
  });
});

io.sockets.on('connection', (socket) => {
  const username = socket.handshake.username;
  if (room.sendsWelcome()) socket.emit('welcome', room.welcome(username));
  const extra = room.extraEvent();
  if (extra) socket.emit(...extra);
  socket.on('chat', (message, ack) => {
    const {broadcast, ack: answer} = room.chat(username, message);
    if (broadcast) io.sockets.emit('chat', broadcast);
    if (typeof ack === 'function') ack(answer);
  });
});

common.serve(server, options, null);
