#include "replay/calibration.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "replay/socket_event.h"

using namespace wa;
using namespace wa::replay;

namespace {

store::Exchange answer(int status, std::string content_type, std::string body) {
  store::Exchange x;
  x.method = "POST";
  x.url = "http://app.test/api/items?page=1";
  x.status = status;
  x.response_headers = {{"Content-Type", std::move(content_type)}};
  x.response_body = store::Payload::whole(std::move(body));
  return x;
}

std::vector<Difference> between(const store::Exchange& first, const store::Exchange& second) {
  return compare_response(first, second, MatchContext{});
}

std::vector<Difference> between(const SocketEvent& first, const SocketEvent& second) {
  EventMatcher m = EventMatcher::of_events({first});
  (void)m.on_event(second, {});
  return m.finish({});
}

SocketEvent chat(const std::string& args_json) {
  SocketEvent e;
  e.kind = EventKind::event;
  e.nsp = "/";
  e.name = "message";
  e.args = Json::parse(args_json);
  return e;
}

}  // namespace

TEST_CASE("calibration: a leaf that differs in value is a rule that keeps what each pass saw") {
  auto learned = learn_noise(between(answer(200, "application/json", R"({"id":17,"at":"a1"})"),
                                     answer(200, "application/json", R"({"id":18,"at":"b2"})")));
  CHECK(learned.state.empty());
  REQUIRE(learned.rules.size() == 2);
  CHECK(learned.rules[0].kind == store::NoiseKind::json_pointer);
  CHECK(learned.rules[0].pattern == "/id");
  CHECK(learned.rules[0].scope == "POST /api/items");
  CHECK(learned.rules[0].origin == "calibration");
  CHECK(learned.rules[0].evidence == std::vector<std::string>{"17", "18"});
  CHECK(learned.rules[1].evidence == std::vector<std::string>{"\"a1\"", "\"b2\""});
}

TEST_CASE("calibration: passes that differ in kind store nothing and say where") {
  SUBCASE("a status: the second sign-up met the first") {
    auto learned = learn_noise(between(answer(200, "application/json", R"({"ok":true})"),
                                       answer(409, "application/json", R"({"ok":false})")));
    CHECK(learned.rules.empty());
    REQUIRE(learned.state.size() == 1);
    CHECK(learned.state[0].where == "POST /api/items?page=1");
    CHECK(learned.state[0].what == "status 200 in pass 1, 409 in pass 2");
  }
  SUBCASE("an event that came in one pass only") {
    EventMatcher m = EventMatcher::of_events({chat(R"([{"text":"hi"}])")});
    auto learned = learn_noise(m.finish({}));
    REQUIRE(learned.state.size() == 1);
    CHECK(learned.state[0].what == "came in pass 1, not in pass 2");
    CHECK(learned.rules.empty());
  }
  SUBCASE("a list that grew, a member that appeared, a type that changed, a flag") {
    auto learned = learn_noise(
        between(answer(200, "application/json", R"({"items":[1],"n":1,"done":false})"),
                answer(200, "application/json", R"({"items":[1,2],"n":"1","done":true,"x":1})")));
    CHECK(learned.rules.empty());
    CHECK(learned.state.size() == 4);
  }
  SUBCASE("the field that names the kind of message") {
    auto learned = learn_noise(
        between(chat(R"([{"type":"chat","id":1}])"), chat(R"([{"type":"presence","id":2}])")));
    REQUIRE(learned.state.size() == 1);
    CHECK(learned.state[0].what.starts_with("/0/type, which names the kind of message"));
    auto ws = learn_noise(between(event_from_ws("/feed", false, R"({"op":1,"n":2})"),
                                  event_from_ws("/feed", false, R"({"op":2,"n":2})")));
    CHECK(ws.rules.empty());
    CHECK(ws.state.size() + ws.unlearnable.size() > 0);
  }
  SUBCASE("a value the client wrote in the first pass, read back in the second") {
    auto learned =
        learn_noise(between(answer(200, "application/json", R"({"doc":"draft"})"),
                            answer(200, "application/json", R"({"doc":"hello from the test"})")),
                    {"hello from the test"});
    CHECK(learned.rules.empty());
    REQUIRE(learned.state.size() == 1);
    CHECK(learned.state[0].what.find("which the client sent") != std::string::npos);
  }
  SUBCASE("another content type") {
    auto learned = learn_noise(
        between(answer(200, "application/json", "{}"), answer(200, "text/html", "<p>login</p>")));
    CHECK_FALSE(learned.state.empty());
    CHECK(learned.rules.empty());
  }
}

TEST_CASE("calibration: never a rule for a whole message, the root, or a status") {
  auto learned =
      learn_noise(between(event_from_ws("/n", false, "41"), event_from_ws("/n", false, "42")));
  CHECK(learned.rules.empty());
  CHECK(learned.state.empty());
  REQUIRE(learned.unlearnable.size() == 1);
  CHECK(learned.unlearnable[0].what.find("whole") != std::string::npos);
  for (const auto& rule : learn_noise(between(answer(200, "application/json", R"({"a":{"b":1}})"),
                                              answer(201, "application/json", R"({"a":{"b":2}})")))
                              .rules) {
    CHECK(rule.pattern != "");
    CHECK(rule.pattern != "status");
  }
}

TEST_CASE(
    "calibration: a line of text learns the differing token's shape; a changed line is state") {
  auto page = [](const std::string& body) { return answer(200, "text/html", body); };
  auto token = learn_noise(between(page("<script src=\"/app.js?v=3fa9c2e1\"></script>\n"),
                                   page("<script src=\"/app.js?v=77b1e0aa\"></script>\n")));
  REQUIRE(token.rules.size() == 1);
  CHECK(token.rules[0].kind == store::NoiseKind::regex);
  CHECK(token.rules[0].pattern == "src=\"\\/app\\.js\\?v=[0-9a-f]+");
  CHECK(token.rules[0].evidence.size() == 2);
  auto state = learn_noise(
      between(page("<ul><li>one</li></ul>\n"), page("<ul><li>one</li><li>two</li></ul>\n")));
  CHECK(state.rules.empty());
  CHECK(state.state.size() == 1);
}

TEST_CASE("calibration: a rule several differences share keeps their distinct values") {
  std::vector<Difference> diffs;
  for (int i = 0; i < 3; ++i) {
    for (auto& d : between(chat(R"([{"at":)" + std::to_string(10 + i) + "}]"),
                           chat(R"([{"at":)" + std::to_string(20 + i) + "}]")))
      diffs.push_back(d);
  }
  auto learned = learn_noise(diffs);
  REQUIRE(learned.rules.size() == 1);
  CHECK(learned.rules[0].evidence == std::vector<std::string>{"10", "20", "11", "21", "12", "22"});
}

TEST_CASE("calibration: clock readings") {
  CHECK(is_clock_reading("1796647155"));         // epoch seconds
  CHECK(is_clock_reading("1796647157144"));      // milliseconds
  CHECK(is_clock_reading("\"1796647157.25\""));  // a string of them, with a fraction
  CHECK(is_clock_reading("\"2026-12-07T12:45:59.571Z\""));
  CHECK(is_clock_reading("\"2026-12-07 12:45:59\""));
  CHECK(is_clock_reading("Mon, 07 Dec 2026 12:45:59 GMT"));
  CHECK_FALSE(is_clock_reading("17"));
  CHECK_FALSE(is_clock_reading("12345678901"));     // 11 digits: a counter, a phone number
  CHECK_FALSE(is_clock_reading("\"2026-12-07\""));  // a date alone may be a value of the app
  CHECK_FALSE(is_clock_reading("\"abc\""));

  auto json_diff_at = [](std::string path, std::string expected, std::string actual) {
    Difference d;
    d.where = "ack of create #1 on /";
    d.scope = "ack";
    d.kind = DiffKind::json;
    d.path = std::move(path);
    d.expected = std::move(expected);
    d.actual = std::move(actual);
    return d;
  };
  SUBCASE("the same second in both passes, later than the recording: learned with evidence") {
    Learned learned;
    learn_clock_readings({json_diff_at("/1/iat", "1796647155", "1796647158")},
                         {json_diff_at("/1/iat", "1796647155", "1796647158")}, learned);
    REQUIRE(learned.rules.size() == 1);
    CHECK(learned.rules[0].kind == store::NoiseKind::json_pointer);
    CHECK(learned.rules[0].pattern == "/1/iat");
    CHECK(learned.rules[0].scope == "ack");
    CHECK(learned.rules[0].evidence ==
          std::vector<std::string>{"1796647155", "1796647158", "1796647158"});
    // Already a rule: not twice.
    learn_clock_readings({json_diff_at("/1/iat", "1796647155", "1796647159")},
                         {json_diff_at("/1/iat", "1796647155", "1796647159")}, learned);
    CHECK(learned.rules.size() == 1);
  }
  SUBCASE("never a regression") {
    Learned learned;
    // Earlier than the recording: the clock does not go back.
    learn_clock_readings({json_diff_at("/at", "1796647155", "1696647155")},
                         {json_diff_at("/at", "1796647155", "1696647155")}, learned);
    // Seconds recorded, milliseconds live: another kind of value.
    learn_clock_readings({json_diff_at("/at", "1796647155", "1796647155000")},
                         {json_diff_at("/at", "1796647155", "1796647155000")}, learned);
    // Not a time on either side.
    learn_clock_readings({json_diff_at("/n", "17", "18")}, {json_diff_at("/n", "17", "18")},
                         learned);
    // Only in one pass.
    learn_clock_readings({}, {json_diff_at("/at", "1796647155", "1796647158")}, learned);
    // The field that names the message's kind.
    learn_clock_readings({json_diff_at("/type", "1796647155", "1796647158")},
                         {json_diff_at("/type", "1796647155", "1796647158")}, learned);
    CHECK(learned.rules.empty());
  }
}
