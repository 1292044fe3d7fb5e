#include "replay/socket_event.h"

namespace wa::replay {
namespace {

EventKind from_sio_type(int type) {
  switch (type) {
    case 0:
      return EventKind::connect;
    case 1:
      return EventKind::disconnect;
    case 3:
    case 6:
      return EventKind::ack;
    case 4:
      return EventKind::error;
    default:
      return EventKind::event;
  }
}

// Socket.IO 0.9 frame types (PROTOCOLS.md §3); nullopt for heartbeat and noop.
std::optional<EventKind> from_sio09_type(int type) {
  switch (type) {
    case 0:
      return EventKind::disconnect;
    case 1:
      return EventKind::connect;
    case 3:
    case 4:
      return EventKind::message;
    case 5:
      return EventKind::event;
    case 6:
      return EventKind::ack;
    case 7:
      return EventKind::error;
    default:
      return std::nullopt;
  }
}

}  // namespace

const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::connect:
      return "connect";
    case EventKind::disconnect:
      return "disconnect";
    case EventKind::event:
      return "event";
    case EventKind::ack:
      return "ack";
    case EventKind::error:
      return "error";
    case EventKind::message:
      return "message";
    case EventKind::ws:
      return "ws";
    case EventKind::sse:
      return "sse";
  }
  return "?";
}

std::optional<SocketEvent> event_from_recorded(const store::SocketPacket& p) {
  if (!p.sio_type) return std::nullopt;
  if (p.raw.find("(error: ") != std::string::npos) return std::nullopt;
  SocketEvent e;
  if (p.eio_type) {
    if (*p.eio_type != 4) return std::nullopt;
    e.kind = from_sio_type(*p.sio_type);
  } else {
    auto kind = from_sio09_type(*p.sio_type);
    if (!kind) return std::nullopt;
    e.kind = *kind;
  }
  e.nsp = p.namespace_.empty() ? "/" : p.namespace_;
  e.name = p.event;
  e.ack_id = p.ack_id;
  if (!p.args.empty()) {
    auto parsed = sio::parse_json(p.args, Errc::bad_encoding);
    e.args = parsed ? std::move(*parsed) : Json(p.args);
  } else if (e.kind == EventKind::event || e.kind == EventKind::ack) {
    e.args = Json::array();
  }
  e.attachments = p.attachments;
  return e;
}

SocketEvent event_from_live(const sio::Packet& p) {
  SocketEvent e;
  e.kind = from_sio_type(int(p.type));
  e.nsp = p.nsp.empty() ? "/" : p.nsp;
  if (p.id) e.ack_id = static_cast<int64_t>(*p.id);
  if (sio::is_event(p)) {
    e.name = sio::event_name(p).value_or("");
    e.args = sio::event_args(p);
  } else if (sio::is_ack(p)) {
    e.args = sio::event_args(p);
  } else if (p.data) {
    e.args = *p.data;
  }
  e.attachments = p.attachments;
  return e;
}

std::optional<SocketEvent> event_from_live(const sio09::Decoded& d) {
  auto kind = from_sio09_type(int(d.frame.type));
  if (!kind) return std::nullopt;
  SocketEvent e;
  e.kind = *kind;
  e.nsp = d.frame.endpoint.empty() ? "/" : d.frame.endpoint;
  if (d.frame.id) e.ack_id = static_cast<int64_t>(*d.frame.id);
  // The same shapes as the recorder stores (protocol/socket_traffic.cpp), so that a recorded
  // 0.9 packet and a live one compare alike.
  if (auto* ev = std::get_if<sio09::Event>(&d.content)) {
    e.name = ev->name;
    e.args = ev->args;
  } else if (auto* a = std::get_if<sio09::Ack>(&d.content)) {
    e.ack_id = static_cast<int64_t>(a->id);
    e.args = a->args;
  } else if (auto* m = std::get_if<sio09::Message>(&d.content)) {
    e.args = Json::array({m->text});
  } else if (auto* j = std::get_if<sio09::JsonMessage>(&d.content)) {
    e.args = Json::array({j->value});
  } else if (auto* c = std::get_if<sio09::Connect>(&d.content)) {
    if (!c->query.empty()) e.args = Json{{"query", c->query}};
  } else if (auto* err = std::get_if<sio09::Error>(&d.content)) {
    e.args = Json{{"reason", err->reason}, {"advice", err->advice}};
  }
  return e;
}

SocketEvent event_from_ws(std::string_view path, bool binary, std::string_view payload) {
  SocketEvent e;
  e.kind = EventKind::ws;
  e.nsp = path.empty() ? "/" : std::string(path);
  if (binary) {
    e.attachments.emplace_back(payload);
    return e;
  }
  auto parsed = sio::parse_json(payload, Errc::bad_encoding);
  e.args = parsed ? std::move(*parsed) : Json(std::string(payload));
  if (e.args.is_object()) {
    // Apps on plain WebSockets name their messages in a field of their own choosing.
    for (std::string_view field : kMessageNameFields) {
      auto it = e.args.find(field);
      if (it == e.args.end()) continue;
      if (it->is_string()) {
        e.name = it->get<std::string>();
      } else if (it->is_number_integer()) {
        e.name = std::to_string(it->get<int64_t>());
      } else {
        continue;
      }
      break;
    }
  }
  return e;
}

SocketEvent event_from_sse(std::string_view path, std::string_view type, std::string_view data,
                           const std::optional<std::string>& id) {
  SocketEvent e;
  e.kind = EventKind::sse;
  e.nsp = path.empty() ? "/" : std::string(path);
  e.name = type.empty() ? "message" : std::string(type);
  auto parsed = sio::parse_json(data, Errc::bad_encoding);
  e.args = Json::object();
  e.args["data"] = parsed ? std::move(*parsed) : Json(std::string(data));
  if (id) e.args["id"] = *id;
  return e;
}

AckNames ack_names(const std::vector<SocketEvent>& client_events) {
  AckNames out;
  std::map<std::pair<std::string, std::string>, int> ordinal;  // namespace, name
  for (const SocketEvent& e : client_events) {
    if (e.kind != EventKind::event) continue;
    int n = ++ordinal[{e.nsp, e.name}];
    if (e.ack_id) out[{e.nsp, *e.ack_id}] = e.name + " #" + std::to_string(n);
  }
  return out;
}

std::string describe(const SocketEvent& e, const AckNames* acks) {
  if (e.kind == EventKind::ack && e.ack_id && acks) {
    auto named = acks->find({e.nsp, *e.ack_id});
    if (named != acks->end()) return "ack of " + named->second + " on " + e.nsp;
  }
  std::string out = event_kind_name(e.kind);
  if (e.kind == EventKind::sse) {
    out += " " + e.name;
  } else if (e.kind == EventKind::ws) {
    if (!e.name.empty()) out += " " + e.name;
    if (!e.attachments.empty()) out += " binary";
  } else if (e.kind == EventKind::event) {
    out += " " + e.name;
  } else if (e.kind == EventKind::ack && e.ack_id) {
    out += " " + std::to_string(*e.ack_id);
  }
  return out + " on " + e.nsp;
}

std::string identity(const SocketEvent& e) {
  std::string key = event_kind_name(e.kind);
  key += '\x1f';
  key += e.nsp;
  key += '\x1f';
  if (e.kind == EventKind::event || e.kind == EventKind::ws || e.kind == EventKind::sse)
    key += e.name;
  if (e.kind == EventKind::ws && !e.attachments.empty())
    key +=
        "\x1f"
        "binary";
  if (e.kind == EventKind::ack && e.ack_id) key += std::to_string(*e.ack_id);
  return key;
}

}  // namespace wa::replay
