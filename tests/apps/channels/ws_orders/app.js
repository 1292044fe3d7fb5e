'use strict';
// A plain WebSocket app on `ws` + Express: a JSON login hands out a token, and the page's
// WebSocket carries that token in its first message, then subscribes to order notifications.
//
//   GET  /         the page (page.html)
//   POST /login    {username} → {token} (random, per login)
//   WS   /comms    client {"type":"auth","token"} first → {"type":"ready","user"}; a wrong or
//                  missing token closes the connection with code 4001. After ready, a heartbeat
//                  {"type":"tick"} every 200 ms. Client {"type":"subscribe","topic":"orders"}
//                  → {"type":"order","id","total"} (the open order); client {"type":"place",
//                  "item","qty"} → {"type":"order","id","total"} (the order just placed).
//
// VARIANT=changed: the total of the placed order is 1 more.

const http = require('node:http');
const {WebSocketServer} = require('ws');
const common = require('../common');

const options = common.parseOptions();
const PRICES = {book: 12.5, lamp: 30, pen: 1.25};
const TICK_MS = 200;

const users = new Map();  // token → username
let nextOrder = 1;

const app = common.tokenApp(__dirname, users);

const server = http.createServer(app);
const wss = new WebSocketServer({server, path: '/comms'});

wss.on('connection', (ws) => {
  let user = null;
  let ticker = null;
  const send = (message) => ws.send(JSON.stringify(message));
  ws.on('close', () => clearInterval(ticker));
  ws.on('message', (data, isBinary) => {
    let message = null;
    try {
      message = isBinary ? null : JSON.parse(data.toString());
    } catch (err) {
      message = null;
    }
    if (!user) {
      user = message && message.type === 'auth' ? users.get(message.token) : undefined;
      if (!user) {
        ws.close(4001, 'unauthorized');
        return;
      }
      send({type: 'ready', user});
      ticker = setInterval(() => send({type: 'tick'}), TICK_MS);
      return;
    }
    if (!message) return send({type: 'error', error: 'JSON expected'});
    if (message.type === 'subscribe' && message.topic === 'orders') {
      send({type: 'order', id: nextOrder++, total: 99.9});
    } else if (message.type === 'place') {
      const price = PRICES[message.item];
      const qty = Number(message.qty) || 1;
      if (price === undefined) return send({type: 'error', error: 'unknown item'});
      send({type: 'order', id: nextOrder++, total: price * qty + (options.changed ? 1 : 0)});
    } else {
      send({type: 'error', error: 'unknown message'});
    }
  });
});

common.serve(server, options.port, () => {
  for (const client of wss.clients) client.terminate();
  wss.close();
});
