#include "net/error.h"

#include <uv.h>

namespace wa::net {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::resolve:
      return "resolve";
    case ErrorKind::connect:
      return "connect";
    case ErrorKind::bind:
      return "bind";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::io:
      return "io";
    case ErrorKind::tls_verify:
      return "tls_verify";
    case ErrorKind::tls_cert_rejected:
      return "tls_cert_rejected";
    case ErrorKind::tls_handshake:
      return "tls_handshake";
    case ErrorKind::tls:
      return "tls";
    case ErrorKind::setup:
      return "setup";
  }
  return "unknown";
}

Error uv_error(ErrorKind kind, int status, std::string_view context) {
  std::string why(context);
  why += ": ";
  why += uv_strerror(status);
  return Error{kind, status, std::move(why)};
}

}  // namespace wa::net
