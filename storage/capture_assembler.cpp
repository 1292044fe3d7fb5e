#include "storage/capture_assembler.h"

#include "protocol/content_coding.h"
#include "protocol/cookie.h"
#include "protocol/text.h"

namespace wa::store {
namespace {

std::string_view header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (text::iequals(h.name, name)) return h.value;
  }
  return {};
}

Direction to_store(traffic::Direction d) {
  return d == traffic::Direction::client ? Direction::client : Direction::server;
}

SocketProtocol to_store(traffic::Family f) {
  switch (f) {
    case traffic::Family::eio3:
      return SocketProtocol::eio3;
    case traffic::Family::eio4:
      return SocketProtocol::eio4;
    case traffic::Family::sio09:
      return SocketProtocol::sio09;
  }
  return SocketProtocol::eio4;
}

// Socket.IO events and acks (v4/v5 types 2, 3, 5, 6; 0.9 messages 3, 4, events 5, acks 6).
bool is_event_or_ack(const traffic::Packet& p) {
  if (!p.sio_type || p.chatter) return false;
  int t = *p.sio_type;
  if (p.family == traffic::Family::sio09) return t == 3 || t == 4 || t == 5 || t == 6;
  return t == 2 || t == 3 || t == 5 || t == 6;
}

// What Engine.IO should read of a body: the body itself when it has no content coding (or was
// cut: the observer says so), else its decoded bytes, kept in `decoded`. When it does not
// decode, `error` says why (unless the body may have been decoded already: then it is read as
// it is).
std::string_view readable_body(std::string_view content_encoding, std::string_view body,
                               bool complete, CaptureAssembler::Bodies bodies, std::string& decoded,
                               std::string& error) {
  if (!complete || body.empty() || text::trim(content_encoding).empty()) return body;
  auto r = coding::decode_all(content_encoding, body, kMaxDecodedPollingBody);
  if (r) {
    decoded = std::move(*r);
    return decoded;
  }
  if (bodies == CaptureAssembler::Bodies::as_sent) {
    error = std::string(text::trim(content_encoding)) + " body did not decode: " + r.error().why;
  }
  return body;
}

}  // namespace

std::string_view undecodable_reason(const SocketPacket& row) {
  std::string_view raw = row.raw;
  if (raw.empty() || raw.back() != ')') return {};
  // convert() writes "(error: why)" alone or after the packet's text and a space.
  constexpr std::string_view kOpen = "(error: ";
  for (size_t at = raw.find(kOpen); at != std::string_view::npos; at = raw.find(kOpen, at + 1)) {
    if (at == 0 || raw[at - 1] == ' ') {
      return raw.substr(at + kOpen.size(), raw.size() - 1 - at - kOpen.size());
    }
  }
  return {};
}

std::vector<CookieEvent> CaptureAssembler::cookies(const Exchange& x) const {
  std::vector<CookieEvent> out;
  for (const auto& h : x.request_headers) {
    if (!text::iequals(h.name, "cookie")) continue;
    auto pairs = cookie::parse_cookie_header(h.value);
    if (!pairs) continue;
    for (auto& pair : *pairs) {
      CookieEvent event;
      event.id = ids_.cookie();
      event.exchange_id = x.id;
      event.kind = CookieKind::sent;
      event.name = std::move(pair.name);
      event.value = std::move(pair.value);
      out.push_back(std::move(event));
    }
  }
  for (const auto& h : x.response_headers) {
    if (!text::iequals(h.name, "set-cookie")) continue;
    CookieEvent event;
    event.id = ids_.cookie();
    event.exchange_id = x.id;
    event.kind = CookieKind::set;
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
    out.push_back(std::move(event));
  }
  return out;
}

std::vector<CaptureEvent> CaptureAssembler::exchange(const Exchange& x,
                                                     std::string_view request_body,
                                                     bool request_complete,
                                                     std::string_view response_body,
                                                     bool response_complete) {
  std::vector<CaptureEvent> out;
  if (!traffic::Observer::is_socket_request(x.url)) return out;
  // Engine.IO reads bodies without their content coding (PROTOCOLS.md §5: engine.io compresses
  // polling bodies of 1 KiB or more); the exchange row keeps the bytes as sent.
  std::string request_decoded, response_decoded, request_error, response_error;
  request_body = readable_body(header(x.request_headers, "content-encoding"), request_body,
                               request_complete, bodies_, request_decoded, request_error);
  response_body = readable_body(header(x.response_headers, "content-encoding"), response_body,
                                response_complete, bodies_, response_decoded, response_error);
  traffic::HttpExchange view;
  view.method = x.method;
  view.target = x.url;
  view.request_content_type = header(x.request_headers, "content-type");
  view.request_body = request_body;
  view.request_body_complete = request_complete;
  view.status = x.status;
  view.response_content_type = header(x.response_headers, "content-type");
  view.response_body = response_body;
  view.response_body_complete = response_complete;
  view.request_body_error = request_error;
  view.response_body_error = response_error;
  view.request_time_us = x.started_us;
  view.response_time_us = x.ended_us.value_or(x.started_us);
  convert(observer_.on_exchange(view, x.id), out);
  return out;
}

void CaptureAssembler::websocket_opened(Id upgrade_exchange_id, std::string_view target) {
  if (observer_.on_websocket_open(uint64_t(upgrade_exchange_id), target)) {
    sockets_[upgrade_exchange_id] = true;
  }
}

std::vector<CaptureEvent> CaptureAssembler::websocket_message(const WsMessage& message,
                                                              std::string_view payload) {
  std::vector<CaptureEvent> out;
  bool data = message.opcode == 1 || message.opcode == 2;
  if (!data || !sockets_.count(message.exchange_id)) return out;
  convert(observer_.on_websocket_message(
              uint64_t(message.exchange_id),
              message.direction == Direction::client ? traffic::Direction::client
                                                     : traffic::Direction::server,
              message.opcode == 2, payload,
              traffic::Source{traffic::Source::Kind::ws_message, message.id, message.time_us}),
          out);
  return out;
}

std::vector<CaptureEvent> CaptureAssembler::websocket_closed(Id upgrade_exchange_id) {
  std::vector<CaptureEvent> out;
  if (!sockets_.erase(upgrade_exchange_id)) return out;
  convert(observer_.on_websocket_close(uint64_t(upgrade_exchange_id)), out);
  return out;
}

std::vector<CaptureEvent> CaptureAssembler::finish() {
  std::vector<CaptureEvent> out;
  convert(observer_.finish(), out);
  return out;
}

void CaptureAssembler::convert(traffic::Observed observed, std::vector<CaptureEvent>& out) {
  for (auto& session : observed.sessions) {
    EioSession row;
    row.id = ids_.session();
    row.sid = session.sid;
    row.protocol = to_store(session.family);
    row.opened_us = session.source.time_us;
    // The request that opened the session: the polling handshake (or 0.9's handshake GET), or,
    // for a session opened on a WebSocket, the upgrade request whose first frame was `0{…}`.
    if (session.handshake_seen && session.source.kind == traffic::Source::Kind::exchange) {
      row.handshake_exchange_id = session.source.id;
    } else if (session.handshake_seen && session.opened_on_websocket != 0) {
      row.handshake_exchange_id = Id(session.opened_on_websocket);
    }
    sessions_[session.sid] = row.id;
    out.push_back(std::move(row));
  }
  for (auto& p : observed.packets) {
    SocketPacket row;
    row.id = ids_.packet();
    if (auto it = sessions_.find(p.sid); it != sessions_.end()) row.session_id = it->second;
    if (p.source.kind == traffic::Source::Kind::exchange) {
      row.exchange_id = p.source.id;
    } else {
      row.ws_message_id = p.source.id;
    }
    row.position = p.position;
    row.direction = to_store(p.direction);
    row.transport =
        p.transport == eio::Transport::polling ? Transport::polling : Transport::websocket;
    row.time_us = p.source.time_us;
    row.eio_type = p.eio_type;
    row.sio_type = p.sio_type;
    row.namespace_ = p.nsp;
    row.event = p.event;
    if (p.ack_id) row.ack_id = int64_t(*p.ack_id);
    row.args = p.args;
    row.attachment_count = p.attachment_count;
    row.attachments = std::move(p.attachments);
    // A packet that did not decode keeps its text and says why, so the row is still useful.
    row.raw = p.error.empty() ? std::move(p.raw)
                              : p.raw + (p.raw.empty() ? "" : " ") + "(error: " + p.error + ")";
    if (is_event_or_ack(p)) ++socket_events_;
    out.push_back(std::move(row));
  }
}

}  // namespace wa::store
