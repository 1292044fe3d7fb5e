// The Feathers 5 chat (tests/apps/feathers: @feathersjs/koa, /socketio, /authentication with
// JWT, /authentication-local, /memory; the page uses the @feathersjs/client browser bundle),
// recorded from headless Chromium through the forward proxy, then replayed, each replay
// starting a fresh instance of the app through `replay --server`:
//
// 1. record: Chromium opens the chat page through `workalready record` (browser_feathers.js);
//    the page signs up over REST (POST /users), logs in over the socket (`create
//    authentication`, strategy local → a JWT in the ack), loads the messages, sends two and
//    receives their `messages created` events; then the page is opened again and its new
//    socket re-authenticates with the stored JWT (strategy jwt) and loads the messages. The
//    capture is checked: the sign-up, both Engine.IO sessions, the JWT issued in an ack on the
//    first and sent back on the second, the two events;
// 2. calibration: `replay --calibrate --server <the app>` replays it twice, each against a
//    fresh app, and stores what differs between the passes as noise in the capture: each
//    message's `createdAt` (Date.now()) and the `iat`, `exp` and `jti` claims that the
//    authentication result repeats from its JWT (the JWT itself is correlated, not noise);
//    uncalibrated, a replay differs in exactly those;
// 3. ten replays of the calibrated capture in a row, each through `--server` (a fresh app), no
//    rules file: exit 0, and the JSON report compared every replayable response and matched
//    every expected server packet of the capture;
// 4. a replay against the `changed` variant: exit 1, naming the sign-up response's `/avatar`
//    and the `messages created` events' `/0/text`, and nothing else;
// 5. calibration never learns either regression as noise: `--calibrate --server <changed>`
//    and `--calibrate --target <one changed instance>` (on copies of the uncalibrated
//    capture) do not exit 0; and the capture calibrated against the unchanged app still
//    catches both (4).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "tests/integration/browser.h"
#include "tests/integration/replay_run.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

// The app needs a few seconds to start on a busy 2-core machine (Koa and Feathers load
// ~200 modules).
constexpr Millis kAppStart = 90000ms;
constexpr const char* kServerTimeoutSeconds = "90";
constexpr Millis kReplayTimeout = 240000ms;

const std::string kEmail = "alice@example.com";
const std::vector<std::string> kTexts = {"hello from feathers", "a second message"};

std::string app_js() {
  return repo_path("tests/apps/feathers/app.js");
}

// The --server command of the app: `node …/app.js --port {port} --variant V`.
std::string server_command(const std::string& variant) {
  return "node " + app_js() + " --port {port} --variant " + variant;
}

// One instance of the app on a port of its choosing (PORT=0), ready once it printed
// `LISTENING <port>`.
class FeathersApp {
 public:
  explicit FeathersApp(const std::string& variant = "none") {
    require_node_modules();
    process_ = std::make_unique<Process>(std::vector<std::string>{"node", app_js()},
                                         std::vector<Env>{{"PORT", "0"}, {"VARIANT", variant}});
    const std::string_view ready = "LISTENING ";
    auto line = process_->wait_for_prefix(ready, kAppStart);
    if (!line) {
      process_->stop();
      throw std::runtime_error("the feathers app did not start\n" + process_->tail());
    }
    port_ = std::atoi(line->c_str() + ready.size());
  }

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Process& process() { return *process_; }
  int stop() { return process_->stop(); }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Replay.

// `workalready replay --db DB --timeout 30000 <how…>` (how: --server CMD or --target URL, and
// --calibrate), its JSON report written into `dir`.
ReplayRun replay_db(const TempDir& dir, const std::string& db, std::vector<std::string> how) {
  how.insert(how.begin(), {"--timeout", "30000"});
  return run_replay(dir, db, how, kReplayTimeout);
}

std::vector<std::string> through_server(const std::string& variant) {
  return {"--server", server_command(variant), "--server-timeout", kServerTimeoutSeconds};
}

std::vector<std::string> calibrating_through_server(const std::string& variant) {
  std::vector<std::string> how = through_server(variant);
  how.insert(how.begin(), "--calibrate");
  return how;
}

// ---------------------------------------------------------------------------------------------
// Recording, made once: doctest runs the test case once per SUBCASE, and every subcase looks at
// the same capture. Its folder is removed at exit.

struct Recorded {
  TempDir dir;
  std::string db;   // the capture, calibrated (its noise rules stored in it)
  std::string raw;  // a copy of the capture as recorded, before calibration
  std::string origin;
  json first, later;  // what window.done resolved with on each visit
  store::RecordingData data;
  ReplayRun calibration;  // `replay --calibrate --server <the app>` on `db`
};

std::unique_ptr<Recorded> record() {
  auto r = std::make_unique<Recorded>();
  r->db = r->dir.file("feathers.sqlite");
  FeathersApp app;
  r->origin = app.origin();
  {
    RecordingProxy proxy(r->db, {"--ca-dir", r->dir.file("ca")});
    INFO(proxy.process().tail(4000));
    {
      Chromium browser(r->dir.file("profile"),
                       {"--proxy-server=" + proxy.origin(), "--proxy-bypass-list=<-loopback>"});
      CommandRun run =
          run_command({"node", repo_path("tests/integration/browser_feathers.js"), "--devtools",
                       browser.devtools(), "--url", app.origin() + "/", "--timeout-ms", "120000"},
                      {}, 150s);
      browser.process().wait_exit(10s);
      INFO(run.out << run.err);
      REQUIRE(run.exit_code == 0);
      for (const json& line : json_lines(run.out)) {
        if (line.value("type", "") != "result") continue;
        (line.value("visit", 0) == 1 ? r->first : r->later) = line.value("value", json());
      }
      REQUIRE(r->first.is_object());
      REQUIRE(r->later.is_object());
    }
    REQUIRE(proxy.interrupt() == 0);
  }
  CHECK(app.stop() == 0);
  r->data = load_capture(r->db);
  r->raw = r->dir.file("raw.sqlite");
  std::filesystem::copy_file(r->db, r->raw);
  // Two passes, each against a fresh app: what differs between them (the clock readings and
  // the token ids) is stored as noise in the capture; the last pass is compared with it.
  r->calibration = replay_db(r->dir, r->db, calibrating_through_server("none"));
  return r;
}

// `workalready replay` on the calibrated capture.
ReplayRun replay(const Recorded& rec, std::vector<std::string> how) {
  return replay_db(rec.dir, rec.db, std::move(how));
}

// A copy of the capture as recorded, for a calibration to store its rules in.
std::string copy_of_raw(const Recorded& rec, const std::string& name) {
  std::string copy = rec.dir.file(name + ".sqlite");
  std::filesystem::copy_file(rec.raw, copy, std::filesystem::copy_options::overwrite_existing);
  return copy;
}

const Recorded& recorded() {
  static std::unique_ptr<Recorded> r = record();
  return *r;
}

bool of_app(const Recorded& r, const store::Exchange& x) {
  return x.url.rfind(r.origin + "/", 0) == 0;
}

// The HTTP requests a replay sends and compares itself: the app's own that were answered,
// except Engine.IO's transport requests and upgrades, which the live socket clients make.
size_t replayable_exchanges(const Recorded& r) {
  size_t n = 0;
  for (const auto& x : r.data.exchanges) {
    if (of_app(r, x) && x.status != 0 && x.status != 101 && !contains(x.url, "EIO=")) ++n;
  }
  return n;
}

// The server packets a replay expects: Engine.IO messages carrying a Socket.IO packet
// (CONNECT replies, events, acks).
size_t expected_packets(const Recorded& r) {
  size_t n = 0;
  for (const auto& p : r.data.packets) {
    if (p.direction == store::Direction::server && p.sio_type && p.eio_type == 4) ++n;
  }
  return n;
}

// What the Feathers client sends for a service call: the event `method` with the arguments
// [path, data?, params?] and an ack id; the server acks [error, result].
std::vector<const store::SocketPacket*> calls(const Recorded& r, const std::string& method,
                                              const std::string& path) {
  std::vector<const store::SocketPacket*> found;
  for (const auto* p : events_named(r.data, method, store::Direction::client)) {
    json args = parse_args(*p);
    if (args.is_array() && !args.empty() && args[0] == path) found.push_back(p);
  }
  return found;
}

// The server's ack to `call` on the same Engine.IO session, or null.
const store::SocketPacket* ack_of(const Recorded& r, const store::SocketPacket& call) {
  for (const auto& p : r.data.packets) {
    if (p.direction == store::Direction::server && p.sio_type == 3 && p.ack_id == call.ack_id &&
        p.session_id == call.session_id)
      return &p;
  }
  return nullptr;
}

// The result of the ack to `call` ([null, result]), or null.
json ack_result(const Recorded& r, const store::SocketPacket* call) {
  if (!call || !call->ack_id) return json();
  const store::SocketPacket* ack = ack_of(r, *call);
  if (!ack) return json();
  json args = parse_args(*ack);
  if (!args.is_array() || args.size() != 2 || !args[0].is_null()) return json();
  return args[1];
}

// The differences of the report's only session that are not noise.
std::vector<json> real_differences_of_one(const ReplayRun& run) {
  REQUIRE(run.report.is_object());
  REQUIRE(run.report["sessions"].is_array());
  REQUIRE(run.report["sessions"].size() == 1);
  return real_differences(run);
}

// Against the changed app: exit 1; the console names the sign-up response and its `/avatar`,
// the `messages created` event and its `/0/text`; every real difference is one of those two.
void check_catches_both(const ReplayRun& run) {
  INFO(describe(run));
  CHECK(run.exit_code == 1);
  const std::string console = run.console();
  CHECK(contains(console, "POST /users"));
  CHECK(contains(console, "/avatar"));
  CHECK(contains(console, "messages created"));
  CHECK(contains(console, "/0/text"));
  size_t avatar = 0, text = 0;
  for (const json& d : real_differences_of_one(run)) {
    const std::string path = d.value("path", "");
    if (path.ends_with("/avatar"))
      ++avatar;
    else if (path.ends_with("/0/text"))
      ++text;
    else
      FAIL_CHECK("a difference other than the two changed fields: " << d.dump());
  }
  CHECK(avatar == 1);
  CHECK(text == kTexts.size());  // each message's event
}

// The capture was calibrated against the unchanged app (two fresh instances): what the
// replays of the calibrated capture need.
void require_calibrated(const Recorded& rec) {
  INFO(describe(rec.calibration));
  REQUIRE(rec.calibration.exit_code == 0);
  CHECK(contains(rec.calibration.console(), "noise rules stored"));
}

// Runs `checks` so that a REQUIRE failing inside them (already counted) ends only them.
template <class Checks>
void isolated(Checks&& checks) {
  try {
    checks();
  } catch (const doctest::detail::TestFailureException&) {
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("browser feathers: the Feathers 5 chat, JWT over the socket, through --server") {
  const Recorded& rec = recorded();
  const auto started = std::chrono::steady_clock::now();

  // What the page saw: its sign-up, its login with the local strategy, the two messages sent
  // and received back as events; on the second visit, the stored JWT accepted.
  CHECK(rec.first["visit"] == "first");
  CHECK(rec.first["user"]["email"] == kEmail);
  CHECK(rec.first["login"]["strategy"] == "local");
  CHECK(rec.first["before"] == 0);
  REQUIRE(rec.first["received"].is_array());
  REQUIRE(rec.first["received"].size() == kTexts.size());
  for (size_t i = 0; i < kTexts.size(); ++i)
    CHECK(rec.first["received"][i]["text"] == kTexts[i]);
  CHECK(rec.later["visit"] == "later");
  CHECK(rec.later["login"]["strategy"] == "jwt");
  CHECK(rec.later["login"]["token"] == rec.first["login"]["token"]);
  CHECK(rec.later["messages"].size() == kTexts.size());

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data));
      // Sign-up over REST: 201 with the user, its password never sent out.
      const store::Exchange* signup = find_exchange(rec.data, "POST", "/users");
      REQUIRE(signup != nullptr);
      CHECK(signup->status == 201);
      json user = json::parse(signup->response_body.bytes, nullptr, false);
      REQUIRE(user.is_object());
      CHECK(user["email"] == kEmail);
      CHECK(user["id"] == 0);
      CHECK(user.value("avatar", "").ends_with("?s=60"));
      CHECK_FALSE(user.contains("password"));
      // The page and the browser bundle came from the app.
      CHECK(find_exchange(rec.data, "GET", "/feathers.js") != nullptr);
      CHECK(find_exchange(rec.data, "GET", "/socket.io/socket.io.js") != nullptr);

      // Two Engine.IO sessions: one per visit.
      size_t sessions = 0;
      for (const auto& s : rec.data.sessions) {
        if (s.protocol == store::SocketProtocol::eio4 && s.handshake_exchange_id) ++sessions;
      }
      CHECK(sessions == 2);

      // The logins: local on the first socket, then the JWT from its ack on the second.
      auto logins = calls(rec, "create", "authentication");
      REQUIRE(logins.size() == 2);
      CHECK(logins[0]->session_id != logins[1]->session_id);
      json local = parse_args(*logins[0]);
      CHECK(local[1]["strategy"] == "local");
      CHECK(local[1]["email"] == kEmail);
      json issued = ack_result(rec, logins[0]);
      REQUIRE(issued.is_object());
      REQUIRE(issued["accessToken"].is_string());
      const std::string token = issued["accessToken"].get<std::string>();
      CHECK(std::count(token.begin(), token.end(), '.') == 2);  // a JWT
      CHECK(token == rec.first["login"]["token"]);
      CHECK(issued["authentication"]["strategy"] == "local");
      CHECK(issued["user"]["email"] == kEmail);
      json jwt = parse_args(*logins[1]);
      CHECK(jwt[1]["strategy"] == "jwt");
      CHECK(jwt[1]["accessToken"] == token);
      json accepted = ack_result(rec, logins[1]);
      REQUIRE(accepted.is_object());
      CHECK(accepted["authentication"]["strategy"] == "jwt");

      // The messages: found on both sockets, created on the first with their events.
      CHECK(calls(rec, "find", "messages").size() == 2);
      auto creates = calls(rec, "create", "messages");
      REQUIRE(creates.size() == kTexts.size());
      auto created = events_named(rec.data, "messages created", store::Direction::server);
      REQUIRE(created.size() == kTexts.size());
      for (size_t i = 0; i < kTexts.size(); ++i) {
        CAPTURE(i);
        CHECK(parse_args(*creates[i])[1]["text"] == kTexts[i]);
        CHECK(ack_result(rec, creates[i])["text"] == kTexts[i]);
        json event = parse_args(*created[i]);
        CHECK(event[0]["text"] == kTexts[i]);
        CHECK(event[0]["userId"] == 0);
        CHECK(event[0]["user"]["email"] == kEmail);
        CHECK(created[i]->session_id == logins[0]->session_id);
      }
      // Both CONNECT replies, the acks of both logins, both finds and both creates, and the
      // two events.
      CHECK(expected_packets(rec) == 2 + 2 + 2 + kTexts.size() + kTexts.size());
    });
  }

  SUBCASE("ten replays, each against a fresh app through --server") {
    isolated([&] {
      require_calibrated(rec);
      const size_t exchanges = replayable_exchanges(rec);
      const size_t events = expected_packets(rec);
      REQUIRE(exchanges > 0);
      REQUIRE(events > 0);
      for (int attempt = 1; attempt <= 10; ++attempt) {
        ReplayRun run = replay(rec, through_server("none"));
        INFO("replay " << attempt << " of 10; recorded: " << exchanges << " responses, " << events
                       << " server packets");
        INFO(describe(run));
        REQUIRE(run.exit_code == 0);
        REQUIRE(run.report.is_object());
        REQUIRE(run.report["sessions"].size() == 1);
        const json& session = run.report["sessions"][0];
        CHECK(session["errors"] == json::array());
        CHECK(session.value("exchanges", size_t(0)) == exchanges);
        CHECK(session.value("events_expected", size_t(0)) == events);
        CHECK(session.value("events_matched", size_t(0)) == events);
        CHECK(real_differences_of_one(run).empty());
      }
    });
  }

  SUBCASE("calibrated, a replay against the changed app names both changed fields") {
    isolated([&] {
      require_calibrated(rec);
      check_catches_both(replay(rec, through_server("changed")));
    });
  }

  SUBCASE("calibration never learns the regressions as noise") {
    isolated([&] {
      // Both passes against changed instances (a fresh one each): the regressions are the same
      // in both, never noise, and the comparison with the recording still shows them.
      ReplayRun fresh = replay_db(rec.dir, copy_of_raw(rec, "calibrated-fresh-changed"),
                                  calibrating_through_server("changed"));
      INFO(describe(fresh));
      CHECK(fresh.exit_code != 0);
      CHECK(fresh.exit_code != -1);
      // Both passes against one changed instance, which keeps the first pass's user and
      // messages: not exit 0 either.
      FeathersApp changed("changed");
      ReplayRun one = replay_db(rec.dir, copy_of_raw(rec, "calibrated-one-changed"),
                                {"--calibrate", "--target", changed.origin()});
      INFO(describe(one));
      CHECK(one.exit_code != 0);
      CHECK(one.exit_code != -1);
    });
  }

  SUBCASE("uncalibrated, only the clock readings and the token ids differ") {
    isolated([&] {
      // What calibration is for here: `createdAt` (Date.now()) of each message, and the
      // `iat`, `exp` and `jti` claims the authentication result repeats from the JWT.
      ReplayRun run = replay_db(rec.dir, rec.raw, through_server("none"));
      INFO(describe(run));
      CHECK(run.exit_code == 1);
      std::vector<json> real = real_differences_of_one(run);
      CHECK_FALSE(real.empty());
      for (const json& d : real) {
        const std::string path = d.value("path", "");
        CAPTURE(path);
        CHECK((path.ends_with("/createdAt") || path.ends_with("/authentication/payload/iat") ||
               path.ends_with("/authentication/payload/exp") ||
               path.ends_with("/authentication/payload/jti")));
      }
    });
  }

  MESSAGE("subcase took " << std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now() - started)
                                 .count()
                          << " s");
}
