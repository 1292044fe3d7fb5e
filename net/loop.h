// The event loop: one uv_loop_t per thread, owned here, plus a queue of deferred work that the
// other objects of net/ use so that no callback ever runs re-entrantly inside a caller's method.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace wa::net {

class Loop;

// A piece of work to run on a later loop turn. An object embeds one per kind of deferred step;
// scheduling twice before it runs runs it once, and destroying it unschedules it, so a
// Deferred never calls into freed memory. A plain function pointer and argument (not a
// std::function) so the task may delete its own owner while running.
class Deferred {
 public:
  using Fn = void (*)(void* arg);
  Deferred(Fn fn, void* arg) : fn_(fn), arg_(arg) {}
  ~Deferred() { cancel(); }
  Deferred(const Deferred&) = delete;
  Deferred& operator=(const Deferred&) = delete;

  void schedule(Loop& loop);
  void cancel();
  bool scheduled() const { return next_ != nullptr; }

 private:
  friend class Loop;
  void unlink();

  Deferred* prev_ = nullptr;
  Deferred* next_ = nullptr;
  Fn fn_;
  void* arg_;
};

class Loop {
 public:
  // Also sets SIGPIPE to be ignored, process-wide (see loop.cpp).
  Loop();
  // Closes the loop if close() was not called; handles still open then are closed without
  // their owners being told (a leak, but no dangling pointer into freed loop memory).
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* uv() { return &loop_; }

  // Runs until stop() or until nothing is left to do.
  void run();
  // One turn, waiting for events if there is nothing to do yet; false when nothing is left.
  bool run_once();
  // One turn without waiting.
  void run_nowait();
  // Makes run() return after the current turn.
  void stop();

  // Lets pending close callbacks, deferred frees and cancelled requests finish, then closes the
  // loop. 0 when everything was released, UV_EBUSY when handles or requests are still open
  // (open_handles() says which): every test ends by checking this is 0.
  int close();

  // The types of the handles still open ("tcp, timer (closing)"), to debug a close() != 0.
  std::string open_handles();

  // The loop's cached time in milliseconds (uv_now), the clock of every timeout in net/.
  uint64_t now() const { return uv_now(&loop_); }

  // Runs `fn` on a later loop turn (never inside the caller).
  void post(std::function<void()> fn);

  // A scratch buffer for socket reads. libuv calls alloc, read and the read callback in a row
  // for one stream at a time, and read callbacks only see a view of the bytes, so one buffer
  // serves every connection of the loop: 1,000 idle connections cost no read buffers at all.
  char* read_buffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferSize = 64 * 1024;

 private:
  friend class Deferred;
  void enqueue(Deferred* task);
  static void on_idle(uv_idle_t* idle);
  void run_deferred();
  bool has_closing_handles();

  uv_loop_t loop_;
  // Active only while deferred work is queued, so that the loop polls without blocking and the
  // queue keeps the loop alive, like any pending request would.
  uv_idle_t idle_;
  Deferred queue_{nullptr, nullptr};  // sentinel of a circular list
  std::unique_ptr<char[]> read_buffer_;
  bool idle_closed_ = false;
  bool closed_ = false;
};

}  // namespace wa::net
