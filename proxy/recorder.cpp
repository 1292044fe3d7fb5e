#include "proxy/recorder.h"

#include <chrono>

#include "protocol/cookie.h"
#include "protocol/text.h"

namespace wa::proxy {
namespace {

std::string_view header(const store::Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (text::iequals(h.name, name)) return h.value;
  }
  return {};
}

store::Direction to_store(traffic::Direction d) {
  return d == traffic::Direction::client ? store::Direction::client : store::Direction::server;
}

store::SocketProtocol to_store(traffic::Family f) {
  switch (f) {
    case traffic::Family::eio3:
      return store::SocketProtocol::eio3;
    case traffic::Family::eio4:
      return store::SocketProtocol::eio4;
    case traffic::Family::sio09:
      return store::SocketProtocol::sio09;
  }
  return store::SocketProtocol::eio4;
}

// Socket.IO events and acks (v4/v5 types 2, 3, 5, 6; 0.9 types 5 and 6 and messages 3, 4).
bool is_event_or_ack(const traffic::Packet& p) {
  if (!p.sio_type || p.chatter) return false;
  int t = *p.sio_type;
  if (p.family == traffic::Family::sio09) return t == 3 || t == 4 || t == 5 || t == 6;
  return t == 2 || t == 3 || t == 5 || t == 6;
}

}  // namespace

Clock system_clock() {
  return [] {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  };
}

void BodyCapture::append(std::string_view bytes) {
  total_ += bytes.size();
  size_t room = cap_ > kept_.size() ? cap_ - kept_.size() : 0;
  if (!hash_ && bytes.size() > room) {
    // The body is being cut: from here on, hash everything (what was kept first).
    hash_.reset(EVP_MD_CTX_new());
    EVP_DigestInit_ex(hash_.get(), EVP_sha256(), nullptr);
    EVP_DigestUpdate(hash_.get(), kept_.data(), kept_.size());
  }
  if (hash_) EVP_DigestUpdate(hash_.get(), bytes.data(), bytes.size());
  kept_.append(bytes.substr(0, std::min(room, bytes.size())));
}

store::Payload BodyCapture::take() {
  store::Payload p;
  p.full_length = int64_t(total_);
  if (hash_) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(hash_.get(), digest, &len);
    p.sha256 = text::hex(std::string_view(reinterpret_cast<const char*>(digest), len));
    hash_.reset();
  }
  p.bytes = std::move(kept_);
  kept_.clear();
  total_ = 0;
  return p;
}

Recorder::Recorder(store::CaptureWriter* writer, Clock clock, RecorderOptions options)
    : writer_(writer), clock_(std::move(clock)), options_(options) {}

void Recorder::push(store::CaptureEvent event) {
  if (!writer_) return;
  // push() blocks while the writer's queue is full: the loop stalls instead of memory growing.
  auto pushed = writer_->push(std::move(event));
  if (!pushed) ++stats_.errors;
}

store::Id Recorder::connection_opened(store::Connection connection) {
  if (!writer_) return 0;
  connection.id = writer_->new_connection_id();
  if (connection.opened_us == 0) connection.opened_us = now();
  store::Id id = connection.id;
  push(std::move(connection));
  return id;
}

void Recorder::connection_closed(store::Id id, std::string error) {
  if (!writer_ || id == 0) return;
  push(store::ConnectionClosed{id, now(), std::move(error)});
}

store::Id Recorder::new_exchange_id() {
  return writer_ ? writer_->new_exchange_id() : 0;
}

void Recorder::exchange_done(ExchangeRecord& exchange) {
  if (!writer_ || !exchange.recorded) return;
  store::Exchange& row = exchange.row;
  if (row.id == 0) row.id = writer_->new_exchange_id();
  if (!row.ended_us) row.ended_us = now();
  bool socket = traffic::Observer::is_socket_request(row.url);
  // Socket polling bodies are decoded from what was kept; the cap is far above Engine.IO's
  // default maxPayload (1 MB), and a cut body is reported as such.
  traffic::HttpExchange view;
  if (socket) {
    view.method = row.method;
    view.target = row.url;
    view.request_content_type = header(row.request_headers, "content-type");
    view.request_body = exchange.request_body.kept();
    view.request_body_complete = !exchange.request_body.truncated();
    view.status = row.status;
    view.response_content_type = header(row.response_headers, "content-type");
    view.response_body = exchange.response_body.kept();
    view.response_body_complete = !exchange.response_body.truncated();
    view.request_time_us = row.started_us;
    view.response_time_us = row.ended_us.value_or(row.started_us);
  }
  traffic::Observed observed;
  if (socket) observed = observer_.on_exchange(view, row.id);

  row.request_body = exchange.request_body.take();
  row.response_body = exchange.response_body.take();
  row.request_encoding = std::string(header(row.request_headers, "content-encoding"));
  row.response_encoding = std::string(header(row.response_headers, "content-encoding"));
  ++stats_.exchanges;
  if (!row.error.empty()) ++stats_.errors;
  push_cookies(row);
  push(std::move(row));
  push_observed(std::move(observed));
}

void Recorder::push_cookies(const store::Exchange& row) {
  for (const auto& h : row.request_headers) {
    if (!text::iequals(h.name, "cookie")) continue;
    auto pairs = cookie::parse_cookie_header(h.value);
    if (!pairs) continue;
    for (auto& pair : *pairs) {
      store::CookieEvent event;
      event.exchange_id = row.id;
      event.kind = store::CookieKind::sent;
      event.name = pair.name;
      event.value = pair.value;
      push(std::move(event));
    }
  }
  for (const auto& h : row.response_headers) {
    if (!text::iequals(h.name, "set-cookie")) continue;
    store::CookieEvent event;
    event.exchange_id = row.id;
    event.kind = store::CookieKind::set;
    event.raw = h.value;
    if (auto parsed = cookie::parse_set_cookie(h.value)) {
      event.name = parsed->name;
      event.value = parsed->value;
      event.domain = parsed->domain.value_or("");
      event.path = parsed->path.value_or("");
      if (parsed->expires_ms) event.expires = cookie::format_cookie_date(*parsed->expires_ms);
      event.max_age = parsed->max_age_s;
      event.secure = parsed->secure;
      event.http_only = parsed->http_only;
      event.same_site = parsed->same_site_raw;
    }
    ++stats_.cookies_set;
    push(std::move(event));
  }
}

void Recorder::push_observed(traffic::Observed observed) {
  for (auto& session : observed.sessions) {
    store::EioSession row;
    row.id = writer_->new_session_id();
    row.sid = session.sid;
    row.protocol = to_store(session.family);
    row.opened_us = session.source.time_us;
    if (session.handshake_seen && session.source.kind == traffic::Source::Kind::exchange) {
      row.handshake_exchange_id = session.source.id;
    }
    sessions_[session.sid] = row.id;
    push(std::move(row));
  }
  for (auto& p : observed.packets) {
    store::SocketPacket row;
    if (auto it = sessions_.find(p.sid); it != sessions_.end()) row.session_id = it->second;
    if (p.source.kind == traffic::Source::Kind::exchange) {
      row.exchange_id = p.source.id;
    } else {
      row.ws_message_id = p.source.id;
    }
    row.position = p.position;
    row.direction = to_store(p.direction);
    row.transport = p.transport == eio::Transport::polling ? store::Transport::polling
                                                           : store::Transport::websocket;
    row.time_us = p.source.time_us;
    row.eio_type = p.eio_type;
    row.sio_type = p.sio_type;
    row.namespace_ = p.nsp;
    row.event = p.event;
    if (p.ack_id) row.ack_id = int64_t(*p.ack_id);
    row.args = p.args;
    row.attachment_count = p.attachment_count;
    row.attachments = std::move(p.attachments);
    row.raw = p.error.empty() ? std::move(p.raw)
                              : p.raw + (p.raw.empty() ? "" : " ") + "(error: " + p.error + ")";
    if (is_event_or_ack(p)) ++stats_.socket_events;
    push(std::move(row));
  }
}

void Recorder::websocket_opened(store::Id exchange_id, std::string_view target) {
  if (!writer_) return;
  if (observer_.on_websocket_open(uint64_t(exchange_id), target)) sockets_[exchange_id] = true;
}

void Recorder::websocket_message(store::Id exchange_id, store::Direction direction,
                                 const ws::Message& message) {
  if (!writer_) return;
  store::WsMessage row;
  row.id = writer_->new_ws_message_id();
  row.exchange_id = exchange_id;
  row.direction = direction;
  row.opcode = int(message.opcode);
  row.compressed = message.compressed;
  row.time_us = now();
  BodyCapture capture(options_.max_body);
  capture.append(message.payload);
  row.payload = capture.take();
  ++stats_.ws_messages;
  store::Id id = row.id;
  int64_t time = row.time_us;
  push(std::move(row));
  bool data = message.opcode == ws::Opcode::text || message.opcode == ws::Opcode::binary;
  if (data && sockets_.count(exchange_id)) {
    push_observed(observer_.on_websocket_message(
        uint64_t(exchange_id),
        direction == store::Direction::client ? traffic::Direction::client
                                              : traffic::Direction::server,
        message.opcode == ws::Opcode::binary, message.payload,
        traffic::Source{traffic::Source::Kind::ws_message, id, time}));
  }
}

void Recorder::websocket_closed(store::Id exchange_id) {
  if (!writer_ || !sockets_.erase(exchange_id)) return;
  push_observed(observer_.on_websocket_close(uint64_t(exchange_id)));
}

void Recorder::finish() {
  if (!writer_) return;
  push_observed(observer_.finish());
}

}  // namespace wa::proxy
