// Asynchronous name resolution through libuv's thread pool (uv_getaddrinfo), IPv4 and IPv6.
// Numeric hosts never reach the resolver: they are parsed and answered on the next loop turn.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.h"
#include "net/closable.h"
#include "net/error.h"
#include "net/loop.h"

namespace wa::net {

class DnsQuery final : public Closable {
 public:
  // The addresses in the resolver's order (RFC 6724 preference, as getaddrinfo sorts them),
  // duplicates removed, each with `port`; never empty on success.
  using Callback = std::function<void(Outcome<std::vector<Address>>)>;

 private:
  friend Owned<DnsQuery> resolve(Loop&, std::string_view, uint16_t, Callback);
  DnsQuery(Loop& loop, Callback done) : loop_(loop), done_(std::move(done)) {}
  ~DnsQuery() override = default;
  void close(CloseCallback done) override;
  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* result);
  static void on_tick(void* arg);
  void deliver(Outcome<std::vector<Address>> outcome);

  Loop& loop_;
  Callback done_;
  CloseCallback closed_;
  uv_getaddrinfo_t req_{};
  Deferred tick_{&on_tick, this};
  std::optional<Outcome<std::vector<Address>>> ready_;
  std::string host_;
  uint16_t port_ = 0;
  bool in_flight_ = false;
  bool closing_ = false;
};

// Resolves `host` (a name, or a numeric address with or without brackets) for TCP to `port`.
// `done` runs once, on a later loop turn, unless the query is closed first; closing cancels
// the lookup if the thread pool has not started it.
[[nodiscard]] Owned<DnsQuery> resolve(Loop& loop, std::string_view host, uint16_t port,
                                      DnsQuery::Callback done);

}  // namespace wa::net
