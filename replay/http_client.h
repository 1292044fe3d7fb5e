// The replayer's HTTP/1.1 client: one request out, the whole response back, over keep-alive
// connections pooled per origin (http and https).
//
// It sends what it is given and nothing else: the method, the target and the header fields of
// the request in the order given (a Host field is put first when there is none, and
// Content-Length is set for a body), and it never follows redirects, because the replayer
// follows the recording, not the Location. The response comes back whole: status line, header
// fields in order, and the body with the transfer coding removed (a content coding such as gzip
// is kept, as the recording keeps it).
//
// Several requests may be in flight at once, each on its own connection (a long-polling GET
// beside a POST). Timeouts: connecting (resolution, TCP and TLS together) and the response: the
// whole wait from the request written to the last byte of the response, head and body, however
// the server spaces its bytes (a server that trickles a byte a second cannot hold a request
// past it). A response cut by it fails with how much of it had come. A request that fails on a
// kept-alive connection before any byte of its response arrived is sent once more on a new
// connection, as browsers do: the server may have closed the idle connection as it was reused.
//
// Streaming (Server-Sent Events, HTML Living Standard §9.2, whose responses last as long as the
// page): a request with HttpRequest::on_head / on_body set is told of the response head and of
// each piece of the body as they arrive, long before the response ends (if it ever does).
// Timeouts then apply in two phases: until the head is complete, the response timeout (the
// whole wait for the head); after it, `body_idle_timeout_ms` between pieces of the body, so that a
// stream that keeps sending is never cut, however long it lasts. The caller abandons a stream
// by cancelling (or dropping) its HttpCall, also from inside on_head or on_body: the done
// callback then never runs, nothing counts as failed, and the connection is closed rather than
// pooled (the response on it is unfinished).
//
// Lifetimes: every callback runs from the loop, never inside the call that started the request.
// The HttpCall handle owns the request: dropping it cancels it (the callback never runs). The
// HttpClient must outlive its handles' callbacks being run, and must be destroyed before the
// loop is closed; requests still in flight when it goes are cancelled with their handles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "net/loop.h"
#include "net/stream.h"
#include "protocol/http1.h"

namespace wa::replay {

// Why a live request or socket session failed. The runner maps kinds to its verdicts: connect
// and setup failures are setup errors (the target is unreachable); the others are behaviour.
enum class FailureKind : uint8_t {
  connect,   // the host did not resolve, refused or could not be reached
  tls,       // the TLS handshake failed, or the server's certificate was not trusted
  timeout,   // connecting, a response, or a heartbeat took longer than allowed
  closed,    // the server closed the connection (or the session) before it was done
  protocol,  // the server sent bytes that do not parse (HTTP, WebSocket, Engine.IO, Socket.IO)
  refused,   // the server answered, but no: a refused handshake, "Session ID unknown"
  setup,     // what the caller asked for cannot be done (a URL that is not http(s), bad PEM)
};

// "connect", "tls", ...
const char* failure_kind_name(FailureKind kind);

struct ClientFailure {
  FailureKind kind = FailureKind::closed;
  std::string why;  // one line, no trailing period: "cannot connect to 127.0.0.1:9: ..."
};

// A value or a ClientFailure.
template <class T>
class [[nodiscard]] ClientResult {
 public:
  ClientResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  ClientResult(ClientFailure failure) : v_(std::in_place_index<1>, std::move(failure)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const ClientFailure& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ClientFailure> v_;
};

struct HttpResponse;

struct HttpRequest {
  std::string method = "GET";
  // Absolute http:// or https:// URL. Its path and query are sent exactly as written (the
  // fragment is not sent, RFC 9112 §3.2.1).
  std::string url;
  // In order, as given. Host is added first when absent. When there is a body, or the method
  // is POST, PUT or PATCH, any Content-Length and Transfer-Encoding given are replaced by the
  // body's Content-Length.
  http::Headers headers = {};
  std::string body = {};
  // The response timeout for this request (e.g. a long poll that the server holds); 0: the
  // client's default. For a streamed response (on_body set), it runs until the head is in.
  uint64_t timeout_ms = 0;
  // Streaming: the final response head (status, reason, version, headers and timings, no body),
  // once, as soon as it is in. Not called for 101 (see HttpClient::upgrade).
  std::function<void(const HttpResponse& head)> on_head = {};
  // Streaming: each piece of the body as it arrives, transfer coding removed (chunked framing
  // gone), content coding kept. When set, the body is not collected: the done callback's
  // HttpResponse::body stays empty, and max_body_bytes does not apply.
  std::function<void(std::string_view chunk)> on_body = {};
  // Streaming: the longest silence allowed between pieces of the body once the head is in;
  // 0: the same as the response timeout.
  uint64_t body_idle_timeout_ms = 0;
};

// Microseconds on the client's clock (HttpClientOptions::clock_us).
struct HttpTimings {
  int64_t started_us = 0;     // send() was called
  int64_t sent_us = 0;        // the request was written to a connection
  int64_t first_byte_us = 0;  // the first byte of the response arrived
  int64_t ended_us = 0;       // the response was complete
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  http::Version version;
  http::Headers headers;  // in order, as received
  // Transfer coding removed; empty for HEAD, 204, 304 and 101. At most
  // HttpClientOptions::max_body_bytes of it: a longer body is cut there, and its whole length
  // and hash are kept beside (replay/body.h, CappedBody).
  std::string body;
  uint64_t body_length = 0;  // the whole body's length (0 when not collected)
  std::string body_sha256;   // lower-case hex SHA-256 of the whole body, only when cut
  bool body_cut() const { return body_length > body.size(); }
  HttpTimings timings;
  bool reused = false;  // it came over a kept-alive connection
};

// A successful upgrade (101 Switching Protocols): the connection, which now belongs to the
// caller, and the bytes the server sent after the 101's head.
struct Upgraded {
  net::Owned<net::Stream> stream;
  std::string rest;
};

struct HttpClientOptions {
  uint64_t connect_timeout_ms = 10'000;
  uint64_t response_timeout_ms = 30'000;
  // Skip verification of servers' certificates (--insecure). Otherwise they are verified
  // through OpenSSL's default verify paths (SSL_CERT_FILE, SSL_CERT_DIR) and `trust_pem`.
  bool insecure = false;
  std::string trust_pem = {};  // extra trust anchors, PEM
  // Bytes of a collected body kept; past them the body is hashed and counted as it streams,
  // never held (HttpResponse::body_cut). The matcher compares bodies longer than
  // kMaxDecodedBody by length and hash only, so nothing past it would ever be read.
  uint64_t max_body_bytes = uint64_t{16} << 20;
  // Idle kept-alive connections per origin, and how long they stay: servers close theirs after
  // a few seconds (Node 5 s), and a request sent on a connection being closed would fail.
  size_t max_idle_per_origin = 8;
  uint64_t idle_timeout_ms = 4'000;
  // The timing clock in microseconds; monotonic uv_hrtime() when empty.
  std::function<int64_t()> clock_us = {};
};

class HttpClient;

// One request in flight. Dropping (or cancel()) cancels it: its callback never runs, and its
// connection, if it had one, is closed. Empty when default-constructed or moved from. Safe to
// cancel or drop from inside the request's on_head and on_body callbacks.
class HttpCall {
 public:
  HttpCall();
  HttpCall(HttpCall&&) noexcept;
  HttpCall& operator=(HttpCall&&) noexcept;
  ~HttpCall();

  void cancel();
  // The request is still waiting for its response (the callback has not run).
  bool pending() const;

 private:
  friend class HttpClient;
  class Exchange;
  // Deletes the exchange, or, while one of its streaming callbacks runs, has it delete itself
  // once the callback has returned.
  struct Dispose {
    void operator()(Exchange* exchange) const;
  };
  explicit HttpCall(Exchange* exchange);
  std::unique_ptr<Exchange, Dispose> exchange_;
};

class HttpClient {
 public:
  using Callback = std::function<void(ClientResult<HttpResponse> response)>;
  // On 101, `upgraded` holds the connection; call its start() in the callback (bytes that
  // arrive before are kept for the new handler). Any other status is a response like any other,
  // with `upgraded` empty.
  using UpgradeCallback =
      std::function<void(ClientResult<HttpResponse> response, std::optional<Upgraded> upgraded)>;

  HttpClient(net::Loop& loop, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and calls `done` once with the whole response or the reason it failed.
  [[nodiscard]] HttpCall send(HttpRequest request, Callback done);

  // Sends a request that asks to switch protocols (the caller puts Upgrade, Connection and the
  // protocol's fields in it, e.g. from ws::client_request_headers).
  [[nodiscard]] HttpCall upgrade(HttpRequest request, UpgradeCallback done);

  // Closes every idle connection.
  void close_idle();
  size_t idle_connections() const;
  // Connections opened so far (not reused ones), for tests and statistics.
  uint64_t connections_opened() const;

  int64_t now_us() const;
  net::Loop& loop() const;

  // The pool and settings, shared with the requests in flight (defined in http_client.cpp).
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace wa::replay
