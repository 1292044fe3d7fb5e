// Signals as loop events (uv_signal_t): `record` runs until SIGINT or SIGTERM, then flushes and
// exits 0 (DESIGN.md), which needs the signal delivered on the loop, not in a handler.
#pragma once

#include <uv.h>

#include <functional>

#include "net/closable.h"
#include "net/loop.h"

namespace wa::net {

class SignalWatch final : public Closable {
 public:
  // Calls `on_signal(signum)` on the loop each time `signum` arrives, until dropped. The watch
  // keeps the loop running; `keep_loop_alive = false` lets run() return while it still waits.
  static Owned<SignalWatch> watch(Loop& loop, int signum, std::function<void(int)> on_signal,
                                  bool keep_loop_alive = true);

 private:
  SignalWatch(Loop& loop, std::function<void(int)> on_signal);
  ~SignalWatch() override = default;
  void close(CloseCallback done) override;
  static void on_signal(uv_signal_t* handle, int signum);
  static void on_closed(uv_handle_t* handle);

  uv_signal_t handle_;
  std::function<void(int)> on_signal_;
  CloseCallback closed_;
  bool closing_ = false;
};

}  // namespace wa::net
