'use strict';
// Server-Sent Events on Express: a stream that sends its first events at once and one more
// when the page adds an item.
//
//   GET  /         the page (page.html)
//   GET  /events   text/event-stream: a `: keepalive` comment (again every 15 s), then
//                  `id: 1` `event: snapshot` {items}, `id: 2` `event: count` {count}; every
//                  item added later comes as `event: item` {id, name, status}. Ids count per
//                  stream, from 1.
//   POST /items    {name} → 201 {id, name}; pushed to every open stream
//
// VARIANT=changed: the pushed item's `status` is "queued" instead of "new".

const express = require('express');
const http = require('node:http');
const common = require('../common');

const options = common.parseOptions();
const PAGE = common.pageOf(__dirname);
const KEEPALIVE_MS = 15000;

const items = [{id: 1, name: 'first item'}];
const streams = new Set();

const app = express();
app.disable('x-powered-by');
app.use(express.json({limit: '16kb'}));

app.get('/', (req, res) => res.type('html').send(PAGE));

app.get('/events', (req, res) => {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    'Connection': 'keep-alive',
  });
  let nextId = 1;
  const stream = {
    send(event, data) { res.write(`id: ${nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`); },
  };
  res.write(': keepalive\n\n');
  stream.send('snapshot', {items});
  stream.send('count', {count: items.length});
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  streams.add(stream);
  req.on('close', () => {
    clearInterval(keepalive);
    streams.delete(stream);
  });
});

app.post('/items', (req, res) => {
  const name = String((req.body && req.body.name) || '').trim();
  if (!name || name.length > 64) return res.status(400).json({error: 'name'});
  const item = {id: items.length + 1, name};
  items.push(item);
  for (const stream of streams)
    stream.send('item', {...item, status: options.changed ? 'queued' : 'new'});
  res.status(201).json(item);
});

const server = http.createServer(app);
common.serve(server, options.port);
