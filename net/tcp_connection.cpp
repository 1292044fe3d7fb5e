#include "net/tcp_connection.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "net/descriptors.h"

namespace wa::net {

struct TcpConnection::WriteRequest {
  uv_write_t req;
  TcpConnection* connection;
  std::string owned;  // the bytes of write(); empty for write_ref()
  size_t size;
  WriteCallback done;
};

TcpConnection::TcpConnection(Loop& loop) : loop_(loop) {
  uv_tcp_init(loop.uv(), &tcp_);
  tcp_.data = this;
}

void TcpConnection::start(StreamHandler handler) {
  if (closing_) return;
  if (dispatching_) {
    next_handler_ = std::move(handler);
  } else {
    handler_ = std::move(handler);
  }
  started_ = true;
  last_activity_ = loop_.now();
  // A handler installed after the peer's FIN still hears of it (the proxy hands a connection
  // over after sniffing its first bytes, and the FIN may have come with them).
  end_delivered_ = false;
  if (pending_error_ || ended_) later_.schedule(loop_);
  update_reading();
}

void TcpConnection::pause() {
  if (closing_) return;
  paused_ = true;
  update_reading();
}

void TcpConnection::resume() {
  if (closing_) return;
  paused_ = false;
  // Time spent paused by the owner is not idleness of this peer.
  last_activity_ = loop_.now();
  update_reading();
}

void TcpConnection::update_reading() {
  bool want = started_ && !paused_ && !ended_ && !failed_ && !closing_;
  if (want == uv_reading_) return;
  if (want) {
    int status = uv_read_start(uv_stream(), on_alloc, on_read);
    if (status != 0) {
      fail_later(uv_error(ErrorKind::io, status, "read"));
      return;
    }
  } else {
    uv_read_stop(uv_stream());
  }
  uv_reading_ = want;
}

void TcpConnection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(handle->data);
  *buf = uv_buf_init(self->loop_.read_buffer(), Loop::kReadBufferSize);
}

void TcpConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<TcpConnection*>(stream->data);
  if (self->closing_ || self->failed_) return;
  if (nread > 0) {
    self->bytes_read_ += static_cast<uint64_t>(nread);
    self->last_activity_ = self->loop_.now();
    self->deliver_data(std::string_view(buf->base, static_cast<size_t>(nread)));
  } else if (nread == UV_EOF) {
    self->ended_ = true;
    self->uv_reading_ = false;  // libuv stops reading at EOF by itself
    uv_read_stop(stream);
    self->deliver_end();
  } else if (nread < 0) {
    self->fail(uv_error(ErrorKind::io, static_cast<int>(nread), "read"));
  }
  // nread == 0 is EAGAIN: nothing to do.
}

void TcpConnection::write(std::string bytes, WriteCallback done) {
  if (closing_ || failed_) return;
  // Nothing queued and no one to tell: hand the bytes to the kernel now. Through uv_write, a
  // write that completes at once still ends in libuv's drain step, which re-registers the
  // socket with epoll: one epoll_ctl per write, two per relayed exchange. What the kernel does
  // not take goes the usual way.
  if (!done && !bytes.empty() && bytes.size() <= UINT32_MAX && !shutting_down_ &&
      queued_bytes() == 0) {
    uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
    int n = uv_try_write(uv_stream(), &buf, 1);
    if (n > 0) {
      bytes_written_ += static_cast<size_t>(n);
      last_activity_ = loop_.now();
      if (static_cast<size_t>(n) == bytes.size()) return;
      bytes.erase(0, static_cast<size_t>(n));
    }
    // An error other than EAGAIN is met again by uv_write and reported as a failed write.
  }
  auto* request = new WriteRequest{{}, this, std::move(bytes), 0, std::move(done)};
  request->size = request->owned.size();
  submit(request, request->owned.data(), request->owned.size());
}

void TcpConnection::write_copy(std::initializer_list<std::string_view> parts) {
  if (closing_ || failed_) return;
  size_t total = 0;
  for (std::string_view part : parts)
    total += part.size();
  if (total == 0) return;
  size_t taken = 0;
  constexpr size_t kMaxParts = 8;
  if (!shutting_down_ && queued_bytes() == 0 && parts.size() <= kMaxParts && total <= UINT32_MAX) {
    uv_buf_t bufs[kMaxParts];
    unsigned count = 0;
    for (std::string_view part : parts) {
      if (!part.empty())
        bufs[count++] = uv_buf_init(const_cast<char*>(part.data()), unsigned(part.size()));
    }
    int n = uv_try_write(uv_stream(), bufs, count);
    if (n > 0) {
      taken = static_cast<size_t>(n);
      bytes_written_ += taken;
      last_activity_ = loop_.now();
      if (taken == total) return;
    }
  }
  // The rest, copied, the usual way.
  std::string rest;
  rest.reserve(total - taken);
  for (std::string_view part : parts) {
    size_t skip = std::min(taken, part.size());
    taken -= skip;
    rest.append(part.substr(skip));
  }
  auto* request = new WriteRequest{{}, this, std::move(rest), 0, {}};
  request->size = request->owned.size();
  submit(request, request->owned.data(), request->owned.size());
}

void TcpConnection::write_ref(std::string_view bytes, WriteCallback done) {
  if (closing_ || failed_) return;
  auto* request = new WriteRequest{{}, this, {}, bytes.size(), std::move(done)};
  submit(request, bytes.data(), bytes.size());
}

void TcpConnection::submit(WriteRequest* request, const char* data, size_t size) {
  request->req.data = request;
  // libuv copies the uv_buf_t array, not the bytes: those stay where the request points. A
  // uv_buf_t holds at most 4 GiB, so a larger write is split over several.
  constexpr size_t kMaxBuf = size_t{1} << 30;
  uv_buf_t one = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(size));
  std::vector<uv_buf_t> many;
  if (size > kMaxBuf) {
    for (size_t offset = 0; offset < size; offset += kMaxBuf) {
      size_t n = std::min(kMaxBuf, size - offset);
      many.push_back(uv_buf_init(const_cast<char*>(data) + offset, static_cast<unsigned>(n)));
    }
  }
  int status = many.empty() ? uv_write(&request->req, uv_stream(), &one, 1, on_write)
                            : uv_write(&request->req, uv_stream(), many.data(),
                                       static_cast<unsigned>(many.size()), on_write);
  if (status != 0) {
    delete request;
    fail_later(uv_error(ErrorKind::io, status, "write"));
  }
}

void TcpConnection::on_write(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  TcpConnection* self = request->connection;
  // UV_ECANCELED: the connection was closed with this write still queued.
  if (status == UV_ECANCELED || self->closing_) return;
  if (status < 0) {
    self->fail(uv_error(ErrorKind::io, status, "write"));
    return;
  }
  self->bytes_written_ += request->size;
  self->last_activity_ = self->loop_.now();
  if (request->done && !self->failed_) request->done();
}

void TcpConnection::shutdown(WriteCallback done) {
  if (closing_ || failed_ || shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  shutdown_req_.data = this;
  int status = uv_shutdown(&shutdown_req_, uv_stream(), on_shutdown);
  if (status != 0) {
    shutting_down_ = false;
    fail_later(uv_error(ErrorKind::io, status, "shutdown"));
  }
}

void TcpConnection::on_shutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<TcpConnection*>(req->data);
  self->shutting_down_ = false;
  WriteCallback done = std::move(self->shutdown_done_);
  if (status == UV_ECANCELED || self->closing_ || self->failed_) return;
  if (status < 0) {
    // The peer reset the connection before our FIN could follow the queued bytes.
    self->fail(uv_error(ErrorKind::io, status, "shutdown"));
    return;
  }
  if (done) done();
}

size_t TcpConnection::queued_bytes() const {
  return uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
}

void TcpConnection::set_nodelay(bool on) {
  if (!closing_) uv_tcp_nodelay(&tcp_, on ? 1 : 0);
}

void TcpConnection::remember_addresses() {
  sockaddr_storage storage{};
  int length = sizeof storage;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    peer_ = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&storage));
  }
  length = sizeof storage;
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    local_ = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&storage));
  }
}

// Idle timeout. Reads and write completions only record the time (no timer heap operation per
// read); the timer fires at the earliest possible deadline and re-arms itself for the rest.
void TcpConnection::set_idle_timeout(uint64_t ms) {
  if (closing_) return;
  idle_ms_ = ms;
  if (ms == 0) {
    if (timer_ready_) uv_timer_stop(&idle_timer_);
    return;
  }
  if (!timer_ready_) {
    uv_timer_init(loop_.uv(), &idle_timer_);
    idle_timer_.data = this;
    timer_ready_ = true;
  }
  last_activity_ = loop_.now();
  if (!failed_) uv_timer_start(&idle_timer_, on_idle, ms, 0);
}

bool TcpConnection::waiting() const {
  return uv_reading_ || queued_bytes() > 0 || shutting_down_;
}

void TcpConnection::on_idle(uv_timer_t* timer) {
  auto* self = static_cast<TcpConnection*>(timer->data);
  if (self->closing_ || self->failed_ || self->idle_ms_ == 0) return;
  uint64_t now = self->loop_.now();
  if (!self->waiting()) self->last_activity_ = now;
  uint64_t quiet = now - self->last_activity_;
  if (quiet >= self->idle_ms_) {
    self->fail(Error{
        ErrorKind::timeout, UV_ETIMEDOUT,
        "idle timeout: nothing received or sent for " + std::to_string(self->idle_ms_) + " ms"});
    return;
  }
  uv_timer_start(&self->idle_timer_, on_idle, self->idle_ms_ - quiet, 0);
}

int TcpConnection::connect_to(const Address& to, std::function<void(int status)> connected) {
  // The descriptor reserve is for the recording, not for more connections (net/descriptors.h).
  if (!descriptor_available()) return UV_EMFILE;
  connected_ = std::move(connected);
  connect_req_.data = this;
  return uv_tcp_connect(&connect_req_, &tcp_, to.sockaddr_ptr(), on_connect);
}

void TcpConnection::on_connect(uv_connect_t* req, int status) {
  auto* self = static_cast<TcpConnection*>(req->data);
  if (status == UV_ECANCELED || self->closing_) return;
  std::function<void(int)> connected = std::move(self->connected_);
  self->connected_ = nullptr;
  if (connected) connected(status);
}

// Errors found inside a libuv callback are reported at once; errors found inside a method the
// owner called are reported on the next turn (closable.h: no re-entrant callbacks).
void TcpConnection::fail(Error error) {
  if (failed_ || closing_) return;
  failed_ = true;
  update_reading();
  if (timer_ready_) uv_timer_stop(&idle_timer_);
  if (!started_) {
    pending_error_ = std::move(error);
    return;
  }
  deliver_error(error);
}

void TcpConnection::fail_later(Error error) {
  if (failed_ || closing_) return;
  failed_ = true;
  update_reading();
  if (timer_ready_) uv_timer_stop(&idle_timer_);
  pending_error_ = std::move(error);
  if (started_) later_.schedule(loop_);
}

void TcpConnection::on_later(void* arg) {
  auto* self = static_cast<TcpConnection*>(arg);
  if (self->closing_) return;
  if (self->pending_error_) {
    Error error = std::move(*self->pending_error_);
    self->pending_error_.reset();
    self->deliver_error(error);
    return;
  }
  if (self->ended_ && !self->failed_ && !self->end_delivered_) self->deliver_end();
}

void TcpConnection::deliver_data(std::string_view bytes) {
  if (!handler_.on_data) return;
  dispatching_ = true;
  handler_.on_data(bytes);
  end_dispatch();
}

void TcpConnection::deliver_end() {
  end_delivered_ = true;
  if (!handler_.on_end) return;
  dispatching_ = true;
  handler_.on_end();
  end_dispatch();
}

void TcpConnection::deliver_error(const Error& error) {
  if (!handler_.on_error) return;
  dispatching_ = true;
  handler_.on_error(error);
  end_dispatch();
}

void TcpConnection::end_dispatch() {
  dispatching_ = false;
  if (next_handler_ && !closing_) {
    handler_ = std::move(*next_handler_);
    next_handler_.reset();
  }
}

void TcpConnection::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  later_.cancel();
  // Pending writes, the shutdown and a pending connect are cancelled by uv_close; their
  // callbacks run (with UV_ECANCELED) before on_closed, while this object still exists.
  open_handles_ = 1;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
  if (timer_ready_) {
    ++open_handles_;
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_timer_), on_closed);
  }
}

void TcpConnection::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<TcpConnection*>(handle->data);
  if (--self->open_handles_ > 0) return;
  CloseCallback done = std::move(self->closed_);
  delete self;
  if (done) done();
}

}  // namespace wa::net
