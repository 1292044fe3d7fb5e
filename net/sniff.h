// Telling what a CONNECT tunnel carries from its first bytes: the proxy intercepts TLS and
// parses anything else as HTTP (browsers tunnel ws:// through CONNECT too).
#pragma once

#include <string_view>

namespace wa::net {

enum class TunnelStart {
  need_more,  // too few bytes to tell; read more (a ClientHello's first 6 bytes decide)
  tls,        // a TLS handshake record holding a ClientHello
  other,      // anything else
};

// RFC 8446 §5.1: a record starts with content type 22 (handshake) and a legacy version 0x03xx,
// then two length bytes; RFC 8446 §4: the handshake message type of a ClientHello is 1.
TunnelStart classify_tunnel_start(std::string_view first_bytes);

}  // namespace wa::net
