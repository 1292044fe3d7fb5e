// The proxy's console: one line per exchange and per WebSocket, warnings, and the summary.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "storage/model.h"

namespace wa::proxy {

class Console {
 public:
  explicit Console(std::FILE* out = stdout, bool quiet = false) : out_(out), quiet_(quiet) {}

  // `GET http://127.0.0.1:3000/login 303 4ms 0B` (and `(not recorded)`, or the error), and
  // `[not decoded: why]` when socket traffic in it did not decode.
  void exchange(const store::Exchange& exchange, uint64_t response_bytes, bool recorded,
                std::string_view undecoded = {});
  void websocket(std::string_view url, std::string_view what);
  // `CONNECT example.com:443 tunnelled untouched, 4ms, 1.2kB up, 5.0kB down (not recorded)`:
  // a tunnel relayed blind (no interception), which nothing else on the console would show.
  void tunnel(std::string_view authority, std::string_view what);
  // Always printed, even when quiet.
  void warning(std::string_view text);
  void info(std::string_view text);

 private:
  std::FILE* out_;
  bool quiet_;
};

// "512B", "1.2kB", "3.4MB".
std::string format_bytes(uint64_t bytes);

}  // namespace wa::proxy
