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

const http = require('node:http');
const {Server} = require('socket.io');
const common = require('../common');

const options = common.parseOptions();

const sessions = common.cookieSessions();
const app = common.sessionApp(__dirname, sessions);

const server = http.createServer(app);
const io = new Server(server, {path: '/rt/'});
common.requireSessionV4(io, sessions);

const chat = common.chatRoom(io);
io.on('connection', (socket) => {
  const username = socket.data.username;
  socket.emit('welcome', {username, room: options.changed ? 'hall' : 'lobby'});
  chat(socket, username);
});

common.serve(server, options.port, () => io.close());
