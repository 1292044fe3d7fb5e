// A socket address (IPv4 or IPv6 with its port), and the parsing of numeric hosts, which
// never needs the resolver.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wa::net {

class Address {
 public:
  Address() = default;

  // "127.0.0.1", "::1", "[::1]" (the URL form, RFC 3986 §3.2.2) or "fe80::1%lo"; nullopt for
  // anything that is not a numeric address, host names included.
  static std::optional<Address> parse(std::string_view host, uint16_t port);
  static Address from_sockaddr(const sockaddr* sa);

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  std::string host() const;       // "127.0.0.1", "::1"
  std::string to_string() const;  // "127.0.0.1:80", "[::1]:80"
  bool is_loopback() const;       // 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104

  friend bool operator==(const Address& a, const Address& b);

 private:
  sockaddr_storage storage_{};
};

// Whether `host` is an IPv4 or IPv6 literal (brackets allowed) rather than a name: TLS must not
// send an IP literal as SNI (RFC 6066 §3) and checks it against IP SANs instead.
bool is_ip_literal(std::string_view host);

}  // namespace wa::net
