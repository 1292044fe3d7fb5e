'use strict';
// Drives a running headless Chromium (no proxy) through the DevTools protocol and writes the
// HAR that DevTools itself would build from the Network domain's events: HTTP entries from
// requestWillBeSent / responseReceived / loadingFinished (bodies from Network.getResponseBody
// and Network.getRequestPostData, raw headers with Cookie and Set-Cookie from the *ExtraInfo
// events), and one entry per WebSocket with `_resourceType: "websocket"` and
// `_webSocketMessages: [{type, time, opcode, data}]` (time in epoch seconds; data as text for
// opcode 1, base64 otherwise, as payloadData arrives).
//
// The page: signs in with the login form, waits for the socket's welcome and for the
// WebSocket transport, sends each chat message and awaits its ack and its broadcast, closes
// the socket and awaits the WebSocket's close. Prints one JSON object per line per step.
//
//   node browser_har.js --devtools ws://127.0.0.1:PORT/devtools/browser/ID --url URL
//        --user NAME --text TEXT [--text TEXT...] --har FILE [--timeout-ms N]

const fs = require('fs');
const {DevTools, print, fail, openTab, signIn, untilWebSocket, finish, parseFlags} = require('./devtools');

function parseArgs(argv) {
  const args = parseFlags(argv, {devtools: null, url: null, user: 'alice', texts: [], har: null,
                                 timeoutMs: 60000}, {
    '--devtools': ['devtools', 'string'],
    '--url': ['url', 'string'],
    '--timeout-ms': ['timeoutMs', 'number'],
    '--user': ['user', 'string'],
    '--text': ['texts', 'list'],
    '--har': ['har', 'string'],
  });
  if (!args.devtools || !args.url || !args.har) fail('--devtools, --url and --har are required');
  if (args.texts.length === 0) args.texts.push('hello from chromium');
  return args;
}

// DevTools headers are an object; several values of one name are joined with "\n".
function harHeaders(object) {
  const out = [];
  for (const [name, value] of Object.entries(object || {})) {
    for (const line of String(value).split('\n'))
      out.push({name, value: line});
  }
  return out;
}

function headerValue(headers, name) {
  const found = headers.find((h) => h.name.toLowerCase() === name.toLowerCase());
  return found ? found.value : '';
}

function harCookiesSent(headers) {
  const cookie = headerValue(headers, 'cookie');
  if (!cookie) return [];
  return cookie.split(';').map((pair) => pair.trim()).filter((p) => p).map((pair) => {
    const eq = pair.indexOf('=');
    return eq < 0 ? {name: pair, value: ''} : {name: pair.slice(0, eq), value: pair.slice(eq + 1)};
  });
}

function harCookiesSet(headers) {
  return headers.filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => {
    const [pair, ...attributes] = h.value.split(';');
    const eq = pair.indexOf('=');
    const cookie = {name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim()};
    for (const attribute of attributes) {
      const [key, ...rest] = attribute.trim().split('=');
      const value = rest.join('=');
      const lower = key.toLowerCase();
      if (lower === 'path')
        cookie.path = value;
      else if (lower === 'domain')
        cookie.domain = value;
      else if (lower === 'expires')
        cookie.expires = new Date(value).toISOString();
      else if (lower === 'httponly')
        cookie.httpOnly = true;
      else if (lower === 'secure')
        cookie.secure = true;
      else if (lower === 'samesite')
        cookie.sameSite = value;
    }
    return cookie;
  });
}

function queryString(url) {
  return [...new URL(url).searchParams].map(([name, value]) => ({name, value}));
}

// Collects the Network events of one page session into HAR entries.
class HarBuilder {
  constructor() {
    this.hops = [];                  // every request hop (a redirect starts a new hop), in order
    this.current = new Map();        // requestId → its latest hop
    this.requestExtra = new Map();   // requestId → requestWillBeSentExtraInfo params, in order
    this.responseExtra = new Map();  // requestId → responseReceivedExtraInfo params, in order
    this.hopCount = new Map();       // requestId → hops seen so far
    this.sockets = new Map();        // requestId → WebSocket entry
    this.bodies = [];                // pending Network.getResponseBody / getRequestPostData calls
    this.clockOffset = null;         // wallTime − timestamp, seconds
  }

  wall(timestamp) { return timestamp + (this.clockOffset || 0); }

  handle(method, p, page) {
    if (method === 'Network.requestWillBeSent') {
      if (p.wallTime !== undefined) this.clockOffset = p.wallTime - p.timestamp;
      const previous = this.current.get(p.requestId);
      if (previous && p.redirectResponse) {
        this.finishResponse(previous, p.redirectResponse);
        previous.end = p.timestamp;
      }
      const index = this.hopCount.get(p.requestId) || 0;
      this.hopCount.set(p.requestId, index + 1);
      const hop = {
        requestId: p.requestId,
        index,
        request: p.request,
        type: p.type,
        start: p.timestamp,
        wallTime: p.wallTime,
        response: null,
        end: null,
        body: null,
        postData: null
      };
      if (p.request.hasPostData) {
        if (p.request.postData !== undefined)
          hop.postData = p.request.postData;
        else if (p.request.postDataEntries) {
          hop.postData = Buffer
                             .concat(p.request.postDataEntries.map(
                                 (e) => Buffer.from(e.bytes || '', 'base64')))
                             .toString('utf8');
        } else {
          this.bodies.push(
              page('Network.getRequestPostData', {requestId: p.requestId}).then((r) => {
                hop.postData = r.postData;
              }, () => {}));
        }
      }
      this.current.set(p.requestId, hop);
      this.hops.push(hop);
    } else if (method === 'Network.requestWillBeSentExtraInfo') {
      this.pushExtra(this.requestExtra, p);
    } else if (method === 'Network.responseReceivedExtraInfo') {
      this.pushExtra(this.responseExtra, p);
    } else if (method === 'Network.responseReceived') {
      const hop = this.current.get(p.requestId);
      if (hop) this.finishResponse(hop, p.response);
    } else if (method === 'Network.loadingFinished') {
      const hop = this.current.get(p.requestId);
      if (!hop) return;
      hop.end = p.timestamp;
      hop.encodedLength = p.encodedDataLength;
      this.bodies.push(page('Network.getResponseBody', {requestId: p.requestId}).then((r) => {
        hop.body = r;
      }, () => {}));
    } else if (method === 'Network.loadingFailed') {
      const hop = this.current.get(p.requestId);
      if (hop) {
        hop.end = p.timestamp;
        hop.error = p.errorText;
      }
    } else if (method === 'Network.webSocketCreated') {
      this.sockets.set(p.requestId, {
        url: p.url,
        request: null,
        response: null,
        frames: [],
        start: null,
        wallTime: null,
        closed: false
      });
    } else if (method === 'Network.webSocketWillSendHandshakeRequest') {
      const socket = this.sockets.get(p.requestId);
      if (!socket) return;
      socket.request = p.request;
      socket.start = p.timestamp;
      socket.wallTime = p.wallTime;
    } else if (method === 'Network.webSocketHandshakeResponseReceived') {
      const socket = this.sockets.get(p.requestId);
      if (socket) socket.response = p.response;
    } else if (
        method === 'Network.webSocketFrameSent' || method === 'Network.webSocketFrameReceived') {
      const socket = this.sockets.get(p.requestId);
      if (!socket) return;
      socket.frames.push({
        type: method === 'Network.webSocketFrameSent' ? 'send' : 'receive',
        time: this.wall(p.timestamp),
        opcode: p.response.opcode,
        data: p.response.payloadData
      });
    } else if (method === 'Network.webSocketClosed') {
      const socket = this.sockets.get(p.requestId);
      if (socket) {
        socket.closed = true;
        socket.end = p.timestamp;
      }
    }
  }

  // ExtraInfo events come once per hop, in hop order, but possibly before the hop's own event.
  pushExtra(map, p) {
    if (!map.has(p.requestId)) map.set(p.requestId, []);
    map.get(p.requestId).push(p);
  }

  finishResponse(hop, response) { hop.response = response; }

  async settle() { await Promise.all(this.bodies); }

  httpEntry(hop) {
    const requestExtra = (this.requestExtra.get(hop.requestId) || [])[hop.index];
    const responseExtra = (this.responseExtra.get(hop.requestId) || [])[hop.index];
    // The ExtraInfo headers are the ones on the wire, Cookie included; requestWillBeSent's
    // leave it out.
    const requestHeaders = harHeaders(requestExtra ? requestExtra.headers : hop.request.headers);
    const response = hop.response || {};
    const responseHeaders = harHeaders(responseExtra ? responseExtra.headers : response.headers);
    const protocol = String(response.protocol || 'http/1.1').toUpperCase();
    const request = {
      method: hop.request.method,
      url: hop.request.url,
      httpVersion: protocol,
      cookies: harCookiesSent(requestHeaders),
      headers: requestHeaders,
      queryString: queryString(hop.request.url),
      headersSize: -1,
      bodySize: hop.postData ? Buffer.byteLength(hop.postData) : 0
    };
    if (hop.postData !== null) {
      request.postData = {
        mimeType: headerValue(requestHeaders, 'content-type'),
        text: hop.postData
      };
    }
    const content = {size: 0, mimeType: response.mimeType || ''};
    if (hop.body) {
      content.text = hop.body.body;
      if (hop.body.base64Encoded) content.encoding = 'base64';
      content.size = hop.body.base64Encoded ? Buffer.from(hop.body.body, 'base64').length :
                                              Buffer.byteLength(hop.body.body);
    }
    // DevTools' timing is in milliseconds from requestTime (seconds, the same clock).
    const t = response.timing;
    const total = hop.end !== null ? (hop.end - hop.start) * 1000 : 0;
    let timings = {blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: total};
    if (t) {
      const base = (t.requestTime - hop.start) * 1000;
      const span = (a, b) => (a >= 0 && b >= 0 ? b - a : -1);
      const dns = span(t.dnsStart, t.dnsEnd);
      const connect = span(t.connectStart, t.connectEnd);
      const ssl = span(t.sslStart, t.sslEnd);
      const send = Math.max(0, t.sendEnd - t.sendStart);
      const wait = Math.max(0, t.receiveHeadersEnd - t.sendEnd);
      const blocked = Math.max(0, base + t.sendStart - Math.max(0, dns) - Math.max(0, connect));
      const receive = Math.max(0, total - (base + t.receiveHeadersEnd));
      timings = {blocked, dns, connect, ssl, send, wait, receive};
    }
    const entry = {
      startedDateTime: new Date(this.wall(hop.start) * 1000).toISOString(),
      time: total,
      request,
      response: {
        status: response.status || 0,
        statusText: response.statusText || '',
        httpVersion: protocol,
        cookies: harCookiesSet(responseHeaders),
        headers: responseHeaders,
        content,
        redirectURL: headerValue(responseHeaders, 'location'),
        headersSize: -1,
        bodySize: hop.encodedLength || content.size
      },
      cache: {},
      timings,
      _resourceType: String(hop.type || 'other').toLowerCase(),
    };
    if (response.connectionId !== undefined) entry.connection = String(response.connectionId);
    if (response.remoteIPAddress) entry.serverIPAddress = response.remoteIPAddress;
    if (hop.error) entry._error = hop.error;
    return entry;
  }

  socketEntry(requestId, socket) {
    // The handshake GET of the Upgrade itself: its HTTP request is also reported as a request
    // hop (requestWillBeSent with the same requestId) and is replaced by this entry.
    const hop = this.hops.find((h) => h.requestId === requestId);
    const requestHeaders = harHeaders(
        socket.request ? socket.request.headers :
            hop        ? hop.request.headers :
                         {});
    const response = socket.response || {};
    const responseHeaders = harHeaders(response.headers);
    const start = socket.start !== null ? socket.start : hop ? hop.start : 0;
    return {
      startedDateTime: new Date(this.wall(start) * 1000).toISOString(),
      time: socket.end !== undefined ? (socket.end - start) * 1000 : 0,
      request: {
        method: 'GET',
        url: socket.url,
        httpVersion: 'HTTP/1.1',
        cookies: harCookiesSent(requestHeaders),
        headers: requestHeaders,
        queryString: queryString(socket.url),
        headersSize: -1,
        bodySize: 0
      },
      response: {
        status: response.status || 101,
        statusText: response.statusText || '',
        httpVersion: 'HTTP/1.1',
        cookies: harCookiesSet(responseHeaders),
        headers: responseHeaders,
        content: {size: 0, mimeType: ''},
        redirectURL: '',
        headersSize: -1,
        bodySize: 0
      },
      cache: {},
      timings: {blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: 0},
      _resourceType: 'websocket',
      _webSocketMessages: socket.frames,
    };
  }

  har() {
    const entries = [];
    for (const hop of this.hops) {
      if (this.sockets.has(hop.requestId)) continue;
      entries.push(this.httpEntry(hop));
    }
    for (const [requestId, socket] of this.sockets)
      entries.push(this.socketEntry(requestId, socket));
    entries.sort((a, b) => Date.parse(a.startedDateTime) - Date.parse(b.startedDateTime));
    return {
      log: {version: '1.2', creator: {name: 'browser_har.js', version: '1'}, pages: [], entries}
    };
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  setTimeout(() => fail('timed out'), args.timeoutMs).unref();
  const devtools = new DevTools(args.devtools);
  await devtools.opened;

  const tab = await openTab(devtools);
  const {sessionId, page, evaluate, until} = tab;
  const har = new HarBuilder();
  devtools.on((message) => {
    if (message.sessionId === sessionId && message.method &&
        message.method.startsWith('Network.')) {
      har.handle(message.method, message.params, page);
    }
  });
  await page('Network.enable', {maxPostDataSize: 65536});

  await signIn(tab, args.url, args.user);
  await untilWebSocket(tab);
  print({type: 'upgrade', transport: 'websocket'});

  for (const text of args.texts) {
    const ack = await evaluate(`window.chat(${JSON.stringify(text)})`);
    print({type: 'ack', text, ack});
    await until(`window.events.some((e) => e.name === 'chat' && e.args[0] &&
                 e.args[0].text === ${JSON.stringify(text)})`);
  }
  print({type: 'events', events: await evaluate('window.events')});

  // The WebSocket's close is awaited so that its entry is complete.
  const closed = devtools.next('Network.webSocketClosed', sessionId);
  await evaluate('window.socket.close(), true');
  await closed;
  await har.settle();
  const document = har.har();
  fs.writeFileSync(args.har, JSON.stringify(document, null, 1));
  print({
    type: 'har',
    entries: document.log.entries.length,
    frames: document.log.entries.reduce(
        (n, e) => n + (e._webSocketMessages ? e._webSocketMessages.length : 0), 0)
  });
  await finish(devtools);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
