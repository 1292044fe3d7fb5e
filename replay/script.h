// A recording as a script: what each recorded browser did (client actions) and what the server
// answered (expected outputs), with the causal order between them.
//
// Clients. A recording may hold several browsers at once. Exchanges belong to one browser when
// they share a TCP connection, when one sends back a cookie value another received (or sent)
// — values of at least 8 characters, so that `lang=en` does not join two people —, or when they
// carry the same Engine.IO / 0.9 session id. Each group is one client, numbered by its first
// request.
//
// Actions. HTTP exchanges become requests to replay, except the Engine.IO / 0.9 transport
// requests (polling GETs and POSTs, WebSocket upgrades), which the live socket client makes
// itself: a socket session becomes an `open` action (the handshake), one `send` action per
// application packet the client sent (CONNECT, events, acks, disconnects), and a `close`.
// A plain WebSocket (an upgrade that is not Engine.IO or 0.9) is a channel of its own, made the
// same way: `open` (the upgrade), one `send` per client data message, and a `close`. So is an
// event stream (a response recorded as `text/event-stream`, with its events): `open` (the
// request; its status is compared when the head comes) and `close` (the browser let it go);
// each recorded event is expected on its own, so that what followed it can wait for it, and the
// replay never waits for the response to end.
//
// Expectations. Each replayed HTTP request expects its response; each socket session expects
// the application packets the server sent (CONNECT replies, events, acks, errors): heartbeats,
// probes, upgrades and noops are the live client's business and are not expected. A plain
// WebSocket expects the server's data messages, except periodic ones (the same kind of message
// at a steady interval: heartbeats, clock ticks), whose number depends on how long the
// connection stays open; they are tolerated in any number instead.
//
// Closing. A channel's `close` is placed just after the moment the recording shows the client
// closing it (its Close frame), or after its last packet: it waits for every server output
// recorded before that. What the server sent after the client's close (its answer to it) is
// not expected.
//
// Causality, not wall-clock: an action waits for every expectation recorded before it started
// (a response counts from its head: browsers follow a 303 before its body has ended)
// (of any client: bob's socket is connected before alice's message that bob receives), and
// for the client's previous action. It then goes at once (or after the recorded gap, with
// --pace recorded).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/socket_traffic.h"
#include "replay/socket_event.h"
#include "storage/model.h"
#include "storage/reader.h"

namespace wa::replay {

enum class ActionKind : uint8_t {
  http,          // replay a recorded exchange
  socket_open,   // start a live socket session (handshake, then the recorded transports)
  socket_send,   // send one recorded client packet on a session
  socket_close,  // end the session
};
const char* action_kind_name(ActionKind kind);

enum class Plan : uint8_t {
  polling,         // long-polling only
  upgrade,         // polling, then upgraded to WebSocket (what browsers do)
  websocket_only,  // opened on the WebSocket
};
const char* plan_name(Plan plan);

// What a socket session is: Engine.IO / Socket.IO (any version, any transport plan), a plain
// WebSocket, or a Server-Sent Events stream (an event-stream response read as it arrives).
enum class ChannelKind : uint8_t { engineio, websocket, sse };

struct Action {
  ActionKind kind = ActionKind::http;
  int client = 0;
  int64_t recorded_us = 0;  // when it started in the recording
  // It waits for Script::expectations[0 .. wait_for): those recorded before it started (the
  // list is in recorded order), whichever client they belong to.
  int wait_for = 0;
  int previous = -1;                            // the client's previous action, or -1
  const store::Exchange* exchange = nullptr;    // http: the request (and its recorded response)
  int session = -1;                             // socket_*: index into Script::sessions
  const store::SocketPacket* packet = nullptr;  // socket_send: the packet to send
  const store::WsMessage* message = nullptr;    // socket_send on a plain WebSocket
  int expectation = -1;                         // http: the expectation of its response
};

struct Expectation {
  // A response, a socket packet, a plain WebSocket message, or a Server-Sent Event.
  enum class Kind : uint8_t { response, packet, message, sse } kind = Kind::response;
  int client = 0;
  int64_t recorded_us = 0;
  int action = -1;   // response: the http action it answers
  int session = -1;  // packet, message: the session it arrives on
  const store::SocketPacket* packet = nullptr;
  const store::WsMessage* message = nullptr;
  const store::SseEvent* sse = nullptr;
};

struct SocketSession {
  ChannelKind kind = ChannelKind::engineio;
  int client = 0;
  store::SocketProtocol protocol = store::SocketProtocol::eio4;  // engineio
  std::string recorded_sid;
  Plan plan = Plan::upgrade;
  // The handshake request as recorded: its URL (with the user's query parameters, as recorded)
  // and headers. Null when the recording joined an open session: it cannot be replayed then.
  const store::Exchange* handshake = nullptr;
  std::vector<int> expectations;  // server packets, in recorded order
  int open_action = -1;
  // Plain WebSockets and event streams: the path it was opened on ("/comms"), which names its
  // messages ("ws /comms", "sse /events" are the scopes of noise rules), and the identities
  // (socket_event.h) of the server messages that came periodically.
  std::string path;
  std::set<std::string> periodic;
  // Plain WebSockets the server closed (its Close frame came first): the status it sent, which
  // the live server is then expected to send too (1005: a Close without a status).
  std::optional<int> server_close_code;
  // Event streams whose response the server ended (rather than the browser letting it go): the
  // live server is expected to end it too.
  bool server_ends = false;
};

struct Client {
  std::vector<int> actions;  // in order
  // Cookies the browser held before the recording began: sent before any Set-Cookie of the
  // recording gave them. The runner seeds its live jar with them.
  std::vector<store::Header> seed_cookies;  // name, value
  std::string label;                        // "client 1 (alice)" when a login form names one
};

struct Script {
  store::RecordingData data;  // owns everything the pointers below point into
  std::string main_origin;    // scheme://host:port of the first replayed request
  std::vector<Client> clients;
  std::vector<Action> actions;  // in recorded order
  std::vector<Expectation> expectations;
  std::vector<SocketSession> sessions;
  std::vector<const store::Exchange*> skipped;  // unmapped origins, recorded errors
  std::vector<std::string> warnings;            // what cannot be replayed faithfully
};

// Builds the script of a loaded recording. `is_mapped(origin)` says whether requests to that
// origin (scheme://host:port) are replayed; the others are listed as skipped.
Script build_script(store::RecordingData data,
                    const std::function<bool(const std::string& origin)>& is_mapped);

// The server output a packet or message expectation stands for, as the matcher compares it;
// nullopt for responses and for packets that are not application events.
std::optional<SocketEvent> recorded_event(const Script& script, const Expectation& expectation);

// The origin (scheme://host[:port], default ports left out) of an absolute URL, "" if none.
std::string origin_of(std::string_view url);

}  // namespace wa::replay
