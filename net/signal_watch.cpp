#include "net/signal_watch.h"

namespace wa::net {

Owned<SignalWatch> SignalWatch::watch(Loop& loop, int signum, std::function<void(int)> on_signal,
                                      bool keep_loop_alive) {
  Owned<SignalWatch> watch(new SignalWatch(loop, std::move(on_signal)));
  uv_signal_start(&watch->handle_, &SignalWatch::on_signal, signum);
  if (!keep_loop_alive) uv_unref(reinterpret_cast<uv_handle_t*>(&watch->handle_));
  return watch;
}

SignalWatch::SignalWatch(Loop& loop, std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  uv_signal_init(loop.uv(), &handle_);
  handle_.data = this;
}

void SignalWatch::on_signal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<SignalWatch*>(handle->data);
  if (self->closing_ || !self->on_signal_) return;
  // Moved out while it runs, so that dropping the watch from inside it is safe.
  std::function<void(int)> callback = std::move(self->on_signal_);
  callback(signum);
  if (!self->closing_) self->on_signal_ = std::move(callback);
}

void SignalWatch::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), on_closed);
}

void SignalWatch::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<SignalWatch*>(handle->data);
  CloseCallback done = std::move(self->closed_);
  delete self;
  if (done) done();
}

}  // namespace wa::net
