'use strict';
// Server-Sent Events for the recording tests (HTML Living Standard §9.2):
//
//   GET  /events   text/event-stream that never ends by itself: `id: 1` `event: update`
//                  {"n":1}, a `: keep-alive` comment, `id: 2` with two data lines, `id: 3`
//                  `event: update` {"n":3}, 30 ms apart; then one `id: N` {"n":N} message for
//                  every POST /notify. Ids count per stream, from 1.
//   POST /notify   204; pushes one event to every open stream
//
// Listens on PORT (0: a free port) and prints `LISTENING <port>` once it does.

const express = require('express');

const GAP_MS = 30;
const streams = new Set();

const app = express();
app.disable('x-powered-by');

app.get('/events', (req, res) => {
  res.writeHead(200, {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'});
  let nextId = 1;
  const stream = {
    send(lines) { res.write(`id: ${nextId++}\n${lines}\n\n`); },
    nextId: () => nextId,
  };
  const steps = [
    () => stream.send('event: update\ndata: {"n":1}'),
    () => res.write(': keep-alive\n\n'),
    () => stream.send('data: two\ndata: lines'),
    () => {
      stream.send('event: update\ndata: {"n":3}');
      streams.add(stream);  // a POST /notify seen after event 3 is event 4
    },
  ];
  const timers = steps.map((step, i) => setTimeout(step, i * GAP_MS));
  req.on('close', () => {
    timers.forEach(clearTimeout);
    streams.delete(stream);
  });
});

app.post('/notify', (req, res) => {
  for (const stream of streams) stream.send(`data: {"n":${stream.nextId()}}`);
  res.status(204).end();
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
