'use strict';
// The Feathers 5 chat (the framework guide's chat application), composed from the @feathersjs
// packages the way its generated app wires them, with in-memory services:
//
//   Koa + REST        `@feathersjs/koa`: static files (public/ and the browser bundle of
//                     @feathersjs/client, served as /feathers.js), body parsing, REST services
//   Socket.IO         `@feathersjs/socketio` (serves /socket.io/socket.io.js itself)
//   authentication    `@feathersjs/authentication` (JWT) + `@feathersjs/authentication-local`
//                     (email/password, bcrypt): POST /authentication or the socket's
//                     `create authentication` → {accessToken, authentication, user}; a socket
//                     that authenticated (or re-authenticated with the JWT) joins the
//                     `authenticated` channel
//   users             POST /users (sign-up, public): password hashed, never sent out; the
//                     avatar is a gravatar URL of the email, as in the guide
//   messages          JWT required: {text} → {id, text, userId, createdAt, user}; newest first;
//                     `messages created` is published to the authenticated connections
//
// Takes PORT (0 = any) and VARIANT (none|changed), or --port/--variant; prints
// `LISTENING <port>` once it accepts connections and exits 0 on SIGTERM.
//
// VARIANT=changed: the sign-up response's `avatar` asks for another size (s=80, not s=60), and
// the `messages created` events carry the text upper-cased; nothing else differs.

const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const {feathers} = require('@feathersjs/feathers');
const {koa, rest, bodyParser, errorHandler, parseAuthentication, serveStatic} =
    require('@feathersjs/koa');
const socketio = require('@feathersjs/socketio');
const {AuthenticationService, JWTStrategy, authenticate} = require('@feathersjs/authentication');
const {LocalStrategy, hooks: {hashPassword, protect}} =
    require('@feathersjs/authentication-local');
const {MemoryService} = require('@feathersjs/memory');
const common = require('../channels/common');

const options = common.parseOptions();

const app = koa(feathers());
app.set('authentication', {
  entity: 'user',
  service: 'users',
  secret: crypto.randomBytes(32).toString('hex'),
  authStrategies: ['jwt', 'local'],
  jwtOptions: {
    header: {typ: 'access'},
    audience: 'https://yourdomain.com',
    algorithm: 'HS256',
    expiresIn: '1d',
  },
  local: {usernameField: 'email', passwordField: 'password'},
});

app.use(errorHandler());
app.use(serveStatic(path.join(__dirname, 'public')));
app.use(serveStatic(path.dirname(require.resolve('@feathersjs/client/dist/feathers.js'))));
app.use(parseAuthentication());
app.use(bodyParser());
app.configure(rest());
app.configure(socketio());

// Authentication.
const authentication = new AuthenticationService(app);
authentication.register('jwt', new JWTStrategy());
authentication.register('local', new LocalStrategy());
app.use('authentication', authentication);

// Users.
const gravatar = (email, size) => {
  const hash = crypto.createHash('md5').update(email.toLowerCase()).digest('hex');
  return `https://s.gravatar.com/avatar/${hash}?s=${size}`;
};
app.use('users', new MemoryService({paginate: {default: 10, max: 50}}));
app.service('users').hooks({
  before: {
    find: [authenticate('jwt')],
    get: [authenticate('jwt')],
    create: [
      hashPassword('password'),
      (context) => {
        context.data = {...context.data, avatar: gravatar(context.data.email, 60)};
      },
    ],
    update: [hashPassword('password'), authenticate('jwt')],
    patch: [hashPassword('password'), authenticate('jwt')],
    remove: [authenticate('jwt')],
  },
  after: {
    all: [protect('password')],
    create: options.changed ?
        [(context) => {
          // protect() answers with context.dispatch, a copy made before this hook ran.
          const avatar = gravatar(context.result.email, 80);
          context.result = {...context.result, avatar};
          if (context.dispatch) context.dispatch = {...context.dispatch, avatar};
        }] :
        [],
  },
});

// Messages.
app.use('messages', new MemoryService({paginate: {default: 25, max: 50}}));
app.service('messages').hooks({
  around: {all: [authenticate('jwt')]},
  before: {
    create: [(context) => {
      context.data = {
        text: String(context.data.text || '').slice(0, 400),
        userId: context.params.user.id,
        createdAt: Date.now(),
      };
    }],
  },
  after: {
    all: [async (context) => {
      // The guide's message resolver: each message with its (safe) user.
      const withUser = async (message) => {
        const user = await app.service('users').get(message.userId);
        const {password, ...safe} = user;
        return {...message, user: safe};
      };
      if (context.method !== 'find') {
        context.result = await withUser(context.result);
      } else {
        const data = await Promise.all(context.result.data.map(withUser));
        context.result = {...context.result, data};
      }
    }],
  },
});

// Channels: connections join `anonymous`; a login moves them to `authenticated`, which gets
// every service event.
app.on('connection', (connection) => app.channel('anonymous').join(connection));
app.on('login', (authResult, {connection}) => {
  if (connection) {
    app.channel('anonymous').leave(connection);
    app.channel('authenticated').join(connection);
  }
});
app.publish(() => app.channel('authenticated'));
if (options.changed) {
  app.service('messages').publish('created', (data) =>
      app.channel('authenticated').send({...data, text: data.text.toUpperCase()}));
}

const server = http.createServer(app.callback());
app.setup(server).then(() => common.serve(server, options.port, () => app.io.close()));
