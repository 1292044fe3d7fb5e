#include "net/dns.h"

#include <netdb.h>

#include <algorithm>

namespace wa::net {

Owned<DnsQuery> resolve(Loop& loop, std::string_view host, uint16_t port, DnsQuery::Callback done) {
  Owned<DnsQuery> query(new DnsQuery(loop, std::move(done)));
  query->host_ = std::string(host);
  query->port_ = port;
  if (auto numeric = Address::parse(host, port)) {
    query->ready_.emplace(std::vector<Address>{*numeric});
  } else if (host.empty() || host.find('\0') != std::string_view::npos) {
    query->ready_.emplace(Error{ErrorKind::resolve, UV_EINVAL, "resolve: empty host name"});
  } else {
    addrinfo hints{};
    // No AI_ADDRCONFIG: on a machine whose only interface is loopback it would hide the
    // loopback addresses of "localhost" too (glibc does not count lo as configured).
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    query->req_.data = query.get();
    int status = uv_getaddrinfo(loop.uv(), &query->req_, &DnsQuery::on_resolved,
                                query->host_.c_str(), nullptr, &hints);
    if (status == 0) {
      query->in_flight_ = true;
      return query;
    }
    query->ready_.emplace(uv_error(ErrorKind::resolve, status, "resolve " + query->host_));
  }
  query->tick_.schedule(loop);
  return query;
}

void DnsQuery::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* result) {
  auto* self = static_cast<DnsQuery*>(req->data);
  self->in_flight_ = false;
  if (self->closing_) {
    uv_freeaddrinfo(result);
    self->tick_.schedule(self->loop_);
    return;
  }
  if (status != 0) {
    uv_freeaddrinfo(result);
    self->deliver(uv_error(ErrorKind::resolve, status, "resolve " + self->host_));
    return;
  }
  std::vector<Address> addresses;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    Address address = Address::from_sockaddr(ai->ai_addr);
    if (auto with_port = Address::parse(address.host(), self->port_)) address = *with_port;
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
      addresses.push_back(address);
    }
  }
  uv_freeaddrinfo(result);
  if (addresses.empty()) {
    self->deliver(Error{ErrorKind::resolve, UV_EAI_NONAME,
                        "resolve " + self->host_ + ": no IPv4 or IPv6 address"});
    return;
  }
  self->deliver(std::move(addresses));
}

void DnsQuery::deliver(Outcome<std::vector<Address>> outcome) {
  Callback done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(outcome));
}

void DnsQuery::on_tick(void* arg) {
  auto* self = static_cast<DnsQuery*>(arg);
  if (self->closing_) {
    CloseCallback done = std::move(self->closed_);
    delete self;
    if (done) done();
    return;
  }
  if (self->ready_) {
    Outcome<std::vector<Address>> outcome = std::move(*self->ready_);
    self->ready_.reset();
    self->deliver(std::move(outcome));
  }
}

void DnsQuery::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  done_ = nullptr;
  if (in_flight_) {
    // Succeeds only while the lookup waits in the pool's queue; either way on_resolved runs
    // later (with UV_EAI_CANCELED or the answer) and frees the query.
    uv_cancel(reinterpret_cast<uv_req_t*>(&req_));
    return;
  }
  tick_.schedule(loop_);
}

}  // namespace wa::net
