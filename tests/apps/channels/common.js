'use strict';
// What the channel apps share: options, the readiness line, a clean exit on SIGTERM, and
// serving their page.
//
// Every app takes `--port N` (or PORT; 0 = any free port) and `--variant none|changed` (or
// VARIANT). `changed` alters exactly one field of one server message, so that a replay of a
// session recorded against the normal app must notice it. Flags win over the environment.

const fs = require('node:fs');
const path = require('node:path');

const VARIANTS = ['none', 'changed'];

function usage(message) {
  process.stderr.write(`${message}\noptions: [--port N] [--variant none|changed]\n`);
  process.exit(2);
}

function parseOptions(argv = process.argv.slice(2), env = process.env) {
  const options = {
    port: env.PORT !== undefined && env.PORT !== '' ? Number(env.PORT) : 0,
    variant: env.VARIANT || 'none',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--variant') options.variant = value;
    else usage(`unknown option ${flag}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    usage('--port must be 0..65535');
  if (!VARIANTS.includes(options.variant)) usage(`--variant must be one of ${VARIANTS.join('|')}`);
  options.changed = options.variant === 'changed';
  return options;
}

// Listens on 127.0.0.1, prints `LISTENING <port>` once connections are accepted, and exits 0
// on SIGTERM or SIGINT after closing the listener and every open connection (keep-alive
// sockets, WebSockets and event streams would otherwise hold the process open). `closeApp`
// closes what the app holds besides (a Socket.IO server, a WebSocket server, timers).
function serve(server, port, closeApp) {
  server.listen(port, '127.0.0.1', () => {
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

// The text of a file next to the calling app (its page).
function pageOf(dir, name = 'page.html') {
  return fs.readFileSync(path.join(dir, name), 'utf8');
}

module.exports = {VARIANTS, parseOptions, serve, pageOf};
