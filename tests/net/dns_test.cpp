#include "net/dns.h"

#include <doctest/doctest.h>

#include <optional>

#include "tests/net/support.h"

using wa::net::Address;
using wa::net::DnsQuery;
using wa::net::ErrorKind;
using wa::net::Loop;
using wa::net::Outcome;
using wa::net::Owned;
using wa::net::resolve;
using wa::net::testing::run_until;

namespace {

std::optional<Outcome<std::vector<Address>>> lookup(Loop& loop, std::string_view host,
                                                    uint16_t port) {
  std::optional<Outcome<std::vector<Address>>> result;
  Owned<DnsQuery> query = resolve(
      loop, host, port, [&](Outcome<std::vector<Address>> r) { result.emplace(std::move(r)); });
  run_until(loop, [&] { return result.has_value(); });
  return result;
}

}  // namespace

TEST_CASE("DNS: numeric hosts are answered without the resolver, on a later turn") {
  Loop loop;
  bool called = false;
  std::vector<Address> got;
  Owned<DnsQuery> query = resolve(loop, "[::1]", 80, [&](Outcome<std::vector<Address>> r) {
    called = true;
    REQUIRE(r);
    got = r.value();
  });
  CHECK_FALSE(called);  // never inside resolve()
  loop.run();
  CHECK(called);
  REQUIRE(got.size() == 1);
  CHECK(got[0].to_string() == "[::1]:80");
  query.reset();

  auto v4 = lookup(loop, "127.0.0.1", 443);
  REQUIRE(v4);
  REQUIRE(*v4);
  CHECK(v4->value().at(0).to_string() == "127.0.0.1:443");
  CHECK(loop.close() == 0);
}

TEST_CASE("DNS: localhost resolves to loopback addresses with the port set") {
  Loop loop;
  auto result = lookup(loop, "localhost", 8080);
  REQUIRE(result);
  REQUIRE(*result);
  const std::vector<Address>& addresses = result->value();
  REQUIRE_FALSE(addresses.empty());
  for (const Address& address : addresses) {
    CAPTURE(address.to_string());
    CHECK(address.is_loopback());
    CHECK(address.port() == 8080);
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("DNS: a name that cannot exist fails with a resolve error naming it") {
  Loop loop;
  // RFC 6761 §6.4: .invalid names never resolve; a resolver with no network fails at once.
  auto result = lookup(loop, "no-such-host.invalid", 80);
  REQUIRE(result);
  REQUIRE_FALSE(*result);
  CHECK(result->error().kind == ErrorKind::resolve);
  CHECK(result->error().why.find("no-such-host.invalid") != std::string::npos);

  auto empty = lookup(loop, "", 80);
  REQUIRE(empty);
  REQUIRE_FALSE(*empty);
  CHECK(empty->error().kind == ErrorKind::resolve);
  CHECK(loop.close() == 0);
}

TEST_CASE("DNS: a query dropped before it answers never calls back and leaks nothing") {
  Loop loop;
  bool called = false;
  {
    Owned<DnsQuery> query =
        resolve(loop, "localhost", 80, [&](Outcome<std::vector<Address>>) { called = true; });
  }
  {
    Owned<DnsQuery> query =
        resolve(loop, "127.0.0.1", 80, [&](Outcome<std::vector<Address>>) { called = true; });
  }
  CHECK(loop.close() == 0);
  CHECK_FALSE(called);
}

TEST_CASE("DNS: a query dropped inside its own callback") {
  Loop loop;
  bool closed = false;
  Owned<DnsQuery> query;
  query = resolve(loop, "localhost", 80, [&](Outcome<std::vector<Address>>) {
    wa::net::close(std::move(query), [&] { closed = true; });
  });
  CHECK(run_until(loop, [&] { return closed; }));
  CHECK(loop.close() == 0);
}
