'use strict';
// A small Express app whose answers change in the two ways calibration must tell apart:
//
// Per instance (the same within one process, new with every start): the asset version in the
// page (`/app.js?v=<random hex>`) and `instance` in GET /api/info. Only a fresh instance per
// calibration pass can show them.
//
// State (what one pass leaves for the next): POST /api/signup {name} answers 201 the first
// time and 409 after; PUT /api/doc {text} is read back by GET /api/doc. Calibrating twice
// against one running instance meets it.
//
//   GET  /            the page
//   GET  /api/info    {instance, started, items: [{id, label}]}
//   GET  /api/doc     {text}
//   PUT  /api/doc     {text} → {ok: true}
//   POST /api/signup  {name} → 201 {id, name} | 409 {error}
//
// VARIANT=changed is a regression: /api/info's first item is labelled "Beta" instead of
// "Alpha". Listens on PORT (0: any), printing `LISTENING <port>`.

const crypto = require('crypto');
const express = require('express');

const variant = process.env.VARIANT || 'none';
const version = crypto.randomBytes(6).toString('hex');
const instance = crypto.randomUUID();
const started = new Date().toISOString();
const users = new Map();
let doc = '';

const app = express();
app.use(express.json());

app.get('/', (req, res) => {
  res.type('html').send(`<!doctype html>
<html>
<head><title>Calibration</title><script src="/app.js?v=${version}"></script></head>
<body><p>Hello</p></body>
</html>
`);
});
app.get('/app.js', (req, res) => res.type('js').send('console.log("app");\n'));
app.get('/api/info', (req, res) => {
  res.json({
    instance,
    started,
    items: [{id: 1, label: variant === 'changed' ? 'Beta' : 'Alpha'}, {id: 2, label: 'Gamma'}],
  });
});
app.get('/api/doc', (req, res) => res.json({text: doc}));
app.put('/api/doc', (req, res) => {
  doc = String(req.body.text || '');
  res.json({ok: true});
});
app.post('/api/signup', (req, res) => {
  const name = String(req.body.name || '');
  if (users.has(name)) return res.status(409).json({error: 'name taken'});
  users.set(name, users.size + 1);
  res.status(201).json({id: users.get(name), name});
});

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`LISTENING ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
