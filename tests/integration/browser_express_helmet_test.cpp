// The express_helmet corpus app (tests/apps/express_helmet): Express 4 behind helmet (its
// default headers, a Content-Security-Policy with a nonce fresh in every response),
// `compression` (every text response gzip'd), express-session, csrf-csrf's double-submit CSRF
// tokens (a hidden field of the sign-in form, a meta tag of the notes page, sent back in
// x-csrf-token by fetch()) and Socket.IO 4 (long-polling upgraded to the WebSocket).
//
// 1. Chromium, driven by browser_sign_in.js through `workalready record`, signs in with
//    the form and lets the notes page do its part (GET /api/me, POST /api/notes, the
//    `note:created` broadcast with the server's id and time, `note:pin` {id} with an ack); the
//    capture is checked.
// 2. The capture replays green ten times in a row, each through `--server` (a fresh app per
//    run), with no rules file, comparing as many responses and events as it holds.
// 3. Against the app's `VARIANT=changed` (/api/me's role, note:created's board): exit 1, both
//    fields named.
// 4. Calibration never learns either regression as noise: `--calibrate` through `--server` of
//    the changed app, or against one running changed app, is never exit 0; and after
//    `--calibrate` through `--server` of the unchanged app, the changed app still fails the
//    replay with both fields named.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "protocol/content_coding.h"
#include "tests/integration/replay_run.h"
#include "tests/integration/sign_in_recording.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

const std::string kApp = "tests/apps/express_helmet/app.js";

// The app on a port of its choosing (PORT=0), ready once it printed `LISTENING <port>`.
class HelmetApp {
 public:
  explicit HelmetApp(const std::string& variant = "none") {
    require_node_modules();
    process_ = std::make_unique<Process>(std::vector<std::string>{"node", repo_path(kApp)},
                                         std::vector<Env>{{"PORT", "0"}, {"VARIANT", variant}});
    const std::string_view ready = "LISTENING ";
    auto line = process_->wait_for_prefix(ready, 60000ms);
    if (!line) {
      process_->stop();
      throw std::runtime_error("the express_helmet app did not start\n" + process_->tail());
    }
    port_ = std::atoi(line->c_str() + ready.size());
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int stop() { return process_->stop(); }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// The `--server` command of the app: the replayer gives it PORT.
std::string server_command(const std::string& variant = "none") {
  return "VARIANT=" + variant + " node " + repo_path(kApp);
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

using Recorded = SignInRecording;

Recorded record(const TempDir& dir) {
  return record_sign_in(dir, kApp, "express_helmet");
}

// Made once: doctest runs the test case once per SUBCASE. Removed at exit.
struct Case {
  TempDir dir;
  Recorded rec;
};

Case& recorded() {
  static std::unique_ptr<Case> c;
  if (!c) {
    c = std::make_unique<Case>();
    c->rec = record(c->dir);
  }
  return *c;
}

// A response body without its content coding.
std::string decoded_body(const store::Exchange& x) {
  auto body = wa::coding::decode_all(x.response_encoding, x.response_body.bytes, 16 << 20);
  REQUIRE(body.ok());
  return *body;
}

// The value of `attribute="…"` following `anchor` in `html`.
std::string attribute_after(const std::string& html, const std::string& anchor,
                            const std::string& attribute) {
  size_t at = html.find(anchor);
  REQUIRE(at != std::string::npos);
  std::string open = attribute + "=\"";
  at = html.find(open, at);
  REQUIRE(at != std::string::npos);
  at += open.size();
  return html.substr(at, html.find('"', at) - at);
}

// The server Socket.IO packets a replay expects (CONNECT reply, events, acks).
size_t expected_packets(const Recorded& r) {
  size_t n = 0;
  for (const auto& p : r.data.packets) {
    if (p.direction == store::Direction::server && p.sio_type && p.eio_type == 4 &&
        !contains(p.raw, "(error: "))
      ++n;
  }
  return n;
}

// The CONNECT reply, welcome, note:created and the ack of note:pin.
constexpr size_t kServerPackets = 4;

json args_of(const store::SocketPacket* p) {
  REQUIRE(p != nullptr);
  return parse_args(*p);
}

// ---------------------------------------------------------------------------------------------
// Replay.

// `workalready replay --db DB --timeout 30000 ARGS… --report-json F`.
ReplayRun replay(const TempDir& dir, const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {"--timeout", "30000"});
  return run_replay(dir, db, args, 240s);
}

std::vector<std::string> through_server(const std::string& variant) {
  return {"--server", server_command(variant)};
}

// A copy of the capture, for the runs that write calibration rules into it.
std::string copy_of(const Case& c, const std::string& name) {
  std::string copy = c.dir.file(name + ".sqlite");
  std::filesystem::copy_file(c.rec.db, copy, std::filesystem::copy_options::overwrite_existing);
  return copy;
}

// Exit 1, and both regressions named on the console and in the report: /api/me's role and
// note:created's board. `only`: and nothing else differs but noise.
void check_catches_both(const ReplayRun& run, bool only) {
  INFO(describe(run));
  CHECK(run.exit_code == 1);
  std::string console = run.console();
  CHECK(contains(console, "GET /api/me"));
  CHECK(contains(console, "/role"));
  CHECK(contains(console, "event note:created"));
  CHECK(contains(console, "/0/board"));
  std::vector<json> real = real_differences(run);
  if (only) CHECK(real.size() == 2);
  bool role = false, board = false;
  for (const auto& d : real) {
    role = role || (d.value("where", "") == "GET /api/me" && d.value("path", "") == "/role");
    board = board ||
            (d.value("scope", "") == "event note:created" && d.value("path", "") == "/0/board");
  }
  CHECK(role);
  CHECK(board);
}

// A copy of the capture calibrated through `--server` (a fresh unchanged app per pass), made
// once; the calibration run in `run`.
struct Calibrated {
  std::string db;
  ReplayRun run;
};

const Calibrated& calibrated(const Case& c) {
  static std::unique_ptr<Calibrated> made;
  if (!made) {
    made = std::make_unique<Calibrated>();
    made->db = copy_of(c, "calibrated");
    made->run = replay(c.dir, made->db, {"--calibrate", "--server", server_command()});
  }
  return *made;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("browser express_helmet: helmet, compression, csrf-csrf and Socket.IO 4") {
  Case& c = recorded();
  const Recorded& rec = c.rec;
  CHECK(rec.result["me"] == json({{"username", "alice"}, {"role", "editor"}}));
  CHECK(rec.result["welcome"] == json({{"username", "alice"}, {"notes", 0}}));
  CHECK(rec.result["pin"]["ok"] == true);
  CHECK(rec.result["transport"] == "websocket");

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data));
      // Every text response of Express was gzip'd and carries helmet's CSP with a nonce.
      const store::Exchange* login_page = app_exchange(rec, "GET", "/");
      const store::Exchange* login = app_exchange(rec, "POST", "/login");
      const store::Exchange* notes_page = app_exchange(rec, "GET", "/notes");
      const store::Exchange* me = app_exchange(rec, "GET", "/api/me");
      const store::Exchange* post = app_exchange(rec, "POST", "/api/notes");
      const store::Exchange* client = app_exchange(rec, "GET", "/vendor/socket.io.min.js");
      REQUIRE(login_page != nullptr);
      REQUIRE(login != nullptr);
      REQUIRE(notes_page != nullptr);
      REQUIRE(me != nullptr);
      REQUIRE(post != nullptr);
      REQUIRE(client != nullptr);
      for (const store::Exchange* x : {login_page, notes_page, me, post, client}) {
        CAPTURE(x->url);
        CHECK(x->response_encoding == "gzip");
        CHECK(contains(header_of(x->response_headers, "content-security-policy"),
                       "script-src 'self' 'nonce-"));
        CHECK(header_of(x->response_headers, "x-content-type-options") == "nosniff");
      }
      // The sign-in form's hidden token went back in the form body, as csrf-csrf's cookie.
      std::string form_token =
          attribute_after(decoded_body(*login_page), "name=\"_csrf\"", "value");
      CHECK(form_token.size() > 64);
      CHECK(contains(login->request_body.bytes, "_csrf=" + form_token));
      CHECK(contains(header_of(login->request_headers, "cookie"), "x-csrf-token=" + form_token));
      CHECK(login->status == 302);
      CHECK(header_of(login->response_headers, "location") == "/notes");
      // The notes page's meta token (a new one: the session was regenerated) went in the
      // x-csrf-token header of the fetch() that posted the note.
      std::string notes_html = decoded_body(*notes_page);
      std::string meta_token = attribute_after(notes_html, "name=\"csrf-token\"", "content");
      CHECK(meta_token != form_token);
      CHECK(header_of(post->request_headers, "x-csrf-token") == meta_token);
      // The inline script's nonce is the one of the response's CSP.
      std::string nonce = attribute_after(notes_html, "<script nonce", "nonce");
      CHECK(contains(header_of(notes_page->response_headers, "content-security-policy"),
                     "'nonce-" + nonce + "'"));
      CHECK(post->status == 201);
      json created = json::parse(decoded_body(*post), nullptr, false);
      REQUIRE(created.is_object());
      REQUIRE(created["id"].is_string());

      // Socket.IO: welcome, the broadcast of the note with the server's id, the pin of that id
      // and its ack; polling first, then the WebSocket.
      CHECK(args_of(packet_of(rec, store::Direction::server, 2, "welcome")) ==
            json::array({{{"username", "alice"}, {"notes", 0}}}));
      json note = args_of(packet_of(rec, store::Direction::server, 2, "note:created"));
      CHECK(note[0]["id"] == created["id"]);
      CHECK(note[0]["createdAt"] == created["createdAt"]);
      CHECK(note[0]["board"] == "main");
      const store::SocketPacket* pin = packet_of(rec, store::Direction::client, 2, "note:pin");
      CHECK(args_of(pin) == json::array({{{"id", created["id"]}}}));
      REQUIRE(pin->ack_id.has_value());
      const store::SocketPacket* ack = packet_of(rec, store::Direction::server, 3);
      REQUIRE(ack != nullptr);
      CHECK(ack->ack_id == pin->ack_id);
      CHECK(args_of(ack) == json::array({{{"ok", true}, {"id", created["id"]}, {"pinned", true}}}));
      CHECK(expected_packets(rec) == kServerPackets);
      bool polled = false, upgraded = false;
      for (const auto& x : rec.data.exchanges) {
        polled = polled || (is_engineio(x) && contains(x.url, "transport=polling"));
        upgraded = upgraded || (is_engineio(x) && x.status == 101);
      }
      CHECK(polled);
      CHECK(upgraded);
    });
  }

  SUBCASE("without calibration, only the server's clock differs") {
    isolated([&] {
      // Nothing the app issues for one response alone (the CSP nonce in the page) or for one
      // session (CSRF tokens, cookies, the sid, the note's id) may differ; only the note's
      // createdAt, which calibration is for.
      ReplayRun run = replay(c.dir, rec.db, through_server("none"));
      INFO(describe(run));
      CHECK(run.exit_code == 1);
      std::vector<json> real = real_differences(run);
      CHECK(real.size() == 2);
      for (const auto& d : real) {
        CAPTURE(d.dump());
        CHECK(d.value("path", "").ends_with("/createdAt"));
      }
    });
  }

  SUBCASE("replays green ten times, each through --server, once calibrated") {
    isolated([&] {
      const Calibrated& cal = calibrated(c);
      INFO("calibration: " << describe(cal.run));
      REQUIRE(cal.run.exit_code == 0);
      size_t exchanges = replayable_exchanges(rec);
      REQUIRE(exchanges >= 6);
      for (int attempt = 1; attempt <= 10; ++attempt) {
        ReplayRun run = replay(c.dir, cal.db, through_server("none"));
        INFO("replay " << attempt << " of 10; recorded: " << exchanges << " responses, "
                       << kServerPackets << " server packets");
        INFO(describe(run));
        CHECK(run.exit_code == 0);
        REQUIRE(run.report.is_object());
        REQUIRE(run.report["sessions"].is_array());
        REQUIRE(run.report["sessions"].size() == 1);
        const json& session = run.report["sessions"][0];
        CHECK(session["errors"] == json::array());
        CHECK(session.value("exchanges", size_t(0)) == exchanges);
        CHECK(session.value("events_expected", size_t(0)) == kServerPackets);
        CHECK(session.value("events_matched", size_t(0)) == kServerPackets);
        CHECK(real_differences(run).empty());
        if (run.exit_code != 0) break;
      }
    });
  }

  SUBCASE("replay against the changed app names both regressions") {
    isolated([&] { check_catches_both(replay(c.dir, rec.db, through_server("changed")), false); });
  }

  SUBCASE("calibration does not learn a regression as noise") {
    isolated([&] {
      // Both passes against fresh changed apps: they agree with each other, not with the
      // recording.
      ReplayRun server_changed = replay(c.dir, copy_of(c, "calibrate-changed"),
                                        {"--calibrate", "--server", server_command("changed")});
      INFO(describe(server_changed));
      CHECK(server_changed.exit_code != 0);
      CHECK(server_changed.exit_code != -1);
    });
    isolated([&] {
      // Both passes against one running changed app, which keeps the first pass's note.
      HelmetApp changed("changed");
      ReplayRun target_changed = replay(c.dir, copy_of(c, "calibrate-target"),
                                        {"--calibrate", "--target", changed.origin()});
      INFO(describe(target_changed));
      CHECK(target_changed.exit_code != 0);
      CHECK(target_changed.exit_code != -1);
    });
    isolated([&] {
      // Calibrated against the unchanged app, the changed one still fails, both fields named,
      // and nothing else differs but noise.
      const Calibrated& cal = calibrated(c);
      INFO("calibration: " << describe(cal.run));
      CHECK(cal.run.exit_code == 0);
      check_catches_both(replay(c.dir, cal.db, through_server("changed")), true);
    });
  }
}
