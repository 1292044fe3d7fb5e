// A Socket.IO packet as the replayer compares it: what the application sent, whatever protocol
// (v4, v5, 0.9) and transport carried it. Recorded packets (store::SocketPacket) and live ones
// (sio::Packet, sio09::Decoded) both become SocketEvents, so that the matcher compares decoded
// JSON and never raw text (PROTOCOLS.md §2 gotcha 1: Flask escapes non-ASCII, Node does not).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
  ws,          // a plain WebSocket data message (not Engine.IO)
  sse,         // a Server-Sent Event
};
const char* event_kind_name(EventKind kind);  // "connect", "event", …

struct SocketEvent {
  EventKind kind = EventKind::event;
  // Plain WebSockets and Server-Sent Events: the path the connection was opened on.
  std::string nsp = "/";
  // Events: the event's name. Plain WebSocket messages: the value of the field that says what
  // kind of message a JSON object is ("type", "event", "op", "action", "kind", "topic",
  // "channel", "cmd", the first present as a string), "" for other messages. Server-Sent
  // Events: the event type ("message" unless the server named it).
  std::string name;
  // An ack: the id of the event it answers. An event: the id it asks an ack with, if any.
  std::optional<int64_t> ack_id;
  // Events and acks: the array of arguments (placeholders for binary attachments kept);
  // messages: a one-element array; plain WebSocket text messages: the JSON they hold, or the
  // text as a JSON string; Server-Sent Events: {"data": the JSON the data holds, or the data
  // as a string, "id": the event's id when it had one}; other kinds: the payload, null when
  // there is none.
  Json args;
  // Binary attachments, by placeholder num; a plain WebSocket binary message is its only one.
  std::vector<std::string> attachments;
};

// The application event a recorded packet carries; nullopt for transport chatter (open, ping,
// pong, upgrade, noop, heartbeats, binary attachments on their own) and for packets that did not
// decode (the recorder marks them "(error: …)").
std::optional<SocketEvent> event_from_recorded(const store::SocketPacket& packet);

// A live Socket.IO v4/v5 packet, as the live client delivers it.
SocketEvent event_from_live(const sio::Packet& packet);

// A live 0.9 frame; nullopt for heartbeats and noops.
std::optional<SocketEvent> event_from_live(const sio09::Decoded& frame);

// The fields a plain WebSocket message's kind may be named by, in the order event_from_ws tries
// them (graphql-ws "type", Phoenix "event", Discord-style "op", …).
inline constexpr std::string_view kMessageNameFields[] = {"type", "event", "op",      "action",
                                                          "kind", "topic", "channel", "cmd"};

// A plain WebSocket data message on the connection opened on `path` (text or binary).
SocketEvent event_from_ws(std::string_view path, bool binary, std::string_view payload);

// A Server-Sent Event of the stream opened on `path`.
SocketEvent event_from_sse(std::string_view path, std::string_view type, std::string_view data,
                           const std::optional<std::string>& id);

// What the acks of one connection answer, by namespace and ack id: "chat #2", the second
// `chat` the client emitted on that namespace (counting every emit of that name).
using AckNames = std::map<std::pair<std::string, int64_t>, std::string>;
// The names of the acks `client_events` (what the client sent on one connection, in order)
// asked for.
AckNames ack_names(const std::vector<SocketEvent>& client_events);

// "event chat on /", "ack 3 on /admin", "connect on /", "ws order on /comms": names the kind,
// not one occurrence. An ack that `acks` knows is named by the emit it answers:
// "ack of chat #2 on /".
std::string describe(const SocketEvent& event, const AckNames* acks = nullptr);

// What pairs a live event with a recorded one: kind, namespace, and the name (events) or the
// answered id (acks). Other kinds pair by kind and namespace.
std::string identity(const SocketEvent& event);

}  // namespace wa::replay
