// The runner's pure parts: origin mapping and the choice of the main origin. The scheduling and
// live clients are exercised end to end against real servers (tests/integration/replay_*).
#include "replay/runner.h"

#include <doctest/doctest.h>

#include <string>

using namespace wa;
using namespace wa::replay;

namespace {

store::Exchange exchange(store::Id id, std::string method, std::string url) {
  store::Exchange x;
  x.id = id;
  x.method = std::move(method);
  x.url = std::move(url);
  x.status = 200;
  return x;
}

}  // namespace

TEST_CASE("OriginMap: --target maps the main origin, --map the others") {
  auto m = OriginMap::make("http://app.test:3000", "http://127.0.0.1:4000/",
                           {"https://cdn.test=http://127.0.0.1:5000"});
  REQUIRE(m);
  CHECK(m->mapped("http://app.test:3000"));
  CHECK(m->mapped("https://cdn.test"));
  CHECK_FALSE(m->mapped("http://other.test"));
  CHECK(m->map("http://app.test:3000/login?next=%2F#top") ==
        std::optional<std::string>("http://127.0.0.1:4000/login?next=%2F#top"));
  CHECK(m->map("http://app.test:3000") == std::optional<std::string>("http://127.0.0.1:4000"));
  CHECK(m->map("https://cdn.test:443/a.css") ==
        std::optional<std::string>("http://127.0.0.1:5000/a.css"));
  CHECK_FALSE(m->map("http://other.test/x"));
  CHECK(m->map_or_keep("http://other.test/x") == "http://other.test/x");
  CHECK(m->entries().size() == 2);
}

TEST_CASE("OriginMap: an explicit --map for the main origin wins over --target") {
  auto m = OriginMap::make("http://app.test", "http://127.0.0.1:4000",
                           {"http://app.test=http://127.0.0.1:6000"});
  REQUIRE(m);
  CHECK(m->map("http://app.test/x") == std::optional<std::string>("http://127.0.0.1:6000/x"));
}

TEST_CASE("OriginMap: bad URLs are one-line setup errors") {
  for (auto [target, map, says] :
       {std::tuple{"ftp://x", "", "--target ftp://x"}, std::tuple{"nope", "", "--target nope"},
        std::tuple{"http://127.0.0.1:1", "http://a.test", "expected ORIGIN=URL"},
        std::tuple{"http://127.0.0.1:1", "http://a.test=ws://b", "not an http(s) URL"},
        std::tuple{"http://127.0.0.1:1", "x=http://b.test", "origin is not a URL"}}) {
    std::string said = says;
    std::vector<std::string> maps;
    if (*map) maps.push_back(map);
    auto m = OriginMap::make("http://app.test", target, maps);
    REQUIRE_FALSE(m);
    CHECK(m.error().code == Errc::setup);
    CHECK(m.error().why.find(said) != std::string::npos);
    CHECK(m.error().why.find('\n') == std::string::npos);
  }
}

TEST_CASE("main_origin_of: the socket sessions' origin, else the busiest, else the first") {
  store::RecordingData data;
  data.exchanges.push_back(exchange(1, "GET", "https://accounts.google.test/ListAccounts"));
  data.exchanges.push_back(exchange(2, "GET", "http://app.test:3000/"));
  data.exchanges.push_back(exchange(3, "GET", "https://fonts.test/a.woff"));
  data.exchanges.push_back(exchange(4, "GET", "https://fonts.test/b.woff"));
  data.exchanges.push_back(exchange(5, "CONNECT", "fonts.test:443"));
  CHECK(main_origin_of(data) == "https://fonts.test");

  data.exchanges.push_back(exchange(6, "GET", "http://app.test:3000/socket.io/?EIO=4"));
  store::EioSession s;
  s.id = 1;
  s.sid = "abc";
  s.handshake_exchange_id = 6;
  data.sessions.push_back(s);
  CHECK(main_origin_of(data) == "http://app.test:3000");

  store::RecordingData first;
  first.exchanges.push_back(exchange(1, "GET", "http://a.test/"));
  first.exchanges.push_back(exchange(2, "GET", "http://b.test/"));
  CHECK(main_origin_of(first) == "http://a.test");
  CHECK(main_origin_of(store::RecordingData{}).empty());
}

TEST_CASE("prepare: a recording with nothing to replay at the mapped origins is a setup error") {
  store::RecordingData data;
  data.recording.id = 7;
  data.exchanges.push_back(exchange(1, "GET", "http://elsewhere.test/"));
  auto origins = OriginMap::make("http://app.test", "http://127.0.0.1:4000", {});
  REQUIRE(origins);
  auto p = prepare(data, *origins, RunnerOptions{});
  REQUIRE_FALSE(p);
  CHECK(p.error().why ==
        "recording #7 has nothing to replay: none of its requests goes to a "
        "mapped origin");

  data.exchanges.push_back(exchange(2, "GET", "http://app.test/"));
  data.recording.name = "home";
  auto ok = prepare(data, *origins, RunnerOptions{});
  REQUIRE(ok);
  CHECK(ok->name == "home");
  CHECK(ok->script->actions.size() == 1);
  CHECK(ok->script->skipped.size() == 1);
  REQUIRE(ok->cause.size() == 1);
  CHECK(ok->cause[0] == 0);  // the response's latency runs from its request

  RunnerOptions bad;
  bad.noise.push_back({store::NoiseKind::regex, "(", "*"});
  CHECK_FALSE(prepare(data, *origins, bad));
}
