'use strict';
// Express 4 + express-session + Socket.IO 2.5.1 (Engine.IO v3, Socket.IO protocol v4): the same
// login-and-chat app as express_v4, for the older protocol.
//
//   GET  /  POST /login  POST /logout  GET /api/me  GET /api/token   as in express_v4
//   socket.io   welcome {username} on connect; chat {text} + ack → broadcast chat {from, text},
//               ack {ok: true, id}; bin <bytes> + ack → ack {ok, size, echo: <the bytes>}
//
// Socket.IO 2 has no CONNECT payload, so the handshake itself is authorised: Engine.IO's
// `allowRequest` runs express-session on the handshake request and refuses anonymous users
// (HTTP 403 {"code":4,"message":"Forbidden"}, PROTOCOLS.md §2). --auth cookie (default) reads
// the session cookie; --auth query reads ?token= from the Engine.IO URL.

const express = require('express');
const session = require('express-session');
const socketio = require('socket.io-v2');
const common = require('../common/server');

const options = common.parseOptions(process.argv.slice(2), process.env, ['cookie', 'query']);
const tokens = new common.TokenBook();
const room = new common.ChatRoom(options.variant);
const TITLE = 'Socket.IO 2 chat';

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
const chatPage = () => common.chatPage(TITLE, '/client/socket.io.js', 'v2', options.auth);

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

// socket.io 2 would serve the browser client from ../../socket.io-client, which next to the
// npm alias is socket.io-client 4 (Engine.IO v4, which this server cannot speak); so the
// matching 2.x client is served from here, outside the /socket.io/ path Engine.IO owns.
const CLIENT_SCRIPT = require.resolve('socket.io-client-v2/dist/socket.io.js');
app.get('/client/socket.io.js', (req, res) => res.type('js').sendFile(CLIENT_SCRIPT));

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

// The session middleware needs a response to hook; the handshake's real response is not
// available in allowRequest, and nothing is written because the session is never modified here.
const noResponse = {
  getHeader() {},
  setHeader() {},
  writeHead() {},
  end() {}
};

function userOf(req) {
  if (options.auth === 'query') {
    const token = new URL(req.url, 'http://localhost').searchParams.get('token');
    return tokens.user(token);
  }
  return signedIn(req);
}

const server = common.createServer(app, options);
const io = socketio(server, {
  serveClient: false,
  allowRequest: (req, callback) => {
    sessions(req, noResponse, () => {
      const username = userOf(req);
      req.username = username;
      callback(null, !!username);
    });
  },
});

io.on('connection', (socket) => {
  // socket.request is the handshake request that allowRequest approved.
  const username = socket.request.username;
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
