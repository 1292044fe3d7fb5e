#include "storage/reader.h"

#include <sqlite3.h>

#include <algorithm>
#include <unordered_map>

#include "storage/capture_assembler.h"
#include "storage/headers.h"

namespace wa::store {

namespace {

// Column lists, in the order the row functions below read them (schema.sql).
constexpr const char* kRecordingColumns =
    "id, name, started_us, ended_us, mode, listen, upstream, tool_version";
constexpr const char* kConnectionColumns =
    "id, recording_id, client_addr, server_host, server_port, tls, sni, alpn, opened_us, "
    "closed_us, error";
constexpr const char* kExchangeColumns =
    "id, recording_id, connection_id, seq, method, url, http_version, request_headers, "
    "request_body, request_body_length, request_body_sha256, request_encoding, status, reason, "
    "response_version, response_headers, response_body, response_body_length, "
    "response_body_sha256, response_encoding, started_us, first_byte_us, ended_us, error_code, "
    "error";
constexpr const char* kWsMessageColumns =
    "id, recording_id, exchange_id, direction, opcode, payload, payload_length, payload_sha256, "
    "compressed, time_us, error";
constexpr const char* kSessionColumns =
    "id, recording_id, sid, protocol, opened_us, handshake_exchange_id";
constexpr const char* kPacketColumns =
    "id, recording_id, session_id, ws_message_id, exchange_id, position, direction, transport, "
    "time_us, eio_type, sio_type, namespace, event, ack_id, args, attachments, raw";
constexpr const char* kCookieColumns =
    "id, recording_id, exchange_id, kind, name, value, domain, path, expires, max_age, secure, "
    "http_only, same_site, raw";
constexpr const char* kSseEventColumns =
    "id, recording_id, exchange_id, seq, time_us, event_id, event, data, retry";

// A value the schema's CHECK constraints should have kept out: the file was edited by hand or
// is damaged.
Failure corrupt(const std::string& path, const std::string& what) {
  return fail(Errc::setup, path + ": corrupt capture file (" + what + ")");
}

std::optional<int> narrow(std::optional<std::int64_t> v) {
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

Payload read_payload(const Statement& s, int column) {
  Payload p;
  p.bytes = s.text(column);
  p.full_length = s.int64(column + 1);
  p.sha256 = s.text(column + 2);
  return p;
}

Result<Direction> read_direction(const Statement& s, int column, const std::string& path) {
  std::string v = s.text(column);
  if (v == "client") return Direction::client;
  if (v == "server") return Direction::server;
  return corrupt(path, "direction '" + v + "'");
}

Result<Recording> read_recording(const Statement& s, const std::string&) {
  Recording r;
  r.id = s.int64(0);
  r.name = s.text(1);
  r.started_us = s.int64(2);
  r.ended_us = s.optional_int64(3);
  r.mode = s.text(4);
  r.listen = s.text(5);
  r.upstream = s.text(6);
  r.tool_version = s.text(7);
  return r;
}

Result<Connection> read_connection(const Statement& s, const std::string&) {
  Connection c;
  c.id = s.int64(0);
  c.recording_id = s.int64(1);
  c.client_addr = s.text(2);
  c.server_host = s.text(3);
  c.server_port = static_cast<int>(s.int64(4));
  c.tls = s.int64(5) != 0;
  c.sni = s.text(6);
  c.alpn = s.text(7);
  c.opened_us = s.int64(8);
  c.closed_us = s.optional_int64(9);
  c.error = s.text(10);
  return c;
}

Result<Exchange> read_exchange(const Statement& s, const std::string& path) {
  Exchange e;
  e.id = s.int64(0);
  e.recording_id = s.int64(1);
  e.connection_id = s.int64(2);
  e.seq = static_cast<int>(s.int64(3));
  e.method = s.text(4);
  e.url = s.text(5);
  e.http_version = s.text(6);
  auto request_headers = decode_headers(s.text(7));
  if (!request_headers) return corrupt(path, "exchange " + std::to_string(e.id) + " headers");
  e.request_headers = std::move(*request_headers);
  e.request_body = read_payload(s, 8);
  e.request_encoding = s.text(11);
  e.status = static_cast<int>(s.optional_int64(12).value_or(0));
  e.reason = s.text(13);
  e.response_version = s.text(14);
  if (!s.is_null(15)) {
    auto response_headers = decode_headers(s.text(15));
    if (!response_headers) return corrupt(path, "exchange " + std::to_string(e.id) + " headers");
    e.response_headers = std::move(*response_headers);
  }
  e.response_body = read_payload(s, 16);
  e.response_encoding = s.text(19);
  e.started_us = s.int64(20);
  e.first_byte_us = s.optional_int64(21);
  e.ended_us = s.optional_int64(22);
  e.error_code = s.text(23);
  e.error = s.text(24);
  return e;
}

Result<WsMessage> read_ws_message(const Statement& s, const std::string& path) {
  WsMessage m;
  m.id = s.int64(0);
  m.recording_id = s.int64(1);
  m.exchange_id = s.int64(2);
  auto direction = read_direction(s, 3, path);
  if (!direction) return direction.error();
  m.direction = *direction;
  m.opcode = static_cast<int>(s.int64(4));
  m.payload = read_payload(s, 5);
  m.compressed = s.int64(8) != 0;
  m.time_us = s.int64(9);
  m.error = s.text(10);
  return m;
}

Result<EioSession> read_session(const Statement& s, const std::string& path) {
  EioSession e;
  e.id = s.int64(0);
  e.recording_id = s.int64(1);
  e.sid = s.text(2);
  std::string protocol = s.text(3);
  if (protocol == "eio3") {
    e.protocol = SocketProtocol::eio3;
  } else if (protocol == "eio4") {
    e.protocol = SocketProtocol::eio4;
  } else if (protocol == "sio09") {
    e.protocol = SocketProtocol::sio09;
  } else {
    return corrupt(path, "session protocol '" + protocol + "'");
  }
  e.opened_us = s.int64(4);
  e.handshake_exchange_id = s.optional_int64(5);
  return e;
}

Result<SocketPacket> read_packet(const Statement& s, const std::string& path) {
  SocketPacket p;
  p.id = s.int64(0);
  p.recording_id = s.int64(1);
  p.session_id = s.optional_int64(2);
  p.ws_message_id = s.optional_int64(3);
  p.exchange_id = s.optional_int64(4);
  p.position = static_cast<int>(s.int64(5));
  auto direction = read_direction(s, 6, path);
  if (!direction) return direction.error();
  p.direction = *direction;
  std::string transport = s.text(7);
  if (transport != "polling" && transport != "websocket") {
    return corrupt(path, "transport '" + transport + "'");
  }
  p.transport = transport == "polling" ? Transport::polling : Transport::websocket;
  p.time_us = s.int64(8);
  p.eio_type = narrow(s.optional_int64(9));
  p.sio_type = narrow(s.optional_int64(10));
  p.namespace_ = s.text(11);
  p.event = s.text(12);
  p.ack_id = s.optional_int64(13);
  p.args = s.text(14);
  p.attachment_count = static_cast<int>(s.int64(15));
  p.raw = s.text(16);
  return p;
}

Result<CookieEvent> read_cookie(const Statement& s, const std::string& path) {
  CookieEvent c;
  c.id = s.int64(0);
  c.recording_id = s.int64(1);
  c.exchange_id = s.int64(2);
  std::string kind = s.text(3);
  if (kind != "set" && kind != "sent") return corrupt(path, "cookie kind '" + kind + "'");
  c.kind = kind == "set" ? CookieKind::set : CookieKind::sent;
  c.name = s.text(4);
  c.value = s.text(5);
  c.domain = s.text(6);
  c.path = s.text(7);
  c.expires = s.text(8);
  c.max_age = s.optional_int64(9);
  c.secure = s.int64(10) != 0;
  c.http_only = s.int64(11) != 0;
  c.same_site = s.text(12);
  c.raw = s.text(13);
  return c;
}

Result<SseEvent> read_sse_event(const Statement& s, const std::string&) {
  SseEvent e;
  e.id = s.int64(0);
  e.recording_id = s.int64(1);
  e.exchange_id = s.int64(2);
  e.seq = static_cast<int>(s.int64(3));
  e.time_us = s.int64(4);
  if (!s.is_null(5)) e.event_id = s.text(5);
  e.event = s.text(6);
  e.data = s.text(7);
  e.retry_ms = s.optional_int64(8);
  return e;
}

// Runs `SELECT <columns> FROM <table> WHERE <key> = ? ORDER BY id` and maps every row.
template <class T>
Result<std::vector<T>> select_all(Database& db, const char* columns, const char* table,
                                  const char* key, Id value,
                                  Result<T> (*row)(const Statement&, const std::string&)) {
  std::string sql =
      std::string("SELECT ") + columns + " FROM " + table + " WHERE " + key + " = ?1 ORDER BY id";
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  stmt->bind(1, value);
  std::vector<T> out;
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW) {
    auto item = row(*stmt, db.path());
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  if (rc != SQLITE_DONE) return db.failure(std::string("cannot read ") + table);
  return out;
}

}  // namespace

Result<CaptureReader> CaptureReader::open(const std::string& path) {
  auto db = open_capture(path, Access::read);
  if (!db) return db.error();
  return CaptureReader(std::move(*db));
}

Failure CaptureReader::not_found(const char* what, Id id) const {
  return fail(Errc::setup, path() + ": no " + what + " with id " + std::to_string(id));
}

Result<RecordedCounts> CaptureReader::counts(Id recording_id) {
  auto stmt = db_.prepare(
      "SELECT (SELECT count(*) FROM exchanges WHERE recording_id = ?1), "
      "(SELECT count(*) FROM ws_messages WHERE recording_id = ?1), "
      "(SELECT count(*) FROM socket_packets WHERE recording_id = ?1 AND event IS NOT NULL), "
      "(SELECT count(*) FROM sse_events WHERE recording_id = ?1), "
      "(SELECT count(*) FROM cookies WHERE recording_id = ?1 AND kind = 'set'), "
      "(SELECT count(*) FROM ws_messages WHERE recording_id = ?1 AND error IS NOT NULL)");
  if (!stmt) return stmt.error();
  stmt->bind(1, recording_id);
  if (stmt->step() != SQLITE_ROW) return db_.failure("cannot count what was recorded");
  RecordedCounts c;
  c.exchanges = stmt->int64(0);
  c.ws_messages = stmt->int64(1);
  c.socket_events = stmt->int64(2);
  c.sse_events = stmt->int64(3);
  c.cookies_set = stmt->int64(4);
  c.ws_marked = stmt->int64(5);
  return c;
}

Result<std::vector<RecordingSummary>> CaptureReader::recordings() {
  auto stmt = db_.prepare(
      "SELECT r.id, r.name, r.started_us, r.ended_us, r.mode, r.listen, r.upstream, "
      "r.tool_version, c.connections, c.exchanges, c.ws_messages, c.socket_events, "
      "c.sse_events "
      "FROM recordings AS r JOIN recording_counts AS c ON c.recording_id = r.id ORDER BY r.id");
  if (!stmt) return stmt.error();
  std::vector<RecordingSummary> out;
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW) {
    RecordingSummary s;
    s.recording = *read_recording(*stmt, path());
    s.connections = stmt->int64(8);
    s.exchanges = stmt->int64(9);
    s.ws_messages = stmt->int64(10);
    s.socket_events = stmt->int64(11);
    s.sse_events = stmt->int64(12);
    out.push_back(std::move(s));
  }
  if (rc != SQLITE_DONE) return db_.failure("cannot list recordings");
  // Counted here rather than in the recording_counts view, which only a schema migration could
  // change: files of every schema version get the count.
  auto undecodable = db_.prepare(std::string("SELECT recording_id, count(*) FROM socket_packets "
                                             "WHERE ") +
                                 kUndecodablePacketSql + " GROUP BY recording_id");
  if (!undecodable) return undecodable.error();
  while ((rc = undecodable->step()) == SQLITE_ROW) {
    Id id = undecodable->int64(0);
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const RecordingSummary& s) { return s.recording.id == id; });
    if (it != out.end()) it->undecodable_packets = undecodable->int64(1);
  }
  if (rc != SQLITE_DONE) return db_.failure("cannot count undecodable packets");
  return out;
}

Result<Recording> CaptureReader::find_recording(std::string_view id_or_name) {
  std::string sql = std::string("SELECT ") + kRecordingColumns + " FROM recordings ";
  bool numeric = !id_or_name.empty() && id_or_name.size() <= 18 &&
                 std::all_of(id_or_name.begin(), id_or_name.end(),
                             [](char c) { return c >= '0' && c <= '9'; });
  // An id first, then a name; "" is the latest recording. Of several recordings with one
  // name, the latest wins: recording again under a label supersedes the old take.
  const char* where = id_or_name.empty() ? "ORDER BY id DESC LIMIT 1"
                      : numeric
                          ? "WHERE id = ?1 OR name = ?2 ORDER BY id = ?1 DESC, id DESC LIMIT 1"
                          : "WHERE name = ?2 ORDER BY id DESC LIMIT 1";
  auto stmt = db_.prepare(sql + where);
  if (!stmt) return stmt.error();
  std::string name(id_or_name);
  if (numeric) stmt->bind(1, std::int64_t{std::stoll(name)});
  if (!id_or_name.empty()) stmt->bind_text(2, name);
  int rc = stmt->step();
  if (rc == SQLITE_ROW) return read_recording(*stmt, path());
  if (rc != SQLITE_DONE) return db_.failure("cannot read recordings");
  if (id_or_name.empty()) return fail(Errc::setup, path() + ": holds no recordings");
  return fail(Errc::setup, path() + ": no recording '" + name + "' (workalready ls lists them)");
}

Result<RecordingData> CaptureReader::load(Id recording_id) {
  RecordingData data;
  auto recording = this->recording(recording_id);
  if (!recording) return recording.error();
  data.recording = std::move(*recording);

  auto connections = select_all<Connection>(db_, kConnectionColumns, "connections", "recording_id",
                                            recording_id, read_connection);
  if (!connections) return connections.error();
  data.connections = std::move(*connections);
  auto exchanges = select_all<Exchange>(db_, kExchangeColumns, "exchanges", "recording_id",
                                        recording_id, read_exchange);
  if (!exchanges) return exchanges.error();
  data.exchanges = std::move(*exchanges);
  auto messages = select_all<WsMessage>(db_, kWsMessageColumns, "ws_messages", "recording_id",
                                        recording_id, read_ws_message);
  if (!messages) return messages.error();
  data.ws_messages = std::move(*messages);
  auto sessions = select_all<EioSession>(db_, kSessionColumns, "eio_sessions", "recording_id",
                                         recording_id, read_session);
  if (!sessions) return sessions.error();
  data.sessions = std::move(*sessions);
  auto packets = select_all<SocketPacket>(db_, kPacketColumns, "socket_packets", "recording_id",
                                          recording_id, read_packet);
  if (!packets) return packets.error();
  data.packets = std::move(*packets);
  auto cookies = select_all<CookieEvent>(db_, kCookieColumns, "cookies", "recording_id",
                                         recording_id, read_cookie);
  if (!cookies) return cookies.error();
  data.cookies = std::move(*cookies);
  auto sse = select_all<SseEvent>(db_, kSseEventColumns, "sse_events", "recording_id", recording_id,
                                  read_sse_event);
  if (!sse) return sse.error();
  data.sse_events = std::move(*sse);

  // Attachments, joined to their packets by id.
  std::unordered_map<Id, size_t> index;
  for (size_t i = 0; i < data.packets.size(); ++i)
    index[data.packets[i].id] = i;
  auto stmt = db_.prepare(
      "SELECT a.packet_id, a.num, a.data FROM socket_attachments AS a JOIN socket_packets AS p "
      "ON p.id = a.packet_id WHERE p.recording_id = ?1 ORDER BY a.packet_id, a.num");
  if (!stmt) return stmt.error();
  stmt->bind(1, recording_id);
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW) {
    auto it = index.find(stmt->int64(0));
    std::int64_t num = stmt->int64(1);
    // A bound on num keeps a hand-edited file from making us allocate without limit.
    if (it == index.end() || num < 0 || num > 100000) return corrupt(path(), "attachment");
    auto& attachments = data.packets[it->second].attachments;
    if (attachments.size() <= static_cast<size_t>(num)) attachments.resize(num + 1);
    attachments[num] = stmt->text(2);
  }
  if (rc != SQLITE_DONE) return db_.failure("cannot read attachments");
  return data;
}

namespace {

template <class T>
Result<T> select_one(Database& db, const char* columns, const char* table, Id id,
                     Result<T> (*row)(const Statement&, const std::string&), Failure missing) {
  auto all = select_all<T>(db, columns, table, "id", id, row);
  if (!all) return all.error();
  if (all->empty()) return missing;
  return std::move(all->front());
}

}  // namespace

Result<Recording> CaptureReader::recording(Id id) {
  return select_one<Recording>(db_, kRecordingColumns, "recordings", id, read_recording,
                               not_found("recording", id));
}
Result<Connection> CaptureReader::connection(Id id) {
  return select_one<Connection>(db_, kConnectionColumns, "connections", id, read_connection,
                                not_found("connection", id));
}
Result<Exchange> CaptureReader::exchange(Id id) {
  return select_one<Exchange>(db_, kExchangeColumns, "exchanges", id, read_exchange,
                              not_found("exchange", id));
}
Result<WsMessage> CaptureReader::ws_message(Id id) {
  return select_one<WsMessage>(db_, kWsMessageColumns, "ws_messages", id, read_ws_message,
                               not_found("WebSocket message", id));
}
Result<EioSession> CaptureReader::session(Id id) {
  return select_one<EioSession>(db_, kSessionColumns, "eio_sessions", id, read_session,
                                not_found("Engine.IO session", id));
}
Result<CookieEvent> CaptureReader::cookie(Id id) {
  return select_one<CookieEvent>(db_, kCookieColumns, "cookies", id, read_cookie,
                                 not_found("cookie", id));
}
Result<SseEvent> CaptureReader::sse_event(Id id) {
  return select_one<SseEvent>(db_, kSseEventColumns, "sse_events", id, read_sse_event,
                              not_found("server-sent event", id));
}

Result<SocketPacket> CaptureReader::packet(Id id) {
  auto p = select_one<SocketPacket>(db_, kPacketColumns, "socket_packets", id, read_packet,
                                    not_found("socket packet", id));
  if (!p) return p;
  auto stmt =
      db_.prepare("SELECT num, data FROM socket_attachments WHERE packet_id = ?1 ORDER BY num");
  if (!stmt) return stmt.error();
  stmt->bind(1, id);
  int rc;
  while ((rc = stmt->step()) == SQLITE_ROW) {
    std::int64_t num = stmt->int64(0);
    if (num < 0 || num > 100000) return corrupt(path(), "attachment");
    if (p->attachments.size() <= static_cast<size_t>(num)) p->attachments.resize(num + 1);
    p->attachments[num] = stmt->text(1);
  }
  if (rc != SQLITE_DONE) return db_.failure("cannot read attachments");
  return p;
}

}  // namespace wa::store
