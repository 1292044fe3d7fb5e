// Relaying bytes between two streams both ways, with backpressure: the proxy's tunnel for
// hosts it does not intercept, and the body pump of anything that streams.
//
// Each direction reads from one stream and writes to the other. When the writing side has more
// than `high_water` bytes queued, reading from the other side pauses (at the socket, so TCP
// flow control slows that peer down); it resumes once the queue has drained to `low_water`.
// Memory per relay is therefore bounded by about high_water plus one read (64 KiB) per
// direction, whatever the size of the transfer (STYLE.md "Buffers and backpressure").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "net/closable.h"
#include "net/error.h"
#include "net/stream.h"

namespace wa::net {

struct RelayOptions {
  size_t high_water = 256 * 1024;
  size_t low_water = 64 * 1024;
  uint64_t idle_timeout_ms = 0;  // applied to both streams when not 0
};

class Relay final : public Closable {
 public:
  // `error` is null when both directions ended cleanly: each end of stream was passed on as a
  // shutdown and everything was written. Otherwise it is the first failure of either stream.
  // Both streams are closed before `done` runs; drop the relay then.
  using DoneCallback = std::function<void(const Error* error)>;

  // Starts relaying between `a` and `b` (both should not be started yet, or their handlers are
  // replaced). Bytes the caller already holds for one side can be written to it first.
  static Owned<Relay> start(Owned<Stream> a, Owned<Stream> b, DoneCallback done,
                            RelayOptions options = {});

  uint64_t bytes_a_to_b() const { return a_to_b_.bytes; }
  uint64_t bytes_b_to_a() const { return b_to_a_.bytes; }
  // The most bytes ever queued toward either stream: the relay's memory high-water mark.
  size_t max_queued() const { return max_queued_; }

 private:
  struct Direction {
    Stream* from = nullptr;
    Stream* to = nullptr;
    uint64_t bytes = 0;
    bool paused = false;
    bool finished = false;  // the source ended and the sink's shutdown completed
  };

  Relay(Owned<Stream> a, Owned<Stream> b, DoneCallback done, RelayOptions options);
  ~Relay() override = default;
  void close(CloseCallback done) override;
  void wire(Direction& direction);
  void on_data(Direction& direction, std::string_view bytes);
  void on_drained(Direction& direction);
  void finish(const Error* error);
  static void on_free(void* arg);

  Owned<Stream> a_;
  Owned<Stream> b_;
  Loop& loop_;
  DoneCallback done_;
  RelayOptions options_;
  Direction a_to_b_;
  Direction b_to_a_;
  size_t max_queued_ = 0;
  CloseCallback closed_;
  Deferred free_{&on_free, this};
  bool finished_ = false;
  bool closing_ = false;
};

}  // namespace wa::net
