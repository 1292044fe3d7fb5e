// What the channel apps' pages share, served as /channels-common.js (common.js): the user of
// ?user= (default alice), a status line (#status), signing in, a list to show things in, and
// for Socket.IO pages the events received and the chat.
// window.events holds every Socket.IO event received, as {name, args}.
(function () {
  'use strict';
  const user = new URLSearchParams(location.search).get('user') || 'alice';
  const events = [];
  window.events = events;

  const status = (line) => { document.getElementById('status').textContent = line; };

  // POST /login as the user; the answer's JSON.
  async function login() {
    const answer = await fetch('/login', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({username: user}),
    });
    if (!answer.ok) throw new Error('login answered ' + answer.status);
    return answer.json();
  }

  // Appends an item to the list #`id`.
  function show(id, text) {
    const item = document.createElement('li');
    item.textContent = text;
    document.getElementById(id).appendChild(item);
  }

  // The first payload of the event `name` on `socket`, recorded in window.events.
  function on(socket, name) {
    return new Promise((resolve) => socket.on(name, (payload) => {
      events.push({name, args: [payload]});
      resolve(payload);
    }));
  }

  // A promise that rejects when `socket` emits `name` ("error", "connect_error").
  function failOn(socket, name) {
    return new Promise((resolve, reject) => socket.on(name, (err) => {
      reject(new Error(name + ': ' + (err instanceof Error ? err.message : err)));
    }));
  }

  // Sends `chat` {text} with an ack and awaits its broadcast; every chat heard is recorded and
  // passed to `heard` when given. Resolves with the ack.
  async function chat(socket, text, heard) {
    const echoed = new Promise((resolve) => {
      socket.on('chat', (payload) => {
        events.push({name: 'chat', args: [payload]});
        if (heard) heard(payload);
        if (payload.text === text) resolve(payload);
      });
    });
    const ack = await new Promise((resolve) => socket.emit('chat', {text}, resolve));
    await echoed;
    return ack;
  }

  // window.done: what `steps` resolve with, once the status says "done"; a failure is shown.
  function run(steps) {
    window.done = (async () => {
      const result = await steps();
      status('done');
      return result;
    })();
    window.done.catch((err) => status('error: ' + err.message));
  }

  window.channels = {user, events, status, login, show, on, failOn, chat, run};
})();
