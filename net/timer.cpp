#include "net/timer.h"

namespace wa::net {

Owned<Timer> Timer::create(Loop& loop) {
  return Owned<Timer>(new Timer(loop));
}

Timer::Timer(Loop& loop) : loop_(loop) {
  uv_timer_init(loop.uv(), &handle_);
  handle_.data = this;
}

void Timer::start(uint64_t timeout_ms, std::function<void()> fn) {
  if (closing_) return;
  fn_ = std::move(fn);
  arm(timeout_ms, 0);
}

void Timer::start_repeating(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> fn) {
  if (closing_) return;
  fn_ = std::move(fn);
  arm(timeout_ms, repeat_ms);
}

void Timer::restart(uint64_t timeout_ms) {
  if (closing_) return;
  arm(timeout_ms, 0);
}

void Timer::arm(uint64_t timeout_ms, uint64_t repeat_ms) {
  uv_timer_start(&handle_, on_timer, timeout_ms, repeat_ms);
}

void Timer::stop() {
  if (!closing_) uv_timer_stop(&handle_);
}

bool Timer::active() const {
  return !closing_ && uv_is_active(reinterpret_cast<const uv_handle_t*>(&handle_));
}

void Timer::on_timer(uv_timer_t* handle) {
  auto* self = static_cast<Timer*>(handle->data);
  if (self->closing_) return;
  // The callback is moved out while it runs: it may start the timer with a new callback, which
  // must not destroy the one still executing.
  std::function<void()> fn = std::move(self->fn_);
  self->fn_ = nullptr;
  if (fn) fn();
  if (!self->closing_ && !self->fn_) self->fn_ = std::move(fn);
}

void Timer::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), on_closed);
}

void Timer::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<Timer*>(handle->data);
  CloseCallback done = std::move(self->closed_);
  delete self;
  if (done) done();
}

}  // namespace wa::net
