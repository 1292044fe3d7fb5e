// Load runs (--concurrency, --repeat): every copy's broadcasts reach every other copy's
// connections, and a value the server shares between sessions differs from copy to copy.
// EventMatcher pairs a live event only with what it may stand for on its own connection, and
// mark_varying_between_copies() tells values that vary between copies from real regressions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "replay/matcher.h"
#include "replay/runner.h"

using namespace wa;
using namespace wa::replay;

namespace {

SocketEvent event(std::string name, std::string args_json) {
  SocketEvent e;
  e.kind = EventKind::event;
  e.nsp = "/";
  e.name = std::move(name);
  e.args = Json::parse(args_json);
  return e;
}

SocketEvent ack(int64_t id, std::string args_json) {
  SocketEvent e;
  e.kind = EventKind::ack;
  e.nsp = "/";
  e.ack_id = id;
  e.args = Json::parse(args_json);
  return e;
}

// alice's connection: welcome, her chat's broadcast and its ack, twice.
std::vector<SocketEvent> alice_expected() {
  return {
      event("welcome", R"([{"username":"alice"}])"),
      event("chat", R"([{"from":"alice","text":"hello 1"}])"), ack(0, R"([{"ok":true,"id":1}])"),
      event("chat", R"([{"from":"alice","text":"hello 2"}])"), ack(1, R"([{"ok":true,"id":2}])")};
}

EventMatchOptions under_load() {
  EventMatchOptions o;
  o.tolerate_broadcasts = true;
  o.hold_broadcasts = true;
  o.broadcast_kinds = {identity(event("chat", "[]"))};
  return o;
}

// The matcher with the chats gated on their emits: actions 0 and 1 are alice's two chats.
EventMatcher gated_matcher() {
  EventMatcher m = EventMatcher::of_events(alice_expected(), under_load());
  m.gate(1, 0);
  m.gate(3, 1);
  return m;
}

Difference json_diff_at(std::string where, std::string path, std::string expected,
                        std::string actual) {
  Difference d;
  d.where = std::move(where);
  d.scope = "ack";
  d.kind = DiffKind::json;
  d.path = std::move(path);
  d.expected = std::move(expected);
  d.actual = std::move(actual);
  return d;
}

SessionResult copy_with(int copy, std::vector<Difference> diffs) {
  SessionResult s;
  s.recording = "chat";
  s.copy = copy;
  Outcome ack_row;
  ack_row.kind = Outcome::Kind::event;
  ack_row.where = "ack #1 on /";
  ack_row.live_us = 1000;
  ack_row.ok = diffs.empty();
  s.timeline.push_back(ack_row);
  s.events_expected = 1;
  s.events_matched = diffs.empty() ? 1 : 0;
  s.differences = std::move(diffs);
  return s;
}

}  // namespace

TEST_CASE("load: another copy's broadcast before this copy's emit never meets the expectation") {
  EventMatcher m = gated_matcher();
  MatchContext ctx;
  CHECK(m.on_event(event("welcome", R"([{"username":"alice"}])"), ctx, 0).exact);
  // Another copy's alice said the same before this copy's alice did (action 0 not started):
  // equal, but not ours.
  auto a = m.on_event(event("chat", R"([{"from":"alice","text":"hello 1"}])"), ctx, 0);
  CHECK(a.expected == -1);
  CHECK_FALSE(m.arrived(1));
  // Another copy's second chat, while this copy's first is under way: not equal to the first,
  // gated off the second, held.
  a = m.on_event(event("chat", R"([{"from":"alice","text":"hello 2"}])"), ctx, 1);
  CHECK(a.expected == -1);
  CHECK_FALSE(m.arrived(1));
  CHECK_FALSE(m.arrived(3));
  // This copy's own broadcast and ack.
  a = m.on_event(event("chat", R"([{"from":"alice","text":"hello 1"}])"), ctx, 1);
  CHECK(a.expected == 1);
  CHECK(a.exact);
  // The shared counter: another copy took id 1.
  a = m.on_event(ack(0, R"([{"ok":true,"id":7}])"), ctx, 1);
  CHECK(a.expected == 2);
  CHECK_FALSE(a.exact);
  CHECK_FALSE(m.arrived(3));
  a = m.on_event(event("chat", R"([{"from":"alice","text":"hello 2"}])"), ctx, 2);
  CHECK(a.expected == 3);
  CHECK(a.exact);
  CHECK(m.on_event(ack(1, R"([{"ok":true,"id":9}])"), ctx, 2).expected == 4);
  CHECK(m.all_arrived());
  CHECK_FALSE(m.release_held());  // the held ones stand for nothing waiting
  auto diffs = m.finish(ctx);
  // Only the counter differs; the other copies' broadcasts are counted.
  REQUIRE(diffs.size() == 2);
  CHECK(diffs[0].where == "ack 0 #1 on /");
  CHECK(diffs[0].path == "/0/id");
  CHECK(diffs[1].where == "ack 1 #1 on /");
  CHECK(m.broadcasts_counted() == 2);
}

TEST_CASE("load: a broadcast that differs from every expected one is held, not paired") {
  EventMatcher m = gated_matcher();
  MatchContext ctx;
  (void)m.on_event(event("welcome", R"([{"username":"alice"}])"), ctx, 0);
  // A copy of another recording (or a changed one) speaks after this copy's first emit: it
  // could be this copy's broadcast, but does not take the expected one provisionally.
  auto a = m.on_event(event("chat", R"([{"from":"bob","text":"hi"}])"), ctx, 1);
  CHECK(a.expected == -1);
  CHECK_FALSE(m.arrived(1));
  // This copy's own comes and takes it exactly; bob's stays extra and is counted.
  a = m.on_event(event("chat", R"([{"from":"alice","text":"hello 1"}])"), ctx, 1);
  CHECK(a.expected == 1);
  CHECK(a.exact);
  CHECK(m.on_event(ack(0, R"([{"ok":true,"id":1}])"), ctx, 1).exact);
  a = m.on_event(event("chat", R"([{"from":"alice","text":"hello 2"}])"), ctx, 2);
  CHECK(m.on_event(ack(1, R"([{"ok":true,"id":2}])"), ctx, 2).exact);
  CHECK(m.finish(ctx).empty());
  CHECK(m.broadcasts_counted() == 1);
}

TEST_CASE("load: a genuinely changed broadcast is a difference, not an event that never came") {
  MatchContext ctx;
  SUBCASE("the connection moves past it: its ack came") {
    EventMatcher m = gated_matcher();
    (void)m.on_event(event("welcome", R"([{"username":"alice"}])"), ctx, 0);
    // The server now shouts: held at first...
    auto a = m.on_event(event("chat", R"([{"from":"alice","text":"HELLO 1"}])"), ctx, 1);
    CHECK(a.expected == -1);
    // ... and paired once the ack recorded after it came.
    a = m.on_event(ack(0, R"([{"ok":true,"id":1}])"), ctx, 1);
    CHECK(a.exact);
    CHECK(m.arrived(1));
    (void)m.on_event(event("chat", R"([{"from":"alice","text":"HELLO 2"}])"), ctx, 2);
    (void)m.on_event(ack(1, R"([{"ok":true,"id":2}])"), ctx, 2);
    CHECK(m.all_arrived());
    auto diffs = m.finish(ctx);
    REQUIRE(diffs.size() == 2);
    CHECK(diffs[0].kind == DiffKind::json);
    CHECK(diffs[0].where == "event chat #1 on /");
    CHECK(diffs[0].path == "/0/text");
    CHECK(diffs[0].actual == "\"HELLO 1\"");
    CHECK(diffs[1].where == "event chat #2 on /");
    CHECK(m.broadcasts_counted() == 0);
  }
  SUBCASE("nothing comes after it: released when the wait is over") {
    EventMatcher m = gated_matcher();
    (void)m.on_event(event("welcome", R"([{"username":"alice"}])"), ctx, 0);
    (void)m.on_event(event("chat", R"([{"from":"alice","text":"HELLO 1"}])"), ctx, 1);
    CHECK_FALSE(m.arrived(1));
    CHECK(m.release_held());
    CHECK(m.arrived(1));
    auto diffs = m.finish(ctx);
    // The chat differs; the acks and the second chat never came.
    REQUIRE(diffs.size() == 4);
    CHECK(diffs[0].kind == DiffKind::json);
    CHECK(diffs[0].where == "event chat #1 on /");
    CHECK(diffs[1].kind == DiffKind::missing);
  }
  SUBCASE("what came before the emit it echoes is not it, even at the end") {
    EventMatcher m = gated_matcher();
    (void)m.on_event(event("chat", R"([{"from":"alice","text":"HELLO 1"}])"), ctx, 0);
    CHECK_FALSE(m.release_held());
    CHECK_FALSE(m.arrived(1));
  }
}

TEST_CASE("load: without hold_broadcasts (one copy) a broadcast pairs provisionally at once") {
  EventMatchOptions o = under_load();
  o.hold_broadcasts = false;
  EventMatcher m = EventMatcher::of_events(alice_expected(), o);
  MatchContext ctx;
  auto a = m.on_event(event("chat", R"([{"from":"bob","text":"hi"}])"), ctx);
  CHECK(a.expected == 1);
  CHECK_FALSE(a.exact);
}

TEST_CASE("load: a value that differs between copies is noise; one the same in all is not") {
  RunReport report;
  // The ack's id comes from a counter the server shares: 1 was recorded; copy 0 got it again,
  // the others got 5 and 9. The welcome gained a field in every copy: a regression.
  auto regression = [] {
    Difference d;
    d.where = "event welcome #1 on /";
    d.scope = "event welcome";
    d.kind = DiffKind::json;
    d.path = "/0/role";
    d.expected = "(absent)";
    d.actual = "\"member\"";
    return d;
  };
  report.sessions.push_back(copy_with(0, {regression()}));
  report.sessions.push_back(
      copy_with(1, {json_diff_at("ack #1 on /", "/0/id", "1", "5"), regression()}));
  report.sessions.push_back(
      copy_with(2, {json_diff_at("ack #1 on /", "/0/id", "1", "9"), regression()}));
  // A status that differs, and an event that never came, are never noise by this rule.
  Difference status;
  status.where = "POST /login";
  status.scope = "POST /login";
  status.kind = DiffKind::status;
  status.path = "status";
  status.expected = "303";
  status.actual = "500";
  report.sessions[1].differences.push_back(status);
  status.actual = "502";
  report.sessions[2].differences.push_back(status);
  // Another recording replayed once: left alone.
  report.sessions.push_back(copy_with(0, {json_diff_at("ack #1 on /", "/0/id", "1", "4")}));
  report.sessions.back().recording = "other";

  size_t marked = mark_varying_between_copies(report, {0, 0, 0, 1});
  CHECK(marked == 2);
  for (size_t i = 1; i <= 2; ++i) {
    CAPTURE(i);
    const Difference& id = report.sessions[i].differences[0];
    CHECK(id.noise);
    CHECK(id.noise_reason == "varies between copies");
    CHECK_FALSE(report.sessions[i].differences[1].noise);  // the regression
    CHECK_FALSE(report.sessions[i].differences[2].noise);  // the status
    CHECK(report.sessions[i].timeline[0].ok);              // the ack row passes now
    CHECK(report.sessions[i].events_matched == 1);
  }
  CHECK_FALSE(report.sessions[0].differences[0].noise);
  CHECK_FALSE(report.sessions[3].differences[0].noise);
  CHECK(report.sessions[3].failures() == 1);
  CHECK(report.exit_code() == 1);

  std::string console = format_console(report, false);
  INFO(console);
  CHECK(console.find("1 value varied between copies (noise): ack #1 on / /0/id") !=
        std::string::npos);
  CHECK(to_json(report).find(R"("noise_reason": "varies between copies")") != std::string::npos);
}

TEST_CASE("load: the same value in every copy stays a failure; two values in one copy count") {
  RunReport report;
  for (int c = 0; c < 4; ++c)
    report.sessions.push_back(copy_with(c, {json_diff_at("ack #1 on /", "/0/id", "1", "2")}));
  CHECK(mark_varying_between_copies(report, {0, 0, 0, 0}) == 0);
  CHECK(report.exit_code() == 1);

  // A copy whose ack never came does not vouch for the recorded value.
  RunReport partial;
  partial.sessions.push_back(copy_with(0, {json_diff_at("ack #1 on /", "/0/id", "1", "2")}));
  partial.sessions.push_back(copy_with(1, {}));
  partial.sessions[1].timeline[0].live_us = -1;
  CHECK(mark_varying_between_copies(partial, {0, 0}) == 0);
  // One whose ack came equal does: 1 in one copy, 2 in the other.
  partial.sessions[1].timeline[0].live_us = 10;
  CHECK(mark_varying_between_copies(partial, {0, 0}) == 1);
  CHECK(partial.exit_code() == 0);
}
