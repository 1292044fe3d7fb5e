// The bar of the product: a session recorded from a real browser replays green against a
// freshly started server, with no hand-written rules, and fails with a readable diff when the
// server's behaviour changes.
//
// Headless Chromium (Debian `chromium`) signs in and chats through the forward proxy over
// plain HTTP (ws:// goes through CONNECT); the proxy and the app are stopped, a fresh app is
// started on another port, and `workalready replay --target` plays the recording against it:
// - Express 4 + Socket.IO 4, then the same against the app's `payload` variant (its welcome
//   carries a field more), which must fail with the differing path in the console diff;
// - Flask-SocketIO on eventlet (polling upgraded to WebSocket);
// - Express 4 served over HTTPS (a test CA's leaf; the proxy verifies it through
//   SSL_CERT_FILE, Chromium trusts the proxy's minted certificates by the local CA's SPKI
//   hash), replayed against a fresh HTTPS app: green when the test CA is trusted through
//   SSL_CERT_FILE or with --insecure, exit 2 with one line naming the certificate problem
//   when it is not trusted;
// - two users at once who talk to each other: bob's browser signs in and waits, alice's says
//   something, bob answers once her broadcast reached him, and each receives the other's
//   broadcast. The replay keeps the causality between them (bob's socket is up before alice
//   speaks, bob speaks after hearing her), so it passes run after run.
//
// Requests to other origins than the app's (Chromium's own background requests, and one made
// here on purpose) are listed as skipped, not replayed and not failed.
//
// The browsers are driven over the DevTools protocol by browser_drive.js (one user who chats)
// and browser_converse.js (two users who answer each other).
#include <doctest/doctest.h>

#include <set>

#include "tests/integration/browser.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

// Chromium sending everything, loopback included, through the recording proxy.
std::vector<std::string> through(const RecordingProxy& proxy) {
  return {"--proxy-server=" + proxy.origin(), "--proxy-bypass-list=<-loopback>"};
}

json step_of(const std::vector<json>& lines, const std::string& type) {
  for (const auto& line : lines) {
    if (line.value("type", "") == type) return line;
  }
  return json();
}

// Signs in as `user` at `url` and chats `text` in the browser (browser_drive.js), then waits
// for the browser to exit so that the proxy has seen every connection close.
void drive_chat(Chromium& browser, const std::string& url, const std::string& user,
                const std::string& text) {
  require_node_modules();
  CommandRun run = run_command(
      {"node", repo_path("tests/integration/browser_drive.js"), "--devtools", browser.devtools(),
       "--url", url, "--user", user, "--text", text, "--timeout-ms", "60000"},
      {}, 90s);
  browser.process().wait_exit(10s);
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  std::vector<json> lines = json_lines(run.out);
  CHECK(step_of(lines, "welcome")["args"] == json::array({{{"username", user}}}));
  CHECK(step_of(lines, "ack")["ack"]["ok"] == true);
}

// A request to another origin through the proxy, as a browser's background request is: the
// replay must list it as skipped.
void background_request(const RecordingProxy& proxy, const std::string& url) {
  CommandRun run = run_command({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x",
                                proxy.origin(), "--noproxy", "", url});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
}

// ---------------------------------------------------------------------------------------------
// `workalready replay`, run to completion, with its JSON report.
struct ReplayRun {
  int exit_code = -1;
  std::string out, err;
  json report;  // null when none was written
  std::string console() const { return out + err; }
};

ReplayRun replay(const TempDir& dir, const std::string& db, const std::string& target,
                 std::vector<std::string> extra = {}, std::vector<Env> env = {}) {
  static int count = 0;
  std::string report = dir.file("report-" + std::to_string(++count) + ".json");
  std::vector<std::string> argv = {WA_EXE,          "replay", "--db",      db,
                                   "--target",      target,   "--timeout", "30000",
                                   "--report-json", report};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CommandRun run = run_command(argv, std::move(env), 150s);
  ReplayRun r{run.exit_code, run.out, run.err, json()};
  std::string text = read_text(report);
  if (!text.empty()) r.report = json::parse(text, nullptr, false);
  if (r.report.is_discarded()) r.report = json();
  return r;
}

// The last non-empty line of the console.
std::string last_line(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) return {};
  size_t start = text.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return text.substr(start, end + 1 - start);
}

// "replay: N sessions, P passed, F failed (D differences) in X s" → {N, P, F, D}. The
// differences may be left out when there are none.
std::vector<long long> summary_counts(const ReplayRun& run) {
  std::string line = last_line(run.out);
  INFO("last line: " << line);
  REQUIRE(line.rfind("replay: ", 0) == 0);
  std::vector<long long> n = numbers_in(line.substr(0, line.find(" in ")));
  REQUIRE(n.size() >= 3);
  if (line.find(" differen") == std::string::npos) n.resize(3);
  n.resize(4, 0);
  return n;
}

// Everything a failed check should print about a replay.
std::string describe(const ReplayRun& run) {
  return "exit " + std::to_string(run.exit_code) + "\n--- stdout\n" + run.out + "--- stderr\n" +
         run.err + "--- report\n" + (run.report.is_null() ? "(none)" : run.report.dump(1));
}

// A replay that passed: exit 0, one session passed, nothing failed.
void check_green(const ReplayRun& run) {
  INFO(describe(run));
  REQUIRE(run.exit_code == 0);
  std::vector<long long> n = summary_counts(run);
  CHECK(n[0] == 1);
  CHECK(n[1] == 1);
  CHECK(n[2] == 0);
  REQUIRE(run.report.is_object());
  CHECK(run.report.value("exit_code", -1) == 0);
  CHECK(run.report.value("passed", false) == true);
  REQUIRE(run.report["sessions"].is_array());
  REQUIRE(run.report["sessions"].size() == 1);
  for (const auto& d : run.report["sessions"][0]["differences"])
    CHECK(d.value("noise", false) == true);
}

// The welcome, the ack and the broadcast were expected, and every expected event came.
void check_events_came(const ReplayRun& run) {
  INFO(describe(run));
  const json& session = run.report["sessions"][0];
  CHECK(session.value("events_expected", 0) >= 3);
  CHECK(session.value("events_matched", 0) == session.value("events_expected", -1));
}

// Whether a skipped line ("GET http://host/a (unmapped origin)") names this URL exactly.
// The line names `url`: whole, or, for a URL with a query, up to its '?' and then its query
// (credential-like query values, such as Chromium's cup2key, are shown as placeholders).
bool names_url(const json& line, const std::string& url) {
  if (!line.is_string()) return false;
  const std::string& text = line.get_ref<const std::string&>();
  const size_t query = url.find('?');
  const std::string prefix = url.substr(0, query == std::string::npos ? url.size() : query + 1);
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    size_t end = at + prefix.size();
    if (query != std::string::npos) end = std::min(text.find(' ', end), text.size());
    if (end == text.size() || text[end] == ' ') return true;
  }
  return false;
}

// Every recorded exchange to another origin than `origin` is listed as skipped by its URL;
// of the app's own, only those the recording holds with an error (a request the browser gave
// up on) may be.
void check_skipped(const ReplayRun& run, const store::RecordingData& data,
                   const std::string& origin) {
  INFO(describe(run));
  REQUIRE(run.report.is_object());
  const json& skipped = run.report["sessions"][0]["skipped"];
  REQUIRE(skipped.is_array());
  auto listed = [&](const std::string& url) {
    for (const auto& line : skipped) {
      if (names_url(line, url)) return true;
    }
    return false;
  };
  size_t foreign = 0;
  for (const auto& x : data.exchanges) {
    INFO("recorded exchange " << x.method << " " << x.url << " " << x.status << " " << x.error);
    if (x.url.rfind(origin + "/", 0) != 0) {
      ++foreign;
      CHECK(listed(x.url));
    } else if (x.error.empty()) {
      CHECK(!listed(x.url));
    }
  }
  CHECK(foreign >= 1);
}

// The Socket.IO session whose server welcomed `user`.
std::optional<store::Id> session_of(const store::RecordingData& data, const std::string& user) {
  for (const auto& p : data.packets) {
    if (p.direction == store::Direction::server && p.event == "welcome" && p.session_id &&
        parse_args(p) == json::array({{{"username", user}}}))
      return p.session_id;
  }
  return std::nullopt;
}

// A server `chat` event with these arguments on that session.
bool chat_on(const store::RecordingData& data, store::Id session, const json& args) {
  for (const auto& p : data.packets) {
    if (p.session_id == std::optional<store::Id>(session) &&
        p.direction == store::Direction::server && p.event == "chat" && parse_args(p) == args)
      return true;
  }
  return false;
}

// One browser signs in as `user` and chats `text` on a fresh `kind` app through the forward
// proxy; a background request goes to another origin before it. Returns the capture file and
// leaves the proxy and the app stopped.
struct Recorded {
  std::string db;
  std::string origin;  // the app's origin the browser used
  store::RecordingData data;
};

// With `pki`, the app serves HTTPS with the test CA's leaf: the proxy verifies it through
// SSL_CERT_FILE, and Chromium trusts the proxy's CA by its SPKI hash.
Recorded record_one_browser(const TempDir& dir, AppKind kind, const std::string& user,
                            const std::string& text, const TestPki* pki = nullptr,
                            const std::string& auth = "cookie") {
  Recorded r;
  r.db = dir.file("capture.sqlite");
  std::string ca_dir = dir.file("ca");
  App other({.kind = AppKind::express_v4});
  App app(pki ? AppOptions{.kind = kind,
                           .auth = auth,
                           .tls_cert = pki->leaf_cert,
                           .tls_key = pki->leaf_key}
              : AppOptions{.kind = kind, .auth = auth});
  r.origin = app.origin();
  std::vector<std::string> flags;
  std::vector<Env> env;
  if (pki) {
    flags.push_back("--ignore-certificate-errors-spki-list=" + spki_of(ca_dir));
    env.push_back({"SSL_CERT_FILE", pki->ca_cert});
  }
  RecordingProxy proxy(r.db, {"--ca-dir", ca_dir}, env);
  background_request(proxy, other.origin() + "/api/me");
  {
    std::vector<std::string> extra = through(proxy);
    extra.insert(extra.end(), flags.begin(), flags.end());
    Chromium browser(dir.file("profile"), extra);
    INFO(proxy.process().tail(4000));
    drive_chat(browser, app.origin(), user, text);
  }
  REQUIRE(proxy.interrupt() == 0);
  app.stop();
  other.stop();
  r.data = load_capture(r.db);
  INFO(wa::test::describe(r.data));
  std::optional<store::Id> session = session_of(r.data, user);
  REQUIRE(session.has_value());
  CHECK(chat_on(r.data, *session, json::array({{{"from", user}, {"text", text}}})));
  return r;
}

// The index in report.sessions[0].clients of the client labelled with `user`, or -1.
int client_of(const json& session, const std::string& user) {
  const json& clients = session["clients"];
  for (size_t i = 0; clients.is_array() && i < clients.size(); ++i) {
    if (clients[i].is_string() && clients[i].get<std::string>().find(user) != std::string::npos)
      return int(i);
  }
  return -1;
}

}  // namespace

TEST_CASE(
    "browser replay: Chromium on Express + Socket.IO 4 replays green, a changed welcome "
    "fails") {
  TempDir dir;
  Recorded rec = record_one_browser(dir, AppKind::express_v4, "alice", "hello from chromium");

  {
    App fresh({.kind = AppKind::express_v4});
    REQUIRE(fresh.origin() != rec.origin);
    ReplayRun run = replay(dir, rec.db, fresh.origin());
    check_green(run);
    check_skipped(run, rec.data, rec.origin);
    check_events_came(run);
  }

  // The server changed: its welcome carries a `role` more.
  App changed({.kind = AppKind::express_v4, .variant = "payload"});
  std::string junit = dir.file("payload.xml");
  ReplayRun run = replay(dir, rec.db, changed.origin(), {"--report-junit", junit});
  INFO(describe(run));
  CHECK(run.exit_code == 1);
  std::vector<long long> n = summary_counts(run);
  CHECK(n[0] == 1);
  CHECK(n[1] == 0);
  CHECK(n[2] == 1);
  CHECK(n[3] >= 1);
  // The readable diff names where and what: `event welcome #1 on /: /0/role`, then `+` with
  // the live value.
  std::string console = run.console();
  CHECK(console.find("event welcome") != std::string::npos);
  CHECK(console.find("/0/role") != std::string::npos);
  bool plus_line = false;
  for (size_t at = 0; (at = console.find('+', at)) != std::string::npos; ++at) {
    size_t eol = console.find('\n', at);
    plus_line = plus_line || console.substr(at, eol - at).find("member") != std::string::npos;
  }
  CHECK(plus_line);
  REQUIRE(run.report.is_object());
  CHECK(run.report.value("exit_code", -1) == 1);
  CHECK(run.report.value("passed", true) == false);
  bool role = false;
  for (const auto& d : run.report["sessions"][0]["differences"])
    role = role || (d.value("path", "") == "/0/role" && !d.value("noise", false));
  CHECK(role);
  std::string xml = read_text(junit);
  CHECK(xml.find("<testcase") != std::string::npos);
  CHECK(xml.find("<failure") != std::string::npos);
}

// Socket.IO 0.9 is left to replay_e2e_test.cpp (its real 0.9 client library): browser_drive.js
// waits for an upgrade that the 0.9 page, which opens the WebSocket at once, never reports.
TEST_CASE("browser replay: Chromium on the other stacks and socket auth modes replays green") {
  struct Stack {
    AppKind kind;
    const char* auth;
  };
  for (const Stack& stack :
       {Stack{AppKind::express_v2, "cookie"}, Stack{AppKind::express_v4, "token"},
        Stack{AppKind::express_v4, "query"}}) {
    CAPTURE(app_name(stack.kind));
    CAPTURE(stack.auth);
    TempDir dir;
    Recorded rec =
        record_one_browser(dir, stack.kind, "carol", "hello from chromium", nullptr, stack.auth);
    App fresh({.kind = stack.kind, .auth = stack.auth});
    REQUIRE(fresh.origin() != rec.origin);
    ReplayRun run = replay(dir, rec.db, fresh.origin());
    check_green(run);
    check_skipped(run, rec.data, rec.origin);
  }
}

TEST_CASE(
    "browser replay: Chromium on Flask-SocketIO (eventlet, upgraded to WebSocket) replays "
    "green") {
  TempDir dir;
  Recorded rec = record_one_browser(dir, AppKind::flask, "alice", "hello flask");
  // The browser upgraded the transport: the chat went over the WebSocket.
  bool over_websocket = false;
  for (const auto& p : rec.data.packets) {
    over_websocket =
        over_websocket || (p.direction == store::Direction::client && p.event == "chat" &&
                           p.transport == store::Transport::websocket);
  }
  CHECK(over_websocket);

  App fresh({.kind = AppKind::flask});
  REQUIRE(fresh.origin() != rec.origin);
  ReplayRun run = replay(dir, rec.db, fresh.origin());
  check_green(run);
  check_skipped(run, rec.data, rec.origin);
}

TEST_CASE(
    "browser replay: Chromium on Express + Socket.IO 4 over HTTPS replays green when the "
    "target's CA is trusted") {
  TempDir dir;
  TestPki pki = make_test_pki(dir);
  Recorded rec = record_one_browser(dir, AppKind::express_v4, "alice", "hello over https", &pki);
  REQUIRE(rec.origin.rfind("https://", 0) == 0);
  {
    INFO(wa::test::describe(rec.data));
    bool intercepted = false;
    for (const auto& c : rec.data.connections)
      intercepted =
          intercepted || (c.tls && rec.origin.ends_with(":" + std::to_string(c.server_port)));
    CHECK(intercepted);
  }

  App fresh({.kind = AppKind::express_v4, .tls_cert = pki.leaf_cert, .tls_key = pki.leaf_key});
  REQUIRE(fresh.origin() != rec.origin);
  REQUIRE(fresh.origin().rfind("https://", 0) == 0);

  // The replayer verifies through OpenSSL's default paths, which SSL_CERT_FILE overrides.
  ReplayRun trusted = replay(dir, rec.db, fresh.origin(), {}, {{"SSL_CERT_FILE", pki.ca_cert}});
  check_green(trusted);
  check_skipped(trusted, rec.data, rec.origin);
  check_events_came(trusted);

  // Not trusted: the replay cannot start, and says why in one line.
  ReplayRun untrusted = replay(dir, rec.db, fresh.origin());
  {
    INFO(describe(untrusted));
    CHECK(untrusted.exit_code == 2);
    std::string err = untrusted.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r'))
      err.pop_back();
    CHECK(!err.empty());
    CHECK(err.find('\n') == std::string::npos);
    CHECK(err.find("certificate verify failed") != std::string::npos);
  }

  // --insecure: verification off, the replay passes (against a restarted server: the chat ids
  // it hands out start again at 1).
  fresh.restart();
  ReplayRun insecure = replay(dir, rec.db, fresh.origin(), {"--insecure"});
  check_green(insecure);
}

namespace {

// Runs browser_converse.js in `browser` as `user`, saying `text` and awaiting `peer_text`
// from `peer`, `first` or as a `reply`.
std::unique_ptr<Process> converse(Chromium& browser, const std::string& url,
                                  const std::string& user, const std::string& text,
                                  const std::string& peer, const std::string& peer_text,
                                  const std::string& order) {
  return std::make_unique<Process>(std::vector<std::string>{
      "node", repo_path("tests/integration/browser_converse.js"), "--devtools", browser.devtools(),
      "--url", url, "--user", user, "--text", text, "--peer", peer, "--peer-text", peer_text,
      "--order", order, "--timeout-ms", "60000"});
}

}  // namespace

TEST_CASE("browser replay: two browsers at once, each receives the other's broadcast") {
  require_node_modules();
  TempDir dir;
  std::string db = dir.file("capture.sqlite");
  const std::string alice_text = "hello bob, from alice";
  const std::string bob_text = "hello alice, from bob";
  std::string origin;
  {
    App app({.kind = AppKind::express_v4});
    origin = app.origin();
    RecordingProxy proxy(db, {"--ca-dir", dir.file("ca")});
    INFO(proxy.process().tail(4000));
    Chromium bob_browser(dir.file("profile-bob"), through(proxy));
    Chromium alice_browser(dir.file("profile-alice"), through(proxy));

    // Bob signs in and waits; alice starts only once his socket is up on the WebSocket, and
    // bob answers only once her message reached him.
    auto bob = converse(bob_browser, app.origin(), "bob", bob_text, "alice", alice_text, "reply");
    auto ready = bob->wait_for_line(
        [](const std::string& line) {
          return line.find("\"type\":\"ready\"") != std::string::npos ||
                 line.find("\"type\":\"error\"") != std::string::npos;
        },
        70s);
    INFO(bob->tail());
    REQUIRE(ready.has_value());
    REQUIRE(ready->find("\"ready\"") != std::string::npos);

    auto alice =
        converse(alice_browser, app.origin(), "alice", alice_text, "bob", bob_text, "first");
    INFO(alice->tail());
    auto alice_exit = alice->wait_exit(70s);
    auto bob_exit = bob->wait_exit(70s);
    alice_browser.process().wait_exit(10s);
    bob_browser.process().wait_exit(10s);
    REQUIRE(alice_exit == std::optional<int>(0));
    REQUIRE(bob_exit == std::optional<int>(0));
    std::vector<json> alice_lines = json_lines(alice->out());
    std::vector<json> bob_lines = json_lines(bob->out());
    CHECK(step_of(alice_lines, "welcome")["args"] == json::array({{{"username", "alice"}}}));
    CHECK(step_of(bob_lines, "welcome")["args"] == json::array({{{"username", "bob"}}}));
    CHECK(step_of(alice_lines, "ack")["ack"]["ok"] == true);
    CHECK(step_of(bob_lines, "ack")["ack"]["ok"] == true);
    CHECK(step_of(alice_lines, "heard")["from"] == "bob");
    CHECK(step_of(bob_lines, "heard")["from"] == "alice");
    REQUIRE(proxy.interrupt() == 0);
  }

  // The recording holds both users, each one's chat acked, and each broadcast arriving on
  // both sockets.
  store::RecordingData data = load_capture(db);
  {
    INFO(wa::test::describe(data));
    std::optional<store::Id> bob = session_of(data, "bob");
    std::optional<store::Id> alice = session_of(data, "alice");
    REQUIRE(bob.has_value());
    REQUIRE(alice.has_value());
    REQUIRE(*bob != *alice);
    json from_alice = json::array({{{"from", "alice"}, {"text", alice_text}}});
    json from_bob = json::array({{{"from", "bob"}, {"text", bob_text}}});
    CHECK(chat_on(data, *bob, from_alice));
    CHECK(chat_on(data, *alice, from_alice));
    CHECK(chat_on(data, *alice, from_bob));
    CHECK(chat_on(data, *bob, from_bob));
  }

  App fresh({.kind = AppKind::express_v4});
  REQUIRE(fresh.origin() != origin);
  ReplayRun run = replay(dir, db, fresh.origin());
  check_green(run);
  {
    INFO(describe(run));
    const json& session = run.report["sessions"][0];
    REQUIRE(session["clients"].is_array());
    // Two users, told apart; a page a browser loaded before signing in, on a connection it
    // did not use again, carries nothing that ties it to either, and is a client of its own.
    CHECK(session["clients"].size() >= 2);
    CHECK(session["clients"].size() <= 4);
    int bob = client_of(session, "bob");
    int alice = client_of(session, "alice");
    CHECK(bob >= 0);
    CHECK(alice >= 0);
    CHECK(bob != alice);
    // Both broadcasts were expected on each socket, and came.
    int bob_chats = 0, alice_chats = 0;
    for (const auto& o : session["timeline"]) {
      if (o.value("where", "").rfind("event chat", 0) != 0 || !o.value("ok", false) ||
          o.value("actual", "").empty())
        continue;
      if (o.value("client", -1) == bob) ++bob_chats;
      if (o.value("client", -1) == alice) ++alice_chats;
    }
    CHECK(bob_chats == 2);
    CHECK(alice_chats == 2);
  }

  // Causality, not luck: against a freshly restarted server each time, the replay passes ten
  // times in a row (the chat ids the server hands out start again at 1).
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    fresh.restart();
    check_green(replay(dir, db, fresh.origin()));
  }
}
