#include "net/sniff.h"

namespace wa::net {

TunnelStart classify_tunnel_start(std::string_view bytes) {
  // Each check needs one more byte; a prefix that still matches needs more input.
  auto at = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.empty()) return TunnelStart::need_more;
  if (at(0) != 0x16) return TunnelStart::other;
  if (bytes.size() < 2) return TunnelStart::need_more;
  if (at(1) != 0x03) return TunnelStart::other;
  if (bytes.size() < 3) return TunnelStart::need_more;
  // Record versions 3.0 to 1.3 (clients put 0x0301 here for compatibility).
  if (at(2) > 0x04) return TunnelStart::other;
  if (bytes.size() < 6) return TunnelStart::need_more;
  // A zero-length record cannot hold a ClientHello (RFC 8446 §5.1 forbids empty handshake
  // records).
  if (at(3) == 0 && at(4) == 0) return TunnelStart::other;
  if (at(5) != 0x01) return TunnelStart::other;
  return TunnelStart::tls;
}

}  // namespace wa::net
