// The replayer's live plain WebSocket client (RFC 6455), on the loop: a WebSocket that is not
// Engine.IO or Socket.IO 0.9 (an app's own JSON channel, graphql-ws, …) opened as the browser
// opened it, with messages both ways until either side closes.
//
// The upgrade request carries the caller's headers (Origin mapped to the target, the Cookie
// header from the live jar, User-Agent), the subprotocols the browser offered, and
// permessage-deflate when the browser offered it (the server decides: RFC 7692 §5). The
// server's answer is checked as a browser checks it (protocol/ws_handshake.h): a wrong
// Sec-WebSocket-Accept or an extension nobody offered fails the connection.
//
// Lifetimes: callbacks run from the loop, never inside the constructor, send() or close(); the
// handler may destroy the client from any of them. The HttpClient must outlive the client.
// Destroying it drops the connection at once without a Close frame.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/loop.h"
#include "net/stream.h"
#include "net/timer.h"
#include "protocol/websocket.h"
#include "protocol/ws_handshake.h"
#include "replay/http_client.h"

namespace wa::replay {

struct WsClientOptions {
  std::string url;                          // the http(s) URL of the upgrade request
  http::Headers headers = {};               // added to the upgrade request, in this order
  std::vector<std::string> protocols = {};  // Sec-WebSocket-Protocol offered, in order
  bool offer_deflate = false;               // permessage-deflate; client_max_window_bits
  uint64_t request_timeout_ms = 10'000;     // the upgrade's answer
  uint64_t close_timeout_ms = 3'000;        // close(): the server's Close frame
  // WebSocket masks (RFC 6455 §5.3) and the Sec-WebSocket-Key bytes; RAND_bytes when empty.
  ws::MaskSource mask = {};
  std::function<std::array<uint8_t, 16>()> key_bytes = {};
};

struct WsClientHandler {
  // The upgrade answered (the 101, or a refusal: on_end follows with the failure). Every
  // answer's head comes here, so that its Set-Cookie reaches the caller's jar.
  std::function<void(const HttpResponse& response)> on_response = {};
  std::function<void(const ws::Agreement& agreement)> on_open = {};
  std::function<void(bool binary, std::string_view payload)> on_message = {};
  // Once: no failure when our close() was answered; otherwise why the connection ended (the
  // server closed it first, refused the upgrade, broke the protocol, did not answer).
  std::function<void(const std::optional<ClientFailure>& failure)> on_end = {};
};

class WsClient {
 public:
  // Starts the upgrade at once.
  WsClient(HttpClient& http, WsClientOptions options, WsClientHandler handler);
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // A data message. Messages sent before the upgrade answered wait for it. A failure says why
  // nothing was sent (the connection is over or closing, the text is not UTF-8).
  std::optional<ClientFailure> send(bool binary, std::string_view payload);
  // Sends a Close (1000) and waits for the server's, at most close_timeout_ms; on_end follows.
  void close();

  bool open() const { return endpoint_.has_value() && !ended_; }
  // The status of the server's Close frame, once it came (1005: none in it).
  std::optional<uint16_t> peer_close_code() const {
    return endpoint_ ? endpoint_->peer_close_code() : std::nullopt;
  }
  bool ended() const { return ended_; }

 private:
  void on_upgrade(ClientResult<HttpResponse>& result, std::optional<Upgraded>& upgraded);
  void on_data(std::string_view bytes);
  void flush();
  void end(std::optional<ClientFailure> failure);
  void post(std::function<void()> fn);
  void dispatch();
  static void on_dispatch(void* arg);

  HttpClient& http_;
  net::Loop& loop_;
  WsClientOptions options_;
  WsClientHandler handler_;
  ws::HeaderList request_;
  HttpCall call_;
  net::Owned<net::Stream> stream_;
  std::optional<ws::Endpoint> endpoint_;
  std::vector<ws::Message> messages_;
  std::vector<std::pair<bool, std::string>> queued_;  // sent before the upgrade answered
  net::Owned<net::Timer> close_timer_;
  bool closing_ = false, ended_ = false;

  std::deque<std::function<void()>> events_;  // for the handler, in order
  net::Deferred dispatch_task_{&on_dispatch, this};
  bool* destroyed_ = nullptr;
};

}  // namespace wa::replay
