'use strict';
// What the channel apps share: options, the readiness line, a clean exit on SIGTERM, serving
// their page and the script their pages share (channels-page.js), signing in, and the chat
// of the Socket.IO apps.
//
// Every app takes `--port N` (or PORT; 0 = any free port) and `--variant none|changed` (or
// VARIANT). `changed` alters exactly one field of one server message, so that a replay of a
// session recorded against the normal app must notice it. Flags win over the environment.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const shared = require('../common/server');

const VARIANTS = ['none', 'changed'];

function usage(message) {
  process.stderr.write(`${message}\noptions: [--port N] [--variant none|changed]\n`);
  process.exit(2);
}

function parseOptions(argv = process.argv.slice(2), env = process.env) {
  const options = {
    port: env.PORT !== undefined && env.PORT !== '' ? Number(env.PORT) : 0,
    variant: env.VARIANT || 'none',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--variant') options.variant = value;
    else usage(`unknown option ${flag}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    usage('--port must be 0..65535');
  if (!VARIANTS.includes(options.variant)) usage(`--variant must be one of ${VARIANTS.join('|')}`);
  options.changed = options.variant === 'changed';
  return options;
}

// Listens on 127.0.0.1, prints `LISTENING <port>` once connections are accepted, and exits 0
// on SIGTERM or SIGINT after closing the listener and every open connection (keep-alive
// sockets, WebSockets and event streams would otherwise hold the process open), as the other
// test apps do (../common/server.js). `closeApp` closes what the app holds besides (a
// Socket.IO server, a WebSocket server, timers).
function serve(server, port, closeApp) {
  shared.serve(server, {port}, closeApp);
}

// The text of a file next to the calling app (its page).
function pageOf(dir, name = 'page.html') {
  return fs.readFileSync(path.join(dir, name), 'utf8');
}

// Serves the page next to the calling app at `GET /` and the script the pages share at
// `GET /channels-common.js`.
function servePage(app, dir, name = 'page.html') {
  const page = pageOf(dir, name);
  const shared = path.join(__dirname, 'channels-page.js');
  app.get('/', (req, res) => res.type('html').send(page));
  app.get('/channels-common.js', (req, res) => res.type('js').sendFile(shared));
}

// The username of a sign-in body ({username}), or null when it is missing or too long.
function usernameOf(req) {
  const username = String((req.body && req.body.username) || '').trim();
  return !username || username.length > 64 ? null : username;
}

// express-session with a secret of its own each run: a cookie session, nothing saved until
// a sign-in.
function cookieSessions() {
  const session = require('express-session');
  return session({
    secret: crypto.randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    cookie: {httpOnly: true, sameSite: 'lax'},
  });
}

// An Express app whose users sign in to a cookie session: `before` (middleware that must see
// every request first), `sessions`, JSON bodies, the page (servePage) and
// `POST /login` {username} → {username}, which starts a new session for that user.
function sessionApp(dir, sessions, before = []) {
  const express = require('express');
  const app = express();
  app.disable('x-powered-by');
  for (const middleware of before) app.use(middleware);
  app.use(sessions);
  app.use(express.json({limit: '16kb'}));
  servePage(app, dir);
  app.post('/login', (req, res, next) => {
    const username = usernameOf(req);
    if (!username) return res.status(400).json({error: 'username'});
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.username = username;
      req.session.save((saveErr) => (saveErr ? next(saveErr) : res.json({username})));
    });
  });
  return app;
}

// An Express app whose users sign in for a token: JSON bodies, the page (servePage) and
// `POST /login` {username} → {token}; `users` maps each token issued to its username.
function tokenApp(dir, users) {
  const express = require('express');
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({limit: '16kb'}));
  servePage(app, dir);
  app.post('/login', (req, res) => {
    const username = usernameOf(req);
    if (!username) return res.status(400).json({error: 'username'});
    const token = crypto.randomBytes(16).toString('hex');
    users.set(token, username);
    res.json({token});
  });
  return app;
}

// Socket.IO 4: only sockets whose handshake carries a signed-in session connect
// (CONNECT_ERROR "unauthorized" otherwise); the username is in `socket.data.username`.
function requireSessionV4(io, sessions) {
  io.engine.use(sessions);
  io.use((socket, next) => {
    const username = socket.request.session && socket.request.session.username;
    if (!username) return next(new Error('unauthorized'));
    socket.data.username = username;
    next();
  });
}

// Socket.IO 2 has no CONNECT payload: its `allowRequest` option, which answers each Engine.IO
// request by its session cookie (403 without a signed-in one) and leaves the username in
// `req.username`.
function sessionAllowRequest(sessions) {
  // express-session needs a response to hook; nothing is written, the session is not modified.
  const noResponse = {getHeader() {}, setHeader() {}, writeHead() {}, end() {}};
  return (req, callback) => {
    sessions(req, noResponse, () => {
      req.username = (req.session && req.session.username) || null;
      callback(null, !!req.username);
    });
  };
}

// The chat of the Socket.IO apps, either version: a `chat` {text} with an ack is broadcast as
// chat {from, text} and acknowledged with {ok: true, id} (ids count from 1 across sockets).
// Returns what sets it up on one socket of `username`.
function chatRoom(io) {
  let nextId = 1;
  return (socket, username) => {
    socket.on('chat', (message, ack) => {
      if (!message || typeof message.text !== 'string') {
        if (typeof ack === 'function') ack({ok: false, error: 'text missing'});
        return;
      }
      const id = nextId++;
      io.emit('chat', {from: username, text: message.text});
      if (typeof ack === 'function') ack({ok: true, id});
    });
  };
}

module.exports = {
  VARIANTS,
  parseOptions,
  serve,
  pageOf,
  servePage,
  cookieSessions,
  sessionApp,
  tokenApp,
  requireSessionV4,
  sessionAllowRequest,
  chatRoom,
};
