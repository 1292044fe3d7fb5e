// What `workalready record` configures: where the proxy listens, where it forwards, what it
// records and intercepts, and its limits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/http1.h"

namespace wa::proxy {

// Where requests go: a scheme (TLS or not), a host and a port.
struct Origin {
  bool tls = false;
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 80;

  // "http://127.0.0.1:3000", "https://[::1]:8443"; the port always written.
  std::string str() const;
  // The Host header value: the port left out when it is the scheme's default.
  std::string host_header() const;
  friend bool operator==(const Origin&, const Origin&) = default;
};

struct ProxyOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::optional<Origin> upstream;  // reverse mode; without it a forward proxy
  // Hosts whose traffic is recorded: every host when `include` is empty, minus `exclude`
  // (shell globs on the host name, e.g. "*.example.com").
  std::vector<std::string> include, exclude;
  // Hosts whose CONNECT tunnels are relayed untouched: no TLS interception, nothing recorded.
  std::vector<std::string> no_intercept;
  bool upstream_insecure = false;     // do not verify upstream certificates
  std::string upstream_trust_pem;     // extra trust anchors for upstream TLS (tests, private CAs)
  size_t max_body = size_t{4} << 20;  // bytes of each body or WebSocket message recorded
  uint64_t connect_timeout_ms = 10'000;
  // Upstream silence while a response is awaited or streams (long-polling holds ~25 s).
  uint64_t response_timeout_ms = 120'000;
  // A client that sends nothing for this long (between requests or mid-request) is closed.
  uint64_t client_idle_timeout_ms = 120'000;
  http::Limits request_limits;  // header size and count limits of requests (431 beyond)
  bool quiet = false;           // no per-exchange console lines
};

}  // namespace wa::proxy
