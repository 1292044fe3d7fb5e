#include "net/address.h"

#include <netinet/in.h>
#include <uv.h>

#include <cstring>

namespace wa::net {

namespace {

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

std::optional<Address> Address::parse(std::string_view host, uint16_t port) {
  std::string text(strip_brackets(host));
  if (text.empty() || text.find('\0') != std::string::npos) return std::nullopt;
  Address address;
  if (text.find(':') == std::string::npos) {
    // uv_ip4_addr is inet_pton: dotted quad only, no "127.1" or octal shortcuts.
    auto* in4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
    if (uv_ip4_addr(text.c_str(), port, in4) != 0) return std::nullopt;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address.storage_);
    if (uv_ip6_addr(text.c_str(), port, in6) != 0) return std::nullopt;
  }
  return address;
}

Address Address::from_sockaddr(const sockaddr* sa) {
  Address address;
  if (sa->sa_family == AF_INET) {
    std::memcpy(&address.storage_, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(&address.storage_, sa, sizeof(sockaddr_in6));
  }
  return address;
}

uint16_t Address::port() const {
  if (family() == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string Address::host() const {
  char text[INET6_ADDRSTRLEN + 1] = {};
  if (family() == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&storage_), text, sizeof text);
  } else if (family() == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&storage_), text, sizeof text);
  }
  return text;
}

std::string Address::to_string() const {
  std::string port_text = std::to_string(port());
  if (family() == AF_INET6) return "[" + host() + "]:" + port_text;
  return host() + ":" + port_text;
}

bool Address::is_loopback() const {
  if (family() == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  if (family() == AF_INET6) {
    const in6_addr& ip = reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&ip)) return true;
    return IN6_IS_ADDR_V4MAPPED(&ip) && ip.s6_addr[12] == 127;
  }
  return false;
}

bool operator==(const Address& a, const Address& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    auto* x = reinterpret_cast<const sockaddr_in*>(&a.storage_);
    auto* y = reinterpret_cast<const sockaddr_in*>(&b.storage_);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.family() == AF_INET6) {
    auto* x = reinterpret_cast<const sockaddr_in6*>(&a.storage_);
    auto* y = reinterpret_cast<const sockaddr_in6*>(&b.storage_);
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
  }
  return a.family() == AF_UNSPEC;
}

bool is_ip_literal(std::string_view host) {
  return Address::parse(host, 0).has_value();
}

}  // namespace wa::net
