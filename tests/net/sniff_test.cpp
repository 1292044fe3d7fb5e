#include "net/sniff.h"

#include <doctest/doctest.h>

#include <string>

using wa::net::classify_tunnel_start;
using wa::net::TunnelStart;

TEST_CASE("sniff: a ClientHello record is TLS; every shorter prefix needs more") {
  const std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  CHECK(classify_tunnel_start(hello) == TunnelStart::tls);
  for (size_t n = 0; n < 6; ++n) {
    CAPTURE(n);
    CHECK(classify_tunnel_start(hello.substr(0, n)) == TunnelStart::need_more);
  }
  CHECK(classify_tunnel_start(hello.substr(0, 6)) == TunnelStart::tls);
}

TEST_CASE("sniff: plain HTTP and other records are not TLS, decided at the first odd byte") {
  CHECK(classify_tunnel_start("GET / HTTP/1.1\r\n") == TunnelStart::other);
  CHECK(classify_tunnel_start("G") == TunnelStart::other);
  CHECK(classify_tunnel_start(std::string("\x16\x02", 2)) == TunnelStart::other);
  CHECK(classify_tunnel_start(std::string("\x16\x03\x09", 3)) == TunnelStart::other);
  // A handshake record that is a ServerHello (type 2), an application data record, an empty
  // handshake record, an SSLv2-style hello.
  CHECK(classify_tunnel_start(std::string("\x16\x03\x03\x00\x30\x02", 6)) == TunnelStart::other);
  CHECK(classify_tunnel_start(std::string("\x17\x03\x03\x00\x30\x01", 6)) == TunnelStart::other);
  CHECK(classify_tunnel_start(std::string("\x16\x03\x03\x00\x00\x01", 6)) == TunnelStart::other);
  CHECK(classify_tunnel_start(std::string("\x80\x2e\x01\x03\x01", 5)) == TunnelStart::other);
}
