// A Socket.IO packet as the replayer compares it: what the application sent, whatever protocol
// (v4, v5, 0.9) and transport carried it. Recorded packets (store::SocketPacket) and live ones
// (sio::Packet, sio09::Decoded) both become SocketEvents, so that the matcher compares decoded
// JSON and never raw text (PROTOCOLS.md §2 gotcha 1: Flask escapes non-ASCII, Node does not).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/socketio.h"
#include "protocol/socketio09.h"
#include "protocol/socketio_json.h"
#include "storage/model.h"

namespace wa::replay {

using Json = sio::Json;

enum class EventKind : uint8_t {
  connect,     // CONNECT (v5 server reply {"sid"}, v4 bare `40`, 0.9 `1::`)
  disconnect,  // DISCONNECT (`41`, 0.9 `0::`)
  event,       // EVENT / BINARY_EVENT, 0.9 event
  ack,         // ACK / BINARY_ACK, 0.9 ack
  error,       // CONNECT_ERROR (v5) / ERROR (v4), 0.9 error
  message,     // 0.9 plain and JSON messages (`3:::…`, `4:::…`)
};
const char* event_kind_name(EventKind kind);  // "connect", "event", …

struct SocketEvent {
  EventKind kind = EventKind::event;
  std::string nsp = "/";
  std::string name;  // events only
  // An ack: the id of the event it answers. An event: the id it asks an ack with, if any.
  std::optional<int64_t> ack_id;
  // Events and acks: the array of arguments (placeholders for binary attachments kept);
  // messages: a one-element array; other kinds: the payload, null when there is none.
  Json args;
  std::vector<std::string> attachments;  // binary attachments, by placeholder num
};

// The application event a recorded packet carries; nullopt for transport chatter (open, ping,
// pong, upgrade, noop, heartbeats, binary attachments on their own) and for packets that did not
// decode (the recorder marks them "(error: …)").
std::optional<SocketEvent> event_from_recorded(const store::SocketPacket& packet);

// A live Socket.IO v4/v5 packet, as the live client delivers it.
SocketEvent event_from_live(const sio::Packet& packet);

// A live 0.9 frame; nullopt for heartbeats and noops.
std::optional<SocketEvent> event_from_live(const sio09::Decoded& frame);

// "event chat on /", "ack 3 on /admin", "connect on /": names the kind, not one occurrence.
std::string describe(const SocketEvent& event);

// What pairs a live event with a recorded one: kind, namespace, and the name (events) or the
// answered id (acks). Other kinds pair by kind and namespace.
std::string identity(const SocketEvent& event);

}  // namespace wa::replay
