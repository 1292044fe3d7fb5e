// Server-Sent Events as they are relayed: a `text/event-stream` response's body is parsed
// (HTML Living Standard §9.2.6) chunk by chunk as it passes through the proxy, and each event
// becomes an SseEvent row stamped with the time its blank line arrived. Such a response may
// never end (the page stays open), so its events cannot wait for the exchange to be over.
//
// The body arrives with its transfer coding removed; a content coding (RFC 9110 §8.4) is
// removed here before parsing. No I/O: the recorder supplies the time and pushes the rows.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/content_coding.h"
#include "protocol/sse.h"
#include "storage/model.h"

namespace wa::proxy {

class EventStreamCapture {
 public:
  // A capture for the response of `row` (status and headers filled in), or null when the
  // response is not an event stream.
  static std::unique_ptr<EventStreamCapture> for_response(const store::Exchange& row);

  // Body bytes as relayed; appends a row (id 0, for the writer to number) per event completed.
  void feed(std::string_view bytes, int64_t now_us, std::vector<store::SseEvent>& out);
  // The response is over: what is left of the coding is decoded; an unfinished event is
  // dropped, as a browser drops it (§9.2.6).
  void finish(int64_t now_us, std::vector<store::SseEvent>& out);

  // Why events stopped being read (a coding that does not decode, a line over the limit);
  // unset while all is well. Its why starts with "event stream: ".
  const std::optional<Failure>& failure() const { return failure_; }
  const sse::Parser& parser() const { return parser_; }

 private:
  EventStreamCapture(store::Id exchange_id, std::optional<coding::Decoder> decoder);
  void parse(std::string_view text, int64_t now_us, std::vector<store::SseEvent>& out);
  void stop(const Failure& f) { failure_ = fail(f.code, "event stream: " + f.why); }

  store::Id exchange_id_;
  std::optional<coding::Decoder> decoder_;  // unset for an identity body
  sse::Parser parser_;
  std::vector<sse::Event> events_;  // scratch, reused
  std::string decoded_;             // scratch, reused
  int seq_ = 0;
  std::optional<Failure> failure_;
};

}  // namespace wa::proxy
