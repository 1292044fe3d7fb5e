// HTTP/1.1 on one client stream: requests in, each relayed to its upstream and the response
// streamed back, one exchange at a time (a browser does not pipeline).
//
// Where a request goes: an absolute-form target names its origin (forward proxy); an
// origin-form target goes to the session's default origin (reverse mode's --upstream, or the
// host of the CONNECT tunnel the session runs in). CONNECT hands the connection to a Tunnel;
// a 101 answer to a WebSocket upgrade hands both streams to a WebSocketRelay.
//
// Bodies stream through: request body bytes are written upstream as they arrive and response
// bytes to the client, and whichever side is slow pauses the other (kHighWater). Only the
// recorder keeps a copy, capped at --max-body.
//
// Errors answer the client with a short text body naming the cause, and are recorded with the
// exchange: 400 a malformed request (and, in reverse mode, CONNECT or an absolute-form request
// for another origin than the upstream), 408 a request head not complete within
// --client-timeout (a client trickling its head, RFC 9110 §15.5.9), 431 headers too large, 502
// upstream unreachable or broken (a 101 with a wrong Sec-WebSocket-Accept too), 504 upstream
// silent for --response-timeout. An upgrade the upstream declines leaves the connection in
// HTTP/1.1, with all its time limits.
//
// Client time limits: a client silent for --client-timeout between requests or inside one is
// closed; while it waits for a response it is not idle (the upstream's --response-timeout
// governs then), unless it stops reading what is relayed to it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/stream.h"
#include "net/timer.h"
#include "protocol/http1.h"
#include "proxy/context.h"

namespace wa::proxy {

// Who the client is and how it reached us, for the connection row and nested sessions.
struct ClientInfo {
  std::string address;  // "127.0.0.1:53422"
  bool tls = false;     // the client spoke TLS to us (an intercepted tunnel)
  std::string sni;
  std::string alpn;
  std::optional<Origin> tunnel;  // the CONNECT target, inside a tunnel
};

class HttpSession final : public Session, private http::Sink {
 public:
  // `initial` holds bytes already read from the client (after a CONNECT's sniffing).
  HttpSession(ProxyContext& ctx, net::Owned<net::Stream> client, ClientInfo info,
              std::optional<Origin> default_origin, std::string initial = {});
  ~HttpSession() override;

  void start();
  void abort(const std::string& why) override;

 private:
  struct Exchange;
  class ResponseSink;

  // Client side.
  void on_client_data(std::string_view bytes);
  void on_client_end();
  void on_client_error(const net::Error& error);
  void pump();
  void resume_parsing();
  void update_client_reading();
  void watch_head();
  void set_client_idle(bool waiting_for_client);
  http::Flow on_head(http::Head& head) override;
  void on_body(std::string_view bytes) override;
  void on_trailers(http::Headers& trailers) override;
  http::Flow on_message_end() override;
  void on_upgrade(size_t offset, std::string_view rest) override;

  // Routing and upstream.
  bool route(const http::Head& head, Exchange& x);
  void connect_upstream();
  void on_upstream_ready(net::Outcome<std::unique_ptr<Upstream>> outcome);
  void send_request_head();
  void on_upstream_data(std::string_view bytes);
  void on_upstream_end();
  void on_upstream_error(const net::Error& error);
  void write_upstream(std::string bytes);
  void write_client(std::string bytes);
  // The same for a body as it was read, which the caller does not own, between its framing
  // (a chunk's size line and CRLF; empty when not chunked): no copy is made of what the kernel
  // takes at once. The client side also sends the response head held in the exchange.
  void write_upstream_body(std::string_view framing, std::string_view bytes, std::string_view end);
  void write_client_body(std::string_view framing, std::string_view bytes, std::string_view end);

  // Response side (called by ResponseSink).
  http::Flow on_response_head(http::Head& head);
  void on_response_body(std::string_view bytes);
  void on_response_trailers(http::Headers& trailers);
  http::Flow on_response_end();
  void on_response_upgrade(std::string_view rest);

  // Endings.
  void finish_exchange(const std::string& error_code = {}, const std::string& error = {});
  void complete_exchange();
  void fail_exchange(int status, const std::string& error_code, const std::string& why);
  void fail_client(int status, const std::string& error_code, const std::string& why);
  void refuse(Exchange& x, const std::string& why);
  void start_tunnel(std::string rest);
  void start_websocket();
  void shutdown_client();
  void close_session();

  ProxyContext& ctx_;
  net::Owned<net::Stream> client_;
  ClientInfo info_;
  std::optional<Origin> default_origin_;
  std::string inbuf_;  // client bytes not yet consumed by the parser
  http::Parser parser_;
  std::unique_ptr<ResponseSink> response_sink_;
  std::unique_ptr<Exchange> x_;
  net::Owned<net::Timer> head_timer_;  // runs from a request's first byte to its whole head
  store::Id connection_id_ = 0;
  int seq_ = 0;
  bool parse_paused_ = false;  // the sink paused the parser; resume_parsing() goes on
  bool pumping_ = false;
  bool client_ended_ = false;
  bool client_paused_ = false;  // reading from the client paused for backpressure
  bool closing_ = false;
  // Callbacks that may outlive the session (writes on streams handed to others) check this.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wa::proxy
