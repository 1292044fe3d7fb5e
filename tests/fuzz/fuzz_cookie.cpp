// Set-Cookie / Cookie parsing and the cookie jar. Each input line is one operation, chosen by
// its first byte, against one of a few request URLs (loopback, IP, names, https); the clock
// moves forward as the fuzzer says. Properties checked (a failure traps):
// - a parsed Set-Cookie keeps the raw text; a cookie date formats and parses back to itself;
// - the jar stays within its limits; every Cookie header it writes parses;
// - a jar restored from list() by insert() sends the same Cookie headers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/cookie.h"
#include "protocol/cookie_jar.h"

using namespace wa;
using namespace wa::cookie;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const char* const kUrls[] = {
    "http://example.com/a/b",      "https://www.example.com/",   "http://127.0.0.1:3000/x/y",
    "http://localhost/socket.io/", "https://[::1]:8443/",        "https://a.b.example.com/deep/p",
    "ws://example.com/socket.io/", "http://app.localhost/login",
};
constexpr size_t kUrlCount = sizeof kUrls / sizeof kUrls[0];

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  url::Url urls[kUrlCount];
  for (size_t i = 0; i < kUrlCount; ++i)
    urls[i] = *url::parse(kUrls[i]);

  CookieJar jar(CookieJar::Limits{40, 8});
  int64_t now = 1'700'000'000'000;
  while (!input.empty()) {
    size_t newline = input.find('\n');
    std::string_view line = input.substr(0, newline);
    input = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
    if (line.empty()) continue;
    unsigned char op = static_cast<unsigned char>(line[0]);
    std::string_view rest = line.substr(1);
    const url::Url& u = urls[(op >> 3) % kUrlCount];
    now += int64_t(op & 7) * 997'000;

    switch (op % 5) {
      case 0: {
        auto sc = parse_set_cookie(rest);
        if (sc) check(sc->raw == rest);
        (void)jar.set_from_response(u, rest, now);
        break;
      }
      case 1: {
        std::string header = jar.cookie_header_for(u, now);
        check(parse_cookie_header(header).ok());
        break;
      }
      case 2: {
        auto pairs = parse_cookie_header(rest);
        if (pairs) {
          for (const auto& p : *pairs)
            (void)jar.seed(u, p.name, p.value, now);
          (void)serialise_cookie_header(*pairs);
        }
        break;
      }
      case 3: {
        if (auto t = parse_cookie_date(rest)) check(parse_cookie_date(format_cookie_date(*t)) == t);
        break;
      }
      case 4: {
        CookieJar restored(CookieJar::Limits{40, 8});
        for (const Cookie& c : jar.list(now))
          check(restored.insert(c, now).ok());
        for (const url::Url& any : urls) {
          check(restored.cookie_header_for(any, now) == jar.cookie_header_for(any, now));
        }
        if (!rest.empty()) (void)jar.remove(rest, "example.com", "/");
        break;
      }
    }
    check(jar.size() <= 40);
  }
  return 0;
}
