'use strict';
// What every Node test app shares: command-line options, the pages, the user/token book-keeping
// and the process life cycle (the `LISTENING <port>` readiness line the test harness waits for,
// and a clean exit on SIGTERM).

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');

const AUTH_MODES = ['cookie', 'token', 'query'];
// Behaviour changes the replay tests use to check that a difference is noticed.
const VARIANTS = ['none', 'payload', 'status', 'noevent', 'extraevent', 'noise'];

function usage(message) {
  process.stderr.write(
      `${message}\n` +
      'options: [--port N] [--auth cookie|token|query] [--variant NAME] ' +
      '[--tls-cert FILE --tls-key FILE]\n');
  process.exit(2);
}

// Flags win over the environment (PORT, AUTH, VARIANT, TLS_CERT, TLS_KEY).
function parseOptions(argv, env, allowedAuth = AUTH_MODES) {
  const options = {
    port: env.PORT !== undefined ? Number(env.PORT) : 0,
    auth: env.AUTH || 'cookie',
    variant: env.VARIANT || 'none',
    tlsCert: env.TLS_CERT || null,
    tlsKey: env.TLS_KEY || null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const take = () => {
      if (value === undefined) usage(`${flag} needs a value`);
      i++;
      return value;
    };
    if (flag === '--port')
      options.port = Number(take());
    else if (flag === '--auth')
      options.auth = take();
    else if (flag === '--variant')
      options.variant = take();
    else if (flag === '--tls-cert')
      options.tlsCert = take();
    else if (flag === '--tls-key')
      options.tlsKey = take();
    else
      usage(`unknown option ${flag}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    usage('--port must be 0..65535');
  }
  if (!allowedAuth.includes(options.auth)) {
    usage(`--auth must be one of ${allowedAuth.join('|')}`);
  }
  if (!VARIANTS.includes(options.variant)) usage(`--variant must be one of ${VARIANTS.join('|')}`);
  if (!!options.tlsCert !== !!options.tlsKey) usage('--tls-cert and --tls-key go together');
  return options;
}

function createServer(handler, options) {
  if (!options.tlsCert) return http.createServer(handler);
  return https.createServer(
      {cert: fs.readFileSync(options.tlsCert), key: fs.readFileSync(options.tlsKey)}, handler);
}

// Prints the readiness line once the socket accepts connections, and exits 0 on SIGTERM or
// SIGINT after closing the listener and every open connection (keep-alive sockets and
// WebSockets would otherwise hold the process open).
function serve(server, options, closeApp) {
  server.listen(options.port, '127.0.0.1', () => {
    process.stdout.write(`LISTENING ${server.address().port}\n`);
  });
  server.on('error', (err) => {
    process.stderr.write(`cannot listen: ${err.message}\n`);
    process.exit(1);
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 2000).unref();
    if (closeApp) closeApp();
    server.close(() => process.exit(0));
    if (server.closeAllConnections) server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// Tokens for the `token` and `query` modes: random per login, valid for this process only.
class TokenBook {
  constructor() { this.users = new Map(); }
  issue(username) {
    const token = crypto.randomBytes(16).toString('hex');
    this.users.set(token, username);
    return token;
  }
  user(token) { return typeof token === 'string' ? this.users.get(token) : undefined; }
}

// The chat logic all apps share, so every server answers alike.
class ChatRoom {
  constructor(variant) {
    this.variant = variant;
    this.nextId = 1;
  }
  welcome(username) {
    if (this.variant === 'payload') return {username, role: 'member'};
    return {username};
  }
  sendsWelcome() { return this.variant !== 'noevent'; }
  // The event emitted right after welcome by the `extraevent` variant, or null.
  extraEvent() { return this.variant === 'extraevent' ? ['notice', {text: 'welcome back'}] : null; }
  // A chat message: returns the broadcast payload (or null when malformed) and the ack.
  chat(username, message) {
    if (!message || typeof message.text !== 'string') {
      return {broadcast: null, ack: {ok: false, error: 'text missing'}};
    }
    const id = this.nextId++;
    return {broadcast: {from: username, text: message.text}, ack: {ok: true, id}};
  }
  // The ack of a `bin` event: the bytes back (sent as a binary attachment), with their size.
  binary(data) {
    if (!Buffer.isBuffer(data)) return {ok: false, error: 'bytes expected'};
    return {ok: true, size: data.length, echo: data};
  }
  // The body of GET /api/me; the `noise` variant adds values that differ on every call.
  me(username) {
    if (this.variant !== 'noise') return {username};
    return {username, time: new Date().toISOString(), nonce: crypto.randomBytes(8).toString('hex')};
  }
}

function randomSecret() { return crypto.randomBytes(32).toString('hex'); }

const PAGES = path.join(__dirname);

function fillTemplate(file, values) {
  let text = fs.readFileSync(path.join(PAGES, file), 'utf8');
  for (const [key, value] of Object.entries(values))
    text = text.split(`__${key}__`).join(value);
  return text;
}

function loginPage(title) { return fillTemplate('login.html', {TITLE: title}); }

// `flavor` picks the client API the page script speaks: 'v4' (socket.io-client 3/4 and the
// Flask app), 'v2' (socket.io-client 2) or 'v09' (socket.io-client 0.9).
function chatPage(title, scriptSrc, flavor, auth) {
  // JSON inside a <script>: '<' escaped so no value can close the element.
  const config = JSON.stringify({flavor, auth}).replace(/</g, '\\u003c');
  return fillTemplate('chat.html', {TITLE: title, SCRIPT_SRC: scriptSrc, CONFIG: config});
}

module.exports = {
  AUTH_MODES,
  VARIANTS,
  parseOptions,
  createServer,
  serve,
  TokenBook,
  ChatRoom,
  randomSecret,
  loginPage,
  chatPage,
};
