#include "net/relay.h"

#include <algorithm>
#include <string>

namespace wa::net {

Owned<Relay> Relay::start(Owned<Stream> a, Owned<Stream> b, DoneCallback done,
                          RelayOptions options) {
  Owned<Relay> relay(new Relay(std::move(a), std::move(b), std::move(done), options));
  relay->wire(relay->a_to_b_);
  relay->wire(relay->b_to_a_);
  return relay;
}

Relay::Relay(Owned<Stream> a, Owned<Stream> b, DoneCallback done, RelayOptions options)
    : a_(std::move(a)),
      b_(std::move(b)),
      loop_(a_->loop()),
      done_(std::move(done)),
      options_(options) {
  options_.low_water = std::min(options_.low_water, options_.high_water);
  a_to_b_.from = a_.get();
  a_to_b_.to = b_.get();
  b_to_a_.from = b_.get();
  b_to_a_.to = a_.get();
}

void Relay::wire(Direction& direction) {
  if (options_.idle_timeout_ms > 0) direction.from->set_idle_timeout(options_.idle_timeout_ms);
  direction.from->start(
      {.on_data = [this, &direction](std::string_view bytes) { on_data(direction, bytes); },
       .on_end =
           [this, &direction] {
             direction.to->shutdown([this, &direction] {
               direction.finished = true;
               if (a_to_b_.finished && b_to_a_.finished) finish(nullptr);
             });
           },
       .on_error = [this](const Error& error) { finish(&error); }});
}

void Relay::on_data(Direction& direction, std::string_view bytes) {
  direction.bytes += bytes.size();
  // One copy: the read view is only valid during this call.
  direction.to->write(std::string(bytes), [this, &direction] { on_drained(direction); });
  size_t queued = direction.to->queued_bytes();
  max_queued_ = std::max(max_queued_, queued);
  if (!direction.paused && queued > options_.high_water) {
    direction.paused = true;
    direction.from->pause();
  }
}

void Relay::on_drained(Direction& direction) {
  if (direction.paused && direction.to->queued_bytes() <= options_.low_water) {
    direction.paused = false;
    direction.from->resume();
  }
}

void Relay::finish(const Error* error) {
  if (finished_ || closing_) return;
  finished_ = true;
  // The error may belong to a stream about to be closed: keep a copy for the callback.
  std::optional<Error> copy;
  if (error != nullptr) copy = *error;
  a_.reset();
  b_.reset();
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  if (done) done(copy ? &*copy : nullptr);
}

void Relay::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  done_ = nullptr;
  a_.reset();
  b_.reset();
  free_.schedule(loop_);
}

void Relay::on_free(void* arg) {
  auto* self = static_cast<Relay*>(arg);
  CloseCallback done = std::move(self->closed_);
  delete self;
  if (done) done();
}

}  // namespace wa::net
