-- Work Already capture file: the one definition of the schema.
--
-- This file is embedded into the binary at build time (storage/CMakeLists.txt) and documented
-- table by table in storage/README.md. `sqlite3 new.sqlite < storage/schema.sql` makes an empty
-- capture file that the binary accepts.
--
-- Conventions: ids are INTEGER PRIMARY KEYs handed out by the writer in capture order (see
-- README.md, "Ids"); times are integer microseconds since the Unix epoch (UTC); a NULL means
-- "not known" or "did not happen"; `direction` names the sender ('client' or 'server');
-- recording_id is repeated on every event table so that per-recording questions need no join.

CREATE TABLE recordings (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL,
  started_us    INTEGER NOT NULL,
  ended_us      INTEGER,                 -- NULL while recording, or when the recorder died
  mode          TEXT NOT NULL,           -- 'forward' or 'reverse'
  listen        TEXT NOT NULL,           -- the proxy's listen address, '127.0.0.1:8080'
  upstream      TEXT,                    -- reverse mode: the upstream URL
  tool_version  TEXT NOT NULL
);

CREATE TABLE connections (
  id            INTEGER PRIMARY KEY,
  recording_id  INTEGER NOT NULL REFERENCES recordings(id),
  client_addr   TEXT NOT NULL,           -- '127.0.0.1:53422'
  server_host   TEXT NOT NULL,
  server_port   INTEGER NOT NULL,
  tls           INTEGER NOT NULL CHECK (tls IN (0, 1)),
  sni           TEXT,
  alpn          TEXT,
  opened_us     INTEGER NOT NULL,
  closed_us     INTEGER,
  error         TEXT                     -- why it ended abnormally
);
CREATE INDEX connections_by_recording ON connections(recording_id);

CREATE TABLE exchanges (
  id                    INTEGER PRIMARY KEY,
  recording_id          INTEGER NOT NULL REFERENCES recordings(id),
  connection_id         INTEGER NOT NULL REFERENCES connections(id),
  seq                   INTEGER NOT NULL, -- order on its connection, from 0
  method                TEXT NOT NULL,
  url                   TEXT NOT NULL,    -- absolute: 'https://app.test/login?next=%2F'
  http_version          TEXT NOT NULL,    -- of the request: 'HTTP/1.1'
  request_headers       TEXT NOT NULL,    -- JSON [[name, value], ...] in wire order
  request_body          BLOB NOT NULL,    -- without transfer coding; maybe cut
  request_body_length   INTEGER NOT NULL, -- full length; more than length(request_body) if cut;
                                          -- -1: not known (a HAR that did not hold it)
  request_body_sha256   TEXT,             -- hex SHA-256 of the full body, only when cut
  request_encoding      TEXT,             -- request Content-Encoding codings, as sent
  status                INTEGER,          -- NULL: no response (see error)
  reason                TEXT,
  response_version      TEXT,
  response_headers      TEXT,             -- JSON like request_headers; NULL: no response
  response_body         BLOB NOT NULL,
  response_body_length  INTEGER NOT NULL, -- -1: not known (a HAR that did not hold it)
  response_body_sha256  TEXT,
  response_encoding     TEXT,             -- response Content-Encoding codings; body kept encoded
  started_us            INTEGER NOT NULL, -- first byte of the request
  first_byte_us         INTEGER,          -- first byte of the response
  ended_us              INTEGER,          -- last byte of the response
  error_code            TEXT,             -- errc name, 'http_malformed', ...
  error                 TEXT              -- one line
);
CREATE INDEX exchanges_by_recording ON exchanges(recording_id);
CREATE INDEX exchanges_by_connection ON exchanges(connection_id);

CREATE TABLE ws_messages (
  id              INTEGER PRIMARY KEY,
  recording_id    INTEGER NOT NULL REFERENCES recordings(id),
  exchange_id     INTEGER NOT NULL REFERENCES exchanges(id), -- the Upgrade exchange
  direction       TEXT NOT NULL CHECK (direction IN ('client', 'server')),
  opcode          INTEGER NOT NULL,       -- RFC 6455 §5.2: 1 text, 2 binary, 8 close, 9/10 ping/pong
  payload         BLOB NOT NULL,          -- reassembled, inflated; stored as TEXT for text messages
  payload_length  INTEGER NOT NULL,
  payload_sha256  TEXT,                   -- only when cut
  compressed      INTEGER NOT NULL CHECK (compressed IN (0, 1)), -- RSV1, RFC 7692 §6
  time_us         INTEGER NOT NULL,       -- when the last frame of the message was seen
  error           TEXT                    -- why a peer would refuse it (an invalid frame, a bad
                                          -- close code, a payload that does not inflate), or
                                          -- why it is not whole; the frames of the direction
                                          -- could no longer be read after one whose error says so
);
CREATE INDEX ws_messages_by_recording ON ws_messages(recording_id);
CREATE INDEX ws_messages_by_exchange ON ws_messages(exchange_id);

CREATE TABLE eio_sessions (
  id                     INTEGER PRIMARY KEY,
  recording_id           INTEGER NOT NULL REFERENCES recordings(id),
  sid                    TEXT NOT NULL,   -- the Engine.IO sid (Socket.IO 0.9: the handshake sid)
  protocol               TEXT NOT NULL CHECK (protocol IN ('eio3', 'eio4', 'sio09')),
  opened_us              INTEGER NOT NULL,
  handshake_exchange_id  INTEGER REFERENCES exchanges(id) -- the open packet's exchange
);
CREATE INDEX eio_sessions_by_recording ON eio_sessions(recording_id);

CREATE TABLE socket_packets (
  id             INTEGER PRIMARY KEY,
  recording_id   INTEGER NOT NULL REFERENCES recordings(id),
  session_id     INTEGER REFERENCES eio_sessions(id),
  ws_message_id  INTEGER REFERENCES ws_messages(id), -- carried by this WebSocket message, or
  exchange_id    INTEGER REFERENCES exchanges(id),   -- by this polling request/response body
  position       INTEGER NOT NULL,       -- index of the packet in its message or body, from 0
  direction      TEXT NOT NULL CHECK (direction IN ('client', 'server')),
  transport      TEXT NOT NULL CHECK (transport IN ('polling', 'websocket')),
  time_us        INTEGER NOT NULL,
  eio_type       INTEGER,                -- Engine.IO 0 open .. 6 noop; NULL for Socket.IO 0.9
  sio_type       INTEGER,                -- Socket.IO type (0.9: the frame type); NULL if none
  namespace      TEXT,                   -- '/' for the main namespace
  event          TEXT,                   -- event name (EVENT, BINARY_EVENT, 0.9 event)
  ack_id         INTEGER,
  args           TEXT,                   -- JSON: event/ack arguments, or the packet's payload
  attachments    INTEGER NOT NULL DEFAULT 0, -- binary attachments announced (`451-`)
  raw            BLOB NOT NULL,          -- the packet as carried, for re-decoding later
  CHECK ((ws_message_id IS NULL) <> (exchange_id IS NULL))
);
CREATE INDEX socket_packets_by_recording ON socket_packets(recording_id);

CREATE TABLE socket_attachments (
  packet_id  INTEGER NOT NULL REFERENCES socket_packets(id),
  num        INTEGER NOT NULL,           -- the placeholder's "num"
  data       BLOB NOT NULL,
  PRIMARY KEY (packet_id, num)
) WITHOUT ROWID;

CREATE TABLE cookies (
  id            INTEGER PRIMARY KEY,
  recording_id  INTEGER NOT NULL REFERENCES recordings(id),
  exchange_id   INTEGER NOT NULL REFERENCES exchanges(id),
  kind          TEXT NOT NULL CHECK (kind IN ('set', 'sent')), -- Set-Cookie or Cookie
  name          TEXT NOT NULL,
  value         TEXT NOT NULL,
  domain        TEXT,
  path          TEXT,
  expires       TEXT,                    -- the Expires attribute as sent
  max_age       INTEGER,
  secure        INTEGER NOT NULL DEFAULT 0,
  http_only     INTEGER NOT NULL DEFAULT 0,
  same_site     TEXT,
  raw           TEXT                     -- 'set': the whole Set-Cookie field value
);
CREATE INDEX cookies_by_recording ON cookies(recording_id);
CREATE INDEX cookies_by_exchange ON cookies(exchange_id);

-- Since v2. What may differ between a recording and its replay (DESIGN.md, replayer:
-- matching): learned by `replay --calibrate` or written by hand.
CREATE TABLE noise_rules (
  id            INTEGER PRIMARY KEY,
  recording_id  INTEGER REFERENCES recordings(id), -- NULL: every recording in the file
  scope         TEXT NOT NULL,           -- '*', an endpoint 'GET /api/items', 'event chat'
  kind          TEXT NOT NULL CHECK (kind IN ('header', 'json_pointer', 'regex')),
  pattern       TEXT NOT NULL,           -- header name, RFC 6901 JSON pointer, or regex
  origin        TEXT NOT NULL CHECK (origin IN ('calibrate', 'user')),
  created_us    INTEGER NOT NULL,
  -- Since v4. What made calibration learn the rule: a JSON array of the values seen, one per
  -- pass ('["17", "18"]'); '[]' for rules written by hand.
  evidence      TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX noise_rules_by_recording ON noise_rules(recording_id);

-- Since v3. Server-Sent Events (HTML Living Standard §9.2.6), one row per dispatched event of a
-- text/event-stream response, written as each arrives: the exchange's own row follows when the
-- stream ends (storage/README.md, "Ids").
CREATE TABLE sse_events (
  id            INTEGER PRIMARY KEY,
  recording_id  INTEGER NOT NULL REFERENCES recordings(id),
  exchange_id   INTEGER NOT NULL REFERENCES exchanges(id), -- the text/event-stream exchange
  seq           INTEGER NOT NULL,        -- order on that stream, from 0
  time_us       INTEGER NOT NULL,        -- when the blank line that dispatched it arrived
  event_id      TEXT,                    -- the last event ID, when the event had an id field
  event         TEXT NOT NULL,           -- the event type, 'message' by default
  data          TEXT NOT NULL,           -- the data lines joined with LF
  retry         INTEGER                  -- a retry field of the event, in milliseconds
);
CREATE INDEX sse_events_by_recording ON sse_events(recording_id);

-- Every Socket.IO event of every recording in capture order, whatever carried it.
CREATE VIEW socketio_events AS
SELECT p.recording_id, p.id AS packet_id, p.time_us, p.direction, p.transport,
       s.sid, p.namespace, p.event, p.ack_id, p.args, p.attachments
FROM socket_packets AS p LEFT JOIN eio_sessions AS s ON s.id = p.session_id
WHERE p.event IS NOT NULL
ORDER BY p.recording_id, p.time_us, p.id;

-- Every exchange with the cookies the client sent and the server set, one row each.
CREATE VIEW exchange_cookies AS
SELECT e.recording_id, e.id AS exchange_id, e.started_us, e.method, e.url, e.status,
       (SELECT group_concat(c.name || '=' || c.value, '; ') FROM cookies AS c
         WHERE c.exchange_id = e.id AND c.kind = 'sent') AS cookies_sent,
       (SELECT group_concat(c.name || '=' || c.value, '; ') FROM cookies AS c
         WHERE c.exchange_id = e.id AND c.kind = 'set') AS cookies_set
FROM exchanges AS e
ORDER BY e.recording_id, e.started_us, e.id;

-- One row per recording with what `workalready ls` prints.
CREATE VIEW recording_counts AS
SELECT r.id AS recording_id, r.name, r.started_us, r.ended_us,
       (SELECT count(*) FROM connections WHERE recording_id = r.id) AS connections,
       (SELECT count(*) FROM exchanges WHERE recording_id = r.id) AS exchanges,
       (SELECT count(*) FROM ws_messages WHERE recording_id = r.id) AS ws_messages,
       (SELECT count(*) FROM socket_packets WHERE recording_id = r.id AND event IS NOT NULL)
         AS socket_events,
       (SELECT count(*) FROM sse_events WHERE recording_id = r.id) AS sse_events
FROM recordings AS r
ORDER BY r.id;

-- 'WAcp' (Work Already capture); user_version is the schema version (storage/schema.h).
PRAGMA application_id = 1463903088;
PRAGMA user_version = 5;
