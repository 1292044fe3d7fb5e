'use strict';
// A Chrome DevTools protocol connection for the browser drivers (browser_drive.js,
// browser_converse.js, browser_har.js): commands with ids, answered by id; events by name and
// session (flattened target sessions).

const WebSocket = require('ws');

class DevTools {
  constructor(url) {
    // Network events with response bodies (browser_har.js) can be large.
    this.ws = new WebSocket(url, {perMessageDeflate: false, maxPayload: 256 * 1024 * 1024});
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.id !== undefined) {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (!waiter) return;
        if (message.error) waiter.reject(new Error(JSON.stringify(message.error)));
        else waiter.resolve(message.result);
        return;
      }
      for (const listener of [...this.listeners]) listener(message);
    });
  }
  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    const message = {id, method, params};
    if (sessionId) message.sessionId = sessionId;
    this.ws.send(JSON.stringify(message));
    return new Promise((resolve, reject) => this.pending.set(id, {resolve, reject}));
  }
  // Every event, for as long as the connection lives.
  on(listener) { this.listeners.push(listener); }
  // Resolves with the next event of that name (on that session) for which `accept` holds.
  next(method, sessionId, accept = () => true) {
    return new Promise((resolve) => {
      const listener = (message) => {
        if (message.method !== method || message.sessionId !== sessionId) return;
        if (!accept(message.params)) return;
        this.listeners.splice(this.listeners.indexOf(listener), 1);
        resolve(message.params);
      };
      this.listeners.push(listener);
    });
  }
}

module.exports = {DevTools};
