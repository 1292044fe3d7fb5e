#include "net/connect.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

#include "net/tcp_listener.h"
#include "tests/net/support.h"

using namespace wa::net;
using wa::net::testing::run_until;

namespace {

using Result = std::optional<Outcome<Owned<TcpConnection>>>;

Result connect_and_wait(Loop& loop, std::string_view host, uint16_t port,
                        ConnectOptions options = {}) {
  Result result;
  Owned<ConnectRequest> request =
      connect(loop, host, port, options,
              [&](Outcome<Owned<TcpConnection>> r) { result.emplace(std::move(r)); });
  run_until(loop, [&] { return result.has_value(); });
  return result;
}

// A port nothing listens on: bind one, note it, close it.
uint16_t closed_port(Loop& loop) {
  auto listener = TcpListener::listen(loop, "127.0.0.1", 0, [](Owned<TcpConnection>) {});
  REQUIRE(listener);
  return listener.value()->port();
}

}  // namespace

TEST_CASE("connect: to a closed port fails cleanly, naming the target and the cause") {
  Loop loop;
  uint16_t port = closed_port(loop);
  Result result = connect_and_wait(loop, "127.0.0.1", port);
  REQUIRE(result);
  REQUIRE_FALSE(*result);
  CHECK(result->error().kind == ErrorKind::connect);
  CHECK(result->error().code == UV_ECONNREFUSED);
  CHECK(result->error().why ==
        "connect 127.0.0.1:" + std::to_string(port) + ": connection refused");
  CHECK(loop.close() == 0);
}

TEST_CASE("connect: by name, trying each address of localhost in turn") {
  Loop loop;
  Owned<TcpConnection> accepted;
  auto listener = TcpListener::listen(loop, "127.0.0.1", 0,
                                      [&](Owned<TcpConnection> c) { accepted = std::move(c); });
  REQUIRE(listener);
  Result result = connect_and_wait(loop, "localhost", listener.value()->port());
  REQUIRE(result);
  REQUIRE(*result);
  CHECK(result->value()->peer_address()->to_string() == listener.value()->address().to_string());
  result.reset();
  accepted.reset();
  listener.value().reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("connect: a name that does not resolve is a resolve error") {
  Loop loop;
  Result result = connect_and_wait(loop, "no-such-host.invalid", 80);
  REQUIRE(result);
  REQUIRE_FALSE(*result);
  CHECK(result->error().kind == ErrorKind::resolve);
  CHECK(loop.close() == 0);
}

TEST_CASE("connect: times out against a listener whose backlog is full") {
  // A raw socket with backlog 0 that never accepts: Linux completes one handshake into the
  // accept queue, then drops further SYNs, so the next connect hangs. All on loopback.
  int server = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(server >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(server, 0) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(server, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  uint16_t port = ntohs(address.sin_port);

  Loop loop;
  // Fill the accept queue with connections that complete.
  std::vector<Owned<TcpConnection>> fillers;
  for (int i = 0; i < 2; ++i) {
    Result filler = connect_and_wait(loop, "127.0.0.1", port, {.timeout_ms = 300});
    REQUIRE(filler);
    if (!*filler) break;
    fillers.push_back(std::move(*filler).value());
  }
  REQUIRE_FALSE(fillers.empty());

  uint64_t started = loop.now();
  Result result = connect_and_wait(loop, "127.0.0.1", port, {.timeout_ms = 150});
  REQUIRE(result);
  REQUIRE_FALSE(*result);
  CHECK(loop.now() - started >= 150);
  CHECK(result->error().kind == ErrorKind::timeout);
  CHECK(result->error().why ==
        "connect 127.0.0.1:" + std::to_string(port) + ": timed out after 150 ms");
  fillers.clear();
  CHECK(loop.close() == 0);
  ::close(server);
}

TEST_CASE("connect: a request dropped before it completes never calls back") {
  Loop loop;
  auto listener = TcpListener::listen(loop, "127.0.0.1", 0, [](Owned<TcpConnection>) {});
  REQUIRE(listener);
  bool called = false;
  {
    Owned<ConnectRequest> by_name = connect(loop, "localhost", listener.value()->port(), {},
                                            [&](Outcome<Owned<TcpConnection>>) { called = true; });
    Owned<ConnectRequest> by_number =
        connect(loop, "127.0.0.1", listener.value()->port(), {},
                [&](Outcome<Owned<TcpConnection>>) { called = true; });
    loop.run_nowait();  // both have started resolving; on loopback a connect completes in
                        // the turn that starts it, so dropping later would race it
  }
  listener.value().reset();
  CHECK(loop.close() == 0);
  CHECK_FALSE(called);
}

TEST_CASE("connect: the request may be dropped inside its own callback") {
  Loop loop;
  auto listener = TcpListener::listen(loop, "127.0.0.1", 0, [](Owned<TcpConnection>) {});
  REQUIRE(listener);
  Owned<ConnectRequest> request;
  Owned<TcpConnection> connection;
  bool freed = false;
  request = connect(loop, "127.0.0.1", listener.value()->port(), {},
                    [&](Outcome<Owned<TcpConnection>> r) {
                      REQUIRE(r);
                      connection = std::move(r).value();
                      close(std::move(request), [&] { freed = true; });
                    });
  CHECK(run_until(loop, [&] { return freed; }));
  CHECK(connection);
  connection.reset();
  listener.value().reset();
  CHECK(loop.close() == 0);
}
