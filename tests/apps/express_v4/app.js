'use strict';
// Express 4 + express-session + Socket.IO 4: a login-and-chat app.
//
//   GET  /            the login form, or (signed in) the chat page
//   POST /login       username=…&password=… (any password) → session cookie, 303 to /
//   POST /logout      ends the session, 303 to /
//   GET  /api/me      {username} of the session (401 when signed out)
//   GET  /api/token   {token} for the session, used by --auth token|query
//   socket.io         welcome {username} on connect; chat {text} + ack → broadcast chat
//                     {from, text}, ack {ok: true, id}; bin <bytes> + ack → ack {ok, size,
//                     echo: <the same bytes>}
//
// --auth cookie: the Engine.IO handshake request carries the session cookie (express-session
// runs as Engine.IO middleware); token: the CONNECT packet's auth {token}; query: ?token= on
// the Engine.IO URL. Anonymous sockets are refused with CONNECT_ERROR "unauthorized".

const express = require('express');
const session = require('express-session');
const {Server} = require('socket.io');
const common = require('../common/server');

const options = common.parseOptions(process.argv.slice(2), process.env);
const tokens = new common.TokenBook();
const room = new common.ChatRoom(options.variant);
const TITLE = 'Socket.IO 4 chat';

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
const chatPage = () => common.chatPage(TITLE, '/socket.io/socket.io.js', 'v4', options.auth);

app.get('/', (req, res) => {
  res.type('html').send(signedIn(req) ? chatPage() : common.loginPage(TITLE));
});

app.post('/login', (req, res, next) => {
  const username = String(req.body.username || '').trim();
  if (!username || username.length > 64) {
    res.status(400).type('text').send('username missing or too long\n');
    return;
  }
  // A new session id on sign-in (session fixation).
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
const io = new Server(server);
io.engine.use(sessions);

io.use((socket, next) => {
  let username = null;
  if (options.auth === 'cookie')
    username = signedIn(socket.request);
  else if (options.auth === 'token')
    username = tokens.user(socket.handshake.auth.token);
  else
    username = tokens.user(socket.handshake.query.token);
  if (!username) return next(new Error('unauthorized'));
  socket.data.username = username;
  next();
});

io.on('connection', (socket) => {
  const username = socket.data.username;
  if (room.sendsWelcome()) socket.emit('welcome', room.welcome(username));
  const extra = room.extraEvent();
  if (extra) socket.emit(...extra);
  socket.on('chat', (message, ack) => {
    const {broadcast, ack: answer} = room.chat(username, message);
    if (broadcast) io.emit('chat', broadcast);
    if (typeof ack === 'function') ack(answer);
  });
  // Binary data both ways: the bytes come back in the ack as an attachment.
  socket.on('bin', (data, ack) => {
    if (typeof ack === 'function') ack(room.binary(data));
  });
});

common.serve(server, options, () => io.close());
