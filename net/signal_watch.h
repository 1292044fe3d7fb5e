// Process signals as loop events (uv_signal_t): `record` runs until SIGINT or SIGTERM, then
// flushes and exits 0 (DESIGN.md), which needs the signal delivered on the loop, where the
// flushing can be done, not in an async-signal handler.
#pragma once

#include <uv.h>

#include <functional>
#include <initializer_list>
#include <vector>

#include "net/closable.h"
#include "net/loop.h"

namespace wa::net {

class SignalWatch final : public Closable {
 public:
  // Calls `fn` on the loop with the signal number each time one of `signals` arrives, until the
  // watch is dropped. The watch does not keep the loop alive by itself (uv_unref): a loop with
  // nothing else to do still ends.
  static Owned<SignalWatch> create(Loop& loop, std::initializer_list<int> signals,
                                   std::function<void(int)> fn);

 private:
  explicit SignalWatch(Loop& loop) : loop_(loop) {}
  ~SignalWatch() override = default;
  void close(CloseCallback done) override;
  static void on_signal(uv_signal_t* handle, int signum);
  static void on_closed(uv_handle_t* handle);
  static void on_free(void* arg);

  Loop& loop_;
  std::vector<uv_signal_t*> handles_;  // one per signal, each freed in its close callback
  std::function<void(int)> fn_;
  CloseCallback closed_;
  Deferred free_{&on_free, this};
  size_t open_ = 0;
  bool closing_ = false;
};

}  // namespace wa::net
