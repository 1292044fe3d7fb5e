#include "net/tcp_listener.h"

#include <doctest/doctest.h>

#include <vector>

#include "net/connect.h"
#include "tests/net/support.h"

using namespace wa::net;
using wa::net::testing::run_until;

TEST_CASE("TcpListener: port 0 binds a free port that address() reports") {
  Loop loop;
  auto listener = TcpListener::listen(loop, "127.0.0.1", 0, [](Owned<TcpConnection>) {});
  REQUIRE(listener);
  CHECK(listener.value()->port() != 0);
  CHECK(listener.value()->address().host() == "127.0.0.1");
  CHECK(listener.value()->address().is_loopback());

  auto localhost = TcpListener::listen(loop, "localhost", 0, [](Owned<TcpConnection>) {});
  REQUIRE(localhost);
  CHECK(localhost.value()->address().host() == "127.0.0.1");

  listener.value().reset();
  localhost.value().reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TcpListener: IPv6 loopback accepts IPv6 connections") {
  Loop loop;
  std::vector<Owned<TcpConnection>> accepted;
  auto listener = TcpListener::listen(
      loop, "[::1]", 0, [&](Owned<TcpConnection> c) { accepted.push_back(std::move(c)); },
      {.ipv6_only = true});
  REQUIRE(listener);
  CHECK(listener.value()->address().family() == AF_INET6);
  Owned<TcpConnection> client;
  auto request =
      connect(loop, "::1", listener.value()->port(), {}, [&](Outcome<Owned<TcpConnection>> r) {
        REQUIRE(r);
        client = std::move(r).value();
      });
  CHECK(run_until(loop, [&] { return client && accepted.size() == 1; }));
  CHECK(accepted[0]->peer_address()->host() == "::1");
  CHECK(client->peer_address()->to_string() == listener.value()->address().to_string());
  accepted.clear();
  client.reset();
  request.reset();
  listener.value().reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TcpListener: a port in use and a host name are bind errors with a reason") {
  Loop loop;
  auto first = TcpListener::listen(loop, "127.0.0.1", 0, [](Owned<TcpConnection>) {});
  REQUIRE(first);
  auto second =
      TcpListener::listen(loop, "127.0.0.1", first.value()->port(), [](Owned<TcpConnection>) {});
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == ErrorKind::bind);
  CHECK(second.error().code == UV_EADDRINUSE);
  CHECK(second.error().why.find("127.0.0.1:" + std::to_string(first.value()->port())) !=
        std::string::npos);

  auto named = TcpListener::listen(loop, "example.com", 0, [](Owned<TcpConnection>) {});
  REQUIRE_FALSE(named);
  CHECK(named.error().kind == ErrorKind::bind);
  CHECK(named.error().why.find("example.com") != std::string::npos);

  first.value().reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TcpListener: many connections accepted; the listener closed from its own callback") {
  Loop loop;
  std::vector<Owned<TcpConnection>> accepted;
  Owned<TcpListener> listener;
  bool listener_closed = false;
  constexpr size_t kClients = 5;
  auto listening = TcpListener::listen(loop, "127.0.0.1", 0, [&](Owned<TcpConnection> c) {
    accepted.push_back(std::move(c));
    if (accepted.size() == kClients) close(std::move(listener), [&] { listener_closed = true; });
  });
  REQUIRE(listening);
  listener = std::move(listening).value();
  uint16_t port = listener->port();
  std::vector<Owned<ConnectRequest>> requests;
  std::vector<Owned<TcpConnection>> clients;
  for (size_t i = 0; i < kClients; ++i) {
    requests.push_back(connect(loop, "127.0.0.1", port, {}, [&](Outcome<Owned<TcpConnection>> r) {
      REQUIRE(r);
      clients.push_back(std::move(r).value());
    }));
  }
  CHECK(run_until(loop, [&] { return listener_closed && clients.size() == kClients; }));
  CHECK(accepted.size() == kClients);
  requests.clear();
  clients.clear();
  accepted.clear();
  CHECK(loop.close() == 0);
}

TEST_CASE("TcpListener: a dropped accepted connection is closed; the client sees the end") {
  Loop loop;
  auto listener = TcpListener::listen(loop, "127.0.0.1", 0, [](Owned<TcpConnection>) {});
  REQUIRE(listener);
  Owned<TcpConnection> client;
  bool ended = false;
  auto request = connect(
      loop, "127.0.0.1", listener.value()->port(), {}, [&](Outcome<Owned<TcpConnection>> r) {
        REQUIRE(r);
        client = std::move(r).value();
        client->start(
            {.on_end = [&] { ended = true; }, .on_error = [&](const Error&) { ended = true; }});
      });
  CHECK(run_until(loop, [&] { return ended; }));
  client.reset();
  listener.value().reset();
  request.reset();
  CHECK(loop.close() == 0);
}
