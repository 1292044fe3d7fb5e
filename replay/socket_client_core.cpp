#include "replay/socket_client_core.h"

#include <algorithm>

#include "protocol/engineio_payload.h"
#include "protocol/text.h"

namespace wa::replay {
namespace {

// The start of a body for a failure message: enough to show `{"code":1,"message":"Session ID
// unknown"}` or `handshake error`, never a whole page.
std::string excerpt(std::string_view body) {
  constexpr size_t kMax = 160;
  std::string out;
  for (char c : body.substr(0, kMax))
    out += (c == '\r' || c == '\n' || c == '\t') ? ' ' : c;
  if (body.size() > kMax) out += "...";
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::string http_failure(std::string_view what, int status, std::string_view body) {
  std::string why = std::string(what) + ": HTTP " + std::to_string(status);
  std::string shown = excerpt(body);
  if (!shown.empty()) why += " " + shown;
  return why;
}

bool is_engine_param(std::string_view name) {
  return name == "EIO" || name == "transport" || name == "t" || name == "sid";
}

}  // namespace

SocketClientCore::SocketClientCore(SocketCoreConfig config)
    : config_(std::move(config)),
      decoder_(config_.family == traffic::Family::eio3 ? 4 : 5, config_.sio_limits) {}

eio::Version SocketClientCore::version() const {
  return config_.family == traffic::Family::eio3 ? eio::Version::v3 : eio::Version::v4;
}

// A poll is held by the server until it has something to say; Engine.IO servers say something
// (a ping) every pingInterval at the latest, 0.9 servers end a held poll after 20 s ("polling
// duration"). The margin lets a missing ping be reported as what it is, not as a slow poll.
uint64_t SocketClientCore::poll_timeout() const {
  constexpr uint64_t kMarginMs = 5'000;
  if (handshake_) return handshake_->ping_interval_ms + handshake_->ping_timeout_ms + kMarginMs;
  uint64_t seconds = 60;
  if (handshake_09_ && handshake_09_->heartbeat_timeout) {
    seconds = std::max<uint64_t>(*handshake_09_->heartbeat_timeout, 30);
  }
  return seconds * 1000;
}

std::vector<SocketCommand> SocketClientCore::take() {
  std::vector<SocketCommand> out;
  out.swap(out_);
  return out;
}

std::optional<uint64_t> SocketClientCore::deadline() const {
  uint64_t next = 0;
  for (uint64_t d : {ping_deadline_, next_ping_, pong_deadline_, close_deadline_}) {
    if (d != 0 && (next == 0 || d < next)) next = d;
  }
  if (next == 0) return std::nullopt;
  return next;
}

uint64_t SocketClientCore::http(HttpPurpose purpose, const char* method, std::string url,
                                std::string body, uint64_t timeout_ms) {
  uint64_t id = next_id_++;
  out_.push_back(HttpCommand{id, purpose, method, std::move(url), std::move(body), timeout_ms});
  return id;
}

void SocketClientCore::end(std::optional<ClientFailure> failure) {
  if (phase_ == Phase::ended) return;
  phase_ = Phase::ended;
  ping_deadline_ = next_ping_ = pong_deadline_ = close_deadline_ = 0;
  handshake_id_ = poll_id_ = post_id_ = 0;
  queue_.clear();
  queue_09_.clear();
  out_.push_back(EndedCommand{std::move(failure)});
}

// ---- Starting ----

void SocketClientCore::start(uint64_t now_ms) {
  if (phase_ != Phase::idle) return;
  phase_ = Phase::handshaking;
  auto parsed = url::parse(config_.url);
  std::string scheme;
  if (parsed) {
    scheme = parsed->scheme;
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
    if (scheme == "ws") scheme = "http";
    if (scheme == "wss") scheme = "https";
  }
  if (!parsed || (scheme != "http" && scheme != "https")) {
    return end(
        ClientFailure{FailureKind::setup, "not an http(s) handshake URL: '" + config_.url + "'"});
  }
  url_ = std::move(parsed).value();
  url_.scheme = scheme;
  url_.has_fragment = false;
  url_.fragment.clear();
  url::Query query(url_.query);

  if (is_09()) {
    // `<resource>/1/`: the resource is what precedes the protocol number.
    std::string_view path = url_.path;
    while (!path.empty() && path.back() == '/')
      path.remove_suffix(1);
    if (path.ends_with("/1")) path.remove_suffix(2);
    resource_ = path.empty() ? "/socket.io" : std::string(path);
    url::Query user = query;
    user.remove("t");
    user_query_ = user.str();
    url::Url handshake = url_;
    query.set("t", config_.cache_buster ? config_.cache_buster() : "0");
    handshake.query = query.str();
    handshake.has_query = true;
    handshake_id_ =
        http(HttpPurpose::handshake, "GET", handshake.str(), {}, config_.request_timeout_ms);
    return;
  }

  auto& params = query.params();
  params.erase(std::remove_if(params.begin(), params.end(),
                              [](const url::Query::Param& p) { return is_engine_param(p.name()); }),
               params.end());
  url::Url base = url_;
  base.has_query = false;
  base.query.clear();
  eio_prefix_ = base.str();
  eio_prefix_ += '?';
  if (!query.empty()) eio_prefix_ += query.str() + "&";
  eio_prefix_ += version() == eio::Version::v3 ? "EIO=3&transport=" : "EIO=4&transport=";
  (void)now_ms;

  if (config_.plan == Plan::websocket_only) {
    // The open packet comes as the WebSocket's first frame (PROTOCOLS.md §1).
    ws_ = Ws::connecting;
    transport_ = eio::Transport::websocket;
    out_.push_back(WsConnectCommand{eio_prefix_ + "websocket"});
    return;
  }
  std::string url = eio_prefix_ + "polling&t=";
  url += url::percent_encode(config_.cache_buster ? config_.cache_buster() : "0");
  handshake_id_ =
      http(HttpPurpose::handshake, "GET", std::move(url), {}, config_.request_timeout_ms);
}

std::string SocketClientCore::polling_url() const {
  std::string buster = config_.cache_buster ? config_.cache_buster() : "0";
  if (is_09()) {
    sio09::Path path{1, "xhr-polling", sid_, user_query_};
    path.query += path.query.empty() ? "t=" : "&t=";
    path.query += url::percent_encode(buster);
    url::Url u = url_;
    std::string made = sio09::make_path(path, resource_);
    auto q = made.find('?');
    u.path = made.substr(0, q);
    u.has_query = q != std::string::npos;
    u.query = u.has_query ? made.substr(q + 1) : std::string();
    return u.str();
  }
  std::string url = eio_prefix_ + "polling&t=";
  url += url::percent_encode(buster);
  url += "&sid=";
  url += url::percent_encode(sid_);
  return url;
}

std::string SocketClientCore::websocket_url() const {
  if (is_09()) {
    url::Url u = url_;
    u.path = sio09::make_path(sio09::Path{1, "websocket", sid_, {}}, resource_);
    u.has_query = !user_query_.empty();
    u.query = user_query_;
    return u.str();
  }
  return eio_prefix_ + "websocket&sid=" + url::percent_encode(sid_);
}

void SocketClientCore::opened(uint64_t now_ms) {
  phase_ = Phase::open;
  SocketOpened info;
  info.sid = sid_;
  info.transport = transport_;
  info.eio = handshake_;
  info.sio09 = handshake_09_;
  out_.push_back(OpenedCommand{std::move(info)});
  if (handshake_) {
    if (version() == eio::Version::v4) {
      ping_deadline_ = now_ms + handshake_->ping_interval_ms + handshake_->ping_timeout_ms;
    } else {
      next_ping_ = now_ms + handshake_->ping_interval_ms;
    }
  }
}

// ---- HTTP outcomes ----

void SocketClientCore::http_response(uint64_t id, int status, std::string_view content_type,
                                     std::string_view body, uint64_t now_ms) {
  if (phase_ == Phase::ended || id == 0) return;
  if (id == handshake_id_) {
    handshake_id_ = 0;
    if (is_09()) return sio09_handshake(status, body, now_ms);
    if (status != 200) {
      return end(
          ClientFailure{FailureKind::refused, http_failure("handshake refused", status, body)});
    }
    auto packets = eio::decode_payload(version(), body, content_type, config_.eio_limits);
    if (!packets) {
      return end(ClientFailure{FailureKind::protocol, "handshake: " + packets.error().why});
    }
    if (packets->empty() || packets->front().type != eio::PacketType::open) {
      return end(ClientFailure{FailureKind::protocol, "handshake: no open packet"});
    }
    eio_handshake(packets->front().data, eio::Transport::polling, now_ms);
    for (size_t i = 1; i < packets->size() && phase_ == Phase::open; ++i)
      eio_packet((*packets)[i], eio::Transport::polling, now_ms);
    if (phase_ != Phase::open) return;
    poll(now_ms);
    if (config_.plan == Plan::upgrade) {
      const auto& upgrades = handshake_->upgrades;
      if (std::find(upgrades.begin(), upgrades.end(), "websocket") != upgrades.end()) {
        ws_ = Ws::connecting;
        out_.push_back(WsConnectCommand{websocket_url()});
      } else {
        out_.push_back(
            TransportCommand{eio::Transport::polling, "the server offers no upgrade to websocket"});
      }
    }
    flush_posts(now_ms);
    return;
  }

  bool is_poll = id == poll_id_;
  bool is_post = id == post_id_;
  if (!is_poll && !is_post) return;
  if (is_poll) poll_id_ = 0;
  if (is_post) post_id_ = 0;
  if (status != 200) {
    if (phase_ == Phase::closing) return end(std::nullopt);
    return end(
        ClientFailure{FailureKind::refused, http_failure(is_poll ? "poll" : "POST", status, body)});
  }
  if (is_poll) {
    if (is_09()) {
      sio09_frames(body, eio::Transport::polling, now_ms);
    } else {
      eio_body(content_type, body, now_ms);
    }
    if (phase_ == Phase::ended) return;
    if (phase_ == Phase::open && transport_ == eio::Transport::polling && ws_ != Ws::paused &&
        !(is_09() && ws_ != Ws::none)) {
      poll(now_ms);
    }
  }
  if (ws_ == Ws::paused) return finish_upgrade(now_ms);
  flush_posts(now_ms);
  finish_close_if_done();
}

void SocketClientCore::http_failed(uint64_t id, const ClientFailure& failure, uint64_t now_ms) {
  (void)now_ms;
  if (phase_ == Phase::ended || id == 0) return;
  if (id == handshake_id_) {
    handshake_id_ = 0;
    return end(failure);
  }
  bool is_poll = id == poll_id_;
  bool is_post = id == post_id_;
  if (!is_poll && !is_post) return;
  if (is_poll) poll_id_ = 0;
  if (is_post) post_id_ = 0;
  // The server may cut what is pending once the session is closed: that is its part done.
  if (phase_ == Phase::closing) return end(std::nullopt);
  end(ClientFailure{failure.kind, std::string(is_poll ? "poll: " : "POST: ") + failure.why});
}

void SocketClientCore::poll(uint64_t now_ms) {
  (void)now_ms;
  if (poll_id_ != 0) return;
  poll_id_ = http(HttpPurpose::poll, "GET", polling_url(), {}, poll_timeout());
}

void SocketClientCore::flush_posts(uint64_t now_ms) {
  (void)now_ms;
  if (post_id_ != 0 || (phase_ != Phase::open && phase_ != Phase::closing)) return;
  if (transport_ != eio::Transport::polling || ws_ == Ws::paused) return;
  std::string body;
  if (is_09()) {
    if (queue_09_.empty()) return;
    auto payload = sio09::encode_payload(queue_09_);
    queue_09_.clear();
    if (!payload) return end(ClientFailure{FailureKind::setup, payload.error().why});
    body = std::move(payload).value();
  } else {
    if (queue_.empty()) return;
    auto payload = eio::encode_payload(version(), queue_);
    queue_.clear();
    if (!payload) return end(ClientFailure{FailureKind::setup, payload.error().why});
    body = std::move(payload).value();
  }
  post_id_ =
      http(HttpPurpose::post, "POST", polling_url(), std::move(body), config_.request_timeout_ms);
}

// ---- Engine.IO ----

void SocketClientCore::eio_handshake(std::string_view json, eio::Transport via, uint64_t now_ms) {
  auto handshake = eio::parse_handshake(json);
  if (!handshake) {
    return end(ClientFailure{FailureKind::protocol, "open packet: " + handshake.error().why});
  }
  handshake_ = std::move(handshake).value();
  sid_ = handshake_->sid;
  transport_ = via;
  opened(now_ms);
}

void SocketClientCore::eio_body(std::string_view content_type, std::string_view body,
                                uint64_t now_ms) {
  auto packets = eio::decode_payload(version(), body, content_type, config_.eio_limits);
  if (!packets) {
    return end(
        ClientFailure{FailureKind::protocol,
                      "undecodable polling payload from the server: " + packets.error().why});
  }
  for (const auto& packet : *packets) {
    eio_packet(packet, eio::Transport::polling, now_ms);
    if (phase_ == Phase::ended) return;
  }
}

void SocketClientCore::eio_packet(const eio::Packet& packet, eio::Transport via, uint64_t now_ms) {
  switch (packet.type) {
    case eio::PacketType::open:
      if (phase_ == Phase::handshaking && via == eio::Transport::websocket) {
        eio_handshake(packet.data, via, now_ms);
        if (phase_ == Phase::open) {
          ws_ = Ws::open;
          flush_posts(now_ms);
          for (const auto& queued : queue_)
            send_ws_packet(queued);
          queue_.clear();
        }
      }
      return;
    case eio::PacketType::close:
      if (phase_ == Phase::closing) return end(std::nullopt);
      return end(ClientFailure{FailureKind::closed, "the server closed the session"});
    case eio::PacketType::ping:
      if (eio::is_probe(packet)) return;
      // v4: the server's heartbeat, answered with the same data. A v3 server does not ping,
      // but an answer costs nothing.
      if (version() == eio::Version::v4 && handshake_) {
        ping_deadline_ = now_ms + handshake_->ping_interval_ms + handshake_->ping_timeout_ms;
      }
      out_.push_back(HeartbeatCommand{});
      return send_eio(eio::Packet{eio::PacketType::pong, packet.data, false}, now_ms);
    case eio::PacketType::pong:
      if (eio::is_probe(packet)) {
        if (via == eio::Transport::websocket && ws_ == Ws::probing) {
          ws_ = Ws::paused;  // no new poll; `5` once the pending requests are back
          finish_upgrade(now_ms);
        }
        return;
      }
      if (pong_deadline_ != 0 && handshake_) {
        pong_deadline_ = 0;
        next_ping_ = now_ms + handshake_->ping_interval_ms;
        out_.push_back(HeartbeatCommand{});
      }
      return;
    case eio::PacketType::message:
      return eio_message(packet, via);
    case eio::PacketType::upgrade:
    case eio::PacketType::noop:
      return;
  }
}

void SocketClientCore::eio_message(const eio::Packet& packet, eio::Transport via) {
  auto decoded =
      packet.binary ? decoder_.feed_binary(packet.data) : decoder_.feed_text(packet.data);
  if (!decoded) {
    return end(
        ClientFailure{FailureKind::protocol,
                      "undecodable Socket.IO packet from the server: " + decoded.error().why});
  }
  if (!decoded->has_value()) {
    if (!packet.binary) {
      pending_text_ = packet.data;
      pending_transport_ = via;
    }
    return;
  }
  SocketMessage message;
  if (packet.binary) {
    message.text = std::move(pending_text_);
    message.transport = pending_transport_;
    pending_text_.clear();
  } else {
    message.text = packet.data;
    message.transport = via;
  }
  message.packet = std::move(**decoded);
  out_.push_back(MessageCommand{std::move(message)});
}

void SocketClientCore::send_ws_packet(const eio::Packet& packet) {
  auto message = eio::encode_ws_message(version(), packet);
  if (!message) return end(ClientFailure{FailureKind::setup, message.error().why});
  out_.push_back(WsSendCommand{std::move(message->payload), message->binary});
}

void SocketClientCore::send_eio(eio::Packet packet, uint64_t now_ms) {
  if (ws_ == Ws::open && transport_ == eio::Transport::websocket) return send_ws_packet(packet);
  queue_.push_back(std::move(packet));
  flush_posts(now_ms);
}

// After `3probe`: once neither a poll nor a POST is out, `5` goes on the WebSocket and
// everything that waited follows it there (PROTOCOLS.md §1 "Upgrade sequence").
void SocketClientCore::finish_upgrade(uint64_t now_ms) {
  (void)now_ms;
  if (ws_ != Ws::paused || poll_id_ != 0 || post_id_ != 0) return;
  ws_ = Ws::open;
  transport_ = eio::Transport::websocket;
  out_.push_back(WsSendCommand{"5", false});
  out_.push_back(TransportCommand{eio::Transport::websocket, {}});
  for (const auto& packet : queue_)
    send_ws_packet(packet);
  queue_.clear();
}

void SocketClientCore::upgrade_failed(const std::string& why, uint64_t now_ms) {
  ws_ = Ws::failed;
  out_.push_back(WsCloseCommand{false});
  out_.push_back(
      TransportCommand{eio::Transport::polling, "the upgrade to websocket failed: " + why});
  if (phase_ != Phase::open) return;
  poll(now_ms);
  flush_posts(now_ms);
}

// ---- WebSocket outcomes ----

void SocketClientCore::ws_opened(uint64_t now_ms) {
  if (phase_ == Phase::ended || ws_ != Ws::connecting) return;
  if (is_09()) {
    ws_ = Ws::open;
    if (handshake_09_ && handshake_09_->heartbeat_timeout) {
      ping_deadline_ = now_ms + *handshake_09_->heartbeat_timeout * 1000;
    }
    for (auto& frame : queue_09_)
      out_.push_back(WsSendCommand{std::move(frame), false});
    queue_09_.clear();
    return;
  }
  if (phase_ == Phase::handshaking) return;  // websocket only: the open packet comes next
  ws_ = Ws::probing;
  out_.push_back(WsSendCommand{"2probe", false});
}

void SocketClientCore::ws_failed(const ClientFailure& failure, uint64_t now_ms) {
  if (phase_ == Phase::ended || ws_ != Ws::connecting) return;
  if (is_09() || phase_ == Phase::handshaking) {
    return end(ClientFailure{failure.kind, "websocket: " + failure.why});
  }
  if (phase_ == Phase::closing) return finish_close_if_done();
  upgrade_failed(failure.why, now_ms);
}

void SocketClientCore::ws_message(std::string_view payload, bool binary, uint64_t now_ms) {
  if (phase_ == Phase::ended || ws_ == Ws::none || ws_ == Ws::failed) return;
  if (is_09()) return sio09_frames(payload, eio::Transport::websocket, now_ms);
  auto packet = eio::decode_ws_message(version(), payload, binary, config_.eio_limits);
  if (!packet) {
    return end(
        ClientFailure{FailureKind::protocol,
                      "undecodable WebSocket message from the server: " + packet.error().why});
  }
  if (phase_ == Phase::handshaking && packet->type != eio::PacketType::open) {
    return end(
        ClientFailure{FailureKind::protocol, "websocket: the first message is not an open packet"});
  }
  eio_packet(*packet, eio::Transport::websocket, now_ms);
}

void SocketClientCore::ws_closed(const std::string& why, uint64_t now_ms) {
  if (phase_ == Phase::ended || ws_ == Ws::none || ws_ == Ws::failed) return;
  if (ws_ == Ws::open) {
    if (phase_ == Phase::closing) return end(std::nullopt);
    return end(ClientFailure{FailureKind::closed, "websocket closed: " + why});
  }
  if (phase_ == Phase::handshaking) {
    return end(
        ClientFailure{FailureKind::closed, "websocket closed before the open packet: " + why});
  }
  if (phase_ == Phase::closing) {
    ws_ = Ws::failed;
    return finish_close_if_done();
  }
  upgrade_failed("websocket closed: " + why, now_ms);
}

// ---- Time ----

void SocketClientCore::tick(uint64_t now_ms) {
  if (phase_ == Phase::ended) return;
  if (close_deadline_ != 0 && now_ms >= close_deadline_) return end(std::nullopt);
  if (ping_deadline_ != 0 && now_ms >= ping_deadline_) {
    std::string waited;
    if (handshake_) {
      waited = std::to_string(handshake_->ping_interval_ms + handshake_->ping_timeout_ms) + " ms";
    } else if (handshake_09_ && handshake_09_->heartbeat_timeout) {
      waited = std::to_string(*handshake_09_->heartbeat_timeout) + " s";
    }
    return end(ClientFailure{FailureKind::timeout,
                             is_09()
                                 ? "heartbeat timeout: no heartbeat from the server for " + waited
                                 : "ping timeout: no ping from the server for " + waited});
  }
  if (pong_deadline_ != 0 && now_ms >= pong_deadline_) {
    return end(ClientFailure{FailureKind::timeout,
                             "ping timeout: no pong within " +
                                 std::to_string(handshake_ ? handshake_->ping_timeout_ms : 0) +
                                 " ms"});
  }
  if (next_ping_ != 0 && now_ms >= next_ping_ && handshake_) {
    next_ping_ = 0;
    pong_deadline_ = now_ms + handshake_->ping_timeout_ms;
    send_eio(eio::Packet{eio::PacketType::ping, {}, false}, now_ms);
  }
}

// ---- The caller ----

std::optional<ClientFailure> SocketClientCore::send(std::string_view text,
                                                    std::span<const std::string> attachments,
                                                    uint64_t now_ms) {
  if (phase_ == Phase::ended || phase_ == Phase::closing) {
    return ClientFailure{FailureKind::setup, "the socket session is over"};
  }
  if (!text::is_valid_utf8(text)) return ClientFailure{FailureKind::setup, "not UTF-8 text"};
  if (is_09()) {
    if (!attachments.empty()) {
      return ClientFailure{FailureKind::setup, "Socket.IO 0.9 has no binary attachments"};
    }
    send_09(std::string(text), now_ms);
    return std::nullopt;
  }
  bool waiting = phase_ != Phase::open;
  auto route = [&](eio::Packet packet) {
    if (waiting) {
      queue_.push_back(std::move(packet));
    } else {
      send_eio(std::move(packet), now_ms);
    }
  };
  route(eio::Packet{eio::PacketType::message, std::string(text), false});
  for (const auto& bytes : attachments)
    route(eio::Packet{eio::PacketType::message, bytes, true});
  return std::nullopt;
}

void SocketClientCore::close(uint64_t now_ms) {
  if (phase_ == Phase::ended || phase_ == Phase::closing) return;
  if (phase_ == Phase::idle || phase_ == Phase::handshaking) return end(std::nullopt);
  phase_ = Phase::closing;
  ping_deadline_ = next_ping_ = pong_deadline_ = 0;
  close_deadline_ = now_ms + config_.close_timeout_ms;
  if (transport_ == eio::Transport::websocket && ws_ == Ws::open) {
    // No Engine.IO close packet on a WebSocket (PROTOCOLS.md §1 "Close"); 0.9 says `0::`
    // first and the server echoes it before closing.
    if (is_09()) out_.push_back(WsSendCommand{"0::", false});
    out_.push_back(WsCloseCommand{true});
    return;
  }
  if (is_09() && ws_ == Ws::connecting) {
    // Never reached the WebSocket: nothing to say goodbye on.
    return end(std::nullopt);
  }
  if (ws_ == Ws::connecting || ws_ == Ws::probing || ws_ == Ws::paused) {
    ws_ = Ws::failed;
    out_.push_back(WsCloseCommand{false});
  }
  if (is_09()) {
    queue_09_.push_back("0::");
  } else {
    queue_.push_back(eio::Packet{eio::PacketType::close, {}, false});
  }
  flush_posts(now_ms);
}

// Closing over polling is done once the close has been POSTed. The pending poll is not waited
// for: the server releases it with `6` or an empty body, which carries nothing the caller asked
// for, and a server that keeps it would only hold the close up.
void SocketClientCore::finish_close_if_done() {
  if (phase_ != Phase::closing || transport_ != eio::Transport::polling) return;
  if (post_id_ != 0) return;
  if (!queue_.empty() || !queue_09_.empty()) return;
  end(std::nullopt);
}

// ---- Socket.IO 0.9 ----

void SocketClientCore::sio09_handshake(int status, std::string_view body, uint64_t now_ms) {
  if (auto refusal = sio09::parse_refusal(status, body)) {
    return end(ClientFailure{FailureKind::refused,
                             http_failure("handshake refused", refusal->status, refusal->message)});
  }
  auto handshake = sio09::parse_handshake(body);
  if (!handshake) {
    return end(ClientFailure{FailureKind::protocol, "handshake: " + handshake.error().why});
  }
  handshake_09_ = std::move(handshake).value();
  sid_ = handshake_09_->sid;
  bool polling = config_.plan == Plan::polling;
  std::string wanted = polling ? "xhr-polling" : "websocket";
  const auto& offered = handshake_09_->transports;
  if (std::find(offered.begin(), offered.end(), wanted) == offered.end()) {
    std::string list;
    for (const auto& t : offered)
      list += (list.empty() ? "" : ",") + t;
    return end(ClientFailure{FailureKind::refused,
                             "the server does not offer " + wanted + " (it offers " + list + ")"});
  }
  transport_ = polling ? eio::Transport::polling : eio::Transport::websocket;
  opened(now_ms);
  if (polling) {
    poll(now_ms);
    flush_posts(now_ms);
    return;
  }
  ws_ = Ws::connecting;
  out_.push_back(WsConnectCommand{websocket_url()});
}

void SocketClientCore::sio09_frames(std::string_view payload, eio::Transport via, uint64_t now_ms) {
  auto frames = sio09::decode_payload(payload);
  if (!frames) {
    return end(ClientFailure{FailureKind::protocol,
                             "undecodable 0.9 payload from the server: " + frames.error().why});
  }
  for (const auto& frame : *frames) {
    sio09_frame(frame, via, now_ms);
    if (phase_ == Phase::ended) return;
  }
}

void SocketClientCore::sio09_frame(std::string_view text, eio::Transport via, uint64_t now_ms) {
  auto decoded = sio09::decode(text);
  if (!decoded) {
    return end(ClientFailure{FailureKind::protocol,
                             "undecodable 0.9 frame from the server: " + decoded.error().why});
  }
  if (via == eio::Transport::websocket && ping_deadline_ != 0 && handshake_09_ &&
      handshake_09_->heartbeat_timeout) {
    ping_deadline_ = now_ms + *handshake_09_->heartbeat_timeout * 1000;
  }
  sio09::FrameType type = decoded->frame.type;
  if (type == sio09::FrameType::heartbeat) {
    out_.push_back(HeartbeatCommand{});
    if (phase_ == Phase::open) send_09("2::", now_ms);
    return;
  }
  if (type == sio09::FrameType::noop) return;
  bool session_end = decoded->frame.endpoint.empty() && type == sio09::FrameType::disconnect;
  bool unknown_session = false;
  if (type == sio09::FrameType::error && decoded->frame.endpoint.empty()) {
    if (const auto* error = std::get_if<sio09::Error>(&decoded->content)) {
      unknown_session = error->reason == "1";  // client not handshaken
    }
  }
  out_.push_back(MessageCommand{SocketMessage{via, std::move(decoded).value(), std::string(text)}});
  if (session_end) {
    if (phase_ == Phase::closing) return end(std::nullopt);
    return end(ClientFailure{FailureKind::closed, "the server ended the session (0::)"});
  }
  if (unknown_session) {
    end(ClientFailure{FailureKind::refused, "the server does not know the session (7:::1)"});
  }
}

void SocketClientCore::send_09(std::string frame, uint64_t now_ms) {
  if (ws_ == Ws::open) {
    out_.push_back(WsSendCommand{std::move(frame), false});
    return;
  }
  queue_09_.push_back(std::move(frame));
  flush_posts(now_ms);
}

// ---- Cache busters ----

std::string CacheBuster::next(uint64_t now_ms) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
  std::string out;
  uint64_t n = now_ms;
  do {
    out.insert(out.begin(), kAlphabet[n % 64]);
    n /= 64;
  } while (n > 0);
  if (started_ && now_ms == last_ms_) {
    out += "." + std::to_string(repeat_++);
  } else {
    started_ = true;
    last_ms_ = now_ms;
    repeat_ = 0;
  }
  return out;
}

}  // namespace wa::replay
