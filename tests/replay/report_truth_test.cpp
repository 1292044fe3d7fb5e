// The reports tell the truth: a real run (the runner against a loopback server that answers
// some requests with something else), and each row of its timeline is ok exactly when no
// failure is about it, in every format. Also: a differing token far along a line is shown with
// its context, and acks are named by the emit they answer.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "net/loop.h"
#include "net/tcp_listener.h"
#include "protocol/http1.h"
#include "protocol/text.h"
#include "replay/matcher.h"
#include "replay/report.h"
#include "replay/runner.h"

using namespace wa;
using namespace wa::replay;

namespace {

// A loopback HTTP/1.1 server answering each request with what `answer` says for its target.
struct Server {
  struct Conn final : http::Sink {
    Server* server = nullptr;
    net::Owned<net::Stream> stream;
    http::Parser parser{http::Role::request};
    http::Head head;

    http::Flow on_head(http::Head& h) override {
      head = h;
      return http::Flow::proceed;
    }
    void on_body(std::string_view) override {}
    http::Flow on_message_end() override {
      ++server->requests;
      if (stream) stream->write(server->answer(head.method, head.target));
      return http::Flow::proceed;
    }
  };

  explicit Server(net::Loop& loop) {
    auto listening =
        net::TcpListener::listen(loop, "127.0.0.1", 0, [this](net::Owned<net::TcpConnection> tcp) {
          auto conn = std::make_unique<Conn>();
          conn->server = this;
          Conn* c = conn.get();
          conns.push_back(std::move(conn));
          c->stream = net::Owned<net::Stream>(tcp.release());
          c->stream->start(net::StreamHandler{
              [c](std::string_view bytes) { (void)c->parser.feed(bytes, *c); },
              [c] { c->stream.reset(); }, [c](const net::Error&) { c->stream.reset(); }});
        });
    REQUIRE(listening);
    listener = std::move(listening).value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(listener->port()); }
  void close() {
    listener.reset();
    conns.clear();
  }

  std::function<std::string(const std::string& method, const std::string& target)> answer;
  std::vector<std::unique_ptr<Conn>> conns;
  net::Owned<net::TcpListener> listener;
  int requests = 0;
};

std::string reply(int status, std::string_view type, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Internal Server Error") +
         "\r\nContent-Type: " + std::string(type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// A long minified line whose token at column 980 ("id=" ends at column 979) is `value`.
std::string long_line(std::string_view value) {
  std::string line = "<html>";
  while (line.size() < 976)
    line += "<b>x</b>";
  line.resize(976);
  line += "id=";
  line += value;
  while (line.size() < 1400)
    line += "<i>y</i>";
  return line + "</html>";
}

// The recording: six exchanges of one browser. Live, the server answers the first
// GET /item?id=1 and GET /search?q=a with garbage, changes the token of GET /page, and fails
// POST /status; GET / and the second GET /item?id=1 come back as recorded.
store::RecordingData recording() {
  store::RecordingData data;
  data.recording.id = 7;
  data.recording.name = "shop";
  data.recording.started_us = 1'000'000;
  store::Id next = 1;
  auto add = [&](std::string method, std::string url, std::string type, std::string body) {
    store::Exchange x;
    x.id = next++;
    x.connection_id = 1;
    x.seq = int(x.id) - 1;
    x.method = std::move(method);
    x.url = "http://app.test" + std::move(url);
    x.status = 200;
    x.reason = "OK";
    x.response_headers = {{"Content-Type", type}};
    x.response_body = store::Payload::whole(std::move(body));
    x.started_us = 1'000'000 + int64_t(x.id) * 10'000;
    x.first_byte_us = x.started_us + 1'000;
    x.ended_us = x.started_us + 2'000;
    data.exchanges.push_back(std::move(x));
  };
  add("GET", "/", "text/plain", "home");
  add("GET", "/item?id=1", "text/plain", "item one");
  add("GET", "/item?id=1", "text/plain", "item one");
  add("GET", "/search?q=a", "text/plain", "found a");
  add("GET", "/page", "text/html", long_line("abc123"));
  add("POST", "/status", "text/plain", "fine");
  return data;
}

struct FailingRun {
  net::Loop loop;
  Server server{loop};
  RunReport report;
  std::map<std::string, int> seen;  // requests by method and target

  FailingRun() {
    server.answer = [this](const std::string& method, const std::string& target) {
      int n = ++seen[method + " " + target];
      if (target == "/") return reply(200, "text/plain", "home");
      if (target == "/item?id=1") return reply(200, "text/plain", n == 1 ? "garbage" : "item one");
      if (target == "/search?q=a") return reply(200, "text/plain", "garbage");
      if (target == "/page") return reply(200, "text/html", long_line("xyz789"));
      return reply(500, "text/plain", "broken");
    };
    RunnerOptions options;
    options.timeout_ms = 3'000;
    auto origins = OriginMap::make("http://app.test", server.url(), {});
    REQUIRE(origins);
    auto prepared = prepare(recording(), *origins, options);
    REQUIRE(prepared);
    std::vector<Prepared> list;
    list.push_back(std::move(*prepared));
    report = run(loop, list, options).report;
    report.target = server.url();
    server.close();
    CHECK(loop.close() == 0);
  }
};

const std::set<std::string> kFailing = {"GET /item?id=1", "GET /search?q=a", "GET /page",
                                        "POST /status"};

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t i = text.find(what); i != std::string_view::npos; i = text.find(what, i + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("report truth: each row is ok exactly when no failure is about it") {
  FailingRun r;
  REQUIRE(r.report.sessions.size() == 1);
  const SessionResult& s = r.report.sessions[0];
  CHECK(s.errors.empty());
  CHECK(r.server.requests == 6);
  REQUIRE(s.timeline.size() == 6);
  CHECK(s.failures() == 4);
  std::vector<size_t> failures(s.timeline.size(), 0);
  for (const Difference& d : s.differences) {
    REQUIRE(d.outcome >= 0);
    REQUIRE(size_t(d.outcome) < s.timeline.size());
    CHECK(d.where == s.timeline[size_t(d.outcome)].where);
    if (!d.noise) ++failures[size_t(d.outcome)];
  }
  size_t bad = 0;
  std::multiset<std::string> bad_where, ok_where;
  for (size_t i = 0; i < s.timeline.size(); ++i) {
    const Outcome& o = s.timeline[i];
    CHECK(o.ok == (failures[i] == 0));
    (o.ok ? ok_where : bad_where).insert(o.where);
    bad += o.ok ? 0 : 1;
  }
  CHECK(bad == 4);
  // The URL with its query names the row; the second GET /item?id=1 matched.
  CHECK(bad_where == std::multiset<std::string>(kFailing.begin(), kFailing.end()));
  CHECK(ok_where == std::multiset<std::string>{"GET /", "GET /item?id=1"});
}

TEST_CASE("report truth: JSON rows agree with their differences") {
  FailingRun r;
  auto j = nlohmann::json::parse(to_json(r.report));
  REQUIRE(j["sessions"].size() == 1);
  const auto& s = j["sessions"][0];
  REQUIRE(s["timeline"].size() == 6);
  std::vector<size_t> failures(6, 0);
  for (const auto& d : s["differences"]) {
    REQUIRE(d["outcome"].is_number());
    size_t row = d["outcome"].get<size_t>();
    REQUIRE(row < 6);
    CHECK(d["where"] == s["timeline"][row]["where"]);
    if (!d["noise"].get<bool>()) ++failures[row];
  }
  size_t bad = 0;
  for (size_t i = 0; i < 6; ++i) {
    const auto& row = s["timeline"][i];
    CHECK(row["ok"].get<bool>() == (failures[i] == 0));
    CHECK(row["failures"].get<size_t>() == failures[i]);
    if (!row["ok"].get<bool>()) {
      ++bad;
      CHECK(kFailing.count(row["where"].get<std::string>()) == 1);
    }
  }
  CHECK(bad == 4);
  // The token at column 980, with its context.
  bool token = false;
  for (const auto& d : s["differences"]) {
    if (d["where"] != "GET /page") continue;
    CHECK(d["path"] == "body line 1, column 980");
    CHECK(d["expected"].get<std::string>().find("id=abc123") != std::string::npos);
    CHECK(d["actual"].get<std::string>().find("id=xyz789") != std::string::npos);
    token = true;
  }
  CHECK(token);
}

TEST_CASE("report truth: HTML rows agree with their differences, which link to them") {
  FailingRun r;
  std::string html = to_html(r.report);
  const SessionResult& s = r.report.sessions[0];
  CHECK(count(html, "<tr class=\"bad\" id=\"session-0-row-") == 4);
  CHECK(count(html, "<tr class=\"ok\" id=\"session-0-row-") == 2);
  for (size_t i = 0; i < s.timeline.size(); ++i) {
    std::string row = "<tr class=\"" + std::string(s.timeline[i].ok ? "ok" : "bad") +
                      "\" id=\"session-0-row-" + std::to_string(i) + "\">";
    CHECK(html.find(row) != std::string::npos);
  }
  // Each failing difference links to a row marked bad.
  size_t links = 0;
  for (size_t at = html.find("<a href=\"#session-0-row-"); at != std::string::npos;
       at = html.find("<a href=\"#session-0-row-", at + 1)) {
    size_t row = std::stoul(html.substr(at + 24, 3));
    REQUIRE(row < s.timeline.size());
    CHECK_FALSE(s.timeline[row].ok);
    ++links;
  }
  CHECK(links == s.failures());
  CHECK(html.find("body line 1, column 980") != std::string::npos);
  CHECK(html.find("id=xyz789") != std::string::npos);
  CHECK(html.find("GET /search?q=a") != std::string::npos);
}

TEST_CASE("report truth: JUnit and the console name exactly the failing rows") {
  FailingRun r;
  std::string xml = to_junit(r.report);
  std::string console = format_console(r.report, false, 100);
  for (const std::string* text : {&xml, &console}) {
    CHECK(text->find("GET /item?id=1: body line 1, column 1\n") != std::string::npos);
    CHECK(text->find("GET /search?q=a: body line 1, column 1\n") != std::string::npos);
    CHECK(text->find("POST /status: status\n") != std::string::npos);
    CHECK(text->find("GET /page: body line 1, column 980\n") != std::string::npos);
    // The rows that matched are not named.
    CHECK(text->find("GET /: ") == std::string::npos);
    CHECK(count(*text, "GET /item?id=1: ") == 1);
  }
  CHECK(xml.find("<failure message=\"4 differences\"") != std::string::npos);
  // The token and its context, aligned: the same 60 characters before it on both sides.
  std::string before = long_line("").substr(979 - 60, 60);
  CHECK(console.find("  - …" + before + "abc123") != std::string::npos);
  CHECK(console.find("  + …" + before + "xyz789") != std::string::npos);
  CHECK(xml.find("id=xyz789") != std::string::npos);
}

TEST_CASE("text bodies: the first differing column, with 60 characters either side") {
  auto page = [](std::string body) {
    store::Exchange x;
    x.method = "GET";
    x.url = "http://app.test/page?x=1";
    x.status = 200;
    x.response_headers = {{"Content-Type", "text/html"}};
    x.response_body = store::Payload::whole(std::move(body));
    return x;
  };
  MatchContext ctx;
  std::string e = long_line("abc123"), a = long_line("xyz789");
  auto diffs = compare_response(page("<!doctype html>\n" + e), page("<!doctype html>\n" + a), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].where == "GET /page?x=1");
  CHECK(diffs[0].path == "body line 2, column 980");
  CHECK(diffs[0].expected == "…" + e.substr(919, 120) + "…");
  CHECK(diffs[0].actual == "…" + a.substr(919, 120) + "…");

  // Near the start and the end: cut only where the line goes on; columns count characters.
  diffs = compare_response(page("é short old"), page("é short new"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "body line 1, column 9");
  CHECK(diffs[0].expected == "é short old");
  CHECK(diffs[0].actual == "é short new");
  // Two characters that share their first byte differ at that character.
  diffs = compare_response(page("café"), page("cafè"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "body line 1, column 4");
  CHECK(diffs[0].expected == "café");
  CHECK(text::is_valid_utf8(diffs[0].actual));
  // A line only one side has: no column.
  diffs = compare_response(page("a"), page("a\n" + std::string(200, 'z')), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path == "body line 2");
  CHECK(diffs[0].expected == "(absent)");
  CHECK(diffs[0].actual == std::string(60, 'z') + "…");
}

TEST_CASE("acks are named by the client emit they answer; rules scoped to acks still apply") {
  // What the client sent on the connection: two chats, the second asking for ack 1.
  store::SocketPacket first, second;
  for (store::SocketPacket* p : {&first, &second}) {
    p->direction = store::Direction::client;
    p->eio_type = 4;
    p->sio_type = 2;
    p->namespace_ = "/";
    p->event = "chat";
    p->args = R"(["hi"])";
  }
  second.ack_id = 1;
  std::vector<SocketEvent> sent;
  for (const store::SocketPacket* p : {&first, &second})
    if (auto e = event_from_recorded(*p)) sent.push_back(std::move(*e));
  REQUIRE(sent.size() == 2);
  AckNames acks = ack_names(sent);
  REQUIRE(acks.size() == 1);
  CHECK(acks.begin()->second == "chat #2");

  store::SocketPacket ack;
  ack.direction = store::Direction::server;
  ack.eio_type = 4;
  ack.sio_type = 3;
  ack.namespace_ = "/";
  ack.ack_id = 1;
  ack.args = R"([{"ok":true,"id":5}])";
  EventMatchOptions options;
  options.acks = acks;
  EventMatcher m({&ack}, options);
  REQUIRE(m.size() == 1);
  CHECK(m.where(0) == "ack of chat #2 on /");
  // Without the emits, the old name.
  CHECK(EventMatcher({&ack}).where(0) == "ack 1 #1 on /");

  SocketEvent live;
  live.kind = EventKind::ack;
  live.ack_id = 1;
  live.args = Json::parse(R"([{"ok":true,"id":6}])");
  SocketEvent stray = live;
  stray.ack_id = 9;
  MatchContext ctx;
  (void)m.on_event(live, ctx);
  (void)m.on_event(stray, ctx);
  auto diffs = m.finish(ctx);
  REQUIRE(diffs.size() == 2);
  CHECK(diffs[0].where == "ack of chat #2 on /");
  CHECK(diffs[0].scope == "ack");
  CHECK(diffs[0].path == "/0/id");
  CHECK(diffs[0].outcome == 0);
  CHECK_FALSE(diffs[0].noise);
  CHECK(diffs[1].kind == DiffKind::extra);
  CHECK(diffs[1].where == "ack 9 on /");
  CHECK(diffs[1].outcome == -1);

  // A noise rule scoped to acks covers the renamed ack.
  NoiseRule rule;
  rule.kind = store::NoiseKind::json_pointer;
  rule.pattern = "/0/id";
  rule.scope = "ack";
  auto rules = NoiseSet::make({rule});
  REQUIRE(rules);
  MatchContext quiet{{}, &*rules};
  EventMatcher again({&ack}, options);
  (void)again.on_event(live, quiet);
  diffs = again.finish(quiet);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].where == "ack of chat #2 on /");
  CHECK(diffs[0].noise);
}

TEST_CASE("a value issued for one response alone (a CSP nonce in its page) is not a difference") {
  auto page = [](const std::string& nonce, const std::string& text) {
    store::Exchange x;
    x.method = "GET";
    x.url = "http://app.test/notes";
    x.status = 200;
    x.response_headers = {{"Content-Type", "text/html"},
                          {"Content-Security-Policy", "script-src 'self' 'nonce-" + nonce + "'"}};
    x.response_body = store::Payload::whole("<p>" + text + "</p>\n<script nonce=\"" + nonce +
                                            "\">start()</script>\n");
    return x;
  };
  MatchContext ctx;
  CHECK(compare_response(page("3fa9c2e1b7d04c55", "notes"), page("77b1e0aa9c3f2d10", "notes"), ctx)
            .empty());
  // What else differs still does; the nonce's line compares equal.
  auto diffs =
      compare_response(page("3fa9c2e1b7d04c55", "notes"), page("77b1e0aa9c3f2d10", "NOTES"), ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path.starts_with("body line 1"));
  // A nonce the live page does not carry is a difference.
  store::Exchange live = page("77b1e0aa9c3f2d10", "notes");
  live.response_body =
      store::Payload::whole("<p>notes</p>\n<script nonce=\"0000000000000000\">start()</script>\n");
  diffs = compare_response(page("3fa9c2e1b7d04c55", "notes"), live, ctx);
  REQUIRE(diffs.size() == 1);
  CHECK(diffs[0].path.starts_with("body line 2"));
}
