'use strict';
// Socket.IO 2 (Engine.IO v3) whose first event is large: on connect the server sends `state`,
// a catalogue of a few KiB, before anything else happens. The browser client starts on
// long-polling and upgrades to the WebSocket, as browsers do by default, so `state` comes in a
// polling response; Engine.IO 3's default `httpCompression` (threshold 1 KiB) gzips that
// response because the browser's request says `Accept-Encoding: gzip` (PROTOCOLS.md §5).
//
//   GET  /                   the page (page.html)
//   POST /login              {username} → {username}, session cookie
//   GET  /client/socket.io.js   the socket.io-client 2.5 browser build
//   socket                   state {version, owner, items: [{id, name, price, tags}...]} on
//                            connect; chat {text} + ack → broadcast chat {from, text}, ack
//                            {ok: true, id}. The handshake needs the session cookie
//                            (`allowRequest`, 403 without one).
//
// VARIANT=changed: the price of item 7 of `state` is 80 instead of 79.

const http = require('node:http');
const socketio = require('socket.io-v2');
const common = require('../common');

const options = common.parseOptions();
const CLIENT_SCRIPT = require.resolve('socket.io-client-v2/dist/socket.io.js');

// The same every run: 24 items, about 2.5 KiB of JSON.
function initialState(username) {
  const colours = ['red', 'green', 'blue', 'amber', 'violet', 'teal'];
  const items = [];
  for (let i = 0; i < 24; i++) {
    items.push({
      id: i,
      name: `${colours[i % colours.length]} widget number ${i}`,
      price: 10 * i + 9,
      tags: [colours[(i + 1) % colours.length], i % 2 ? 'odd' : 'even'],
    });
  }
  if (options.changed) items[7].price += 1;
  return {version: 3, owner: username, items};
}

const sessions = common.cookieSessions();
const app = common.sessionApp(__dirname, sessions);
app.get('/client/socket.io.js', (req, res) => res.type('js').sendFile(CLIENT_SCRIPT));

const server = http.createServer(app);
// httpCompression is left at engine.io 3's default ({threshold: 1024}) on purpose.
const io = socketio(server, {
  serveClient: false,
  allowRequest: common.sessionAllowRequest(sessions),
});

const chat = common.chatRoom(io);
io.on('connection', (socket) => {
  const username = socket.request.username;
  socket.emit('state', initialState(username));
  chat(socket, username);
});

common.serve(server, options.port, () => io.close());
