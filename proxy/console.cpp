#include "proxy/console.h"

namespace wa::proxy {

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  if (bytes < 1000) {
    std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1000 * 1000) {
    std::snprintf(buf, sizeof buf, "%.1fkB", double(bytes) / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fMB", double(bytes) / 1e6);
  }
  return buf;
}

void Console::exchange(const store::Exchange& x, uint64_t response_bytes, bool recorded,
                       std::string_view undecoded) {
  if (quiet_) return;
  long long ms = x.ended_us ? (*x.ended_us - x.started_us) / 1000 : 0;
  std::string status = x.status ? std::to_string(x.status) : std::string("---");
  std::string mark;
  if (!undecoded.empty()) mark = " [not decoded: " + std::string(undecoded) + "]";
  std::fprintf(out_, "%s %s %s %lldms %s%s%s%s%s\n", x.method.c_str(), x.url.c_str(),
               status.c_str(), ms, format_bytes(response_bytes).c_str(),
               x.error.empty() ? "" : " (", x.error.c_str(),
               x.error.empty() ? (recorded ? "" : " (not recorded)") : ")", mark.c_str());
  std::fflush(out_);
}

void Console::websocket(std::string_view url, std::string_view what) {
  if (quiet_) return;
  std::fprintf(out_, "WS %.*s %.*s\n", int(url.size()), url.data(), int(what.size()), what.data());
  std::fflush(out_);
}

void Console::tunnel(std::string_view authority, std::string_view what) {
  if (quiet_) return;
  std::fprintf(out_, "CONNECT %.*s %.*s\n", int(authority.size()), authority.data(),
               int(what.size()), what.data());
  std::fflush(out_);
}

void Console::warning(std::string_view text) {
  std::fprintf(stderr, "workalready: %.*s\n", int(text.size()), text.data());
  std::fflush(stderr);
}

void Console::info(std::string_view text) {
  std::fprintf(out_, "%.*s\n", int(text.size()), text.data());
  std::fflush(out_);
}

}  // namespace wa::proxy
