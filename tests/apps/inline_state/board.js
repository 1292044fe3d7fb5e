// The board page's script (served as /static/board.<hash>.js). Hooks for a browser driven by a
// test (headless Chromium):
//   window.connected  resolves when the socket is connected, rejects on a refused connection
//   window.welcomed   resolves with the `state` event's payload
//   window.done       resolves once the page did its part: fetched the logo twice (the
//                     second time the browser revalidates it from its cache: a 304), read its
//                     board (the id from the JSON blob), got an access token (CSRF token of APP_LOCALS in
//                     x-csrf-token), read the profile with it (Bearer), checked it over the
//                     socket, added a card with the socket's memberId, and awaited the
//                     WebSocket upgrade (or the one transport of APP_LOCALS.transports);
//                     with {logo, board, profile, state, check, card, token, transport}
(function () {
  'use strict';
  const csrf = window.APP_LOCALS._csrf;
  const initial = JSON.parse(document.getElementById('initial-state').textContent);
  const status = (line) => { document.getElementById('status').textContent = line; };

  const transports = window.APP_LOCALS.transports;
  const socket = io({auth: {csrf}, transports});
  window.socket = socket;
  window.connected = new Promise((resolve, reject) => {
    socket.on('connect', resolve);
    socket.on('connect_error', (err) => reject(new Error('connect_error: ' + err.message)));
  });
  window.connected.catch(() => {});
  window.welcomed = new Promise((resolve) => socket.on('state', resolve));

  async function json(answer) {
    if (!answer.ok) throw new Error(answer.url + ' answered ' + answer.status);
    return answer.json();
  }
  const ask = (name, payload) => new Promise((resolve) => socket.emit(name, payload, resolve));

  window.done = (async () => {
    // The browser answers the second fetch from its cache after a conditional request.
    const first = await fetch('/static/logo.svg');
    await first.text();
    const again = await fetch('/static/logo.svg');
    const logo = {first: first.status, again: again.status, same: (await again.text()).length > 0};
    const board = await json(await fetch('/api/boards/' + encodeURIComponent(initial.boardId)));
    const {token} = await json(await fetch('/api/token', {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'x-csrf-token': csrf},
      body: '{}',
    }));
    const profile = await json(await fetch('/api/profile', {
      headers: {'Authorization': 'Bearer ' + token},
    }));
    const state = await window.welcomed;
    const check = await ask('token:check', {token});
    const card = await ask('card:add', {memberId: state.memberId, csrf, text: 'first card'});
    const item = document.createElement('li');
    item.textContent = card.text;
    document.getElementById('cards').appendChild(item);
    await new Promise((resolve) => {
      const last = transports[transports.length - 1];
      const wait = () => (socket.io.engine.transport.name === last ? resolve()
                                                                    : setTimeout(wait, 20));
      wait();
    });
    status('done');
    return {logo, board, profile, state, check, card, token,
            transport: socket.io.engine.transport.name};
  })();
  window.done.catch((err) => status('error: ' + err.message));
})();
