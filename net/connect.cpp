#include "net/connect.h"

namespace wa::net {

Owned<ConnectRequest> connect(Loop& loop, std::string_view host, uint16_t port,
                              ConnectOptions options, ConnectRequest::Callback done) {
  Owned<ConnectRequest> request(new ConnectRequest(loop, std::string(host), port, std::move(done)));
  request->timeout_ms_ = options.timeout_ms;
  request->start_.schedule(loop);
  return request;
}

ConnectRequest::ConnectRequest(Loop& loop, std::string host, uint16_t port, Callback done)
    : loop_(loop), host_(std::move(host)), port_(port), done_(std::move(done)) {}

std::string ConnectRequest::target() const {
  if (host_.find(':') != std::string::npos && host_.front() != '[') {
    return "[" + host_ + "]:" + std::to_string(port_);
  }
  return host_ + ":" + std::to_string(port_);
}

void ConnectRequest::on_start(void* arg) {
  auto* self = static_cast<ConnectRequest*>(arg);
  if (self->closing_) return;
  if (self->timeout_ms_ > 0) {
    self->timer_ = Timer::create(self->loop_);
    self->timer_->start(self->timeout_ms_, [self] {
      self->finish(Error{ErrorKind::timeout, UV_ETIMEDOUT,
                         "connect " + self->target() + ": timed out after " +
                             std::to_string(self->timeout_ms_) + " ms"});
    });
  }
  self->dns_ = resolve(
      self->loop_, self->host_, self->port_,
      [self](Outcome<std::vector<Address>> addresses) { self->on_resolved(std::move(addresses)); });
}

void ConnectRequest::on_resolved(Outcome<std::vector<Address>> addresses) {
  if (!addresses) {
    finish(addresses.error());
    return;
  }
  addresses_ = std::move(addresses).value();
  try_next();
}

// Addresses are tried one after the other: "localhost" often resolves to ::1 first, and a
// server listening on 127.0.0.1 only refuses that one at once.
void ConnectRequest::try_next() {
  while (!finished_ && next_ < addresses_.size()) {
    const Address& address = addresses_[next_++];
    attempt_.reset(new TcpConnection(loop_));
    int status = attempt_->connect_to(address, [this](int result) { on_connected(result); });
    if (status == 0) return;
    last_error_ = uv_error(ErrorKind::connect, status, "connect " + target());
    attempt_.reset();
  }
  if (!finished_) {
    finish(last_error_
               ? *last_error_
               : Error{ErrorKind::connect, UV_EINVAL, "connect " + target() + ": no address"});
  }
}

void ConnectRequest::on_connected(int status) {
  if (status != 0) {
    last_error_ = uv_error(ErrorKind::connect, status, "connect " + target());
    attempt_.reset();
    try_next();
    return;
  }
  attempt_->set_nodelay(true);
  attempt_->remember_addresses();
  finish(std::move(attempt_));
}

void ConnectRequest::finish(Outcome<Owned<TcpConnection>> outcome) {
  if (finished_ || closing_) return;
  finished_ = true;
  timer_.reset();
  dns_.reset();
  attempt_.reset();
  Callback done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(outcome));
}

void ConnectRequest::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  done_ = nullptr;
  start_.cancel();
  timer_.reset();
  dns_.reset();
  attempt_.reset();
  free_.schedule(loop_);
}

void ConnectRequest::on_free(void* arg) {
  auto* self = static_cast<ConnectRequest*>(arg);
  CloseCallback done = std::move(self->closed_);
  delete self;
  if (done) done();
}

}  // namespace wa::net
