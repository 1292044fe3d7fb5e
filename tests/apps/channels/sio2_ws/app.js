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

const http = require('node:http');
const socketio = require('socket.io-v2');
const common = require('../common');

const options = common.parseOptions();
const CLIENT_SCRIPT = require.resolve('socket.io-client-v2/dist/socket.io.js');

const sessions = common.cookieSessions();
const app = common.sessionApp(__dirname, sessions);
app.get('/client/socket.io.js', (req, res) => res.type('js').sendFile(CLIENT_SCRIPT));

const server = http.createServer(app);
const io = socketio(server, {
  serveClient: false,
  allowRequest: common.sessionAllowRequest(sessions),
});

const chat = common.chatRoom(io);
io.on('connection', (socket) => {
  const username = socket.request.username;
  socket.emit('welcome', {username, room: options.changed ? 'hall' : 'lobby'});
  chat(socket, username);
});

common.serve(server, options.port, () => io.close());
