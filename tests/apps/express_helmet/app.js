'use strict';
// Express 4 as its guides set it up for a signed-in page with a live feature: helmet's default
// headers (with a Content-Security-Policy whose script-src carries a nonce fresh in every
// response), `compression` (every text response gzip'd), express-session, csrf-csrf's
// double-submit CSRF protection, and Socket.IO 4 (long-polling, then the WebSocket upgrade).
//
//   GET  /                       the sign-in page: a form whose hidden `_csrf` field holds a
//                                CSRF token (csrf-csrf also sets it in its cookie)
//   POST /login                  form: username, password (`secret`), _csrf → a new session,
//                                302 to /notes; 403 without the token, 401 for a wrong password
//   GET  /notes                  the notes page: a new token (the session was regenerated) in
//                                <meta name="csrf-token">, an inline script with the nonce
//   GET  /api/me                 {username, role}
//   POST /api/notes              {text}, header x-csrf-token → 201 {id, createdAt}; the note
//                                is broadcast as `note:created` {id, text, author, createdAt,
//                                board} (the id a random UUID, the time the server's)
//   GET  /vendor/socket.io.min.js   the Socket.IO browser client (through compression)
//   socket                       `welcome` {username, notes} on connect; `note:pin` {id} with
//                                an ack → {ok, id, pinned}. Sockets without a session are
//                                refused.
//
// VARIANT=changed: /api/me's role is `viewer` instead of `editor`, and `note:created`'s board
// is `archive` instead of `main`.

const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const compression = require('compression');
const cookieParser = require('cookie-parser');
const express = require('express');
const session = require('express-session');
const helmet = require('helmet');
const {doubleCsrf} = require('csrf-csrf');
const {Server} = require('socket.io');
const common = require('../channels/common');

const options = common.parseOptions();
const page = (name) => common.pageOf(__dirname, name);
const loginPage = page('login.html');
const notesPage = page('notes.html');
// The pages are templates with {{nonce}}, {{csrf}} and {{username}}; values are HTML-escaped.
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const render = (template, values) =>
  template.replace(/\{\{(\w+)\}\}/g, (all, name) => escape(values[name]));

const app = express();
const sessions = session({
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  // csrf-csrf binds its tokens to the session id: the sign-in form's session must exist.
  saveUninitialized: true,
  cookie: {httpOnly: true, sameSite: 'lax'},
});
const {doubleCsrfProtection, generateCsrfToken} = doubleCsrf({
  getSecret: (() => {
    const secret = crypto.randomBytes(32).toString('hex');
    return () => secret;
  })(),
  getSessionIdentifier: (req) => req.session.id,
  // Served over plain HTTP: no __Host- prefix, no Secure flag.
  cookieName: 'x-csrf-token',
  cookieOptions: {sameSite: 'lax', secure: false},
  // The form's hidden field, or the header fetch() sends: one place per kind of request.
  getCsrfTokenFromRequest: (req) =>
    req.is('application/x-www-form-urlencoded') ? req.body._csrf : req.headers['x-csrf-token'],
});

// A nonce per response for the page's inline script, in helmet's CSP, as helmet's guide makes it.
app.use((req, res, next) => {
  res.locals.cspNonce = crypto.randomBytes(32).toString('hex');
  next();
});
app.use(helmet({
  contentSecurityPolicy: {
    directives: {
      scriptSrc: ["'self'", (req, res) => `'nonce-${res.locals.cspNonce}'`],
      // Served over plain HTTP on loopback: nothing to upgrade to.
      upgradeInsecureRequests: null,
    },
  },
}));
// compression 1.8 prefers brotli when it is offered, and Chromium offers it; this app serves
// gzip, so the offer is narrowed to gzip and deflate before compression negotiates.
app.use((req, res, next) => {
  const offered = String(req.headers['accept-encoding'] || '');
  req.headers['accept-encoding'] =
      offered.split(',').filter((coding) => /^\s*(gzip|deflate)\b/i.test(coding)).join(',');
  next();
});
app.use(compression({threshold: 0}));
app.use(sessions);
app.use(cookieParser());
app.use(express.urlencoded({extended: false, limit: '16kb'}));
app.use(express.json({limit: '16kb'}));
app.use(doubleCsrfProtection);
// Socket.IO's browser client, from its package, served by Express (so gzip'd too).
const client = path.join(path.dirname(require.resolve('socket.io')), '..', 'client-dist',
                         'socket.io.min.js');
app.get('/vendor/socket.io.min.js', (req, res) => res.sendFile(client));

app.get('/', (req, res) => {
  if (req.session.username) return res.redirect('/notes');
  const csrf = generateCsrfToken(req, res);
  res.type('html').send(render(loginPage, {nonce: res.locals.cspNonce, csrf, error: ''}));
});

app.post('/login', (req, res, next) => {
  const username = String(req.body.username || '').trim();
  if (!username || username.length > 64 || req.body.password !== 'secret') {
    const csrf = generateCsrfToken(req, res);
    const error = 'wrong username or password';
    return res.status(401).type('html').send(
        render(loginPage, {nonce: res.locals.cspNonce, csrf, error}));
  }
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = username;
    req.session.save((saveErr) => (saveErr ? next(saveErr) : res.redirect('/notes')));
  });
});

const signedIn = (req, res, next) => {
  if (req.session.username) return next();
  if (req.path.startsWith('/api/')) return res.status(401).json({error: 'not signed in'});
  res.redirect('/');
};

app.get('/notes', signedIn, (req, res) => {
  const csrf = generateCsrfToken(req, res);
  res.type('html').send(
      render(notesPage, {nonce: res.locals.cspNonce, csrf, username: req.session.username}));
});

app.get('/api/me', signedIn, (req, res) => {
  res.json({username: req.session.username, role: options.changed ? 'viewer' : 'editor'});
});

const notes = new Map();
app.post('/api/notes', signedIn, (req, res) => {
  const text = typeof req.body.text === 'string' ? req.body.text.trim() : '';
  if (!text || text.length > 500) return res.status(400).json({error: 'text'});
  const note = {
    id: crypto.randomUUID(),
    text,
    author: req.session.username,
    createdAt: new Date().toISOString(),
    board: options.changed ? 'archive' : 'main',
  };
  notes.set(note.id, note);
  io.emit('note:created', note);
  res.status(201).json({id: note.id, createdAt: note.createdAt});
});

// A CSRF failure is a 403 with a JSON body; anything else is Express's own.
app.use((err, req, res, next) => {
  if (err.code !== 'EBADCSRFTOKEN') return next(err);
  res.status(403).json({error: 'invalid csrf token'});
});

const server = http.createServer(app);
const io = new Server(server, {serveClient: false});
io.engine.use(sessions);
io.use((socket, next) => {
  const username = socket.request.session && socket.request.session.username;
  if (!username) return next(new Error('unauthorized'));
  socket.data.username = username;
  next();
});
io.on('connection', (socket) => {
  socket.emit('welcome', {username: socket.data.username, notes: notes.size});
  socket.on('note:pin', (message, ack) => {
    if (typeof ack !== 'function') return;
    const note = message && notes.get(message.id);
    if (!note) return ack({ok: false, error: 'no such note'});
    note.pinned = true;
    ack({ok: true, id: note.id, pinned: true});
  });
});

common.serve(server, options.port, () => io.close());
