// Server-Sent Events parsing (HTML Living Standard §9.2.6): the standard's examples, every line
// end, the BOM, comments, ids and retry, each stream also re-fed split at every byte.
#include "protocol/sse.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "protocol/text.h"

using namespace wa;
using namespace wa::sse;
using namespace std::string_literals;

namespace {

Event ev(std::string data, std::string type = "message", std::optional<std::string> id = {},
         std::optional<std::int64_t> retry = {}) {
  Event e;
  e.data = std::move(data);
  e.type = std::move(type);
  e.id = std::move(id);
  e.retry_ms = retry;
  return e;
}

struct Log {
  std::vector<Event> events;
  std::uint64_t comments = 0;
  std::string last_event_id;
  bool operator==(const Log&) const = default;
};

Log feed_pieces(const std::vector<std::string_view>& pieces) {
  Parser p;
  Log log;
  for (std::string_view piece : pieces) {
    auto r = p.feed(piece, log.events);
    if (!r) FAIL_CHECK(r.error().why);
  }
  p.finish();
  log.comments = p.comments();
  log.last_event_id = p.last_event_id();
  return log;
}

// The stream fed whole, then split once at every byte, then split into single bytes: every way
// gives the same log.
Log parsed(std::string_view stream) {
  Log whole = feed_pieces({stream});
  for (size_t at = 0; at <= stream.size(); ++at) {
    Log split = feed_pieces({stream.substr(0, at), stream.substr(at)});
    CHECK_MESSAGE(split == whole, "split at byte " << at);
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i)
    bytes.push_back(stream.substr(i, 1));
  CHECK(feed_pieces(bytes) == whole);
  return whole;
}

std::vector<Event> events(std::string_view stream) {
  return parsed(stream).events;
}

}  // namespace

TEST_CASE("§9.2.6 examples: data lines join with LF, a blank line dispatches") {
  CHECK(events("data: YHOO\ndata: +2\ndata: 10\n\n") == std::vector{ev("YHOO\n+2\n10")});
  // The second example: a comment, an event with an id, an event without one (the id sticks to
  // the EventSource, not to later events), and an unfinished event that is never dispatched.
  Log log = parsed(
      ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
      "data:  third event\n");
  CHECK(log.events ==
        std::vector{ev("first event", "message", "1"s), ev("second event", "message", ""s)});
  CHECK(log.comments == 1);
  CHECK(log.last_event_id == "");
  // The third: "data" alone is an empty data line; two empty lines make one LF.
  CHECK(events("data\n\ndata\ndata\n\ndata:\n") == std::vector{ev(""), ev("\n")});
  // The fourth: only one leading space is removed.
  CHECK(events("data:test\n\ndata: test\n\n") == std::vector{ev("test"), ev("test")});
  CHECK(events("data:  two\n\n") == std::vector{ev(" two")});
}

TEST_CASE("CR, LF and CRLF all end lines, also when a CRLF is split between chunks") {
  std::vector<Event> expected{ev("a\nb", "update", "7"s)};
  CHECK(events("event: update\nid: 7\ndata: a\ndata: b\n\n") == expected);
  CHECK(events("event: update\rid: 7\rdata: a\rdata: b\r\r") == expected);
  CHECK(events("event: update\r\nid: 7\r\ndata: a\r\ndata: b\r\n\r\n") == expected);
  CHECK(events("event: update\r\nid: 7\rdata: a\ndata: b\r\n\n") == expected);
  // CR LF is one line end; LF CR is two, and so dispatches.
  CHECK(events("data: x\n\r") == std::vector{ev("x")});
  CHECK(feed_pieces({"data: x\r", "\n", "\r\n"}).events == std::vector{ev("x")});
  CHECK(feed_pieces({"data: x\r", "\ndata: y\r", "\r"}).events == std::vector{ev("x\ny")});
}

TEST_CASE("a leading UTF-8 BOM is skipped once; invalid UTF-8 becomes U+FFFD") {
  CHECK(events("\xEF\xBB\xBF"
               "data: a\n\n") == std::vector{ev("a")});
  // A second BOM is data: the field name is then not "data".
  CHECK(events("\xEF\xBB\xBF\xEF\xBB\xBF"
               "data: a\n\n")
            .empty());
  // A partial BOM is ordinary input.
  CHECK(events("\xEF\xBB"
               "data: a\n\ndata: b\n\n") == std::vector{ev("b")});
  CHECK(events("data: caf\xC3\xA9 \xF0\x9F\x98\x80\n\n") ==
        std::vector{ev("caf\xC3\xA9 \xF0\x9F\x98\x80")});
  CHECK(events("data: a\xFF"
               "b\xE2\x82"
               "c\n\n") == std::vector{ev("a\xEF\xBF\xBD"
                                          "b\xEF\xBF\xBD"
                                          "c")});
}

TEST_CASE("fields: unknown ones and lines without a colon; event types") {
  CHECK(events("foo: bar\ndata: x\nevent\n\n") == std::vector{ev("x")});
  CHECK(events("event: ping\ndata: {}\n\ndata: next\n\n") ==
        std::vector{ev("{}", "ping"), ev("next")});
  CHECK(events("Data: x\n\n").empty());  // field names are case-sensitive
  CHECK(events("data:a:b\n\n") == std::vector{ev("a:b")});
  CHECK(events("event:\ndata: x\n\n") == std::vector{ev("x")});  // empty type is "message"
}

TEST_CASE("ids: set per block, kept by the stream, an id with NUL ignored") {
  Log log = parsed("id: 1\ndata: a\n\ndata: b\n\nid: 2\n\nid: x\0y\ndata: c\n\n"s);
  CHECK(log.events == std::vector{ev("a", "message", "1"s), ev("b"), ev("c")});
  // The data-less block still moved the stream's last event ID on (dispatch step 1).
  CHECK(log.last_event_id == "2");
  // An id field with no value resets the last event ID.
  log = parsed("id: 5\ndata: a\n\nid\ndata: b\n\n");
  CHECK(log.events == std::vector{ev("a", "message", "5"s), ev("b", "message", ""s)});
  // An id in an unfinished block does not count.
  log = parsed("id: 5\ndata: a\n\nid: 6\ndata: b\n");
  CHECK(log.last_event_id == "5");
}

TEST_CASE("retry: digits only, reported on its block and kept as the reconnection time") {
  Parser p;
  std::vector<Event> out;
  REQUIRE(p.feed("retry: 3000\ndata: a\n\nretry: 1x\ndata: b\n\nretry\n\n", out).ok());
  CHECK(out == std::vector{ev("a", "message", {}, 3000), ev("b")});
  CHECK(p.reconnection_time_ms() == 3000);
  CHECK(events("retry: 99999999999999999999\ndata: a\n\n") == std::vector{ev("a")});
  CHECK(events("retry: -1\ndata: a\n\n") == std::vector{ev("a")});
}

TEST_CASE("comments are counted, not dispatched; blocks without data dispatch nothing") {
  Log log = parsed(":\n: keep-alive\n\n:ok\n\nevent: x\n\ndata: y\n\n");
  CHECK(log.events == std::vector{ev("y")});
  CHECK(log.comments == 3);
  Parser p;
  std::vector<Event> out;
  REQUIRE(p.feed("event: x\n\n\n", out).ok());
  CHECK(out.empty());
  CHECK(p.empty_blocks() == 2);
}

TEST_CASE("the end of the stream discards an unfinished event") {
  CHECK(events("data: a\n\ndata: b").size() == 1);
  CHECK(events("data: a\n\ndata: b\n").size() == 1);
  auto r = parse("data: a\r\r");
  REQUIRE(r.ok());
  CHECK(*r == std::vector{ev("a")});
}

TEST_CASE("limits: a line or an event's data over the maximum fails, and stays failed") {
  Limits limits;
  limits.max_line_bytes = 16;
  limits.max_data_bytes = 16;
  Parser p(limits);
  std::vector<Event> out;
  REQUIRE(p.feed("data: 0123456789", out).ok());
  auto r = p.feed("abcdef\n", out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::limit);
  CHECK_FALSE(p.feed("\n", out).ok());

  Parser q(limits);
  REQUIRE(q.feed("data: 0123456789\n", out).ok());
  r = q.feed("data: 0123456789\n", out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::limit);
}

TEST_CASE("is_event_stream ignores case and parameters") {
  CHECK(is_event_stream("text/event-stream"));
  CHECK(is_event_stream("Text/Event-Stream; charset=utf-8"));
  CHECK(is_event_stream(" text/event-stream "));
  CHECK_FALSE(is_event_stream("text/plain"));
  CHECK_FALSE(is_event_stream("text/event-streams"));
  CHECK_FALSE(is_event_stream(""));
}

TEST_CASE("what comes out is valid UTF-8 whatever goes in") {
  std::string junk;
  for (int i = 0; i < 256; ++i) {
    junk += "data: ";
    junk += static_cast<char>(i);
    junk += static_cast<char>(255 - i);
    junk += "\n\n";
  }
  for (const Event& e : events(junk)) {
    CHECK(text::is_valid_utf8(e.data));
    CHECK(e.data.find_first_of("\r\n") == std::string::npos);
  }
}
