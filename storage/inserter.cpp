#include "storage/inserter.h"

#include <sqlite3.h>

#include "protocol/text.h"
#include "storage/headers.h"

namespace wa::store {

struct Inserter::Statements {
  Statement recording, end_recording, connection, connection_closed, exchange, ws_message, session,
      packet, attachment, cookie, sse_event;
};

namespace {

// The column lists here and in reader.cpp follow schema.sql; a test writes every field of every
// struct and reads it back to keep them in step.
constexpr const char* kInsertRecording =
    "INSERT INTO recordings (id, name, started_us, ended_us, mode, listen, upstream, "
    "tool_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kEndRecording = "UPDATE recordings SET ended_us = ?2 WHERE id = ?1";
constexpr const char* kInsertConnection =
    "INSERT INTO connections (id, recording_id, client_addr, server_host, server_port, tls, "
    "sni, alpn, opened_us, closed_us, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
    "?11)";
constexpr const char* kCloseConnection =
    "UPDATE connections SET closed_us = ?2, error = ?3 WHERE id = ?1";
constexpr const char* kInsertExchange =
    "INSERT INTO exchanges (id, recording_id, connection_id, seq, method, url, http_version, "
    "request_headers, request_body, request_body_length, request_body_sha256, request_encoding, "
    "status, reason, response_version, response_headers, response_body, response_body_length, "
    "response_body_sha256, response_encoding, started_us, first_byte_us, ended_us, error_code, "
    "error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
    "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)";
constexpr const char* kInsertWsMessage =
    "INSERT INTO ws_messages (id, recording_id, exchange_id, direction, opcode, payload, "
    "payload_length, payload_sha256, compressed, time_us, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
    "?7, ?8, ?9, ?10, ?11)";
constexpr const char* kInsertSession =
    "INSERT INTO eio_sessions (id, recording_id, sid, protocol, opened_us, "
    "handshake_exchange_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kInsertPacket =
    "INSERT INTO socket_packets (id, recording_id, session_id, ws_message_id, exchange_id, "
    "position, direction, transport, time_us, eio_type, sio_type, namespace, event, ack_id, "
    "args, attachments, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
    "?14, ?15, ?16, ?17)";
constexpr const char* kInsertAttachment =
    "INSERT INTO socket_attachments (packet_id, num, data) VALUES (?1, ?2, ?3)";
constexpr const char* kInsertCookie =
    "INSERT INTO cookies (id, recording_id, exchange_id, kind, name, value, domain, path, "
    "expires, max_age, secure, http_only, same_site, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
    "?8, ?9, ?10, ?11, ?12, ?13, ?14)";

constexpr const char* kInsertSseEvent =
    "INSERT INTO sse_events (id, recording_id, exchange_id, seq, time_us, event_id, event, data, "
    "retry) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

std::optional<std::int64_t> widen(std::optional<int> v) {
  if (!v) return std::nullopt;
  return *v;
}

// Text that is valid UTF-8 is stored as TEXT so that the sqlite3 shell and its JSON functions
// can read it directly; anything else stays a BLOB. Both read back byte for byte.
void bind_bytes(Statement& s, int index, std::string_view bytes) {
  if (text::is_valid_utf8(bytes)) {
    s.bind_text(index, bytes);
  } else {
    s.bind_blob(index, bytes);
  }
}

// The three columns of a possibly-cut payload: bytes, full length, hash when cut.
void bind_payload(Statement& s, int index, const Payload& p, bool as_text) {
  if (as_text) {
    bind_bytes(s, index, p.bytes);
  } else {
    s.bind_blob(index, p.bytes);
  }
  s.bind(index + 1, p.is_unknown() && p.bytes.empty()
                        ? std::int64_t(-1)
                        : std::max<std::int64_t>(p.full_length, std::int64_t(p.bytes.size())));
  s.bind_text_or_null(index + 2, p.truncated() ? std::string_view(p.sha256) : "");
}

}  // namespace

Inserter::Inserter(Database& db, std::unique_ptr<Statements> s) : db_(&db), s_(std::move(s)) {}

Inserter::Inserter(Inserter&&) noexcept = default;
Inserter& Inserter::operator=(Inserter&&) noexcept = default;
Inserter::~Inserter() = default;

Result<Inserter> Inserter::prepare(Database& db) {
  auto s = std::make_unique<Statements>();
  struct Item {
    Statement* stmt;
    const char* sql;
  } items[] = {
      {&s->recording, kInsertRecording},   {&s->end_recording, kEndRecording},
      {&s->connection, kInsertConnection}, {&s->connection_closed, kCloseConnection},
      {&s->exchange, kInsertExchange},     {&s->ws_message, kInsertWsMessage},
      {&s->session, kInsertSession},       {&s->packet, kInsertPacket},
      {&s->attachment, kInsertAttachment}, {&s->cookie, kInsertCookie},
      {&s->sse_event, kInsertSseEvent},
  };
  for (Item& item : items) {
    auto stmt = db.prepare(item.sql);
    if (!stmt) return stmt.error();
    *item.stmt = std::move(*stmt);
  }
  return Inserter(db, std::move(s));
}

Result<void> Inserter::run(Statement& stmt, const char* what) {
  int rc = stmt.step();
  stmt.reset();
  if (rc != SQLITE_DONE) return db_->failure(std::string("cannot write ") + what);
  return {};
}

Result<void> Inserter::write(const CaptureEvent& event, Id recording_id) {
  return std::visit([&](const auto& e) { return write_one(e, recording_id); }, event);
}

Result<void> Inserter::insert_recording(const Recording& r) {
  Statement& s = s_->recording;
  s.bind(1, r.id);
  s.bind_text(2, r.name);
  s.bind(3, r.started_us);
  s.bind(4, r.ended_us);
  s.bind_text(5, r.mode);
  s.bind_text(6, r.listen);
  s.bind_text_or_null(7, r.upstream);
  s.bind_text(8, r.tool_version);
  return run(s, "a recording");
}

Result<void> Inserter::end_recording(Id recording_id, Micros ended_us) {
  Statement& s = s_->end_recording;
  s.bind(1, recording_id);
  s.bind(2, ended_us);
  return run(s, "the end of a recording");
}

Result<void> Inserter::write_one(const Connection& c, Id rec) {
  Statement& s = s_->connection;
  s.bind(1, c.id);
  s.bind(2, rec);
  s.bind_text(3, c.client_addr);
  s.bind_text(4, c.server_host);
  s.bind(5, std::int64_t{c.server_port});
  s.bind(6, std::int64_t{c.tls});
  s.bind_text_or_null(7, c.sni);
  s.bind_text_or_null(8, c.alpn);
  s.bind(9, c.opened_us);
  s.bind(10, c.closed_us);
  s.bind_text_or_null(11, c.error);
  return run(s, "a connection");
}

Result<void> Inserter::write_one(const ConnectionClosed& c, Id) {
  Statement& s = s_->connection_closed;
  s.bind(1, c.connection_id);
  s.bind(2, c.closed_us);
  s.bind_text_or_null(3, c.error);
  return run(s, "a connection's end");
}

Result<void> Inserter::write_one(const Exchange& e, Id rec) {
  // Both header lists are encoded before binding: SQLITE_STATIC binds need them alive until
  // the step.
  std::string request_headers = encode_headers(e.request_headers);
  std::string response_headers = e.has_response() ? encode_headers(e.response_headers) : "";
  Statement& s = s_->exchange;
  s.bind(1, e.id);
  s.bind(2, rec);
  s.bind(3, e.connection_id);
  s.bind(4, std::int64_t{e.seq});
  s.bind_text(5, e.method);
  s.bind_text(6, e.url);
  s.bind_text(7, e.http_version);
  s.bind_text(8, request_headers);
  bind_payload(s, 9, e.request_body, false);
  s.bind_text_or_null(12, e.request_encoding);
  if (e.has_response()) {
    s.bind(13, std::int64_t{e.status});
    s.bind_text(16, response_headers);
  } else {
    s.bind_null(13);
    s.bind_null(16);
  }
  s.bind_text_or_null(14, e.reason);
  s.bind_text_or_null(15, e.response_version);
  bind_payload(s, 17, e.response_body, false);
  s.bind_text_or_null(20, e.response_encoding);
  s.bind(21, e.started_us);
  s.bind(22, e.first_byte_us);
  s.bind(23, e.ended_us);
  s.bind_text_or_null(24, e.error_code);
  s.bind_text_or_null(25, e.error);
  return run(s, "an exchange");
}

Result<void> Inserter::write_one(const WsMessage& m, Id rec) {
  Statement& s = s_->ws_message;
  s.bind(1, m.id);
  s.bind(2, rec);
  s.bind(3, m.exchange_id);
  s.bind_text(4, to_string(m.direction));
  s.bind(5, std::int64_t{m.opcode});
  // RFC 6455 §5.6: only text messages are meant to be UTF-8.
  bind_payload(s, 6, m.payload, m.opcode == 1);
  s.bind(9, std::int64_t{m.compressed});
  s.bind(10, m.time_us);
  s.bind_text_or_null(11, m.error);
  return run(s, "a WebSocket message");
}

Result<void> Inserter::write_one(const EioSession& e, Id rec) {
  Statement& s = s_->session;
  s.bind(1, e.id);
  s.bind(2, rec);
  s.bind_text(3, e.sid);
  s.bind_text(4, to_string(e.protocol));
  s.bind(5, e.opened_us);
  s.bind(6, e.handshake_exchange_id);
  return run(s, "an Engine.IO session");
}

Result<void> Inserter::write_one(const SocketPacket& p, Id rec) {
  Statement& s = s_->packet;
  s.bind(1, p.id);
  s.bind(2, rec);
  s.bind(3, p.session_id);
  s.bind(4, p.ws_message_id);
  s.bind(5, p.exchange_id);
  s.bind(6, std::int64_t{p.position});
  s.bind_text(7, to_string(p.direction));
  s.bind_text(8, to_string(p.transport));
  s.bind(9, p.time_us);
  s.bind(10, widen(p.eio_type));
  s.bind(11, widen(p.sio_type));
  s.bind_text_or_null(12, p.namespace_);
  s.bind_text_or_null(13, p.event);
  s.bind(14, p.ack_id);
  s.bind_text_or_null(15, p.args);
  s.bind(16, std::int64_t{p.attachment_count});
  bind_bytes(s, 17, p.raw);
  if (auto r = run(s, "a socket packet"); !r) return r;
  for (size_t num = 0; num < p.attachments.size(); ++num) {
    Statement& a = s_->attachment;
    a.bind(1, p.id);
    a.bind(2, static_cast<std::int64_t>(num));
    a.bind_blob(3, p.attachments[num]);
    if (auto r = run(a, "a binary attachment"); !r) return r;
  }
  return {};
}

Result<void> Inserter::write_one(const CookieEvent& c, Id rec) {
  Statement& s = s_->cookie;
  s.bind(1, c.id);
  s.bind(2, rec);
  s.bind(3, c.exchange_id);
  s.bind_text(4, to_string(c.kind));
  s.bind_text(5, c.name);
  s.bind_text(6, c.value);
  s.bind_text_or_null(7, c.domain);
  s.bind_text_or_null(8, c.path);
  s.bind_text_or_null(9, c.expires);
  s.bind(10, c.max_age);
  s.bind(11, std::int64_t{c.secure});
  s.bind(12, std::int64_t{c.http_only});
  s.bind_text_or_null(13, c.same_site);
  s.bind_text_or_null(14, c.raw);
  return run(s, "a cookie");
}

Result<void> Inserter::write_one(const SseEvent& e, Id rec) {
  Statement& s = s_->sse_event;
  s.bind(1, e.id);
  s.bind(2, rec);
  s.bind(3, e.exchange_id);
  s.bind(4, std::int64_t{e.seq});
  s.bind(5, e.time_us);
  // An empty id ("id" with no value resets the last event ID) is not the same as none.
  if (e.event_id) {
    s.bind_text(6, *e.event_id);
  } else {
    s.bind_null(6);
  }
  s.bind_text(7, e.event);
  s.bind_text(8, e.data);
  s.bind(9, e.retry_ms);
  return run(s, "a server-sent event");
}

}  // namespace wa::store
