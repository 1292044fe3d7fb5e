// A Django + Channels app (tests/apps/django_channels: Debian's python3-django 3.2,
// python3-django-channels 4.0 and daphne 4.0) recorded from headless Chromium through the
// forward proxy, then replayed against fresh instances of it that `replay --server` starts:
//
//   GET  /chat/lobby/         302 to Django's LoginView, whose form carries the
//                             csrfmiddlewaretoken hidden field, with the csrftoken cookie
//   POST /accounts/login/     the form: Django checks the token against the cookie, sets the
//                             sessionid cookie, rotates csrftoken, 302 back to the room
//   WS   /ws/chat/lobby/      a Channels AsyncWebsocketConsumer behind AuthMiddlewareStack:
//                             {"type":"joined"}; the page's message comes back from the room's
//                             group (InMemoryChannelLayer) stamped with a random id, the time
//                             and the user's name
//   POST /chat/lobby/read/    AJAX with X-CSRFToken read from the csrftoken cookie: a read
//                             receipt for that message's id and time, answered with JSON
//
// 1. Chromium (browser_django.js) does that flow through `workalready record`; the capture is
//    checked: the exchanges, the CSRF values where Django issued them and where the browser
//    sent them back, and the WebSocket's messages.
// 2. The capture replays green ten times in a row, each through `--server` (a fresh app per
//    run: its own SQLite file, its own secrets), with no rules file: exit 0 and the report's
//    counts equal to what the capture holds.
// 3. Against `VARIANT=changed` (one field of the receipt's JSON, one of the chat message):
//    exit 1, and the console names both.
// 4. Calibration learns neither change as noise: `--calibrate` against the changed app (a
//    fresh one per pass, or one running instance) never exits 0, and a calibration against
//    the unchanged app leaves a replay against the changed one exit 1, naming both fields.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/browser.h"
#include "tests/integration/replay_run.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

// The app's launcher: daphne on 127.0.0.1:$PORT, `LISTENING <port>` once it listens.
std::string launcher() {
  return repo_path("tests/apps/django_channels/run.py");
}

// What `replay --server` runs (in a shell, PORT in its environment).
std::string server_command(bool changed) {
  return std::string(changed ? "VARIANT=changed " : "") + "/usr/bin/python3 " + launcher();
}

// One instance of the app on a port of its choosing.
class DjangoApp {
 public:
  explicit DjangoApp(bool changed = false) {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/python3", launcher()},
        std::vector<Env>{{"PORT", "0"}, {"VARIANT", changed ? "changed" : "none"}});
    const std::string_view ready = "LISTENING ";
    auto line = process_->wait_for_prefix(ready, 60000ms);
    if (!line) {
      process_->stop();
      throw std::runtime_error(
          "the Django app did not start (are python3-django, "
          "python3-django-channels and daphne installed? "
          "scripts/setup.sh installs them)\n" +
          process_->tail());
    }
    port_ = std::atoi(line->c_str() + ready.size());
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int stop() { return process_->stop(); }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------------
// Recording: once per run of the executable, shared by the test case's subcases.

struct Recorded {
  TempDir dir;
  std::string db;
  std::string origin;
  json result;  // what the page's window.done resolved with
  store::RecordingData data;
};

std::unique_ptr<Recorded> record() {
  auto r = std::make_unique<Recorded>();
  r->db = r->dir.file("django.sqlite");
  DjangoApp app;
  r->origin = app.origin();
  {
    RecordingProxy proxy(r->db, {"--ca-dir", r->dir.file("ca")});
    INFO(proxy.process().tail(4000));
    {
      Chromium browser(r->dir.file("profile"),
                       {"--proxy-server=" + proxy.origin(), "--proxy-bypass-list=<-loopback>"});
      CommandRun run =
          run_command({"node", repo_path("tests/integration/browser_django.js"), "--devtools",
                       browser.devtools(), "--url", app.origin(), "--timeout-ms", "60000"},
                      {}, 90s);
      browser.process().wait_exit(10s);
      INFO(run.out << run.err);
      REQUIRE(run.exit_code == 0);
      for (const json& line : json_lines(run.out)) {
        if (line.value("type", "") == "result") r->result = line.value("value", json());
      }
      REQUIRE(r->result.is_object());
    }
    REQUIRE(proxy.interrupt() == 0);
  }
  CHECK(app.stop() == 0);
  r->data = load_capture(r->db);
  return r;
}

Recorded& recorded() {
  static std::unique_ptr<Recorded> r;
  if (!r) r = record();
  return *r;
}

bool of_app(const store::Exchange& x, const std::string& origin) {
  return x.url.rfind(origin + "/", 0) == 0;
}

// The HTTP exchanges a replay sends and compares: the app's own that were answered, less the
// WebSocket upgrade (the live WebSocket client makes it).
size_t replayable_exchanges(const Recorded& r) {
  size_t n = 0;
  for (const auto& x : r.data.exchanges) {
    if (of_app(x, r.origin) && x.status != 0 && x.status != 101) ++n;
  }
  return n;
}

// The exchange `method` of exactly `path` (query included), or null.
const store::Exchange* exchange_at(const Recorded& r, const std::string& method,
                                   const std::string& path) {
  for (const auto& x : r.data.exchanges) {
    if (x.method == method && of_app(x, r.origin) && path_of(x.url) == path) return &x;
  }
  return nullptr;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or "".
std::string cookie_in(const std::string& header, const std::string& name) {
  size_t at = 0;
  while (at < header.size()) {
    size_t end = header.find(';', at);
    std::string pair = header.substr(at, end == std::string::npos ? std::string::npos : end - at);
    size_t start = pair.find_first_not_of(' ');
    pair = start == std::string::npos ? "" : pair.substr(start);
    if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return "";
}

// The value a Set-Cookie of `name` gave among `headers`, or "".
std::string set_cookie(const store::Headers& headers, const std::string& name) {
  for (const auto& h : headers) {
    if (h.name.size() != 10 || strncasecmp(h.name.c_str(), "set-cookie", 10) != 0) continue;
    if (h.value.rfind(name + "=", 0) != 0) continue;
    return h.value.substr(name.size() + 1, h.value.find(';') - name.size() - 1);
  }
  return "";
}

// The text messages of the chat WebSocket in one direction, as JSON.
std::vector<json> chat_messages(const Recorded& r, store::Direction direction) {
  std::vector<json> found;
  for (const auto& m : r.data.ws_messages) {
    const store::Exchange* x = exchange_by_id(r.data, m.exchange_id);
    if (!x || path_of(x->url) != "/ws/chat/lobby/" || m.direction != direction || m.opcode != 1)
      continue;
    json parsed = json::parse(m.payload.bytes, nullptr, false);
    found.push_back(parsed.is_discarded() ? json() : parsed);
  }
  return found;
}

// The server's data messages the replay expects on the chat WebSocket: joined and the message.
constexpr size_t kServerMessages = 2;

// ---------------------------------------------------------------------------------------------
// Replay.

// `workalready replay --db DB --timeout 15000 ARGS... --report-json F` run to completion.
ReplayRun replay(const Recorded& rec, const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {"--timeout", "15000"});
  return run_replay(rec.dir, db, args, 180s);
}

// A fresh app per run, ready once it printed its LISTENING line.
std::vector<std::string> with_server(bool changed) {
  return {"--server", server_command(changed), "--server-ready-line", "^LISTENING [0-9]+"};
}

// What the changed app changes, as the console and the report name it.
const std::string kReceipt = "/chat/lobby/read/";
const std::string kReceiptPath = "/unread";
const std::string kChat = "/ws/chat/lobby/";
const std::string kChatPath = "/user";

// Exit 1; the console names the receipt's field and the chat message's field; the report's
// real (not noise) differences are exactly those two.
void check_catches_both(const ReplayRun& run) {
  INFO(describe(run));
  CHECK(run.exit_code == 1);
  std::string console = run.console();
  CHECK(contains(console, kReceipt));
  CHECK(contains(console, kReceiptPath));
  CHECK(contains(console, kChat));
  CHECK(contains(console, kChatPath));
  REQUIRE(run.report.is_object());
  CHECK(run.report.value("exit_code", -1) == 1);
  REQUIRE(run.report["sessions"].is_array());
  REQUIRE(run.report["sessions"].size() == 1);
  std::vector<std::string> real;
  for (const auto& d : run.report["sessions"][0]["differences"]) {
    if (!d.value("noise", false)) real.push_back(d.value("path", ""));
  }
  REQUIRE(real.size() == 2);
  bool receipt = false, chat = false;
  for (const auto& path : real) {
    receipt = receipt || path.ends_with(kReceiptPath);
    chat = chat || path.ends_with(kChatPath);
  }
  CHECK(receipt);
  CHECK(chat);
}

// A copy of the capture, for a calibration (which stores the noise it learnt in the file).
std::string copy_of(const Recorded& rec, const std::string& name) {
  std::string copy = rec.dir.file(name + ".sqlite");
  std::filesystem::copy_file(rec.db, copy, std::filesystem::copy_options::overwrite_existing);
  return copy;
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

TEST_CASE("browser django: Django + Channels login with CSRF, a chat WebSocket, an AJAX POST") {
  Recorded& rec = recorded();
  const json& result = rec.result;
  CHECK(result["joined"] == json({{"type", "joined"}, {"room", "lobby"}, {"user", "alice"}}));
  CHECK(result["message"]["user"] == "alice");
  CHECK(result["message"]["message"] == "hello from alice");
  CHECK(result["receipt"]["read"]["id"] == result["message"]["id"]);
  CHECK(result["receipt"]["unread"] == 0);

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data));
      // The room sent the signed-out browser to the login form.
      const store::Exchange* first = exchange_at(rec, "GET", "/chat/lobby/");
      REQUIRE(first != nullptr);
      CHECK(first->status == 302);
      CHECK(header_of(first->response_headers, "location") == "/accounts/login/?next=/chat/lobby/");

      // The form: Django's hidden token field, and the csrftoken cookie beside it.
      const store::Exchange* form = exchange_at(rec, "GET", "/accounts/login/?next=/chat/lobby/");
      REQUIRE(form != nullptr);
      CHECK(form->status == 200);
      const std::string field = "name=\"csrfmiddlewaretoken\" value=\"";
      size_t at = form->response_body.bytes.find(field);
      REQUIRE(at != std::string::npos);
      std::string form_token = form->response_body.bytes.substr(at + field.size(), 64);
      std::string form_cookie = set_cookie(form->response_headers, "csrftoken");
      CHECK(form_cookie.size() == 64);
      // Django masks the token it puts in a form: never the cookie's value itself.
      CHECK(form_token != form_cookie);

      // The login sent both back; Django set the session and rotated the CSRF cookie.
      const store::Exchange* login = exchange_at(rec, "POST", "/accounts/login/");
      REQUIRE(login != nullptr);
      CHECK(login->status == 302);
      CHECK(header_of(login->response_headers, "location") == "/chat/lobby/");
      CHECK(contains(login->request_body.bytes, "csrfmiddlewaretoken=" + form_token));
      CHECK(contains(login->request_body.bytes, "username=alice"));
      std::string cookies = header_of(login->request_headers, "cookie");
      CHECK(cookie_in(cookies, "csrftoken") == form_cookie);
      std::string session = set_cookie(login->response_headers, "sessionid");
      CHECK_FALSE(session.empty());
      std::string rotated = set_cookie(login->response_headers, "csrftoken");
      CHECK(rotated.size() == 64);
      CHECK(rotated != form_cookie);

      // The room, then its WebSocket with the session cookie.
      const store::Exchange* room = nullptr;
      for (const auto& x : rec.data.exchanges) {
        if (x.method == "GET" && of_app(x, rec.origin) && path_of(x.url) == "/chat/lobby/" &&
            x.status == 200)
          room = &x;
      }
      REQUIRE(room != nullptr);
      CHECK(contains(room->response_body.bytes, "new WebSocket("));
      const store::Exchange* upgrade = exchange_at(rec, "GET", kChat);
      REQUIRE(upgrade != nullptr);
      CHECK(upgrade->status == 101);
      CHECK(cookie_in(header_of(upgrade->request_headers, "cookie"), "sessionid") == session);

      std::vector<json> server = chat_messages(rec, store::Direction::server);
      std::vector<json> client = chat_messages(rec, store::Direction::client);
      REQUIRE(client.size() == 1);
      CHECK(client[0] == json({{"message", "hello from alice"}}));
      REQUIRE(server.size() == kServerMessages);
      CHECK(server[0] == result["joined"]);
      CHECK(server[1] == result["message"]);
      REQUIRE(server[1]["id"].is_string());
      CHECK(server[1]["id"].get<std::string>().size() == 32);
      CHECK(server[1]["ts"].is_string());

      // The read receipt: X-CSRFToken is the rotated cookie's value; the body names the
      // message by the id and time the server gave it.
      const store::Exchange* receipt = exchange_at(rec, "POST", kReceipt);
      REQUIRE(receipt != nullptr);
      CHECK(receipt->status == 200);
      CHECK(header_of(receipt->request_headers, "x-csrftoken") == rotated);
      CHECK(cookie_in(header_of(receipt->request_headers, "cookie"), "csrftoken") == rotated);
      json sent = json::parse(receipt->request_body.bytes, nullptr, false);
      CHECK(sent == json({{"id", server[1]["id"]}, {"ts", server[1]["ts"]}}));
      CHECK(json::parse(receipt->response_body.bytes, nullptr, false) == result["receipt"]);

      CHECK(replayable_exchanges(rec) >= 5);
    });
  }

  SUBCASE("replays green ten times, each against a fresh app") {
    isolated([&] {
      const size_t exchanges = replayable_exchanges(rec);
      REQUIRE(exchanges > 0);
      for (int attempt = 1; attempt <= 10; ++attempt) {
        ReplayRun run = replay(rec, rec.db, with_server(false));
        INFO("replay " << attempt << " of 10; recorded: " << exchanges << " responses, "
                       << kServerMessages << " server messages");
        INFO(describe(run));
        CHECK(run.exit_code == 0);
        REQUIRE(run.report.is_object());
        CHECK(run.report.value("exit_code", -1) == 0);
        REQUIRE(run.report["sessions"].is_array());
        REQUIRE(run.report["sessions"].size() == 1);
        const json& session = run.report["sessions"][0];
        CHECK(session["errors"] == json::array());
        CHECK(session.value("exchanges", size_t(0)) == exchanges);
        CHECK(session.value("events_expected", size_t(0)) == kServerMessages);
        CHECK(session.value("events_matched", size_t(0)) == kServerMessages);
        for (const auto& d : session["differences"])
          CHECK(d.value("noise", false) == true);
        if (run.exit_code != 0) break;
      }
    });
  }

  SUBCASE("the changed app: the receipt's field and the chat message's field") {
    isolated([&] { check_catches_both(replay(rec, rec.db, with_server(true))); });
  }

  SUBCASE("calibration against the changed app learns neither change") {
    isolated([&] {
      // A fresh changed app per pass.
      ReplayRun fresh = replay(rec, copy_of(rec, "calibrate-server"), [] {
        auto args = with_server(true);
        args.push_back("--calibrate");
        return args;
      }());
      INFO(describe(fresh));
      CHECK(fresh.exit_code != 0);
      CHECK(fresh.exit_code != -1);
    });
    isolated([&] {
      // One running changed app for both passes and the replay.
      DjangoApp changed(true);
      ReplayRun one = replay(rec, copy_of(rec, "calibrate-target"),
                             {"--target", changed.origin(), "--calibrate"});
      INFO(describe(one));
      CHECK(one.exit_code != 0);
      CHECK(one.exit_code != -1);
    });
  }

  SUBCASE("calibrated against the unchanged app, the changed one still fails") {
    isolated([&] {
      std::string db = copy_of(rec, "calibrate-unchanged");
      auto args = with_server(false);
      args.push_back("--calibrate");
      ReplayRun calibration = replay(rec, db, args);
      INFO(describe(calibration));
      CHECK(calibration.exit_code == 0);
      check_catches_both(replay(rec, db, with_server(true)));
    });
  }
}
