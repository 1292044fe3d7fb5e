// Server-Sent Events: the `text/event-stream` parser of the HTML Living Standard §9.2.6
// ("Interpreting an event stream"), as a browser's EventSource runs it.
//
// Sans-I/O: bytes in, events out, in any split. The stream is UTF-8 (§9.2.5); one leading BOM
// is skipped; lines end in CR, LF or CRLF (a CR at the end of one chunk and an LF at the start
// of the next are one line end); lines starting with ':' are comments (servers send them as
// keep-alives); a blank line dispatches the event that the lines before it built.
//
// The parser keeps what the standard keeps on the EventSource across events: the last event
// ID and the reconnection time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace wa::sse {

// The MIME type of an event stream (§9.2.5), compared without parameters.
inline constexpr std::string_view kContentType = "text/event-stream";

// Is `content_type` (a Content-Type field value) an event stream? Parameters (`; charset=utf-8`)
// and case do not matter.
bool is_event_stream(std::string_view content_type);

struct Event {
  // Set only when the event's block held an `id` field that counted (§9.2.6: one holding NUL is
  // ignored); it is then the last event ID as it stands, which an `id` field with no value
  // resets to "".
  std::optional<std::string> id;
  std::string type = "message";  // the `event` field, "message" when absent or empty
  std::string data;              // the `data` fields joined with "\n"
  // Set when the block held a valid `retry` field (ASCII digits only): the new reconnection
  // time in milliseconds.
  std::optional<std::int64_t> retry_ms;
  bool operator==(const Event&) const = default;
};

struct Limits {
  // One line, and the data of one event. Over either, feed() fails with Errc::limit: a
  // stream that never sends a line end must not grow memory without bound.
  std::size_t max_line_bytes = 1u << 20;
  std::size_t max_data_bytes = 16u << 20;
};

class Parser {
 public:
  explicit Parser(Limits limits = {}) : limits_(limits) {}

  // Parses `bytes`, appending every event whose blank line they complete. A failure is sticky:
  // every later call returns it again.
  Result<void> feed(std::string_view bytes, std::vector<Event>& out);

  // The stream ended. §9.2.6: an event without its final blank line is discarded (a lone CR
  // that ended the stream did end its line, and was handled when it arrived).
  void finish();

  // Comment lines seen so far (keep-alives).
  std::uint64_t comments() const { return comments_; }
  // Blank lines that dispatched nothing: the block before them held no `data` field (§9.2.6,
  // dispatch step 2), or there was no block at all.
  std::uint64_t empty_blocks() const { return empty_blocks_; }
  // The EventSource's last event ID string: what a reconnecting browser sends as
  // `Last-Event-ID`.
  const std::string& last_event_id() const { return last_event_id_; }
  std::optional<std::int64_t> reconnection_time_ms() const { return reconnection_ms_; }

 private:
  Result<void> line(std::string_view bytes, std::vector<Event>& out);
  void field(std::string_view name, std::string_view value);
  void dispatch(std::vector<Event>& out);

  Limits limits_;
  std::optional<Failure> failure_;
  std::size_t bom_seen_ = 0;  // bytes of the leading BOM matched so far; 3 once past it
  bool after_cr_ = false;     // the last byte was a CR: an LF next belongs to it
  std::string line_;          // bytes of the line so far

  // The block being built (§9.2.6: data buffer, event type buffer, last event ID buffer).
  std::string data_;
  bool has_data_ = false;
  std::string type_;
  bool id_in_block_ = false;
  std::string id_buffer_;
  std::optional<std::int64_t> retry_in_block_;

  std::string last_event_id_;
  std::optional<std::int64_t> reconnection_ms_;
  std::uint64_t comments_ = 0;
  std::uint64_t empty_blocks_ = 0;
};

// Every event of a whole stream (feed + finish), for tests and for re-reading recorded bodies.
Result<std::vector<Event>> parse(std::string_view stream, const Limits& limits = {});

}  // namespace wa::sse
