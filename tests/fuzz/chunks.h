// Chunk boundaries chosen by the fuzzer (STYLE.md: the fuzzer also picks where input splits).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace wa::fuzz {

// The pieces the input is fed in: sizes from a tiny generator seeded by the chunking byte
// (0: all at once).
inline std::vector<std::string_view> chunks(std::string_view data, uint8_t chunking) {
  std::vector<std::string_view> out;
  if (chunking == 0) {
    out.push_back(data);
    return out;
  }
  uint32_t state = chunking;
  while (!data.empty()) {
    state = state * 1103515245u + 12345u;
    size_t n = std::min<size_t>(data.size(), 1 + (state >> 16) % chunking);
    out.push_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

}  // namespace wa::fuzz
