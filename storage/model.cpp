#include "storage/model.h"

namespace wa::store {

// These spellings are the values of the schema's CHECK constraints (schema.sql).
const char* to_string(Direction d) {
  return d == Direction::client ? "client" : "server";
}

const char* to_string(Transport t) {
  return t == Transport::polling ? "polling" : "websocket";
}

const char* to_string(SocketProtocol p) {
  switch (p) {
    case SocketProtocol::eio3:
      return "eio3";
    case SocketProtocol::eio4:
      return "eio4";
    case SocketProtocol::sio09:
      return "sio09";
  }
  return "eio4";
}

const char* to_string(CookieKind k) {
  return k == CookieKind::set ? "set" : "sent";
}

const char* to_string(NoiseKind k) {
  switch (k) {
    case NoiseKind::header:
      return "header";
    case NoiseKind::json_pointer:
      return "json_pointer";
    case NoiseKind::regex:
      return "regex";
  }
  return "header";
}

const char* to_string(RuleOrigin o) {
  return o == RuleOrigin::calibrate ? "calibrate" : "user";
}

}  // namespace wa::store
