// Helpers shared by the net/ tests: run the loop until a condition holds, with a time limit so
// a broken test fails instead of hanging.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "net/loop.h"
#include "net/timer.h"

// Whether AddressSanitizer is on: GCC says so with __SANITIZE_ADDRESS__, clang with
// __has_feature. Its allocator quarantines freed memory, so RSS checks mean nothing under it.
#if defined(__SANITIZE_ADDRESS__)
#define WA_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WA_TEST_ASAN 1
#endif
#endif
#ifndef WA_TEST_ASAN
#define WA_TEST_ASAN 0
#endif

namespace wa::net::testing {

// Runs the loop until `done()` is true or `timeout_ms` pass; returns done().
inline bool run_until(Loop& loop, const std::function<bool()>& done, uint64_t timeout_ms = 10000) {
  bool expired = false;
  Owned<Timer> guard = Timer::create(loop);
  guard->start(timeout_ms, [&] { expired = true; });
  while (!done() && !expired)
    loop.run_once();
  return done();
}

// Deterministic bytes, so a transfer can be checked without keeping a copy of what was sent.
inline char pattern_byte(uint64_t offset) {
  return static_cast<char>((offset * 2654435761u) >> 13);
}

inline std::string pattern(uint64_t offset, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i)
    bytes[i] = pattern_byte(offset + i);
  return bytes;
}

}  // namespace wa::net::testing
