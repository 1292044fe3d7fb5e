'use strict';
// A chat for load replays (tests/integration/load_test.cpp): Express 4, express-session and
// Socket.IO 4, spoken to by tests/apps/clients/chat_client.js (--flavor v4, --auth cookie).
//
//   POST /login       username=… (any password) → session cookie, 303 to /
//   GET  /            a small page naming the signed-in user
//   socket.io         welcome {username} on connect; chat {text} + ack → broadcast chat
//                     {from, text} to everyone, ack {ok: true, id, room}
//
// The message id comes from ONE counter for the whole process: sessions replayed at once get
// other ids than the recording had, a different one in each copy. VARIANT=changed (or
// --variant changed) is a real regression in another field of the same ack: `room` becomes
// "main" instead of "lobby". Prints `LISTENING <port>` when ready (--port N / PORT, 0 = any) and
// exits 0 on SIGTERM.

const express = require('express');
const session = require('express-session');
const http = require('node:http');
const crypto = require('node:crypto');
const {Server} = require('socket.io');

function usage(message) {
  process.stderr.write(`${message}\noptions: [--port N] [--variant none|changed]\n`);
  process.exit(2);
}

const options = {port: Number(process.env.PORT || 0), variant: process.env.VARIANT || 'none'};
for (let i = 2; i < process.argv.length; i += 2) {
  const flag = process.argv[i];
  const value = process.argv[i + 1];
  if (value === undefined) usage(`${flag} needs a value`);
  if (flag === '--port')
    options.port = Number(value);
  else if (flag === '--variant')
    options.variant = value;
  else
    usage(`unknown option ${flag}`);
}
if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
  usage('--port must be 0..65535');
if (!['none', 'changed'].includes(options.variant)) usage('--variant must be none or changed');

const sessions = session({
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  saveUninitialized: false,
  cookie: {httpOnly: true, sameSite: 'lax'},
});

const app = express();
app.disable('x-powered-by');
app.use(sessions);
app.use(express.urlencoded({extended: false, limit: '16kb'}));

app.post('/login', (req, res, next) => {
  const username = String(req.body.username || '').trim();
  if (!username || username.length > 64) return res.status(400).type('text').send('bad username\n');
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = username;
    req.session.save((saveErr) => (saveErr ? next(saveErr) : res.redirect(303, '/')));
  });
});

app.get('/', (req, res) => {
  const user = req.session && req.session.username;
  res.type('text').send(user ? `signed in as ${user}\n` : 'signed out\n');
});

const server = http.createServer(app);
const io = new Server(server);
io.engine.use(sessions);
io.use((socket, next) => {
  const user = socket.request.session && socket.request.session.username;
  if (!user) return next(new Error('unauthorized'));
  socket.data.username = user;
  next();
});

let nextId = 1;  // shared by every session: the point of this app
const room = options.variant === 'changed' ? 'main' : 'lobby';

io.on('connection', (socket) => {
  const username = socket.data.username;
  socket.emit('welcome', {username});
  socket.on('chat', (message, ack) => {
    if (!message || typeof message.text !== 'string') {
      if (typeof ack === 'function') ack({ok: false, error: 'text missing'});
      return;
    }
    const id = nextId++;
    io.emit('chat', {from: username, text: message.text});
    if (typeof ack === 'function') ack({ok: true, id, room});
  });
});

server.listen(options.port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 2000).unref();
  io.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
