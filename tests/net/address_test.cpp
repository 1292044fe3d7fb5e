#include "net/address.h"

#include <doctest/doctest.h>

using wa::net::Address;
using wa::net::is_ip_literal;

TEST_CASE("Address: numeric IPv4 and IPv6, with and without brackets") {
  auto v4 = Address::parse("127.0.0.1", 8080);
  REQUIRE(v4);
  CHECK(v4->family() == AF_INET);
  CHECK(v4->port() == 8080);
  CHECK(v4->host() == "127.0.0.1");
  CHECK(v4->to_string() == "127.0.0.1:8080");
  CHECK(v4->is_loopback());

  auto v6 = Address::parse("[::1]", 443);
  REQUIRE(v6);
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->host() == "::1");
  CHECK(v6->to_string() == "[::1]:443");
  CHECK(v6->is_loopback());
  CHECK(Address::parse("::1", 443) == v6);

  CHECK(Address::parse("::ffff:127.0.0.2", 1)->is_loopback());
  CHECK_FALSE(Address::parse("10.0.0.1", 1)->is_loopback());
  CHECK_FALSE(Address::parse("2001:db8::1", 1)->is_loopback());
}

TEST_CASE("Address: names and malformed text are not numeric") {
  for (const char* text : {"localhost", "example.com", "", "[]", "127.1", "1.2.3.4.5", "256.0.0.1",
                           "::g", "[::1", "1.2.3.4 "}) {
    CAPTURE(text);
    CHECK_FALSE(Address::parse(text, 80));
  }
  CHECK_FALSE(Address::parse(std::string_view("1.2.3.4\0x", 9), 80));
  CHECK(is_ip_literal("192.168.1.1"));
  CHECK(is_ip_literal("[2001:db8::1]"));
  CHECK_FALSE(is_ip_literal("localhost"));
}

TEST_CASE("Address: equality compares family, address and port") {
  CHECK(Address::parse("127.0.0.1", 1) == Address::parse("127.0.0.1", 1));
  CHECK_FALSE(Address::parse("127.0.0.1", 1) == Address::parse("127.0.0.1", 2));
  CHECK_FALSE(Address::parse("127.0.0.1", 1) == Address::parse("::1", 1));
  CHECK(Address() == Address());
}
