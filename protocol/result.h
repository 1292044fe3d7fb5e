// Errors on the data path: one enum of causes and a small Result<T>.
//
// Codecs never throw across their boundary: malformed input from the network is an ordinary
// outcome, reported as a Failure with a code (what kind of problem) and a one-line reason (what
// exactly), which the proxy records and the CLI prints.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace wa {

enum class Errc {
  // HTTP/1.1
  http_malformed,         // bytes that do not parse as an HTTP/1.1 message (proxy: 400)
  http_header_too_large,  // header section over the byte limit (proxy: 431)
  http_too_many_headers,  // more header fields than the limit (proxy: 431)
  http_smuggling,         // ambiguous framing: Content-Length with Transfer-Encoding, two CLs
  http_body_too_large,    // a body over a configured limit
  // WebSocket (RFC 6455, RFC 7692)
  ws_protocol,           // a frame or sequence of frames that breaks RFC 6455
  ws_message_too_large,  // a reassembled message over the configured maximum
  ws_deflate,            // a permessage-deflate payload that does not inflate
  ws_handshake,          // an upgrade request/response that is not a valid handshake
  // Engine.IO / Socket.IO
  eio_malformed,    // an Engine.IO packet or polling payload that does not decode
  sio_malformed,    // a Socket.IO v4/v5 packet that does not decode
  sio09_malformed,  // a Socket.IO 0.9 frame, payload or handshake that does not decode
  // Cookies and URLs
  cookie_malformed,  // a Set-Cookie or Cookie header that cannot be used
  url_malformed,     // a URL that does not parse
  // Shared
  bad_encoding,  // invalid base64, UTF-8, percent-encoding or JSON
  incomplete,    // input ended in the middle of something that had to be whole
  limit,         // a configured size or count limit was exceeded
  setup,         // a local file, folder, key or setting that cannot be used (CLI: exit 2)
};

// A short stable name for the code ("http_malformed"), for logs and capture files.
const char* errc_name(Errc code);

struct Failure {
  Errc code;
  std::string why;  // one line, no trailing period, e.g. "duplicate Content-Length"
};

inline Failure fail(Errc code, std::string why) {
  return Failure{code, std::move(why)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Failure failure) : v_(std::in_place_index<1>, std::move(failure)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

  const Failure& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Failure> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Failure failure) : failure_(std::move(failure)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Failure& error() const { return failure_; }

 private:
  Failure failure_{Errc::incomplete, {}};
  bool ok_ = true;
};

}  // namespace wa
