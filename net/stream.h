// The byte stream both TCP and TLS implement, so the proxy relays between any two streams the
// same way, and the replayer's client speaks HTTP over either.
//
// Reading is push-based: start() installs the handler and begins reading; pause() / resume()
// are the backpressure switch (stop reading from a peer whose data cannot be passed on yet).
// Writing is queued: write() never blocks and never fails synchronously; queued_bytes() says
// how much is still waiting, so a caller pauses the other side above a high-water mark and
// resumes from a write callback (STYLE.md "Buffers and backpressure"; net/relay.h does it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "net/closable.h"
#include "net/error.h"
#include "net/loop.h"

namespace wa::net {

struct StreamHandler {
  // Bytes from the peer. The view is valid only during the call: keep a copy if needed.
  std::function<void(std::string_view bytes)> on_data = {};
  // The peer finished sending (TCP FIN, TLS close_notify). Writing may go on (half-close).
  std::function<void()> on_end = {};
  // The stream failed (reset, timeout, TLS error) and is of no further use: close it.
  std::function<void(const Error& error)> on_error = {};
};

// Runs once the bytes of one write have been handed to the kernel. It is not called when the
// write fails (on_error says so) or the stream is closed first; either way the callback object,
// and everything it captures, is destroyed only once the stream no longer uses the bytes.
using WriteCallback = std::function<void()>;

class Stream : public Closable {
 public:
  // Installs the handler (replacing any previous one, also from inside a callback) and starts
  // reading unless paused. An error that happened before start() is reported after it.
  virtual void start(StreamHandler handler) = 0;
  // Stops reading until resume(). Reading is paused at the socket, so the peer's data waits in
  // the kernel and TCP flow control slows the peer down, instead of buffering here.
  virtual void pause() = 0;
  virtual void resume() = 0;

  // Queues bytes, taking ownership (move a string in: no copy).
  virtual void write(std::string bytes, WriteCallback done = {}) = 0;
  // Queues bytes the caller keeps alive until `done` runs or is destroyed unrun (the stream
  // holds no copy). Capturing the owner of the bytes in `done` is the simple way to do that.
  virtual void write_ref(std::string_view bytes, WriteCallback done = {}) = 0;
  // Queues a copy of `parts`, one after the other (a head and a body, a chunk and its framing).
  // A stream may hand them to the kernel at once and copy only what it did not take; this one
  // copies them all.
  virtual void write_copy(std::initializer_list<std::string_view> parts) {
    std::string bytes;
    size_t size = 0;
    for (std::string_view part : parts)
      size += part.size();
    bytes.reserve(size);
    for (std::string_view part : parts)
      bytes.append(part);
    write(std::move(bytes));
  }
  // Half-closes the sending side once everything queued has been written; `done` runs then.
  virtual void shutdown(WriteCallback done = {}) = 0;
  // Bytes accepted by write() and not yet handed to the kernel.
  virtual size_t queued_bytes() const = 0;

  // Fails the stream with ErrorKind::timeout when for `ms` milliseconds nothing was read and no
  // write completed, while it waits for either (a caller-paused stream with nothing queued is
  // not waiting, so a stalled relay times out on the stalled side). 0 turns it off.
  virtual void set_idle_timeout(uint64_t ms) = 0;

  virtual Loop& loop() const = 0;
};

using StreamPtr = Owned<Stream>;

}  // namespace wa::net
