// Connections to upstream servers, kept alive between exchanges.
//
// An Upstream is a stream to one origin (TCP, or TLS over TCP with the server verified through
// OpenSSL's default verify paths unless --upstream-insecure) together with the response parser
// that has read it so far. acquire() hands out an idle one for the origin, or connects a new
// one; release() takes it back when the last response ended cleanly and the server keeps it
// open. Idle connections that the server closes simply leave the pool.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/connect.h"
#include "net/loop.h"
#include "net/stream.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"
#include "protocol/http1.h"
#include "proxy/options.h"

namespace wa::proxy {

struct Upstream {
  Origin origin;
  net::Owned<net::Stream> stream;
  std::unique_ptr<http::Parser> parser;  // Role::response, across keep-alive exchanges
  std::string alpn;                      // TLS only
  bool reused = false;                   // it served an exchange before this one
};

// An acquisition in progress. Dropping it cancels it: the callback never runs afterwards.
class PendingUpstream {
 public:
  virtual ~PendingUpstream() = default;
};

class UpstreamPool {
 public:
  using Callback = std::function<void(net::Outcome<std::unique_ptr<Upstream>>)>;

  UpstreamPool(net::Loop& loop, std::shared_ptr<net::TlsContext> tls, uint64_t connect_timeout_ms,
               http::Limits response_limits = {});
  ~UpstreamPool();

  // Calls `done` from the loop (never inside this call) with a connection to `origin`.
  [[nodiscard]] std::unique_ptr<PendingUpstream> acquire(const Origin& origin, Callback done);
  // Takes back a connection whose last response ended and that may serve another one.
  void release(std::unique_ptr<Upstream> upstream);
  // Closes every idle connection (on shutdown).
  void close_idle();

  size_t idle_count() const;

  // Idle connections are closed after this long: servers close theirs after a few seconds
  // (Node 5 s), and a request sent on a connection the server is closing would fail.
  static constexpr uint64_t kIdleTimeoutMs = 4'000;
  // Enough for every client of a busy reverse proxy to find a warm connection: with fewer idle
  // slots than concurrent clients, a connection is closed on release and another opened on the
  // next acquire, at a connect plus a close per exchange.
  static constexpr size_t kMaxIdlePerOrigin = 64;

 private:
  class Connecting;
  class Immediate;
  struct Idle {
    std::unique_ptr<Upstream> upstream;
    uint64_t serial;
  };

  void drop_idle(const std::string& key, uint64_t serial);
  std::unique_ptr<Upstream> take_idle(const std::string& key);

  net::Loop& loop_;
  std::shared_ptr<net::TlsContext> tls_;
  uint64_t connect_timeout_ms_;
  http::Limits response_limits_;
  std::map<std::string, std::vector<Idle>> idle_;  // by Origin::str()
  uint64_t next_serial_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wa::proxy
