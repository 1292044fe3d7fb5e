// The Feathers chat page: the real browser client (@feathersjs/client over the Socket.IO
// client, with its authentication client storing the JWT in localStorage).
//
// First visit (no stored JWT): signs up over REST (POST /users, the guide's sign-up form posts
// the same JSON), logs in over the socket (`create authentication`, strategy local), loads the
// messages, sends two and awaits their `messages created` events.
// A later visit (the JWT stored): re-authenticates the new socket with the stored JWT and loads
// the messages.
//
// window.done resolves with what the page saw, for a driven browser; window.events holds the
// `messages created` events received.
(function () {
  'use strict';
  const email = 'alice@example.com';
  const password = 'correct horse battery';
  const texts = ['hello from feathers', 'a second message'];

  const statusOf = document.getElementById('status');
  const status = (text) => { statusOf.textContent = text; };
  const show = (message) => {
    const item = document.createElement('li');
    item.textContent = message.user.email + ': ' + message.text;
    document.getElementById('messages').appendChild(item);
  };

  const socket = io();
  const client = feathers();
  client.configure(feathers.socketio(socket));
  client.configure(feathers.authentication());
  window.socket = socket;
  window.client = client;

  const messages = client.service('messages');
  const events = [];
  window.events = events;
  let created = null;
  const createdCount = (n) => new Promise((resolve) => {
    created = () => { if (events.length >= n) resolve(events.slice()); };
    created();
  });
  messages.on('created', (message) => {
    events.push(message);
    show(message);
    if (created) created();
  });

  async function signUp() {
    status('signing up');
    const response = await fetch('/users', {
      method: 'POST',
      headers: {'Content-Type': 'application/json', Accept: 'application/json'},
      body: JSON.stringify({email, password}),
    });
    if (response.status !== 201) throw new Error('sign-up answered ' + response.status);
    return response.json();
  }

  async function load() {
    const page = await messages.find({query: {$sort: {createdAt: -1}, $limit: 25}});
    page.data.slice().reverse().forEach(show);
    return page;
  }

  async function firstVisit() {
    const user = await signUp();
    status('logging in');
    const login = await client.authenticate({strategy: 'local', email, password});
    document.getElementById('user').textContent = login.user.email;
    status('loading');
    const before = await load();
    status('sending');
    const sent = [];
    for (const text of texts) sent.push(await messages.create({text}));
    const received = await createdCount(texts.length);
    status('done');
    return {visit: 'first', user, login: {strategy: login.authentication.strategy,
                                           user: login.user, token: login.accessToken},
            before: before.total, sent, received};
  }

  async function laterVisit() {
    status('re-authenticating');
    const login = await client.reAuthenticate();
    document.getElementById('user').textContent = login.user.email;
    const page = await load();
    status('done');
    return {visit: 'later', login: {strategy: login.authentication.strategy, user: login.user,
                                    token: login.accessToken},
            messages: page.data};
  }

  window.done = (async () => {
    const stored = await client.authentication.getAccessToken();
    return stored ? laterVisit() : firstVisit();
  })();
  window.done.catch((err) => status('failed: ' + (err && err.message ? err.message : err)));
})();
