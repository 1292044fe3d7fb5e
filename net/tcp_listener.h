// A listening TCP socket: bind host:port (port 0 picks a free one), accept connections.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string_view>

#include "net/address.h"
#include "net/closable.h"
#include "net/error.h"
#include "net/loop.h"
#include "net/tcp_connection.h"

namespace wa::net {

struct ListenOptions {
  int backlog = 511;       // the listen(2) queue; the kernel caps it at somaxconn
  bool ipv6_only = false;  // for "::": do not also accept IPv4-mapped connections
};

class TcpListener final : public Closable {
 public:
  // Receives each accepted connection, not yet started (call start() on it); dropping it
  // closes the connection.
  using AcceptCallback = std::function<void(Owned<TcpConnection> connection)>;

  // Binds a numeric address ("127.0.0.1", "::1", "[::1]", "0.0.0.0", "::") or "localhost"
  // (taken as 127.0.0.1, so the listener never depends on the resolver). Failures, such as
  // the port being in use, are ErrorKind::bind.
  static Outcome<Owned<TcpListener>> listen(Loop& loop, std::string_view host, uint16_t port,
                                            AcceptCallback on_accept, ListenOptions options = {});

  // The bound address, with the port the kernel chose when 0 was asked for.
  const Address& address() const { return address_; }
  uint16_t port() const { return address_.port(); }
  // Accepts that failed; libuv keeps listening after them.
  uint64_t accept_errors() const { return accept_errors_; }
  // Connections closed as soon as accepted for lack of descriptors: their descriptor fell into
  // the reserve (net/descriptors.h), or none was left at all (libuv then accepts and closes
  // them itself). `on_shed` hears each one.
  uint64_t shed() const { return shed_; }
  void on_shed(std::function<void()> f) { on_shed_ = std::move(f); }

 private:
  TcpListener(Loop& loop, AcceptCallback on_accept);
  ~TcpListener() override = default;
  void close(CloseCallback done) override;
  static void on_connection(uv_stream_t* server, int status);
  void shed_one();
  static void on_closed(uv_handle_t* handle);

  Loop& loop_;
  uv_tcp_t tcp_;
  AcceptCallback on_accept_;
  CloseCallback closed_;
  Address address_;
  uint64_t accept_errors_ = 0;
  uint64_t shed_ = 0;
  std::function<void()> on_shed_;
  bool closing_ = false;
};

}  // namespace wa::net
