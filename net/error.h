// Errors of the transport layer: what kind of failure, the libuv / OpenSSL code behind it, and
// one line a person can read ("connect 127.0.0.1:9: connection refused").
//
// net/ does not depend on protocol/, so it has its own small error type rather than wa::Errc;
// callers that record an exchange map ErrorKind to their own causes (502 for connect, 504 for
// timeout, a console line for tls_cert_rejected).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace wa::net {

enum class ErrorKind {
  resolve,            // the host name did not resolve (getaddrinfo failed)
  connect,            // connection refused, or the address is unreachable
  bind,               // the listening address could not be bound or listened on
  timeout,            // a connect or idle time limit passed
  io,                 // a read or write failed: reset by the peer, broken pipe
  tls_verify,         // the peer's certificate failed our verification (client side)
  tls_cert_rejected,  // the peer refused our certificate with an alert (unknown_ca, ...)
  tls_handshake,      // any other handshake failure: protocol, no shared cipher, closed early
  tls,                // a TLS error after the handshake: bad record, fatal alert
  setup,              // a local configuration problem: unreadable PEM, key not matching
};

// A short stable name ("tls_verify"), for logs and capture files.
const char* error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::io;
  // resolve/connect/bind/io/timeout: the libuv status (a negative errno or UV_EAI_*);
  // tls_verify: the X509_V_ERR_* result; tls_cert_rejected and alert-caused tls_handshake /
  // tls: the TLS alert description number received (RFC 8446 §6); otherwise 0.
  int code = 0;
  std::string why;  // one line, no trailing period
};

// An Error whose reason is `context` followed by libuv's text for `status`.
Error uv_error(ErrorKind kind, int status, std::string_view context);

// A value or an Error; the net/ counterpart of wa::Result, for move-only values too.
template <class T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Outcome(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Outcome<void> {
 public:
  Outcome() = default;
  Outcome(Error error) : error_(std::move(error)) {}

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

}  // namespace wa::net
