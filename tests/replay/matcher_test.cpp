#include "replay/matcher.h"
#include "replay/calibration.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <string>

#include "protocol/url.h"
#include "replay/body.h"

using namespace wa;
using namespace wa::replay;

namespace {

store::Exchange response(std::string method, std::string url, int status, store::Headers headers,
                         std::string body) {
  store::Exchange x;
  x.id = 1;
  x.method = std::move(method);
  x.url = std::move(url);
  x.status = status;
  x.response_headers = std::move(headers);
  x.response_body = store::Payload::whole(std::move(body));
  return x;
}

store::Exchange json_response(std::string body) {
  return response("GET", "http://app.test/api/items?page=1", 200,
                  {{"Content-Type", "application/json"}}, std::move(body));
}

std::string gzip(std::string_view data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, uLong(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

NoiseSet noise(std::vector<NoiseRule> rules) {
  auto set = NoiseSet::make(std::move(rules));
  REQUIRE(set.ok());
  return std::move(*set);
}

// Recorded Socket.IO v5 packets, as the recorder stores them.
struct Packets {
  std::vector<store::SocketPacket> list;
  store::Id next = 1;
  Packets() { list.reserve(64); }

  const store::SocketPacket* add(int sio_type, std::string event, std::string args,
                                 std::optional<int64_t> ack = {}, std::string nsp = "/",
                                 store::Id session = 1) {
    store::SocketPacket p;
    p.id = next++;
    p.session_id = session;
    p.direction = store::Direction::server;
    p.time_us = int64_t(p.id) * 100;
    p.eio_type = 4;
    p.sio_type = sio_type;
    p.namespace_ = std::move(nsp);
    p.event = std::move(event);
    p.ack_id = ack;
    p.args = std::move(args);
    p.raw = "4…";
    list.push_back(p);
    return &list.back();
  }
  const store::SocketPacket* ping() {
    store::SocketPacket p;
    p.id = next++;
    p.direction = store::Direction::server;
    p.eio_type = 2;
    p.raw = "2";
    list.push_back(p);
    return &list.back();
  }
};

SocketEvent live_event(std::string name, std::string args_json, std::string nsp = "/") {
  SocketEvent e;
  e.kind = EventKind::event;
  e.nsp = std::move(nsp);
  e.name = std::move(name);
  e.args = Json::parse(args_json);
  return e;
}

SocketEvent live_ack(int64_t id, std::string args_json) {
  SocketEvent e;
  e.kind = EventKind::ack;
  e.ack_id = id;
  e.args = Json::parse(args_json);
  return e;
}

// A live packet as the live client decodes it from Node's wire text.
SocketEvent decoded(std::string_view wire) {
  auto p = sio::decode(wire, 5);
  REQUIRE(p.ok());
  return event_from_live(*p);
}

}  // namespace

TEST_CASE("HTTP: JSON bodies compare as structure: member order ignored, array order kept") {
  MatchContext ctx;
  auto rec = json_response(R"({"a":1,"b":{"c":[1,2],"d":"x"}})");
  CHECK(compare_response(rec, json_response(R"({"b":{"d":"x","c":[1,2]},"a":1.0})"), ctx).empty());
  auto diffs = compare_response(rec, json_response(R"({"a":1,"b":{"c":[2,1],"e":null}})"), ctx);
  REQUIRE(diffs.size() == 4);
  CHECK(diffs[0].kind == DiffKind::json);
  CHECK(diffs[0].where == "GET /api/items?page=1");
  CHECK(diffs[0].scope == "GET /api/items");
  CHECK(diffs[0].path == "/b/c/0");
  CHECK(diffs[0].expected == "1");
  CHECK(diffs[0].actual == "2");
  CHECK(diffs[2].path == "/b/d");
  CHECK(diffs[2].actual == "(absent)");
  CHECK(diffs[3].path == "/b/e");
  CHECK(diffs[3].expected == "(absent)");
  CHECK(diffs[3].actual == "null");
  // A body that stopped being JSON.
  diffs = compare_response(rec, json_response("<html>oops</html>"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].actual == "(not JSON) <html>oops</html>");
}

TEST_CASE("HTTP: a different status is reported alone") {
  MatchContext ctx;
  auto rec = response("POST", "http://app.test/login", 303, {{"Location", "/chat"}}, "");
  auto live =
      response("POST", "http://app.test/login", 500, {{"Content-Type", "text/plain"}}, "boom");
  auto diffs = compare_response(rec, live, ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].kind == DiffKind::status);
  CHECK(diffs[0].expected == "303");
  CHECK(diffs[0].actual == "500");
  CHECK(format_differences(diffs) == "POST /login: status\n  - 303\n  + 500\n");
  live.status = 0;
  live.error = "connection closed before the response";
  CHECK(compare_response(rec, live, ctx)[0].actual ==
        "no response (connection closed before the response)");
}

TEST_CASE("HTTP: chosen headers; content-type without case; location mapped and correlated") {
  auto rec = response("POST", "http://app.test/login", 303,
                      {{"Content-Type", "text/html; charset=utf-8"},
                       {"Location", "http://app.test/chat?session=sessRec123"},
                       {"Date", "Mon, 01 Jan 2024 00:00:00 GMT"}},
                      "");
  auto live = response("POST", "http://127.0.0.1:4000/login", 303,
                       {{"content-type", "text/html;charset=UTF-8"},
                        {"Location", "/chat?session=sessLive456"},
                        {"Date", "Tue, 02 Jan 2024 00:00:00 GMT"}},
                       "");
  HttpMatchOptions options;
  options.headers = {"content-type", "location", "date"};
  options.map_url = [](std::string_view u) {
    return url::map_origin(u, *url::parse("http://app.test"), *url::parse("http://127.0.0.1:4000"));
  };
  MatchContext ctx;
  auto diffs = compare_response(rec, live, ctx, options);
  REQUIRE(diffs.size() == 2);
  CHECK(diffs[0].path == "header location");
  CHECK(diffs[0].expected == "http://127.0.0.1:4000/chat?session=sessRec123");
  CHECK(diffs[0].actual == "http://127.0.0.1:4000/chat?session=sessLive456");
  CHECK(diffs[1].path == "header date");

  // The session id is a correlated value: both sides become the same placeholder.
  std::vector<ValuePair> values = {{"sessRec123", "sessLive456", 2}};
  ctx.values = values;
  diffs = compare_response(rec, live, ctx, options);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "header date");
  // A header noise rule covers the date: reported as noise, not a failure.
  NoiseSet n = noise({{store::NoiseKind::header, "Date", "*"}});
  ctx.noise = &n;
  diffs = compare_response(rec, live, ctx, options);
  CHECK(diffs.empty());  // a header named by a noise rule is not even compared
  CHECK(failure_count(diffs) == 0);
}

TEST_CASE("HTTP: correlated values become placeholders in JSON and text bodies") {
  auto rec = json_response(R"({"token":"tokRec.A1","next":"/room/tokRec.A1?x=1"})");
  auto live = json_response(R"({"next":"/room/tokLive.B2?x=1","token":"tokLive.B2"})");
  MatchContext ctx;
  auto diffs = compare_response(rec, live, ctx);
  CHECK(diffs.size() == 2);
  std::vector<ValuePair> values = {{"tokRec.A1", "tokLive.B2", 0}};
  ctx.values = values;
  CHECK(compare_response(rec, live, ctx).empty());
  // A live body that kept the recorded value is a difference: the server did not issue anew.
  diffs = compare_response(
      rec, json_response(R"({"token":"tokRec.A1","next":"/room/tokLive.B2?x=1"})"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "/token");
  CHECK(diffs[0].expected == "\"⟨value 1⟩\"");
  CHECK(diffs[0].actual == "\"tokRec.A1\"");

  auto html = [](std::string csrf) {
    return response(
        "GET", "http://app.test/form", 200, {{"Content-Type", "text/html"}},
        "<html>\n<form><input type=hidden name=csrf value=\"" + csrf + "\"></form>\n</html>\n");
  };
  CHECK(compare_response(html("Csrf+Rec/1"), html("Csrf+Live/2"), ctx).size() == 1);
  std::vector<ValuePair> csrf = {{"Csrf+Rec/1", "Csrf+Live/2", 0}};
  ctx.values = csrf;
  CHECK(compare_response(html("Csrf+Rec/1"), html("Csrf+Live/2"), ctx).empty());
}

TEST_CASE("HTTP: text exactly, by first differing line; binary and cut bodies by hash") {
  MatchContext ctx;
  auto text = [](std::string body) {
    return response("GET", "http://app.test/t", 200, {{"Content-Type", "text/plain"}}, body);
  };
  CHECK(compare_response(text("a\nb\nc\n"), text("a\nb\nc\n"), ctx).empty());
  auto diffs = compare_response(text("a\nb\nc\n"), text("a\nB\nc\n"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].kind == DiffKind::body);
  CHECK(diffs[0].path == "body line 2, column 1");
  CHECK(diffs[0].expected == "b");
  CHECK(diffs[0].actual == "B");
  diffs = compare_response(text("a\n"), text("a\nmore\n"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "body line 2, column 1");
  CHECK(diffs[0].expected == "");
  CHECK(diffs[0].actual == "more");

  auto bin = [](std::string body) {
    return response("GET", "http://app.test/img", 200, {{"Content-Type", "image/png"}}, body);
  };
  CHECK(
      compare_response(bin(std::string("\x89PNG\0\1", 6)), bin(std::string("\x89PNG\0\1", 6)), ctx)
          .empty());
  diffs =
      compare_response(bin(std::string("\x89PNG\0\1", 6)), bin(std::string("\x89PNG\0\2", 6)), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].expected.starts_with("6 bytes, sha256 "));

  // The recorder cut the body at 4 bytes, keeping the whole length and hash.
  std::string whole = "0123456789";
  auto cut = bin("");
  cut.response_body.bytes = whole.substr(0, 4);
  cut.response_body.full_length = 10;
  cut.response_body.sha256 = sha256_hex(whole);
  CHECK(compare_response(cut, bin(whole), ctx).empty());
  diffs = compare_response(cut, bin("0123456780"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].expected.starts_with("10 bytes, sha256 84d8"));

  // The live body cut by the replay client (CappedBody), the recorded one cut or whole: both
  // compare by the whole length and hash.
  CappedBody live_capped(6);
  live_capped.append(whole.substr(0, 3));
  live_capped.append(whole.substr(3));
  auto live_cut = bin("");
  live_cut.response_body = live_capped.take();
  REQUIRE(live_cut.response_body.truncated());
  CHECK(compare_response(cut, live_cut, ctx).empty());
  CHECK(compare_response(bin(whole), live_cut, ctx).empty());
  diffs = compare_response(bin("0123456780"), live_cut, ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].expected.starts_with("10 bytes, sha256 "));
  CHECK(diffs[0].actual.starts_with("10 bytes, sha256 84d8"));
  diffs = compare_response(bin("short"), live_cut, ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].expected.starts_with("5 bytes"));

  // A body the recording does not hold (an imported HAR without it) is not compared; the
  // status and headers still are.
  auto unknown = response("POST", "http://app.test/login", 303, {{"Location", "/"}}, "");
  unknown.response_body = wa::store::Payload::unknown();
  CHECK(compare_response(unknown,
                         response("POST", "http://app.test/login", 303, {{"Location", "/"}},
                                  "<p>See Other. Redirecting</p>"),
                         ctx)
            .empty());
  diffs = compare_response(unknown, response("POST", "http://app.test/login", 200, {}, "x"), ctx);
  CHECK_FALSE(diffs.empty());
}

TEST_CASE("HTTP: bodies compare after their content coding is removed") {
  MatchContext ctx;
  auto rec = json_response(gzip(R"({"a":[1,2,3]})"));
  rec.response_encoding = "gzip";
  CHECK(compare_response(rec, json_response(R"({"a":[1,2,3]})"), ctx).empty());
  auto diffs = compare_response(rec, json_response(R"({"a":[1,2,4]})"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "/a/2");

  // The same compressed bytes under the same coding: equal, and so are the same corrupt bytes;
  // the same bytes under another coding are decoded and compared.
  auto same = rec;
  CHECK(compare_response(rec, same, ctx).empty());
  auto corrupt = json_response("\x1f\x8b not gzip");
  corrupt.response_encoding = "gzip";
  CHECK(compare_response(corrupt, corrupt, ctx).empty());
  auto other = rec;
  other.response_encoding = "";
  diffs = compare_response(rec, other, ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "body");
  auto changed = json_response(gzip(R"({"a":[1,2,5]})"));
  changed.response_encoding = "gzip";
  diffs = compare_response(rec, changed, ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "/a/2");
}

TEST_CASE("HTTP noise: JSON pointers with *, scopes, and regexes over text") {
  auto rec = json_response(R"({"items":[{"id":1,"ts":100},{"id":2,"ts":101}],"at":"x"})");
  auto live = json_response(R"({"items":[{"id":1,"ts":200},{"id":2,"ts":201}],"at":"y"})");
  NoiseSet n = noise({{store::NoiseKind::json_pointer, "/items/*/ts", "GET /api/*"},
                      {store::NoiseKind::json_pointer, "/at", "POST /other"}});
  MatchContext ctx{{}, &n};
  auto diffs = compare_response(rec, live, ctx);
  REQUIRE(diffs.size() == 3);
  CHECK(diffs[0].noise);
  CHECK(diffs[1].noise);
  CHECK_FALSE(diffs[2].noise);  // /at: its rule is for another endpoint
  CHECK(failure_count(diffs) == 1);
  CHECK(format_differences(diffs) == "GET /api/items?page=1: /at\n  - \"x\"\n  + \"y\"\n");

  auto page = [](std::string id) {
    return response("GET", "http://app.test/p", 200, {{"Content-Type", "text/html"}},
                    "<p>request " + id + " served</p>\n");
  };
  NoiseSet re = noise({{store::NoiseKind::regex, "[0-9a-f]{32}", "*"}});
  ctx.noise = &re;
  CHECK(compare_response(page("0123456789abcdef0123456789abcdef"),
                         page("fedcba9876543210fedcba9876543210"), ctx)
            .empty());
  CHECK(compare_response(page("0123456789abcdef0123456789abcdef"), page("short"), ctx).size() == 1);
}

TEST_CASE("events: Flask's \\u-escaped text equals Node's UTF-8") {
  Packets rec;
  // What the recorder stored for a Flask server: the args as the server wrote them.
  auto* welcome = rec.add(2, "welcome", R"([{"nsp":"/","text":"h\u00e9llo \u20ac\ud83d\ude00"}])");
  auto diffs = compare_events({welcome}, {decoded(R"(2["welcome",{"text":"héllo €😀","nsp":"/"}])")},
                              MatchContext{});
  CHECK(diffs.empty());
  diffs = compare_events({welcome}, {decoded(R"(2["welcome",{"nsp":"/","text":"hello €😀"}])")},
                         MatchContext{});
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].where == "event welcome #1 on /");
  CHECK(diffs[0].scope == "event welcome");
  CHECK(diffs[0].path == "/0/text");
  CHECK(diffs[0].expected == "\"héllo €😀\"");
  CHECK(diffs[0].actual == "\"hello €😀\"");
}

TEST_CASE("events: interleaved broadcasts, reordered emits, a CONNECT reply after an event") {
  Packets rec;
  auto* reply = rec.add(0, "", R"({"sid":"RecordedSid000000001"})");
  auto* welcome = rec.add(2, "welcome", R"([{"username":"bob"}])");
  auto* ping = rec.ping();
  auto* chat = rec.add(2, "chat", R"([{"from":"alice","text":"hello 1"}])");
  auto* ack = rec.add(3, "", R"([{"ok":true,"id":1}])", 0);
  std::vector<const store::SocketPacket*> expected = {reply, welcome, ping, chat, ack};

  EventMatcher m(expected);
  REQUIRE(m.size() == 4);  // the ping is the live client's business
  MatchContext ctx;
  // Flask emits welcome before the CONNECT reply; the reply's sid is per run.
  CHECK(m.on_event(live_event("welcome", R"([{"username":"bob"}])"), ctx).expected == 1);
  SocketEvent live_reply;
  live_reply.kind = EventKind::connect;
  live_reply.args = Json{{"sid", "LiveSid0000000000002"}};
  auto a = m.on_event(live_reply, ctx);
  CHECK(a.expected == 0);
  CHECK(a.exact);
  // Someone else's chat arrives first (a broadcast of another session): provisionally paired.
  a = m.on_event(live_event("chat", R"([{"from":"carol","text":"hey"}])"), ctx);
  CHECK(a.expected == 2);
  CHECK_FALSE(a.exact);
  CHECK(m.all_arrived() == false);
  CHECK(m.on_event(live_ack(0, R"([{"ok":true,"id":1}])"), ctx).exact);
  // The expected chat takes its place; carol's becomes extra.
  a = m.on_event(live_event("chat", R"([{"text":"hello 1","from":"alice"}])"), ctx);
  CHECK(a.expected == 2);
  CHECK(a.exact);
  CHECK(m.all_arrived());
  auto diffs = m.finish(ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].kind == DiffKind::extra);
  CHECK(diffs[0].where == "event chat on /");
  CHECK(format_differences(diffs) ==
        "event chat on /: not expected\n  + [{\"from\":\"carol\",\"text\":\"hey\"}]\n");

  // Under load, an extra event of a broadcast kind is counted, not failed.
  EventMatcher::Options load;
  load.tolerate_broadcasts = true;
  load.broadcast_kinds = {identity(live_event("chat", "[]"))};
  EventMatcher l(expected, load);
  for (const auto& e : {live_event("chat", R"([{"from":"carol","text":"hey"}])"),
                        live_event("welcome", R"([{"username":"bob"}])"),
                        live_event("chat", R"([{"from":"alice","text":"hello 1"}])"),
                        live_event("chat", R"([{"from":"dave","text":"yo"}])"),
                        live_ack(0, R"([{"ok":true,"id":1}])"), live_reply})
    l.on_event(e, ctx);
  CHECK(l.finish(ctx).empty());
  CHECK(l.broadcasts_counted() == 2);
}

TEST_CASE("events: a missing event, an extra event, an ack by its id") {
  Packets rec;
  auto* welcome = rec.add(2, "welcome", R"([{"username":"alice"}])");
  auto* ack = rec.add(3, "", R"([{"ok":true}])", 0);
  EventMatcher m({welcome, ack});
  MatchContext ctx;
  m.on_event(live_event("typing", R"(["alice"])"), ctx);
  m.on_event(live_ack(1, R"([{"ok":true}])"), ctx);
  CHECK_FALSE(m.arrived(0));
  CHECK_FALSE(m.arrived(1));
  CHECK(m.waiting() == 2);
  auto diffs = m.finish(ctx);
  REQUIRE(diffs.size() == 4);
  CHECK(diffs[0].kind == DiffKind::missing);
  CHECK(diffs[0].where == "event welcome #1 on /");
  CHECK(diffs[1].kind == DiffKind::missing);
  CHECK(diffs[1].where == "ack 0 #1 on /");
  CHECK(diffs[2].kind == DiffKind::extra);
  CHECK(diffs[2].where == "event typing on /");
  CHECK(diffs[3].kind == DiffKind::extra);
  CHECK(diffs[3].where == "ack 1 on /");
  CHECK(format_differences(diffs, 1) ==
        "event welcome #1 on /: never came\n  - [{\"username\":\"alice\"}]\n… and 3 more\n");
}

TEST_CASE("events: a changed payload is paired and reported by path") {
  Packets rec;
  auto* w1 = rec.add(2, "welcome", R"([{"username":"alice","n":1}])");
  auto* w2 = rec.add(2, "welcome", R"([{"username":"alice","n":2}])");
  EventMatcher m({w1, w2});
  MatchContext ctx;
  auto a = m.on_event(live_event("welcome", R"([{"username":"eve","n":1}])"), ctx);
  CHECK(a.expected == 0);
  CHECK_FALSE(a.exact);
  CHECK(m.on_event(live_event("welcome", R"([{"username":"alice","n":2}])"), ctx).exact);
  auto diffs = m.finish(ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].where == "event welcome #1 on /");
  CHECK(diffs[0].path == "/0/username");
}

TEST_CASE("events: correlated values, noise rules, recovery offsets, binary attachments") {
  Packets rec;
  auto* reply =
      rec.add(0, "", R"({"sid":"S1xxxxxxxxxxxxxxxxxx","pid":"P1yyyyyyyyy"})", {}, "/admin");
  auto* joined =
      rec.add(2, "joined", R"([{"room":"RoomRec01","at":1700000000},"OffsetRec1"])", {}, "/admin");
  EventMatcher m({reply, joined});
  std::vector<ValuePair> values = {{"RoomRec01", "RoomLive02", 4}};
  NoiseSet n = noise({{store::NoiseKind::json_pointer, "/0/at", "event joined"}});
  MatchContext ctx{values, &n};
  SocketEvent live_reply;
  live_reply.kind = EventKind::connect;
  live_reply.nsp = "/admin";
  live_reply.args = Json{{"sid", "S2"}, {"pid", "P2"}};
  CHECK(m.on_event(live_reply, ctx).exact);
  // The offset differs (recovery is on for /admin), the room is correlated, "at" is noise.
  auto a = m.on_event(
      live_event("joined", R"([{"room":"RoomLive02","at":1800000000},"OffsetLive2"])", "/admin"),
      ctx);
  CHECK(a.expected == 1);
  CHECK_FALSE(a.exact);
  auto diffs = m.finish(ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].noise);
  CHECK(diffs[0].path == "/0/at");
  CHECK(failure_count(diffs) == 0);

  Packets bin;
  auto* p = bin.add(5, "file", R"([{"_placeholder":true,"num":0}])");
  const_cast<store::SocketPacket*>(p)->attachments = {std::string("\x01\x02\x03", 3)};
  SocketEvent same = live_event("file", R"([{"_placeholder":true,"num":0}])");
  same.attachments = {std::string("\x01\x02\x03", 3)};
  CHECK(compare_events({p}, {same}, MatchContext{}).empty());
  same.attachments = {std::string("\x01\x02\x04", 3)};
  diffs = compare_events({p}, {same}, MatchContext{});
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].kind == DiffKind::attachment);
  CHECK(diffs[0].path == "attachment 0");
}

TEST_CASE("events: regex noise over string arguments; a pointer \"\" covers a whole kind") {
  Packets rec;
  auto* msg = rec.add(2, "msg", R"(["id 3fa9c2d1 ok"])");
  NoiseSet n = noise({{store::NoiseKind::regex, "[0-9a-f]{8}", "event msg"},
                      {store::NoiseKind::json_pointer, "", "event tick"}});
  MatchContext ctx{{}, &n};
  EventMatcher m({msg});
  CHECK(m.on_event(live_event("msg", R"(["id 77b1e0aa ok"])"), ctx).exact);
  m.on_event(live_event("tick", "[1]"), ctx);
  auto diffs = m.finish(ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].kind == DiffKind::extra);
  CHECK(diffs[0].noise);
}

TEST_CASE("events: strict order reports an event that overtook another") {
  Packets rec;
  auto* a = rec.add(2, "first", "[]");
  auto* b = rec.add(2, "second", "[]");
  EventMatcher::Options strict;
  strict.strict_order = true;
  auto diffs = compare_events({a, b}, {live_event("second", "[]"), live_event("first", "[]")},
                              MatchContext{}, strict);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].kind == DiffKind::order);
  CHECK(diffs[0].where == "event second #1 on /");
  CHECK(compare_events({a, b}, {live_event("second", "[]"), live_event("first", "[]")},
                       MatchContext{})
            .empty());
}

TEST_CASE("broadcast kinds: delivered to several sessions, or echoing a client's emit") {
  store::RecordingData data;
  Packets p;
  p.add(2, "chat", R"([{"from":"alice","text":"hi"}])", {}, "/", 1);
  p.add(2, "chat", R"([{"from":"alice","text":"hi"}])", {}, "/", 2);
  p.add(2, "welcome", R"([{"username":"alice"}])", {}, "/", 1);
  p.add(2, "welcome", R"([{"username":"bob"}])", {}, "/", 2);
  store::SocketPacket emit;
  emit.id = 100;
  emit.direction = store::Direction::client;
  emit.eio_type = 4;
  emit.sio_type = 2;
  emit.namespace_ = "/";
  emit.event = "typing";
  emit.args = "[]";
  emit.time_us = 1;
  p.list.push_back(emit);
  p.add(2, "typing", R"(["alice"])", {}, "/", 2);
  data.packets = p.list;
  auto kinds = broadcast_kinds(data);
  CHECK(kinds.size() == 2);
  CHECK(kinds.count(identity(live_event("chat", "[]"))));
  CHECK(kinds.count(identity(live_event("typing", "[]"))));
  CHECK_FALSE(kinds.count(identity(live_event("welcome", "[]"))));
}

TEST_CASE("calibration: the differences of two runs become noise rules that cover them") {
  auto page = [](std::string id, std::string ts) {
    return response("GET", "http://app.test/p", 200,
                    {{"Content-Type", "text/html"}, {"X-Request-Id", "req-" + id}},
                    "<html>\n<p>id=" + id + "</p>\n<p>at " + ts + " UTC</p>\n</html>\n");
  };
  HttpMatchOptions options;
  options.headers = {"content-type", "x-request-id"};
  auto run1 = page("3fa9c2", "12:00:01"), run2 = page("77b1e0", "12:00:02");
  MatchContext ctx;
  auto diffs = compare_response(run1, run2, ctx, options);
  auto rules = calibration_rules(diffs);
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].kind == store::NoiseKind::header);
  CHECK(rules[0].pattern == "x-request-id");
  CHECK(rules[0].scope == "GET /p");
  CHECK(rules[1].kind == store::NoiseKind::regex);
  CHECK(rules[1].pattern == "<p>id=[0-9a-f]+");
  // Calibrating again with the first rules on finds the next line, and so on until clean.
  for (int round = 0; round < 4; ++round) {
    NoiseSet n = noise(rules);
    ctx.noise = &n;
    diffs = compare_response(run1, run2, ctx, options);
    if (failure_count(diffs) == 0) break;
    for (auto& r : calibration_rules(diffs))
      rules.push_back(r);
  }
  CHECK(failure_count(diffs) == 0);
  CHECK(rules.size() == 3);
  CHECK(rules[2].pattern == "<p>at [0-9]+:[0-9]+:[0-9]+");
  // A real change is still caught.
  NoiseSet n = noise(rules);
  ctx.noise = &n;
  auto changed = page("aaaaaa", "12:00:09");
  changed.response_body.bytes += "<p>new</p>\n";
  CHECK(failure_count(compare_response(run1, changed, ctx, options)) == 1);

  auto json1 = json_response(R"({"ts":1,"list":[{"id":"a1"}]})");
  auto json2 = json_response(R"({"ts":2,"list":[{"id":"b2"}]})");
  MatchContext plain;
  auto json_rules = calibration_rules(compare_response(json1, json2, plain));
  REQUIRE(json_rules.size() == 2);
  CHECK(json_rules[0].pattern == "/ts");
  CHECK(json_rules[1].pattern == "/list/0/id");
}

TEST_CASE("noise sets reject bad rules with a reason") {
  CHECK_FALSE(NoiseSet::make({{store::NoiseKind::regex, "([", "*"}}).ok());
  CHECK_FALSE(NoiseSet::make({{store::NoiseKind::json_pointer, "no-slash", "*"}}).ok());
  CHECK_FALSE(NoiseSet::make({{store::NoiseKind::header, "date", "sometimes"}}).ok());
  auto bad = NoiseSet::make({{store::NoiseKind::regex, "([", "*"}});
  CHECK(bad.error().why.starts_with("noise rule regex \"([\": invalid regex"));
}

TEST_CASE("plain WebSocket and event stream differences calibrate to rules scoped to their path") {
  auto ws_run = [](const std::string& total) {
    return event_from_ws("/comms", false, R"({"type":"order","id":1,"total":)" + total + "}");
  };
  EventMatcher ws = EventMatcher::of_events({ws_run("25")});
  (void)ws.on_event(ws_run("26"), {});
  auto ws_diffs = ws.finish({});
  REQUIRE(ws_diffs.size() == 1);
  CHECK(ws_diffs[0].where == "ws order #1 on /comms");
  CHECK(ws_diffs[0].path == "/total");
  auto ws_rules = calibration_rules(ws_diffs);
  REQUIRE(ws_rules.size() == 1);
  CHECK(ws_rules[0].scope == "ws /comms");
  CHECK(check_noise_rule(ws_rules[0]).ok());

  auto sse_run = [](const std::string& at) {
    return event_from_sse("/events", "tick", R"({"at":")" + at + R"("})", std::string("7"));
  };
  EventMatcher sse = EventMatcher::of_events({sse_run("10:00")});
  (void)sse.on_event(sse_run("10:01"), {});
  auto sse_rules = calibration_rules(sse.finish({}));
  REQUIRE(sse_rules.size() == 1);
  CHECK(sse_rules[0].pattern == "/data/at");
  CHECK(sse_rules[0].scope == "sse /events");
  CHECK(check_noise_rule(sse_rules[0]).ok());
  // Binary messages compare by content: a different payload is an attachment difference.
  EventMatcher bin = EventMatcher::of_events({event_from_ws("/comms", true, "\x01\x02")});
  (void)bin.on_event(event_from_ws("/comms", true, "\x01\x03"), {});
  auto bin_diffs = bin.finish({});
  REQUIRE(bin_diffs.size() == 1);
  CHECK(bin_diffs[0].kind == DiffKind::attachment);
}
