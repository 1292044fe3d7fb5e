// The recorder: turns what the proxy relays into capture events for the writer.
//
// It runs on the proxy's event loop. It caps recorded bodies (keeping the full length, and a
// SHA-256 of the whole body when it had to cut), splits Cookie and Set-Cookie headers into
// cookie events, and decodes Engine.IO / Socket.IO traffic (both transports, across the upgrade)
// through protocol/socket_traffic.h, so that recordings are queryable by event.
//
// Without a writer (a relay that records nothing) every call is a cheap no-op.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/digest.h"
#include "protocol/http1.h"
#include "protocol/websocket.h"
#include "proxy/event_stream.h"
#include "storage/capture_assembler.h"
#include "storage/model.h"
#include "storage/writer.h"

namespace wa::proxy {

// Microseconds since the Unix epoch; injected so tests can be exact.
using Clock = std::function<int64_t()>;
Clock system_clock();

// A body as it streams through: the first `cap` bytes are kept; past the cap only the length
// and a running SHA-256 of the whole body go on (hashing starts only once a body is cut, so
// ordinary bodies cost a copy and nothing more).
class BodyCapture {
 public:
  explicit BodyCapture(size_t cap = 0) : bytes_(cap) {}

  void set_cap(size_t cap) { bytes_.set_cap(cap); }
  // Room for a body of `expected` bytes up front (at most the cap), so that the copy is one
  // allocation of the right size rather than a doubling series of fresh ones, each a round of
  // page faults. For bodies whose length the upstream declared; a client's claim is not trusted
  // with memory before its bytes arrive.
  void reserve(uint64_t expected) { bytes_.reserve(expected); }
  void append(std::string_view bytes) { bytes_.append(bytes); }
  uint64_t size() const { return bytes_.size(); }
  bool truncated() const { return bytes_.truncated(); }
  std::string_view kept() const { return bytes_.kept(); }
  store::Payload take();

 private:
  digest::CappedBytes bytes_;
};

struct RecorderOptions {
  size_t max_body = 4u << 20;  // bytes of each body or WebSocket message kept
};

struct RecorderStats {
  uint64_t exchanges = 0;
  uint64_t ws_messages = 0;
  // Socket.IO packets with an event name, as `workalready ls` counts them (its recording_counts
  // view): not acks, heartbeats or attachments.
  uint64_t socket_events = 0;
  uint64_t cookies_set = 0;
  uint64_t errors = 0;  // exchanges recorded with an error
  // Socket packets or whole polling bodies recorded as not decoded (a corrupt payload, a body
  // whose Content-Encoding did not decode): kept with their reason, never dropped.
  uint64_t undecodable = 0;
  // WebSocket messages recorded with an error: frames a peer would refuse (kept as they came),
  // and the mark left where a direction's frames could no longer be read.
  uint64_t ws_invalid = 0;
  uint64_t ws_lost = 0;  // directions whose frames could no longer be read
  uint64_t ws_cut = 0;   // messages over --max-body, kept capped with length and hash
  // Capture events the writer refused (it failed: a full disk, an I/O error, no descriptor
  // left); the first reason. These are lost, and `record` says so and fails.
  uint64_t lost = 0;
  std::string lost_why;
  uint64_t sse_events = 0;
};

// One exchange being relayed. The session fills it in as the request and response pass and
// hands it to Recorder::exchange_done() when it is over, whichever way it ended.
struct ExchangeRecord {
  store::Exchange row;  // method, url, headers, status, timings, error
  BodyCapture request_body, response_body;
  bool recorded = true;  // false for hosts --include/--exclude leave out
  // Socket packets decoded from the bodies by Recorder::observe(), written with the row.
  std::vector<store::CaptureEvent> packets;
  bool observed = false;
  // Set by Recorder::response_head() for a recorded event stream: its events are recorded as
  // its body passes (response_body()), not when the exchange is done.
  std::unique_ptr<EventStreamCapture> event_stream;
};

class Recorder {
 public:
  // `writer` may be null: nothing is recorded then.
  Recorder(store::CaptureWriter* writer, Clock clock, RecorderOptions options = {});

  // Attaches the writer once it is open (record binds its port first, so that the recording
  // names the real address).
  void attach(store::CaptureWriter* writer) { writer_ = writer; }
  // Called once, when the writer first refuses an event (everything later is lost too).
  void on_lost(std::function<void(const std::string& why)> f) { on_lost_ = std::move(f); }
  bool enabled() const { return writer_ != nullptr; }
  int64_t now() const { return clock_(); }
  const RecorderOptions& options() const { return options_; }
  const RecorderStats& stats() const { return stats_; }

  // A client connection (or a connection inside a CONNECT tunnel) and its end.
  store::Id connection_opened(store::Connection connection);
  void connection_closed(store::Id id, std::string error = {});

  // Ids for exchanges, handed out when a request starts so WebSocket messages and packets can
  // refer to it; 0 when not recording.
  store::Id new_exchange_id();
  // Decodes the socket traffic of a finished exchange, so that its console line can say when
  // something in it did not decode: the first reason, or "". exchange_done() calls it when the
  // caller did not.
  std::string observe(ExchangeRecord& exchange);
  void exchange_done(ExchangeRecord& exchange);

  // The final response head of `exchange` is in its row: a `text/event-stream` response
  // (HTML Living Standard §9.2) gets an event stream capture.
  void response_head(ExchangeRecord& exchange);
  // Response body bytes (transfer coding removed) as they are relayed; only event streams use
  // them here (the body itself is kept by exchange.response_body).
  void response_body(ExchangeRecord& exchange, std::string_view bytes) {
    if (exchange.event_stream) event_stream_data(exchange, bytes);
  }

  // A WebSocket on the connection that exchange `exchange_id` upgraded, for `target` (the
  // request target of the upgrade). Messages of both directions, then its end.
  void websocket_opened(store::Id exchange_id, std::string_view target);
  void websocket_message(store::Id exchange_id, store::Direction direction,
                         const ws::Message& message);
  void websocket_closed(store::Id exchange_id);

  // Packets still waiting for attachments; then nothing more is recorded.
  void finish();

 private:
  void push(store::CaptureEvent event);
  void push_all(std::vector<store::CaptureEvent> events);
  void event_stream_data(ExchangeRecord& exchange, std::string_view bytes);
  void push_sse(std::vector<store::SseEvent>& events);

  store::CaptureWriter* writer_;
  std::function<void(const std::string&)> on_lost_;
  Clock clock_;
  RecorderOptions options_;
  RecorderStats stats_;
  store::CaptureAssembler assembler_;
};

}  // namespace wa::proxy
