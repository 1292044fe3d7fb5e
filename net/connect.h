// Connecting out: resolve the host, try its addresses in order until one accepts, all within
// one time limit. The caller receives a connected TcpConnection or one Error that names the
// host and the cause ("connect localhost:9: connection refused", "... timed out after 10000 ms").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.h"
#include "net/closable.h"
#include "net/dns.h"
#include "net/error.h"
#include "net/loop.h"
#include "net/tcp_connection.h"
#include "net/timer.h"

namespace wa::net {

struct ConnectOptions {
  uint64_t timeout_ms = 10'000;  // resolving and connecting together; 0 for no limit
};

class ConnectRequest final : public Closable {
 public:
  using Callback = std::function<void(Outcome<Owned<TcpConnection>>)>;

 private:
  friend Owned<ConnectRequest> connect(Loop&, std::string_view, uint16_t, ConnectOptions, Callback);
  ConnectRequest(Loop& loop, std::string host, uint16_t port, Callback done);
  ~ConnectRequest() override = default;
  void close(CloseCallback done) override;
  void on_resolved(Outcome<std::vector<Address>> addresses);
  void try_next();
  void on_connected(int status);
  void finish(Outcome<Owned<TcpConnection>> outcome);
  std::string target() const;
  static void on_start(void* arg);
  static void on_free(void* arg);

  Loop& loop_;
  std::string host_;
  uint16_t port_;
  uint64_t timeout_ms_ = 0;
  Callback done_;
  CloseCallback closed_;
  Owned<DnsQuery> dns_;
  Owned<Timer> timer_;
  Owned<TcpConnection> attempt_;
  std::vector<Address> addresses_;
  size_t next_ = 0;
  std::optional<Error> last_error_;
  Deferred start_{&on_start, this};
  Deferred free_{&on_free, this};
  bool finished_ = false;
  bool closing_ = false;
};

// Connects to `host` (a name or a numeric address) on `port`. `done` runs once, from the loop,
// unless the request is closed (dropped) first, which cancels everything in flight.
[[nodiscard]] Owned<ConnectRequest> connect(Loop& loop, std::string_view host, uint16_t port,
                                            ConnectOptions options, ConnectRequest::Callback done);

}  // namespace wa::net
