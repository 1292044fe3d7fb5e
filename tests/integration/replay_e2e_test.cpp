// `workalready replay` end to end, from the command line, against the real test apps: each stack
// (Express + Socket.IO 4 with the socket authorised by cookie and by token, Flask-SocketIO,
// Socket.IO 2, Socket.IO 0.9) is recorded once through `workalready record --upstream` with the
// real chat client; the app is then stopped and every replay goes to a FRESH process of it, so
// every session cookie, Engine.IO sid and token differs from the recording and the replay only
// passes when the replayer correlates them.
//
// A fresh app per replay also keeps the chat message ids (a counter per process, returned in the
// acks) equal to the recorded ones. The app variants (tests/apps/common/server.js) change one
// thing each: `payload` adds welcome.role, `noevent` drops the welcome, `extraevent` adds a
// `notice` after it, `status` answers the login with 200 instead of a redirect, `noise` adds a
// time and a nonce to GET /api/me.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <chrono>

#include <map>
#include <memory>
#include <set>

#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

// Replays are short, but a broken replayer may hang on an event that never comes: the runner's
// own deadlines should end it well before this.
constexpr Millis kReplayTimeout = 120000ms;

struct Stack {
  std::string label;  // also the recording's name
  AppKind kind;
  std::string auth;    // cookie | token
  std::string flavor;  // the chat client's library: v4 | v2 | v09
  std::string user;
};

const Stack kExpressCookie{"express4-cookie", AppKind::express_v4, "cookie", "v4", "alice"};
const Stack kExpressToken{"express4-token", AppKind::express_v4, "token", "v4", "bob"};
const Stack kExpressQuery{"express4-query", AppKind::express_v4, "query", "v4", "carol"};
const Stack kFlask{"flask", AppKind::flask, "cookie", "v4", "erin"};
const Stack kExpressV2{"express2", AppKind::express_v2, "cookie", "v2", "dave"};
const Stack kSio09{"sio09", AppKind::sio09, "cookie", "v09", "frank"};

// A capture file holding one recording of one chat session, and what the checks need from it.
struct Recorded {
  std::unique_ptr<TempDir> dir;
  std::string db;
  int login_status = 0;              // the recorded answer to POST /login (a redirect)
  std::vector<std::string> cookies;  // the values the login set
  std::string token;                 // token mode: the value /api/token answered
};

// Records `stack` once per run of this executable (each stack's test cases share it): login, the
// socket connect with the cookie or the token, the welcome, two acked chats and their
// broadcasts, the polling → websocket upgrade. The capture is checked before anything replays
// it, so that a replay failure is never a recording failure in disguise.
const Recorded& recorded(const Stack& stack) {
  static std::map<std::string, Recorded> cache;
  if (auto it = cache.find(stack.label); it != cache.end()) return it->second;

  Recorded r;
  r.dir = std::make_unique<TempDir>();
  r.db = r.dir->file("capture.sqlite");
  {
    App app({.kind = stack.kind, .auth = stack.auth});
    RecordingProxy proxy(r.db, {"--upstream", app.origin(), "--name", stack.label});
    ClientRun run = run_chat_client({"--url", proxy.origin(), "--flavor", stack.flavor, "--user",
                                     stack.user, "--auth", stack.auth, "--chats", "2"});
    INFO(run.out << run.err << proxy.process().tail());
    REQUIRE(run.exit_code == 0);
    REQUIRE(proxy.interrupt() == 0);
    app.stop();
  }

  store::RecordingData data = load_capture(r.db);
  INFO(describe(data));
  REQUIRE(data.recording.name == stack.label);
  const store::Exchange* login = find_exchange(data, "POST", "/login");
  REQUIRE(login != nullptr);
  REQUIRE((login->status == 302 || login->status == 303));
  r.login_status = login->status;
  for (const auto* c : cookies_of(data, login->id, store::CookieKind::set))
    r.cookies.push_back(c->value);
  REQUIRE(!r.cookies.empty());
  if (stack.auth == "token") {
    const store::Exchange* token = find_exchange(data, "GET", "/api/token");
    REQUIRE(token != nullptr);
    r.token = parse_json(token->response_body.bytes).value("token", "");
    REQUIRE(!r.token.empty());
  }
  REQUIRE(data.sessions.size() == 1);
  bool upgraded = false;
  for (const auto& x : data.exchanges)
    upgraded = upgraded || x.status == 101;
  CHECK(upgraded);
  auto welcomes = events_named(data, "welcome", store::Direction::server);
  REQUIRE(welcomes.size() == 1);
  CHECK(parse_json(welcomes[0]->args) == json::array({{{"username", stack.user}}}));
  CHECK(events_named(data, "chat", store::Direction::client).size() == 2);
  CHECK(events_named(data, "chat", store::Direction::server).size() == 2);

  return cache.emplace(stack.label, std::move(r)).first->second;
}

CommandRun replay(const std::string& db, const std::string& target,
                  const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {WA_EXE, "replay", "--db", db};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("--target");
  argv.push_back(target);
  return run_command(argv, {}, kReplayTimeout);
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) lines.emplace_back(line);
  }
  return lines;
}

// Without leading blanks, so the diff's "  - x" lines compare as "- x".
std::string trim_left(const std::string& line) {
  size_t at = line.find_first_not_of(' ');
  return at == std::string::npos ? std::string() : line.substr(at);
}

bool has_line(const std::string& text, const std::function<bool(const std::string&)>& matches) {
  for (const auto& line : lines_of(text)) {
    if (matches(trim_left(line))) return true;
  }
  return false;
}

bool contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

// The console's last line: "replay: N sessions, P passed, F failed (D differences) in X s"
// (the differences part is left out when there are none). Not fatal when it is malformed, so
// that one test case's other checks still run; -1 then fails the comparisons.
struct Summary {
  long long sessions = -1, passed = -1, failed = -1, differences = -1;
};

Summary summary_of(const CommandRun& run) {
  auto lines = lines_of(run.out);
  std::string last = lines.empty() ? std::string() : lines.back();
  INFO("last line: " << last);
  bool well_formed = last.rfind("replay: ", 0) == 0 && contains(last, " passed, ") &&
                     contains(last, " failed") && contains(last, " in ");
  CHECK(well_formed);
  if (!well_formed) return {};
  auto n = numbers_in(last.substr(0, last.rfind(" in ")));
  if (n.size() == 3) n.push_back(0);
  CHECK(n.size() == 4);
  if (n.size() != 4) return {};
  return {n[0], n[1], n[2], n[3]};
}

std::string show(const CommandRun& run) {
  return "exit " + std::to_string(run.exit_code) + "\n--- stdout\n" + run.out + "--- stderr\n" +
         run.err;
}

// Exit 2 with exactly one line on stderr, `workalready: …`, naming `what`.
void check_setup_error(const CommandRun& run, const std::string& what) {
  INFO(show(run));
  CHECK(run.exit_code == 2);
  auto lines = lines_of(run.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("workalready: ", 0) == 0);
  CHECK(contains(lines[0], what));
}

App fresh_app(const Stack& stack, const std::string& variant = "none") {
  return App({.kind = stack.kind, .auth = stack.auth, .variant = variant});
}

// ---- The checks each stack goes through -----------------------------------------------------

// Three times, each against a fresh app: a replay that passes by luck of timing would show.
void replays_clean(const Stack& stack) {
  const Recorded& r = recorded(stack);
  for (int round = 1; round <= 3; ++round) {
    CAPTURE(round);
    App app = fresh_app(stack);
    CommandRun run = replay(r.db, app.origin());
    INFO(show(run));
    CHECK(run.exit_code == 0);
    Summary s = summary_of(run);
    CHECK(s.sessions == 1);
    CHECK(s.passed == 1);
    CHECK(s.failed == 0);
    CHECK(s.differences == 0);
    CHECK(run.err.empty());
  }
}

// payload: welcome gains `role`. Also the JSON and JUnit reports of that run.
void notices_payload(const Stack& stack) {
  const Recorded& r = recorded(stack);
  App app = fresh_app(stack, "payload");
  std::string json_file = r.dir->file("payload.json"), junit_file = r.dir->file("payload.xml"),
              html_file = r.dir->file("payload.html");
  CommandRun run = replay(
      r.db, app.origin(),
      {"--report-json", json_file, "--report-junit", junit_file, "--report-html", html_file});
  INFO(show(run));
  CHECK(run.exit_code == 1);
  Summary s = summary_of(run);
  CHECK(s.sessions == 1);
  CHECK(s.passed == 0);
  CHECK(s.failed == 1);
  CHECK(s.differences >= 1);
  // "event welcome #1 on /: /0/role", then "  - (absent)" and "  + \"member\"".
  CHECK(has_line(run.out, [](const std::string& line) {
    return line.rfind("event welcome", 0) == 0 && contains(line, ": /0/role");
  }));
  CHECK(has_line(run.out, [](const std::string& line) { return line.rfind("- ", 0) == 0; }));
  CHECK(has_line(run.out, [](const std::string& line) {
    return line.rfind("+ ", 0) == 0 && contains(line, "\"member\"");
  }));

  std::string report_text = read_text(json_file);
  INFO("JSON report: " << report_text);
  json report = parse_json(report_text);
  REQUIRE(report.is_object());
  CHECK(report["exit_code"] == 1);
  CHECK(report["passed"] == false);
  REQUIRE(report["sessions"].is_array());
  REQUIRE(report["sessions"].size() == 1);
  bool role_found = false;
  for (const auto& d : report["sessions"][0]["differences"]) {
    if (d.value("path", "") != "/0/role") continue;
    role_found = true;
    CHECK(contains(d.value("where", ""), "welcome"));
    CHECK(d.value("kind", "") == "json");
    CHECK(d["noise"] == false);
    CHECK(contains(d.value("actual", ""), "member"));
  }
  CHECK(role_found);

  std::string junit = read_text(junit_file);
  INFO("JUnit report: " << junit);
  CHECK(junit.rfind("<?xml", 0) == 0);
  CHECK(count_lines(junit, "<testcase") == 1);
  CHECK(contains(junit, "<failure"));
  CHECK(contains(junit, "/0/role"));

  std::string html = read_text(html_file);
  CHECK(contains(html, "<html"));
  CHECK(contains(html, "/0/role"));
}

// noevent: no welcome. The replayer must say which event never came (and not hang on it: the
// recorded chats waited for the welcome).
void notices_missing_event(const Stack& stack) {
  const Recorded& r = recorded(stack);
  App app = fresh_app(stack, "noevent");
  // A short wait: every other expected event arrives within milliseconds on loopback.
  CommandRun run = replay(r.db, app.origin(), {"--timeout", "1500"});
  INFO(show(run));
  CHECK(run.exit_code == 1);
  Summary s = summary_of(run);
  CHECK(s.failed == 1);
  CHECK(has_line(run.out, [](const std::string& line) {
    return line.rfind("event welcome", 0) == 0 && contains(line, "never came");
  }));
}

// extraevent: a `notice` after the welcome.
void notices_extra_event(const Stack& stack) {
  const Recorded& r = recorded(stack);
  App app = fresh_app(stack, "extraevent");
  CommandRun run = replay(r.db, app.origin());
  INFO(show(run));
  CHECK(run.exit_code == 1);
  Summary s = summary_of(run);
  CHECK(s.failed == 1);
  CHECK(has_line(run.out, [](const std::string& line) {
    return line.rfind("event notice", 0) == 0 && contains(line, "not expected");
  }));
  CHECK(has_line(run.out, [](const std::string& line) {
    return line.rfind("+ ", 0) == 0 && contains(line, "welcome back");
  }));
}

// status: the login answers 200 with the chat page instead of redirecting.
void notices_status(const Stack& stack) {
  const Recorded& r = recorded(stack);
  App app = fresh_app(stack, "status");
  CommandRun run = replay(r.db, app.origin());
  INFO(show(run));
  CHECK(run.exit_code == 1);
  Summary s = summary_of(run);
  CHECK(s.failed == 1);
  std::string expected = "- " + std::to_string(r.login_status);
  auto lines = lines_of(run.out);
  bool status_diff = false;
  for (size_t i = 0; i + 2 < lines.size(); ++i) {
    if (trim_left(lines[i]) == "POST /login: status" && trim_left(lines[i + 1]) == expected &&
        trim_left(lines[i + 2]) == "+ 200") {
      status_diff = true;
    }
  }
  CHECK(status_diff);
}

// Whether --explain's output lists `value` as correlated: a line "value '<v>' from …" where <v>
// is the value, or its start followed by "…" (long secrets are shortened on the console).
bool explained(const std::string& out, const std::string& value) {
  const std::string ellipsis = "\u2026";
  for (const auto& line : lines_of(out)) {
    std::string text = trim_left(line);
    if (text.rfind("value '", 0) != 0) continue;
    size_t end = text.find('\'', 7);
    if (end == std::string::npos) continue;
    std::string shown = text.substr(7, end - 7);
    if (shown.size() > ellipsis.size() &&
        shown.compare(shown.size() - ellipsis.size(), ellipsis.size(), ellipsis) == 0) {
      shown.resize(shown.size() - ellipsis.size());
    } else if (shown != value) {
      continue;
    }
    if (shown.size() >= 4 && value.rfind(shown, 0) == 0) return true;
  }
  return false;
}

// --explain shows what was correlated: the recorded session cookie (and token) with where the
// server issued them and where the client used them.
void explains(const Stack& stack) {
  const Recorded& r = recorded(stack);
  App app = fresh_app(stack);
  CommandRun run = replay(r.db, app.origin(), {"--explain"});
  INFO(show(run));
  CHECK(run.exit_code == 0);
  for (const auto& value : r.cookies) {
    CAPTURE(value);
    CHECK(explained(run.out, value));
  }
  if (!r.token.empty()) CHECK(explained(run.out, r.token));
  CHECK(contains(run.out, "Set-Cookie"));
  CHECK(summary_of(run).passed == 1);
}

void every_check(const Stack& stack) {
  SUBCASE("a fresh app: every session id differs, the replay passes") {
    replays_clean(stack);
  }
  SUBCASE("payload variant: the JSON path differs, in the console and the reports") {
    notices_payload(stack);
  }
  SUBCASE("noevent variant: the missing welcome is named") {
    notices_missing_event(stack);
  }
  SUBCASE("extraevent variant: the extra notice is named") {
    notices_extra_event(stack);
  }
  SUBCASE("status variant: the login's status line differs") {
    notices_status(stack);
  }
  SUBCASE("--explain prints the correlated values") {
    explains(stack);
  }
}

// A page-by-page copy of a capture file (SQLite's online backup), so a test can change it alone.
bool copy_capture(const std::string& from, const std::string& to) {
  sqlite3* source = nullptr;
  sqlite3* target = nullptr;
  bool ok = sqlite3_open_v2(from.c_str(), &source, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
            sqlite3_open(to.c_str(), &target) == SQLITE_OK;
  if (ok) {
    sqlite3_backup* backup = sqlite3_backup_init(target, "main", source, "main");
    ok = backup && sqlite3_backup_step(backup, -1) == SQLITE_DONE;
    ok = sqlite3_backup_finish(backup) == SQLITE_OK && ok;
  }
  sqlite3_close(source);
  sqlite3_close(target);
  return ok;
}

}  // namespace

TEST_CASE("replay e2e: Express + Socket.IO 4, the socket authorised by the session cookie") {
  every_check(kExpressCookie);
}

TEST_CASE("replay e2e: Express + Socket.IO 4, the socket authorised by a token") {
  every_check(kExpressToken);
}

TEST_CASE("replay e2e: Express + Socket.IO 4, the socket authorised by a token in the query") {
  every_check(kExpressQuery);
}

TEST_CASE("replay e2e: Flask + Flask-Login + Flask-SocketIO") {
  every_check(kFlask);
}

TEST_CASE("replay e2e: Express + Socket.IO 2 (Engine.IO v3)") {
  every_check(kExpressV2);
}

TEST_CASE("replay e2e: Socket.IO 0.9") {
  every_check(kSio09);
}

TEST_CASE("replay e2e: --pace recorded keeps the recorded gaps") {
  const Recorded& r = recorded(kExpressCookie);
  store::RecordingData data = load_capture(r.db);
  // From the first request to the last packet the client sent (the disconnect).
  int64_t first = INT64_MAX, last = 0;
  for (const auto& x : data.exchanges)
    first = std::min(first, x.started_us);
  for (const auto& p : data.packets)
    if (p.direction == store::Direction::client) last = std::max(last, p.time_us);
  REQUIRE(last > first);
  App app = fresh_app(kExpressCookie);
  auto fast_started = std::chrono::steady_clock::now();
  CommandRun fast = replay(r.db, app.origin());
  auto fast_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - fast_started)
                     .count();
  CHECK(fast.exit_code == 0);
  App again = fresh_app(kExpressCookie);
  auto started = std::chrono::steady_clock::now();
  CommandRun run = replay(r.db, again.origin(), {"--pace", "recorded"});
  auto took_us = std::chrono::duration_cast<std::chrono::microseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count();
  INFO(show(run));
  INFO("recorded " << (last - first) << " us, paced " << took_us << " us, fast " << fast_us);
  CHECK(run.exit_code == 0);
  CHECK(took_us >= last - first);
}

TEST_CASE("replay e2e: setup errors exit 2 with one line") {
  const Recorded& r = recorded(kExpressCookie);
  SUBCASE("an unreachable target") {
    // free_port: nobody listens there (it was free a moment ago and nothing here binds it).
    std::string address = "127.0.0.1:" + std::to_string(free_port());
    check_setup_error(replay(r.db, "http://" + address), address);
  }
  SUBCASE("an unknown recording") {
    App app = fresh_app(kExpressCookie);
    check_setup_error(replay(r.db, app.origin(), {"no-such-recording"}), "no-such-recording");
  }
  SUBCASE("a target that closes every connection: exit 1 at once, each loss named") {
    Process closer({"node", "-e",
                    "require('net').createServer(s => s.destroy()).listen(0, '127.0.0.1', "
                    "function () { console.log('LISTENING ' + this.address().port); })"});
    auto line = closer.wait_for_prefix("LISTENING ", 20000ms);
    REQUIRE(line);
    std::string origin = "http://127.0.0.1:" + line->substr(10);
    CommandRun run = replay(r.db, origin);
    INFO(show(run));
    CHECK(run.exit_code == 1);
    CHECK(contains(run.out, "POST /login: status"));
    // Closed or reset, as the kernel has it: a close with the request unread is a reset.
    CHECK(contains(run.out, "(no response: connection "));
    CHECK(summary_of(run).failed == 1);
  }
  SUBCASE("a capture file that does not exist") {
    App app = fresh_app(kExpressCookie);
    std::string missing = r.dir->file("missing.sqlite");
    check_setup_error(replay(missing, app.origin()), missing);
    CHECK_FALSE(std::filesystem::exists(missing));
  }
}

TEST_CASE("replay e2e: calibrated, then copies at once; latency per endpoint and event") {
  const Recorded& r = recorded(kExpressCookie);
  std::string db = r.dir->file("load.sqlite");
  REQUIRE(copy_capture(r.db, db));
  {
    App app = fresh_app(kExpressCookie);
    CommandRun run = replay(db, app.origin(), {"--calibrate"});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    CHECK(contains(run.out, "/id"));
  }
  CHECK(count_rows(db,
                   "SELECT count(*) FROM noise_rules WHERE kind = 'json_pointer' AND "
                   "pattern LIKE '%/id' AND scope LIKE 'ack%'") >= 1);

  App app = fresh_app(kExpressCookie);
  CommandRun run =
      replay(db, app.origin(), {kExpressCookie.label, "--concurrency", "3", "--repeat", "6"});
  INFO(show(run));
  CHECK(run.exit_code == 0);
  Summary s = summary_of(run);
  CHECK(s.sessions == 6);
  CHECK(s.passed == 6);
  CHECK(s.failed == 0);
  // The latency table: one row per endpoint and event, with its count and percentiles.
  for (std::string name : {"POST /login", "event chat"}) {
    CAPTURE(name);
    CHECK(has_line(run.out, [&](const std::string& line) {
      return line.rfind(name + " ", 0) == 0 && numbers_in(line.substr(name.size())).size() >= 5;
    }));
  }

  // Calibrated noise does not hide a real change: the welcome's new field still fails.
  App changed = fresh_app(kExpressCookie, "payload");
  CommandRun real = replay(db, changed.origin(), {kExpressCookie.label});
  INFO(show(real));
  CHECK(real.exit_code == 1);
  CHECK(contains(real.out, "/0/role"));
}

// The noise variant adds a time and a random nonce to GET /api/me: a plain replay fails on
// them; --calibrate learns them as noise rules into the capture file; later replays pass.
TEST_CASE("replay e2e: --calibrate learns the noise of GET /api/me") {
  TempDir dir;
  std::string db = dir.file("noise.sqlite");
  {
    App app({.kind = AppKind::express_v4, .variant = "noise"});
    RecordingProxy proxy(db, {"--upstream", app.origin(), "--name", "noise"});
    HttpResponse login =
        http_request(proxy.port(), "POST", "/login",
                     {{"Content-Type", "application/x-www-form-urlencoded"}}, "username=mallory");
    REQUIRE(login.status == 303);
    REQUIRE(!login.set_cookies().empty());
    std::string cookie = login.set_cookies()[0].substr(0, login.set_cookies()[0].find(';'));
    for (int i = 0; i < 2; ++i) {
      HttpResponse me = http_request(proxy.port(), "GET", "/api/me", {{"Cookie", cookie}});
      REQUIRE(me.status == 200);
      REQUIRE(parse_json(me.body).contains("nonce"));
    }
    REQUIRE(proxy.interrupt() == 0);
  }
  REQUIRE(count_rows(db, "SELECT count(*) FROM noise_rules") == 0);

  {
    App app({.kind = AppKind::express_v4, .variant = "noise"});
    CommandRun run = replay(db, app.origin());
    INFO(show(run));
    CHECK(run.exit_code == 1);
    CHECK(has_line(run.out, [](const std::string& line) {
      return line.rfind("GET /api/me", 0) == 0 && contains(line, "/nonce");
    }));
    CHECK(has_line(run.out, [](const std::string& line) {
      return line.rfind("GET /api/me", 0) == 0 && contains(line, "/time");
    }));
  }
  {
    // A hand-written rules file says the same: exit 0; a misspelt one is refused.
    App app({.kind = AppKind::express_v4, .variant = "noise"});
    std::string rules = dir.file("rules.json");
    write_text(rules, R"({"noise": [{"json": "/nonce", "scope": "GET /api/me"},
                                    {"regex": "\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z"}]})");
    CommandRun run = replay(db, app.origin(), {"--rules", rules});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    std::string bad = dir.file("bad.json");
    write_text(bad, R"({"noise": [{"jsn": "/nonce"}]})");
    CommandRun refused = replay(db, app.origin(), {"--rules", bad});
    INFO(show(refused));
    CHECK(refused.exit_code == 2);
    CHECK(contains(refused.err, "bad.json: /noise/0"));
    CHECK(count_lines(refused.err) == 1);
  }
  {
    App app({.kind = AppKind::express_v4, .variant = "noise"});
    CommandRun run = replay(db, app.origin(), {"--calibrate"});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    CHECK(contains(run.out, "/nonce"));
    CHECK(contains(run.out, "/time"));
    CHECK(summary_of(run).passed == 1);
  }
  CHECK(count_rows(db, "SELECT count(*) FROM noise_rules") >= 2);
  CHECK(
      count_rows(db,
                 "SELECT count(DISTINCT pattern) FROM noise_rules WHERE kind = 'json_pointer' AND "
                 "origin = 'calibrate' AND pattern IN ('/nonce', '/time')") == 2);
  {
    App app({.kind = AppKind::express_v4, .variant = "noise"});
    std::string json_file = dir.file("after.json");
    CommandRun run = replay(db, app.origin(), {"--report-json", json_file});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    CHECK(summary_of(run).passed == 1);
    // The differences are still reported, marked as noise.
    json report = parse_json(read_text(json_file));
    REQUIRE(report.is_object());
    CHECK(report["exit_code"] == 0);
    CHECK(report["passed"] == true);
    std::set<std::string> noisy;
    for (const auto& session : report["sessions"]) {
      for (const auto& d : session["differences"]) {
        if (d["noise"] == true) noisy.insert(d.value("path", ""));
      }
    }
    CHECK(noisy.count("/nonce") == 1);
    CHECK(noisy.count("/time") == 1);
  }
}
