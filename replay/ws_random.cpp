#include "replay/ws_random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace wa::replay {
namespace {

template <size_t N>
std::array<uint8_t, N> random_bytes() {
  std::array<uint8_t, N> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(N)) != 1) std::abort();
  return bytes;
}

}  // namespace

std::array<uint8_t, 16> random_key_bytes() {
  return random_bytes<16>();
}

ws::MaskSource random_masks() {
  struct Pool {
    std::array<uint8_t, 256> bytes{};
    size_t used = 256;
  };
  auto pool = std::make_shared<Pool>();
  return [pool] {
    if (pool->used == pool->bytes.size()) {
      pool->bytes = random_bytes<256>();
      pool->used = 0;
    }
    std::array<uint8_t, 4> mask{};
    std::copy_n(pool->bytes.begin() + static_cast<std::ptrdiff_t>(pool->used), 4, mask.begin());
    pool->used += 4;
    return mask;
  };
}

}  // namespace wa::replay
