'use strict';
// An Express 4 + Socket.IO 4 app that hands its values to the page the way many apps do, none of
// them in a place with structure of its own (a form field, a meta tag, a JSON response):
//
//   GET  /                        the sign-in page: the CSRF token only in an inline script,
//                                 `window.APP_LOCALS = { _csrf: unescape('…') }` (written with
//                                 escape(): the token is base64, so '+', '/' and '=' are there,
//                                 and this one begins with '/');
//                                 the form's script copies it into the form when it is sent
//   POST /login                   form: username, password (`secret`), _csrf → a new session (a
//                                 new token), 303 to /board; 403 for a stale or missing token
//   GET  /board                   the board page: its token in APP_LOCALS again, the board's id
//                                 in a `<script type="application/json">` blob, and assets with
//                                 cache-busters drawn when the process started:
//                                 /static/board.css?v=<12 hex> and /static/board.<6 hex>.js
//   GET  /static/board.css?v=V    the stylesheet; 404 unless V is this process's version
//   GET  /static/board.H.js       the page's script; 404 unless H is this process's hash
//   GET  /static/logo.svg         an image stamped when the process started: Last-Modified that
//                                 time, an ETag drawn then, Cache-Control: no-cache (so the
//                                 browser revalidates it every time); 304 when If-None-Match
//                                 names the ETag or, without one, If-Modified-Since is not older
//   GET  /api/boards/:id          {id, title, cards}; 404 unless it is the session's board
//   POST /api/token               header x-csrf-token → {token}: an opaque access token (base64
//                                 with '/', '+' and '='), new for every call; 403 otherwise
//   GET  /api/profile             Authorization: Bearer <token> → {username, role}; 401 otherwise
//   socket                        the CONNECT's auth {csrf} must be the session's token, or the
//                                 socket is refused. First event `state` {memberId} (drawn per
//                                 socket); `card:add` {memberId, csrf, text} with an ack →
//                                 {ok, text} only with this socket's memberId and the session's
//                                 CSRF token; `token:check` {token} with an
//                                 ack → {ok} only for a token the server issued to the session
//
// Every stale value (token, board id, asset version or hash, access token, member id) is
// refused, so a replay against a fresh instance passes only if each was taken live.
// TRANSPORTS=websocket or polling: the page's socket uses only that transport (the default is
// Socket.IO's: long-polling, then the WebSocket upgrade).
// VARIANT=changed: /api/profile's role is `viewer` instead of `editor`, and card:add's ack
// holds the text upper-cased.

const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const express = require('express');
const session = require('express-session');
const {Server} = require('socket.io');
const common = require('../channels/common');

const options = common.parseOptions();
const page = (name) => common.pageOf(__dirname, name);
const loginPage = page('login.html');
const boardPage = page('board.html');
const boardScript = page('board.js');
const boardStyle = page('board.css');
const logo = '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">' +
    '<rect width="16" height="16" fill="#36c"/></svg>\n';
const html = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
// {{name}} HTML-escaped, {{{name}}} as given (the caller made it safe for its place).
const render = (template, values) =>
  template.replace(/\{\{\{(\w+)\}\}\}/g, (all, name) => String(values[name]))
      .replace(/\{\{(\w+)\}\}/g, (all, name) => html(values[name]));

// Drawn once per process, as a build step or a start-up would.
const assetVersion = crypto.randomBytes(6).toString('hex');
const scriptHash = crypto.randomBytes(3).toString('hex');
const started = new Date();
const logoTag = `"${crypto.randomBytes(8).toString('hex')}"`;

// A base64 value holding '+', '/' and '=' (drawn again until it does), as opaque tokens often do;
// `leading` also asks for a '/' first, as one token in 64 has.
const opaque = (bytes, leading = false) => {
  for (;;) {
    const value = crypto.randomBytes(bytes).toString('base64');
    if (value.includes('+') && value.includes('/') && value.endsWith('=') &&
        (!leading || value.startsWith('/'))) {
      return value;
    }
  }
};

const app = express();
const sessions = session({
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  saveUninitialized: true,
  cookie: {httpOnly: true, sameSite: 'lax'},
});
app.use(sessions);
app.use(express.urlencoded({extended: false, limit: '16kb'}));
app.use(express.json({limit: '16kb'}));

// The sign-in page's token begins with '/' (it is no path for all that).
const csrfOf = (req) => {
  if (!req.session.csrf) req.session.csrf = opaque(20, !req.session.username);
  return req.session.csrf;
};
// escape() as the page's unescape() reads it; inside '…' of a script nothing else needs care.
// TRANSPORTS=websocket (or polling): the page's socket uses only that transport.
const transports = JSON.stringify(
    process.env.TRANSPORTS ? [process.env.TRANSPORTS] : ['polling', 'websocket']);
const locals = (req) =>
  ({csrf: escape(csrfOf(req)), username: req.session.username || '', transports});

app.get('/', (req, res) => {
  if (req.session.username) return res.redirect(303, '/board');
  res.type('html').send(render(loginPage, locals(req)));
});

app.post('/login', (req, res, next) => {
  if (!req.session.csrf || req.body._csrf !== req.session.csrf) {
    return res.status(403).type('text').send('invalid csrf token');
  }
  const username = String(req.body.username || '').trim();
  if (!username || username.length > 64 || req.body.password !== 'secret') {
    return res.status(401).type('text').send('wrong username or password');
  }
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = username;
    req.session.boardId = 'b-' + crypto.randomBytes(8).toString('hex');
    req.session.tokens = [];
    csrfOf(req);
    req.session.save((saveErr) => (saveErr ? next(saveErr) : res.redirect(303, '/board')));
  });
});

const signedIn = (req, res, next) => {
  if (req.session.username) return next();
  if (req.path.startsWith('/api/')) return res.status(401).json({error: 'not signed in'});
  res.redirect(303, '/');
};

app.get('/board', signedIn, (req, res) => {
  // JSON inside <script>: '<' escaped so that no "</script>" can end it early.
  const state = JSON.stringify({boardId: req.session.boardId, user: req.session.username})
                    .replace(/</g, '\\u003c');
  res.type('html').send(render(boardPage, {...locals(req), state, assetVersion, scriptHash}));
});

app.get('/static/logo.svg', (req, res) => {
  res.set({
    'Last-Modified': started.toUTCString(),
    'ETag': logoTag,
    'Cache-Control': 'no-cache',
  });
  const tags = req.get('if-none-match');
  const since = Date.parse(req.get('if-modified-since') || '');
  const unchanged = tags !== undefined
      ? tags.split(',').map((t) => t.trim().replace(/^W\//, '')).includes(logoTag)
      : !Number.isNaN(since) && Math.floor(started.getTime() / 1000) * 1000 <= since;
  if (unchanged) return res.status(304).end();
  res.type('svg').send(logo);
});

app.get('/static/board.css', (req, res) => {
  if (req.query.v !== assetVersion) return res.status(404).type('text').send('no such version');
  res.type('css').send(boardStyle);
});
app.get('/static/:name', (req, res) => {
  if (req.params.name !== `board.${scriptHash}.js`) {
    return res.status(404).type('text').send('no such script');
  }
  res.type('js').send(boardScript);
});

app.get('/api/boards/:id', signedIn, (req, res) => {
  if (req.params.id !== req.session.boardId) return res.status(404).json({error: 'no such board'});
  res.json({id: req.session.boardId, title: `${req.session.username}'s board`, cards: []});
});

app.post('/api/token', signedIn, (req, res) => {
  if (req.get('x-csrf-token') !== req.session.csrf) {
    return res.status(403).json({error: 'invalid csrf token'});
  }
  const token = opaque(22);
  req.session.tokens.push(token);
  res.json({token});
});

const bearer = (req) => /^Bearer (.+)$/.exec(req.get('authorization') || '');
app.get('/api/profile', signedIn, (req, res) => {
  const match = bearer(req);
  if (!match || !req.session.tokens.includes(match[1])) {
    return res.status(401).json({error: 'invalid token'});
  }
  res.json({username: req.session.username, role: options.changed ? 'viewer' : 'editor'});
});

const server = http.createServer(app);
const io = new Server(server);
io.engine.use(sessions);
io.use((socket, next) => {
  const s = socket.request.session;
  if (!s || !s.username) return next(new Error('unauthorized'));
  const auth = socket.handshake.auth || {};
  if (!s.csrf || auth.csrf !== s.csrf) return next(new Error('invalid csrf token'));
  next();
});
io.on('connection', (socket) => {
  const memberId = 'm-' + crypto.randomBytes(10).toString('hex');
  socket.emit('state', {memberId, board: socket.request.session.boardId});
  socket.on('card:add', (message, ack) => {
    if (typeof ack !== 'function') return;
    if (!message || message.memberId !== memberId) return ack({ok: false, error: 'who are you?'});
    if (message.csrf !== socket.request.session.csrf) {
      return ack({ok: false, error: 'invalid csrf token'});
    }
    const text = String(message.text || '');
    ack({ok: true, text: options.changed ? text.toUpperCase() : text});
  });
  socket.on('token:check', (message, ack) => {
    if (typeof ack !== 'function') return;
    // The session as it is now: the token was issued after the socket connected.
    socket.request.session.reload((err) => {
      const tokens = (!err && socket.request.session.tokens) || [];
      ack({ok: Boolean(message && tokens.includes(message.token))});
    });
  });
});

common.serve(server, options.port, () => io.close());
