// The replayer's live Engine.IO / Socket.IO client (Engine.IO v3 and v4, Socket.IO 0.9), on
// the loop: the protocol logic of socket_client_core.h carried out with the HttpClient (the
// handshake, polls and POSTs, and the WebSocket's upgrade request) and a WebSocket endpoint
// (protocol/websocket.h) on the upgraded connection.
//
// The caller gives the handshake URL as recorded, the transport plan to follow, its live cookie
// jar (a callback that returns the Cookie header for a URL, and one that sees every response's
// head, so that Set-Cookie reaches the jar: socket.io 2 sets `io=<sid>` on every poll) and the
// headers a browser would add (Origin matching the target — python-engineio refuses any other
// —, User-Agent). It then sends Socket.IO packets as text (the recorded `42["chat",…]` without
// the Engine.IO `4`, or 0.9 frames) and receives every application packet decoded, with the
// transport that carried it. Heartbeats are answered here and never reported as traffic.
//
// Lifetimes: callbacks run from the loop, never inside the constructor, send() or close(). The
// handler may destroy the SocketClient from any of its callbacks (on_response must not). The
// HttpClient must outlive the SocketClient. Destroying the client stops everything at once
// without telling the server; close() ends the session properly and on_end follows.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/loop.h"
#include "net/stream.h"
#include "net/timer.h"
#include "protocol/websocket.h"
#include "protocol/ws_handshake.h"
#include "replay/http_client.h"
#include "replay/socket_client_core.h"

namespace wa::replay {

struct SocketClientOptions {
  traffic::Family family = traffic::Family::eio4;
  Plan plan = Plan::upgrade;
  // The handshake URL, absolute: `http://host/socket.io/?token=abc&EIO=4&transport=polling&t=…`
  // as recorded (Engine.IO parameters are renewed, user parameters kept first), or the 0.9
  // `http://host/socket.io/1/?t=…`.
  std::string url;
  // Added to every request (polls, POSTs, the WebSocket upgrade), in this order.
  http::Headers headers = {};
  // The Cookie header value for a request URL ("" for none): the caller's live jar.
  std::function<std::string(std::string_view url)> cookies = {};
  // Every response's head, the 101 included, with the URL of its request (Set-Cookie).
  std::function<void(std::string_view url, const HttpResponse& response)> on_response = {};
  uint64_t request_timeout_ms = 10'000;  // the handshake, POSTs and the WebSocket upgrade
  uint64_t close_timeout_ms = 3'000;
  // Offer permessage-deflate as browsers do (Flask-SocketIO accepts it; Node servers do not).
  bool offer_deflate = true;
  // WebSocket masks (RFC 6455 §5.3) and the Sec-WebSocket-Key bytes; RAND_bytes when empty.
  ws::MaskSource mask = {};
  std::function<std::array<uint8_t, 16>()> key_bytes = {};
  // `t=` values; when empty, yeast ids of the wall clock (Engine.IO) or its milliseconds (0.9).
  std::function<std::string()> cache_buster = {};
};

struct SocketHandler {
  std::function<void(const SocketOpened& opened)> on_open = {};
  std::function<void(SocketMessage& message)> on_message = {};
  // The upgrade finished (websocket, empty note), or did not happen (polling, with the reason).
  std::function<void(eio::Transport transport, const std::string& note)> on_transport = {};
  std::function<void()> on_heartbeat = {};
  // Once: no failure after close(); otherwise why the session dropped.
  std::function<void(const std::optional<ClientFailure>& failure)> on_end = {};
};

class SocketClient {
 public:
  // Starts the handshake at once.
  SocketClient(HttpClient& http, SocketClientOptions options, SocketHandler handler);
  ~SocketClient();
  SocketClient(const SocketClient&) = delete;
  SocketClient& operator=(const SocketClient&) = delete;

  // One Socket.IO packet as text, with its binary attachments (Engine.IO sessions), or one 0.9
  // frame. Packets sent before the handshake answered wait for it. A failure says why nothing
  // was sent (the session is over, the text is not UTF-8).
  std::optional<ClientFailure> send(std::string_view text,
                                    std::span<const std::string> attachments = {});
  // Ends the session cleanly (see SocketClientCore::close); on_end follows.
  void close();

  bool ended() const { return core_.ended(); }
  // The session id once open ("" before).
  const std::string& sid() const { return core_.sid(); }
  eio::Transport transport() const { return core_.transport(); }
  uint64_t heartbeats() const { return heartbeats_; }

 private:
  void drain();
  void dispatch();
  static void on_dispatch(void* arg);
  void rearm();
  uint64_t now() const { return loop_.now(); }

  void start_http(HttpCommand& command);
  void on_http(uint64_t id, const std::string& url, ClientResult<HttpResponse>& result);
  void start_websocket(const std::string& url);
  void on_upgrade(const std::string& url, ClientResult<HttpResponse>& result,
                  std::optional<Upgraded>& upgraded);
  void on_ws_data(std::string_view bytes);
  void on_ws_end();
  void ws_send(const WsSendCommand& command);
  void ws_close(bool graceful);
  void flush_ws();
  void drop_ws();
  void teardown();
  http::Headers request_headers(std::string_view url);

  HttpClient& http_;
  net::Loop& loop_;
  SocketClientOptions options_;
  SocketHandler handler_;
  CacheBuster buster_;
  SocketClientCore core_;

  std::unordered_map<uint64_t, HttpCall> calls_;
  HttpCall ws_call_;
  ws::HeaderList ws_request_;
  net::Owned<net::Stream> ws_stream_;
  std::optional<ws::Endpoint> endpoint_;
  std::vector<ws::Message> ws_messages_;
  bool ws_peer_closed_ = false;

  net::Owned<net::Timer> timer_;
  uint64_t armed_for_ = 0;  // the deadline the timer is set for, 0 if none

  std::deque<SocketCommand> events_;  // for the handler, in order
  net::Deferred dispatch_task_{&on_dispatch, this};
  int caller_depth_ = 0;  // inside the constructor, send() or close()
  bool* destroyed_ = nullptr;
  uint64_t heartbeats_ = 0;
};

}  // namespace wa::replay
