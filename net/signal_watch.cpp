#include "net/signal_watch.h"

namespace wa::net {

Owned<SignalWatch> SignalWatch::create(Loop& loop, std::initializer_list<int> signals,
                                       std::function<void(int)> fn) {
  Owned<SignalWatch> watch(new SignalWatch(loop));
  watch->fn_ = std::move(fn);
  for (int signum : signals) {
    auto* handle = new uv_signal_t;
    uv_signal_init(loop.uv(), handle);
    handle->data = watch.get();
    watch->handles_.push_back(handle);
    ++watch->open_;
    uv_signal_start(handle, on_signal, signum);
    uv_unref(reinterpret_cast<uv_handle_t*>(handle));
  }
  return watch;
}

void SignalWatch::on_signal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<SignalWatch*>(handle->data);
  // Dropping the watch from inside fn is safe: fn_ lives until the close callbacks have run.
  if (!self->closing_ && self->fn_) self->fn_(signum);
}

void SignalWatch::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  if (handles_.empty()) {
    free_.schedule(loop_);  // never freed inside the caller (closable.h)
    return;
  }
  for (uv_signal_t* handle : handles_) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle), on_closed);
  }
}

void SignalWatch::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<SignalWatch*>(handle->data);
  delete reinterpret_cast<uv_signal_t*>(handle);
  if (--self->open_ == 0) on_free(self);
}

void SignalWatch::on_free(void* arg) {
  auto* self = static_cast<SignalWatch*>(arg);
  CloseCallback done = std::move(self->closed_);
  delete self;
  if (done) done();
}

}  // namespace wa::net
