// The live socket client's protocol logic, sans-I/O: a state machine that is told what happened
// (an HTTP response, a WebSocket message, a deadline passed, the caller sends or closes) and
// answers with commands (send this request, open that WebSocket, deliver this packet). The
// SocketClient (socket_client.h) carries the commands out on the loop; tests drive the machine
// directly with made-up responses.
//
// It speaks as a browser's client library does (PROTOCOLS.md §1-§3):
//   Engine.IO v3/v4  handshake GET `?<user query>&EIO=N&transport=polling&t=…` (or a WebSocket
//                    opened with `transport=websocket`, whose first frame is the open packet);
//                    a long-poll GET always pending, POSTs for sends (what is queued while one
//                    is in flight goes in the next, as one payload); the upgrade: a WebSocket
//                    with the same sid, `2probe` → `3probe`, no new poll, `5` once the pending
//                    poll (released by the server's `6`) and any POST are back, then everything
//                    over the WebSocket. Heartbeats: v4 the server pings and we pong; v3 we ping
//                    every pingInterval and want a pong within pingTimeout.
//   Socket.IO 0.9    handshake GET `<resource>/1/?…&t=<ms>` → `sid:hb:close:transports`; then
//                    `<resource>/1/websocket/<sid>` or `<resource>/1/xhr-polling/<sid>`;
//                    heartbeats `2::` echoed; a missing heartbeat past the timeout is a drop.
// The caller does the Socket.IO part (CONNECT, events, acks): nothing is sent on its behalf
// except heartbeats, the probe and upgrade packets, and the close.
//
// A session ends once, with Ended: cleanly after close(), or with a failure (the transport
// closed, a heartbeat was missed, the server refused, answered 400 "Session ID unknown", closed
// the session, or sent what does not decode). Nothing is retried or reconnected: the replayer
// reports a socket that drops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/engineio.h"
#include "protocol/socket_traffic.h"
#include "protocol/socketio.h"
#include "protocol/socketio09.h"
#include "protocol/url.h"
#include "replay/http_client.h"
#include "replay/script.h"

namespace wa::replay {

// An application packet from the server: a Socket.IO packet (protocol v4 over Engine.IO v3, v5
// over v4) with its attachments reassembled, or a 0.9 frame. Heartbeats, probes, upgrades and
// noops are never messages.
struct SocketMessage {
  eio::Transport transport = eio::Transport::polling;  // what carried it (its header, if binary)
  std::variant<sio::Packet, sio09::Decoded> packet;
  std::string text;  // as received: the Socket.IO text after Engine.IO's `4`, or the 0.9 frame
};

// The session is open: the handshake answered.
struct SocketOpened {
  std::string sid;
  eio::Transport transport = eio::Transport::polling;  // where application traffic goes first
  std::optional<eio::Handshake> eio;                   // Engine.IO sessions
  std::optional<sio09::Handshake> sio09;               // 0.9 sessions
};

// ---- Commands ----

enum class HttpPurpose : uint8_t { handshake, poll, post };

struct HttpCommand {
  uint64_t id = 0;  // names the request in http_response() / http_failed()
  HttpPurpose purpose = HttpPurpose::poll;
  std::string method;  // GET or POST
  std::string url;     // absolute http(s) URL
  std::string body;    // POST: the payload, sent as text/plain;charset=UTF-8
  uint64_t timeout_ms = 0;
};
struct WsConnectCommand {
  std::string url;  // the http(s) URL of the upgrade request
};
struct WsSendCommand {
  std::string payload;
  bool binary = false;
};
// Graceful: send a Close frame and wait for the server's (then report ws_closed). Otherwise
// drop the connection at once (a failed probe): nothing more is reported about it.
struct WsCloseCommand {
  bool graceful = true;
};
struct OpenedCommand {
  SocketOpened opened;
};
struct MessageCommand {
  SocketMessage message;
};
// Application traffic moved to `transport` (the upgrade finished), or stays where it was with
// a note saying why (the upgrade failed, the server offers none).
struct TransportCommand {
  eio::Transport transport = eio::Transport::polling;
  std::string note;
};
// A heartbeat went by (a ping answered, a pong received, a 0.9 `2::` echoed).
struct HeartbeatCommand {};
// The session is over: cleanly (no failure) or not. Nothing follows.
struct EndedCommand {
  std::optional<ClientFailure> failure;
};

using SocketCommand =
    std::variant<HttpCommand, WsConnectCommand, WsSendCommand, WsCloseCommand, OpenedCommand,
                 MessageCommand, TransportCommand, HeartbeatCommand, EndedCommand>;

struct SocketCoreConfig {
  traffic::Family family = traffic::Family::eio4;
  Plan plan = Plan::upgrade;
  // The handshake URL, absolute http(s) (ws(s) is taken as http(s)), with the user's query
  // parameters first as recorded. Engine.IO parameters in it (EIO, transport, t, sid) are
  // replaced; for 0.9, `t` is renewed in place and the path ends in `/1/`.
  std::string url;
  // A fresh `t=` cache buster for each polling request (any text: yeast ids, milliseconds).
  std::function<std::string()> cache_buster;
  uint64_t request_timeout_ms = 10'000;  // the handshake and POSTs
  uint64_t close_timeout_ms = 3'000;     // how long close() waits for the server's part
  sio::Limits sio_limits = {};
  eio::Limits eio_limits = {};
};

class SocketClientCore {
 public:
  explicit SocketClientCore(SocketCoreConfig config);

  // Starts the handshake. Every call takes the current time in milliseconds (any monotonic
  // clock: only differences matter).
  void start(uint64_t now_ms);

  // The outcome of an HttpCommand.
  void http_response(uint64_t id, int status, std::string_view content_type, std::string_view body,
                     uint64_t now_ms);
  void http_failed(uint64_t id, const ClientFailure& failure, uint64_t now_ms);

  // The WebSocket of the last WsConnectCommand: open (101 checked), or failed before that.
  void ws_opened(uint64_t now_ms);
  void ws_failed(const ClientFailure& failure, uint64_t now_ms);
  // One whole message (text or binary), and its end: a Close frame or the connection gone.
  void ws_message(std::string_view payload, bool binary, uint64_t now_ms);
  void ws_closed(const std::string& why, uint64_t now_ms);

  // Call when deadline() has passed.
  void tick(uint64_t now_ms);
  // The next time tick() must be called, if any.
  std::optional<uint64_t> deadline() const;

  // Sends one packet: Engine.IO sessions take a Socket.IO packet's text (`2["chat",{…}]`,
  // `0`, `21["x"]`, a binary packet's header) and its attachments, sent as the binary messages
  // that follow it; 0.9 takes a frame (`5:1+::{…}`) and no attachments. Before the handshake
  // has answered, packets wait. Fails (and sends nothing) when the session is over or the text
  // is not UTF-8.
  std::optional<ClientFailure> send(std::string_view text, std::span<const std::string> attachments,
                                    uint64_t now_ms);

  // Ends the session cleanly: Engine.IO polling POSTs `1`, a WebSocket gets a Close frame, 0.9
  // sends `0::`. Ended follows once the server has had its say, or after close_timeout_ms.
  void close(uint64_t now_ms);

  // Commands produced so far, in order; taking them empties the list.
  std::vector<SocketCommand> take();

  bool ended() const { return phase_ == Phase::ended; }
  const std::string& sid() const { return sid_; }
  eio::Transport transport() const { return transport_; }

 private:
  enum class Phase : uint8_t { idle, handshaking, open, closing, ended };
  enum class Ws : uint8_t { none, connecting, probing, paused, open, failed };

  bool is_09() const { return config_.family == traffic::Family::sio09; }
  eio::Version version() const;
  uint64_t poll_timeout() const;

  uint64_t http(HttpPurpose purpose, const char* method, std::string url, std::string body,
                uint64_t timeout_ms);
  std::string polling_url() const;
  std::string websocket_url() const;
  void end(std::optional<ClientFailure> failure);
  void opened(uint64_t now_ms);

  // Engine.IO.
  void eio_handshake(std::string_view json, eio::Transport via, uint64_t now_ms);
  void eio_body(std::string_view content_type, std::string_view body, uint64_t now_ms);
  void eio_packet(const eio::Packet& packet, eio::Transport via, uint64_t now_ms);
  void eio_message(const eio::Packet& packet, eio::Transport via);
  void send_eio(eio::Packet packet, uint64_t now_ms);
  void send_ws_packet(const eio::Packet& packet);
  void finish_upgrade(uint64_t now_ms);
  void upgrade_failed(const std::string& why, uint64_t now_ms);

  // Socket.IO 0.9.
  void sio09_handshake(int status, std::string_view body, uint64_t now_ms);
  void sio09_frames(std::string_view payload, eio::Transport via, uint64_t now_ms);
  void sio09_frame(std::string_view text, eio::Transport via, uint64_t now_ms);
  void send_09(std::string frame, uint64_t now_ms);

  // Polling, both families.
  void poll(uint64_t now_ms);
  void flush_posts(uint64_t now_ms);
  void finish_close_if_done();

  SocketCoreConfig config_;
  Phase phase_ = Phase::idle;
  Ws ws_ = Ws::none;
  eio::Transport transport_ = eio::Transport::polling;
  std::string sid_;
  std::optional<eio::Handshake> handshake_;
  std::optional<sio09::Handshake> handshake_09_;

  // URL pieces, computed once: `<scheme>://<authority><path>?<user query>&EIO=N&transport=`
  // (Engine.IO), or the resource and user query (0.9).
  url::Url url_;
  std::string eio_prefix_;
  std::string resource_;
  std::string user_query_;  // 0.9: without `t`

  uint64_t next_id_ = 1;
  uint64_t handshake_id_ = 0;
  uint64_t poll_id_ = 0;
  uint64_t post_id_ = 0;
  std::vector<eio::Packet> queue_;     // Engine.IO packets waiting for a POST or the upgrade
  std::vector<std::string> queue_09_;  // 0.9 frames waiting for a POST or the WebSocket

  sio::Decoder decoder_;
  std::string pending_text_;  // the header of a binary packet awaiting its attachments
  eio::Transport pending_transport_ = eio::Transport::polling;

  // Deadlines (0: none).
  uint64_t ping_deadline_ = 0;   // v4: the server's next ping; 0.9: the next heartbeat
  uint64_t next_ping_ = 0;       // v3: when we ping
  uint64_t pong_deadline_ = 0;   // v3: the pong to our ping
  uint64_t close_deadline_ = 0;  // closing: the server's part

  std::vector<SocketCommand> out_;
};

// A yeast-style cache buster (the one engine.io clients use): the time in milliseconds written
// in a 64-character alphabet, with `.N` appended when it repeats within the same millisecond.
class CacheBuster {
 public:
  std::string next(uint64_t now_ms);

 private:
  uint64_t last_ms_ = 0;
  uint64_t repeat_ = 0;
  bool started_ = false;
};

}  // namespace wa::replay
