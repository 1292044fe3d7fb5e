#include "protocol/socket_traffic.h"

#include "protocol/engineio_payload.h"
#include "protocol/socketio09.h"
#include "protocol/socketio_json.h"

namespace wa::traffic {
namespace {

// 0.9 transports (PROTOCOLS.md §3); a path naming anything else is not 0.9 traffic.
bool is_sio09_transport(std::string_view name) {
  return name == "websocket" || name == "xhr-polling" || name == "jsonp-polling" ||
         name == "htmlfile" || name == "flashsocket";
}

// The origin-form part of a target: an absolute URL loses its scheme://authority.
std::string_view origin_form(std::string_view target) {
  if (auto scheme = target.find("://");
      scheme != std::string_view::npos && scheme < target.find_first_of("/?")) {
    auto slash = target.find_first_of("/?", scheme + 3);
    return slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return target;
}

std::string_view path_of(std::string_view target) {
  target = origin_form(target);
  return target.substr(0, target.find_first_of("?#"));
}

// The 0.9 resource prefix and parsed path of `target` (`/socket.io/1/xhr-polling/<sid>` →
// "/socket.io"), when its shape is that of a 0.9 request: a handshake `<resource>/1/` or a
// transport `<resource>/1/<known transport>/<sid>`.
std::optional<std::pair<std::string, sio09::Path>> match_sio09(std::string_view target) {
  std::string_view path = path_of(target);
  size_t at = path.rfind("/1/");
  if (at == std::string_view::npos) {
    if (path.size() >= 2 && path.substr(path.size() - 2) == "/1") {
      at = path.size() - 2;
    } else {
      return std::nullopt;
    }
  } else if (at + 3 < path.size()) {
    // `/1/` followed by more: the transport and sid segments must follow that `/1/`, so look
    // for the `/1/` that leaves exactly them.
    size_t candidate = path.find("/1/");
    at = std::string_view::npos;
    while (candidate != std::string_view::npos) {
      std::string_view rest = path.substr(candidate + 3);
      size_t slash = rest.find('/');
      if (slash != std::string_view::npos && is_sio09_transport(rest.substr(0, slash))) {
        at = candidate;
        break;
      }
      candidate = path.find("/1/", candidate + 1);
    }
    if (at == std::string_view::npos) return std::nullopt;
  }
  std::string resource(path.substr(0, at));
  auto parsed = sio09::parse_path(origin_form(target), resource);
  if (!parsed) return std::nullopt;
  if (!parsed->is_handshake() && !is_sio09_transport(parsed->transport)) return std::nullopt;
  return std::pair{resource, *parsed};
}

eio::Direction to_eio(Direction d) {
  return d == Direction::client ? eio::Direction::to_server : eio::Direction::to_client;
}

char type_digit(eio::PacketType type) {
  return char('0' + int(type));
}

// Fills the Socket.IO fields of `rec` from a decoded packet.
void fill_sio(Packet& rec, const sio::Packet& p, size_t attachment_count) {
  rec.sio_type = int(p.type);
  rec.nsp = p.nsp;
  rec.ack_id = p.id;
  if (sio::is_event(p)) {
    rec.event = sio::event_name(p).value_or("");
    rec.args = sio::dump_json(sio::event_args(p));
  } else if (sio::is_ack(p)) {
    rec.args = sio::dump_json(sio::event_args(p));
  } else if (p.data) {
    rec.args = sio::dump_json(*p.data);
  }
  rec.attachment_count = int(attachment_count);
  rec.attachments = p.attachments;
}

void fill_sio09(Packet& rec, const sio09::Decoded& d) {
  const sio09::Frame& f = d.frame;
  rec.sio_type = int(f.type);
  rec.nsp = f.endpoint.empty() ? "/" : f.endpoint;
  rec.ack_id = f.id;
  rec.chatter = f.type == sio09::FrameType::heartbeat || f.type == sio09::FrameType::noop;
  using sio09::Json;
  if (auto* e = std::get_if<sio09::Event>(&d.content)) {
    rec.event = e->name;
    rec.args = sio::dump_json(e->args);
  } else if (auto* a = std::get_if<sio09::Ack>(&d.content)) {
    rec.ack_id = a->id;
    rec.args = sio::dump_json(a->args);
  } else if (auto* m = std::get_if<sio09::Message>(&d.content)) {
    rec.args = sio::dump_json(Json::array({m->text}));
  } else if (auto* j = std::get_if<sio09::JsonMessage>(&d.content)) {
    rec.args = sio::dump_json(Json::array({j->value}));
  } else if (auto* c = std::get_if<sio09::Connect>(&d.content)) {
    if (!c->query.empty()) rec.args = sio::dump_json(Json{{"query", c->query}});
  } else if (auto* err = std::get_if<sio09::Error>(&d.content)) {
    rec.args = sio::dump_json(Json{{"reason", err->reason}, {"advice", err->advice}});
  }
}

}  // namespace

const char* family_name(Family family) {
  switch (family) {
    case Family::eio3:
      return "eio3";
    case Family::eio4:
      return "eio4";
    case Family::sio09:
      return "sio09";
  }
  return "?";
}

bool Observer::is_socket_request(std::string_view target) {
  eio::Query q = eio::parse_query(target);
  if (q.transport && (q.version || path_of(target).find("/socket.io") != std::string_view::npos)) {
    return true;
  }
  return match_sio09(target).has_value();
}

void Observer::note_session(Family family, const std::string& sid, Source source, bool handshake,
                            Observed& out, uint64_t websocket) {
  if (sid.empty() || known_.count(sid)) return;
  known_[sid] = true;
  out.sessions.push_back(Session{family, sid, source, handshake, handshake ? websocket : 0});
}

Observer::EioState& Observer::eio_session(const std::string& sid, eio::Version version) {
  auto it = eio_.find(sid);
  if (it == eio_.end()) {
    // Engine.IO v3 carries Socket.IO protocol v4 (socket.io 2.x), v4 carries v5.
    it = eio_.try_emplace(sid, version, version == eio::Version::v3 ? 4 : 5).first;
  }
  return it->second;
}

Observed Observer::on_exchange(const HttpExchange& exchange, int64_t exchange_id) {
  eio::Query q = eio::parse_query(exchange.target);
  if (q.transport) {
    if (q.version || path_of(exchange.target).find("/socket.io") != std::string_view::npos) {
      Observed out = on_eio_exchange(exchange, exchange_id);
      return out;
    }
  }
  return on_sio09_exchange(exchange, exchange_id);
}

Observed Observer::on_eio_exchange(const HttpExchange& x, int64_t exchange_id) {
  Observed out;
  eio::Query q = eio::parse_query(x.target);
  if (q.transport != eio::Transport::polling) return out;  // upgrades arrive as WebSockets
  // engine.io 3 ignores EIO and answers v3 framing (PROTOCOLS.md §1); a v4 server refuses a
  // request without it, so only a v3 session can answer one.
  eio::Version version = q.version.value_or(eio::Version::v3);
  Family family = version == eio::Version::v3 ? Family::eio3 : Family::eio4;

  bool is_post = x.method == "POST";
  Direction direction = is_post ? Direction::client : Direction::server;
  std::string_view body = is_post ? x.request_body : x.response_body;
  std::string_view type = is_post ? x.request_content_type : x.response_content_type;
  bool complete = is_post ? x.request_body_complete : x.response_body_complete;
  std::string_view body_error = is_post ? x.request_body_error : x.response_body_error;
  Source source{Source::Kind::exchange, exchange_id,
                is_post ? x.request_time_us : x.response_time_us};

  if (x.status != 200) {
    // A refused handshake or a dead session ("Session ID unknown"): no packets travelled.
    if (!q.sid.empty()) {
      if (auto it = eio_.find(q.sid); it != eio_.end() && x.status == 400) {
        it->second.tracker.transport_closed(eio::Transport::polling);
      }
    }
    return out;
  }

  auto error_packet = [&](std::string why) {
    Packet rec;
    rec.family = family;
    rec.sid = q.sid;
    rec.transport = eio::Transport::polling;
    rec.direction = direction;
    rec.source = source;
    rec.error = std::move(why);
    out.packets.push_back(std::move(rec));
  };
  if (!complete) {
    error_packet("polling body was cut before it could be decoded");
    return out;
  }
  if (!body_error.empty()) {
    error_packet(std::string(body_error));
    return out;
  }
  auto packets = eio::decode_payload(version, body, type);
  if (!packets) {
    error_packet(packets.error().why);
    return out;
  }

  std::string sid = q.sid;
  bool handshake = false;
  if (sid.empty() && !is_post && !packets->empty() &&
      packets->front().type == eio::PacketType::open) {
    auto hs = eio::parse_handshake(packets->front().data);
    if (!hs) {
      error_packet("open packet: " + hs.error().why);
      return out;
    }
    sid = hs->sid;
    handshake = true;
  }
  if (sid.empty()) {
    error_packet("Engine.IO request without a session id");
    return out;
  }
  note_session(family, sid, source, handshake, out);
  EioState& state = eio_session(sid, version);
  eio_packets(state, sid, eio::Transport::polling, direction, *packets, source, out);
  return out;
}

void Observer::eio_packets(EioState& state, const std::string& sid, eio::Transport transport,
                           Direction direction, const std::vector<eio::Packet>& packets,
                           Source source, Observed& out) {
  Family family = state.version == eio::Version::v3 ? Family::eio3 : Family::eio4;
  int sio_version = state.version == eio::Version::v3 ? 4 : 5;
  sio::Decoder& decoder = direction == Direction::client ? state.from_client : state.from_server;
  std::optional<Packet>& pending =
      direction == Direction::client ? state.pending_client : state.pending_server;

  for (size_t i = 0; i < packets.size(); ++i) {
    const eio::Packet& p = packets[i];
    eio::Observation seen = state.tracker.observe(transport, to_eio(direction), p);
    Packet rec;
    rec.family = family;
    rec.sid = sid;
    rec.transport = transport;
    rec.direction = direction;
    rec.source = source;
    rec.position = int(i);
    rec.eio_type = int(p.type);
    rec.binary = p.binary;
    rec.chatter = seen.traffic == eio::Traffic::heartbeat || seen.traffic == eio::Traffic::probe ||
                  seen.traffic == eio::Traffic::upgrade || seen.traffic == eio::Traffic::noop;
    if (!p.binary) rec.raw = type_digit(p.type) + p.data;

    if (p.type != eio::PacketType::message) {
      out.packets.push_back(std::move(rec));
      continue;
    }
    if (p.binary) {
      // An attachment: reported as itself, then the packet it completes.
      auto fed = decoder.feed_binary(p.data);
      if (!fed) rec.error = fed.error().why;
      out.packets.push_back(std::move(rec));
      if (fed && *fed && pending) {
        fill_sio(*pending, **fed, (*fed)->attachments.size());
        out.packets.push_back(std::move(*pending));
        pending.reset();
      }
      continue;
    }
    if (pending) {
      // A text packet while attachments are awaited: the server would drop the connection;
      // the incomplete packet is reported as it stands.
      pending->error = "attachments missing: a text packet came first";
      out.packets.push_back(std::move(*pending));
      pending.reset();
    }
    auto fed = decoder.feed_text(p.data);
    if (!fed) {
      rec.error = fed.error().why;
      out.packets.push_back(std::move(rec));
    } else if (*fed) {
      fill_sio(rec, **fed, (*fed)->attachments.size());
      out.packets.push_back(std::move(rec));
    } else {
      size_t expected = 0;
      auto header = sio::decode(p.data, sio_version, {}, &expected);
      if (header) fill_sio(rec, *header, expected);
      pending = std::move(rec);
    }
  }
}

void Observer::sio09_frames(const std::string& sid, eio::Transport transport, Direction direction,
                            const std::vector<std::string>& frames, Source source, Observed& out) {
  for (size_t i = 0; i < frames.size(); ++i) {
    Packet rec;
    rec.family = Family::sio09;
    rec.sid = sid;
    rec.transport = transport;
    rec.direction = direction;
    rec.source = source;
    rec.position = int(i);
    rec.raw = frames[i];
    auto decoded = sio09::decode(frames[i]);
    if (decoded) {
      fill_sio09(rec, *decoded);
    } else {
      rec.error = decoded.error().why;
    }
    out.packets.push_back(std::move(rec));
  }
}

Observed Observer::on_sio09_exchange(const HttpExchange& x, int64_t exchange_id) {
  Observed out;
  auto match = match_sio09(x.target);
  if (!match) return out;
  const auto& [resource, path] = *match;
  if (path.is_handshake()) {
    if (x.status != 200 || !x.response_body_complete) return out;
    auto hs = sio09::parse_handshake(x.response_body);
    if (!hs) return out;
    resources_[hs->sid] = resource;
    note_session(Family::sio09, hs->sid,
                 Source{Source::Kind::exchange, exchange_id, x.response_time_us}, true, out);
    return out;
  }
  if (path.transport != "xhr-polling" || x.status != 200) return out;
  bool is_post = x.method == "POST";
  Source source{Source::Kind::exchange, exchange_id,
                is_post ? x.request_time_us : x.response_time_us};
  note_session(Family::sio09, path.sid, source, false, out);
  std::string_view body = is_post ? x.request_body : x.response_body;
  std::string_view body_error = is_post ? x.request_body_error : x.response_body_error;
  auto frames =
      body_error.empty()
          ? sio09::decode_payload(body)
          : Result<std::vector<std::string>>(fail(Errc::bad_encoding, std::string(body_error)));
  if (!frames) {
    Packet rec;
    rec.family = Family::sio09;
    rec.sid = path.sid;
    rec.direction = is_post ? Direction::client : Direction::server;
    rec.source = source;
    rec.error = frames.error().why;
    out.packets.push_back(std::move(rec));
    return out;
  }
  sio09_frames(path.sid, eio::Transport::polling, is_post ? Direction::client : Direction::server,
               *frames, source, out);
  return out;
}

bool Observer::on_websocket_open(uint64_t ws, std::string_view target) {
  eio::Query q = eio::parse_query(target);
  if (q.transport == eio::Transport::websocket &&
      (q.version || path_of(target).find("/socket.io") != std::string_view::npos)) {
    eio::Version version = q.version.value_or(eio::Version::v3);
    sockets_[ws] = Socket{version == eio::Version::v3 ? Family::eio3 : Family::eio4, q.sid,
                          std::string(target)};
    return true;
  }
  auto match = match_sio09(target);
  if (match && match->second.transport == "websocket" && !match->second.sid.empty()) {
    sockets_[ws] = Socket{Family::sio09, match->second.sid, std::string(target)};
    return true;
  }
  return false;
}

Observed Observer::on_websocket_message(uint64_t ws, Direction direction, bool binary,
                                        std::string_view payload, Source source) {
  Observed out;
  auto it = sockets_.find(ws);
  if (it == sockets_.end()) return out;
  Socket& socket = it->second;
  if (socket.family == Family::sio09) {
    note_session(Family::sio09, socket.sid, source, false, out);
    sio09_frames(socket.sid, eio::Transport::websocket, direction, {std::string(payload)}, source,
                 out);
    return out;
  }
  eio::Version version = socket.family == Family::eio3 ? eio::Version::v3 : eio::Version::v4;
  auto packet = eio::decode_ws_message(version, payload, binary);
  if (!packet) {
    Packet rec;
    rec.family = socket.family;
    rec.sid = socket.sid;
    rec.transport = eio::Transport::websocket;
    rec.direction = direction;
    rec.source = source;
    if (!binary) rec.raw = std::string(payload);
    rec.error = packet.error().why;
    out.packets.push_back(std::move(rec));
    return out;
  }
  bool handshake = false;
  if (socket.sid.empty() && packet->type == eio::PacketType::open &&
      direction == Direction::server) {
    // A WebSocket-only session: the open packet is its first frame (PROTOCOLS.md §1).
    if (auto hs = eio::parse_handshake(packet->data)) {
      socket.sid = hs->sid;
      handshake = true;
    }
  }
  if (socket.sid.empty()) {
    Packet rec;
    rec.family = socket.family;
    rec.transport = eio::Transport::websocket;
    rec.direction = direction;
    rec.source = source;
    rec.error = "WebSocket traffic before the session's open packet";
    out.packets.push_back(std::move(rec));
    return out;
  }
  note_session(socket.family, socket.sid, source, handshake, out, ws);
  EioState& state = eio_session(socket.sid, version);
  eio_packets(state, socket.sid, eio::Transport::websocket, direction, {std::move(*packet)}, source,
              out);
  return out;
}

Observed Observer::on_websocket_close(uint64_t ws) {
  auto it = sockets_.find(ws);
  if (it == sockets_.end()) return {};
  if (it->second.family != Family::sio09) {
    if (auto state = eio_.find(it->second.sid); state != eio_.end()) {
      state->second.tracker.transport_closed(eio::Transport::websocket);
    }
  }
  sockets_.erase(it);
  return {};
}

Observed Observer::finish() {
  Observed out;
  for (auto& [sid, state] : eio_) {
    for (auto* pending : {&state.pending_client, &state.pending_server}) {
      if (!*pending) continue;
      (*pending)->error = "attachments missing at the end of the capture";
      out.packets.push_back(std::move(**pending));
      pending->reset();
    }
  }
  return out;
}

}  // namespace wa::traffic
