#include "net/tcp_listener.h"

#include "net/descriptors.h"

namespace wa::net {

TcpListener::TcpListener(Loop& loop, AcceptCallback on_accept)
    : loop_(loop), on_accept_(std::move(on_accept)) {
  uv_tcp_init(loop.uv(), &tcp_);
  tcp_.data = this;
}

Outcome<Owned<TcpListener>> TcpListener::listen(Loop& loop, std::string_view host, uint16_t port,
                                                AcceptCallback on_accept, ListenOptions options) {
  std::optional<Address> address =
      host == "localhost" ? Address::parse("127.0.0.1", port) : Address::parse(host, port);
  if (!address) {
    return Error{ErrorKind::bind, UV_EINVAL,
                 "listen: '" + std::string(host) + "' is not a numeric IP address"};
  }
  Owned<TcpListener> listener(new TcpListener(loop, std::move(on_accept)));
  unsigned flags = options.ipv6_only && address->family() == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
  // libuv reports some bind errors (EADDRINUSE) only from uv_listen.
  int status = uv_tcp_bind(&listener->tcp_, address->sockaddr_ptr(), flags);
  if (status == 0) {
    status =
        uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp_), options.backlog, on_connection);
  }
  if (status != 0) return uv_error(ErrorKind::bind, status, "listen on " + address->to_string());
  sockaddr_storage bound{};
  int length = sizeof bound;
  uv_tcp_getsockname(&listener->tcp_, reinterpret_cast<sockaddr*>(&bound), &length);
  listener->address_ = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&bound));
  return listener;
}

void TcpListener::on_connection(uv_stream_t* server, int status) {
  auto* self = static_cast<TcpListener*>(server->data);
  if (self->closing_) return;
  if (status == UV_EMFILE || status == UV_ENFILE) {
    self->shed_one();
    return;
  }
  if (status < 0) {
    ++self->accept_errors_;
    return;
  }
  Owned<TcpConnection> connection(new TcpConnection(self->loop_));
  if (uv_accept(server, connection->uv_stream()) != 0) {
    ++self->accept_errors_;
    return;
  }
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(connection->uv_stream()), &fd) == 0 &&
      !within_budget(fd)) {
    self->shed_one();  // dropping `connection` closes it
    return;
  }
  connection->set_nodelay(true);
  connection->remember_addresses();
  if (self->on_accept_) self->on_accept_(std::move(connection));
}

void TcpListener::shed_one() {
  ++shed_;
  if (on_shed_) on_shed_();
}

void TcpListener::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
}

void TcpListener::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<TcpListener*>(handle->data);
  CloseCallback done = std::move(self->closed_);
  delete self;
  if (done) done();
}

}  // namespace wa::net
