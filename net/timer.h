// A one-shot or repeating timer on the loop's clock (uv_now, milliseconds).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

#include "net/closable.h"
#include "net/loop.h"

namespace wa::net {

class Timer final : public Closable {
 public:
  static Owned<Timer> create(Loop& loop);

  // Calls `fn` once, `timeout_ms` from now. Starting again replaces the previous schedule and
  // callback, also from inside the callback.
  void start(uint64_t timeout_ms, std::function<void()> fn);
  // Calls `fn` after `timeout_ms`, then every `repeat_ms`.
  void start_repeating(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> fn);
  // Re-arms the last callback `timeout_ms` from now, one-shot.
  void restart(uint64_t timeout_ms);
  void stop();
  bool active() const;

  Loop& loop() const { return loop_; }

 private:
  explicit Timer(Loop& loop);
  ~Timer() override = default;
  void close(CloseCallback done) override;
  void arm(uint64_t timeout_ms, uint64_t repeat_ms);
  static void on_timer(uv_timer_t* handle);
  static void on_closed(uv_handle_t* handle);

  Loop& loop_;
  uv_timer_t handle_;
  std::function<void()> fn_;
  CloseCallback closed_;
  bool closing_ = false;
};

}  // namespace wa::net
