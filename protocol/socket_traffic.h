// Socket traffic as an observer in the middle sees it: Engine.IO v3/v4 (with Socket.IO on top)
// and Socket.IO 0.9, decoded out of whole HTTP exchanges (long-polling) and WebSocket messages,
// and attributed to one session across both transports.
//
// Sans-I/O. The recording proxy feeds it as traffic passes; HAR import feeds it the entries of
// a file; both get the same packets, so a live recording and an imported one read alike.
//
// What it knows that the codecs alone do not (PROTOCOLS.md §1-§4):
// - which requests are socket traffic: Engine.IO by its query (`transport=` with `EIO=`, or a
//   path under /socket.io/), 0.9 by its paths (`<resource>/1/` handshakes whose body parses,
//   then `<resource>/1/<transport>/<sid>`);
// - that a session is one sid across polling requests and the WebSocket it upgrades to, and that
//   a WebSocket-only session learns its sid from the first server frame;
// - that client packets travel in POST bodies and server packets in GET responses;
// - that a Socket.IO binary packet is complete only after its attachments, which may come in
//   a later request or after the upgrade: such a packet is reported when it is complete, with
//   the source and time of its header, after the attachment packets themselves.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/engineio.h"
#include "protocol/engineio_session.h"
#include "protocol/socketio.h"

namespace wa::traffic {

enum class Family : uint8_t { eio3, eio4, sio09 };
const char* family_name(Family family);  // "eio3", "eio4", "sio09"

enum class Direction : uint8_t { client, server };  // who sent it

// Where the bytes came from: the caller's id of an exchange or a WebSocket message, and when.
struct Source {
  enum class Kind : uint8_t { exchange, ws_message } kind = Kind::exchange;
  int64_t id = 0;
  int64_t time_us = 0;
};

// One Engine.IO packet (with the Socket.IO packet it carries, if any) or one 0.9 frame.
struct Packet {
  Family family = Family::eio4;
  std::string sid;
  eio::Transport transport = eio::Transport::polling;
  Direction direction = Direction::client;
  Source source;
  int position = 0;  // index of the packet in its polling body or WebSocket message
  // Engine.IO: the packet type; unset for 0.9.
  std::optional<int> eio_type;
  // Heartbeats, probes, upgrades, noops (0.9: heartbeat and noop frames): not the application's.
  bool chatter = false;
  bool binary = false;  // an Engine.IO binary packet: a Socket.IO attachment
  // Socket.IO v4/v5 packet type, or the 0.9 frame type.
  std::optional<int> sio_type;
  std::string nsp;  // "/" for the main namespace (0.9's empty endpoint too)
  std::string event;
  std::optional<uint64_t> ack_id;  // an event's id (an ack is wanted), or the id an ack answers
  std::string args;                // JSON text: event or ack arguments, or the payload; "" if none
  int attachment_count = 0;
  std::vector<std::string> attachments;
  std::string raw;    // the packet's text as carried (empty for binary attachments)
  std::string error;  // why this packet (or its body) did not decode; other fields may be empty
};

// A session seen for the first time, with the exchange or message that opened it.
struct Session {
  Family family = Family::eio4;
  std::string sid;
  Source source;
  bool handshake_seen = false;  // false when the recording joined a session already open
  // A session opened on a WebSocket (no polling first): the caller's id of that WebSocket (its
  // upgrade exchange), whose request is the session's handshake. 0 otherwise.
  uint64_t opened_on_websocket = 0;
};

struct Observed {
  std::vector<Session> sessions;
  std::vector<Packet> packets;
};

// A whole HTTP exchange, as views that need only live for the call.
struct HttpExchange {
  std::string_view method;
  std::string_view target;  // origin-form or absolute URL
  std::string_view request_content_type;
  std::string_view request_body;
  bool request_body_complete = true;  // false when the caller kept only a prefix
  int status = 0;                     // 0: no response
  std::string_view response_content_type;
  std::string_view response_body;
  bool response_body_complete = true;
  // Why a body could not be read (its Content-Encoding did not decode), "" when it could: such
  // a body becomes one packet with this error instead of being decoded.
  std::string_view request_body_error;
  std::string_view response_body_error;
  int64_t request_time_us = 0;   // when the request was sent: client packets are stamped so
  int64_t response_time_us = 0;  // when the response ended: server packets are stamped so
};

class Observer {
 public:
  // Whether `target` looks like socket traffic at all; cheap, for callers that want to keep
  // full bodies only for these exchanges.
  static bool is_socket_request(std::string_view target);

  Observed on_exchange(const HttpExchange& exchange, int64_t exchange_id);

  // A WebSocket opened by an upgrade request for `target`. Returns false, and ignores the
  // connection from then on, when it is not socket traffic.
  bool on_websocket_open(uint64_t ws, std::string_view target);
  Observed on_websocket_message(uint64_t ws, Direction direction, bool binary,
                                std::string_view payload, Source source);
  Observed on_websocket_close(uint64_t ws);

  // The end of the capture: packets still waiting for attachments are reported as they are.
  Observed finish();

 private:
  struct EioState {
    eio::Version version;
    eio::SessionTracker tracker;
    sio::Decoder from_client, from_server;
    // A binary Socket.IO packet whose attachments are awaited, per direction.
    std::optional<Packet> pending_client, pending_server;
    EioState(eio::Version v, int sio_version)
        : version(v), tracker(v), from_client(sio_version), from_server(sio_version) {}
  };
  struct Socket {
    Family family;
    std::string sid;     // empty until a WebSocket-only session's open packet
    std::string target;  // for 0.9 resource lookups
  };

  EioState& eio_session(const std::string& sid, eio::Version version);
  void eio_packets(EioState& state, const std::string& sid, eio::Transport transport,
                   Direction direction, const std::vector<eio::Packet>& packets, Source source,
                   Observed& out);
  void sio09_frames(const std::string& sid, eio::Transport transport, Direction direction,
                    const std::vector<std::string>& frames, Source source, Observed& out);
  Observed on_eio_exchange(const HttpExchange& exchange, int64_t exchange_id);
  Observed on_sio09_exchange(const HttpExchange& exchange, int64_t exchange_id);
  void note_session(Family family, const std::string& sid, Source source, bool handshake,
                    Observed& out, uint64_t websocket = 0);

  std::map<std::string, EioState> eio_;           // by sid
  std::map<std::string, bool> known_;             // sids already reported as sessions
  std::map<std::string, std::string> resources_;  // 0.9: sid -> resource prefix
  std::map<uint64_t, Socket> sockets_;            // open WebSockets that carry socket traffic
};

}  // namespace wa::traffic
