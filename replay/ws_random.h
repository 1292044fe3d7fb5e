// Randomness for live WebSocket clients: masks and handshake keys must be unpredictable on a
// real connection (RFC 6455 §5.3, §4.1).
#pragma once

#include <array>
#include <cstdint>

#include "protocol/websocket.h"

namespace wa::replay {

// 16 bytes for a Sec-WebSocket-Key, from RAND_bytes.
std::array<uint8_t, 16> random_key_bytes();

// Masks drawn from RAND_bytes 64 at a time: one call per frame would cost more than the rest
// of sending a small frame.
ws::MaskSource random_masks();

}  // namespace wa::replay
