// The inline_state corpus app (tests/apps/inline_state): Express 4 + Socket.IO 4, handing every
// value to the page where no structure locates it, and refusing each one stale:
// - the CSRF token only in an inline script, `unescape('…')` of escape()'s spelling of a base64
//   value, copied by the page into the sign-in form, later sent in x-csrf-token, in the
//   socket's CONNECT auth and in the card:add event;
// - the board's id in a `<script type="application/json">` blob, sent back in a URL path;
// - asset URLs with cache-busters drawn at start (`board.css?v=<hex>`, `board.<hex>.js`);
// - an opaque access token with '/', '+' and '=' from a JSON answer, sent as a Bearer header
//   and in a socket message;
// - a member id in the first Socket.IO event, sent back in a later event;
// - an image stamped at start (Last-Modified, an ETag drawn then) that the browser revalidates:
//   If-None-Match and If-Modified-Since of the recorded instance, answered 304.
//
// 1. Chromium, driven by browser_sign_in.js through `workalready record`, signs in and lets
//    the board page do its part; the capture is checked (every value where described above).
// 2. `--explain` lists each of those values once, from the place that issued it, with no
//    "part of" pieces of the access token.
// 3. The capture replays green five times, each through `--server` (a fresh app per run, so
//    every value differs), with no rules file, comparing as many responses and events as it
//    holds; the revalidation is answered 304 again (the live validators were sent).
// 4. Against the app's `VARIANT=changed`: exit 1, /api/profile's role and card:add's ack named.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include "tests/integration/replay_run.h"
#include "tests/integration/sign_in_recording.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

const std::string kApp = "tests/apps/inline_state/app.js";

// `transports`: the app's TRANSPORTS, which its board page names.
std::string server_command(const std::string& variant = "none",
                           const std::string& transports = "") {
  return "VARIANT=" + variant + " TRANSPORTS=" + transports + " node " + repo_path(kApp);
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

using Recorded = SignInRecording;

// `transports`: the page's socket transports (TRANSPORTS of the app), "" for Socket.IO's own.
Recorded record(const TempDir& dir, const std::string& transports = "") {
  return record_sign_in(dir, kApp, "inline_state" + transports, {{"TRANSPORTS", transports}});
}

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

// The app's exchange whose path starts with `prefix` and ends with `suffix`, or null.
const store::Exchange* exchange_like(const Recorded& r, const std::string& prefix,
                                     const std::string& suffix) {
  for (const auto& x : r.data.exchanges) {
    std::string p = path_of(x.url);
    if (of_app(x, r.origin) && p.starts_with(prefix) && p.ends_with(suffix)) return &x;
  }
  return nullptr;
}

// The app's exchanges `GET path` in recorded order.
std::vector<const store::Exchange*> exchanges_of(const Recorded& r, const std::string& path) {
  std::vector<const store::Exchange*> out;
  for (const auto& x : r.data.exchanges)
    if (x.method == "GET" && of_app(x, r.origin) && path_of(x.url) == path) out.push_back(&x);
  return out;
}

// The CONNECT reply, state, and the acks of token:check and card:add.
constexpr size_t kServerPackets = 4;

ReplayRun replay(const TempDir& dir, const std::string& db, std::vector<std::string> args) {
  args.insert(args.begin(), {"--timeout", "30000"});
  return run_replay(dir, db, args, 240s);
}

// The --explain line of the value that starts with `value`'s first eight characters.
std::vector<std::string> explain_lines(const std::string& console, const std::string& value) {
  std::vector<std::string> out;
  std::string key = "value '" + value.substr(0, 8);
  for (size_t at = console.find(key); at != std::string::npos; at = console.find(key, at + 1))
    out.push_back(console.substr(at, console.find('\n', at) - at));
  return out;
}

}  // namespace

TEST_CASE("browser inline_state: values in inline scripts, JSON blobs, asset URLs and events") {
  Case& c = recorded();
  const Recorded& rec = c.rec;
  REQUIRE(rec.result["board"].is_object());
  CHECK(rec.result["profile"] == json({{"username", "alice"}, {"role", "editor"}}));
  CHECK(rec.result["check"] == json({{"ok", true}}));
  CHECK(rec.result["card"] == json({{"ok", true}, {"text", "first card"}}));
  CHECK(rec.result["transport"] == "websocket");
  CHECK(rec.result["logo"] == json({{"first", 200}, {"again", 200}, {"same", true}}));
  std::string token = rec.result.value("token", "");
  std::string board_id = rec.result["board"].value("id", "");
  std::string member_id = rec.result["state"].value("memberId", "");

  // The values, where the page and the client had them.
  const store::Exchange* login_page = app_exchange(rec, "GET", "/");
  const store::Exchange* login = app_exchange(rec, "POST", "/login");
  const store::Exchange* board_page = app_exchange(rec, "GET", "/board");
  const store::Exchange* css = app_exchange(rec, "GET", "/static/board.css");
  const store::Exchange* script = exchange_like(rec, "/static/board.", ".js");
  const store::Exchange* get_token = app_exchange(rec, "POST", "/api/token");
  const store::Exchange* profile = app_exchange(rec, "GET", "/api/profile");
  REQUIRE(login_page);
  REQUIRE(login);
  REQUIRE(board_page);
  REQUIRE(css);
  REQUIRE(script);
  REQUIRE(get_token);
  REQUIRE(profile);
  std::string csrf = header_of(get_token->request_headers, "x-csrf-token");

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data));
      // The sign-in token is in the page only inside unescape('…'), in escape()'s spelling.
      std::string page = login_page->response_body.bytes;
      CHECK(contains(page, "_csrf: unescape('/"));  // base64 that begins with '/'

      CHECK(contains(page, "%3D')"));
      CHECK(contains(page, "name=\"_csrf\" value=\"\""));
      CHECK(contains(login->request_body.bytes, "_csrf="));
      CHECK(login->status == 303);
      // The board page's token (a new one) went to the header and the CONNECT auth.
      CHECK(csrf.size() == 28);
      CHECK(contains(board_page->response_body.bytes, "<script type=\"application/json\""));
      CHECK(contains(board_page->response_body.bytes, "\"boardId\":\"" + board_id + "\""));
      CHECK(app_exchange(rec, "GET", "/api/boards/" + board_id) != nullptr);
      CHECK(css->status == 200);
      CHECK(script->status == 200);
      CHECK(get_token->status == 200);
      CHECK(header_of(profile->request_headers, "authorization") == "Bearer " + token);
      CHECK(contains(token, "/"));
      CHECK(contains(token, "+"));
      CHECK(contains(token, "="));
      // The logo, then its revalidation with the validators of that answer: 304.
      auto logos = exchanges_of(rec, "/static/logo.svg");
      REQUIRE(logos.size() == 2);
      CHECK(logos[0]->status == 200);
      CHECK(logos[1]->status == 304);
      CHECK(header_of(logos[1]->request_headers, "if-none-match") ==
            header_of(logos[0]->response_headers, "etag"));
      CHECK(header_of(logos[1]->request_headers, "if-modified-since") ==
            header_of(logos[0]->response_headers, "last-modified"));
      const store::SocketPacket* connect = packet_of(rec, store::Direction::client, 0);
      REQUIRE(connect);
      CHECK(parse_args(*connect) == json({{"csrf", csrf}}));
      const store::SocketPacket* check = packet_of(rec, store::Direction::client, 2, "token:check");
      REQUIRE(check);
      CHECK(parse_args(*check) == json::array({{{"token", token}}}));
      const store::SocketPacket* add = packet_of(rec, store::Direction::client, 2, "card:add");
      REQUIRE(add);
      CHECK(parse_args(*add)[0]["memberId"] == member_id);
      CHECK(parse_args(*add)[0]["csrf"] == csrf);  // the page's token in a socket event too
    });
  }

  SUBCASE("--explain lists each value once, from its place") {
    isolated([&] {
      ReplayRun run = replay(c.dir, rec.db, {"--explain", "--server", server_command()});
      INFO(describe(run));
      std::string out = run.out;
      auto check_once = [&](const std::string& value, const std::string& from) {
        CAPTURE(value);
        auto lines = explain_lines(out, value);
        REQUIRE(lines.size() == 1);
        CHECK(contains(lines[0], from));
      };
      check_once(csrf, "(JavaScript escape()) in GET /board");
      check_once(board_id, "in GET /board");
      check_once(token, "/token in the JSON body of POST /api/token");
      check_once(member_id, "/0/memberId of event state");
      CHECK_FALSE(contains(out, "part of"));
      // Cache-busters: the stylesheet's version and the script's name, from the page.
      std::string version = css->url.substr(css->url.find("v=") + 2);
      check_once(version, "in GET /board");
      std::string name = path_of(script->url).substr(std::string("/static/").size());
      check_once(name, "in GET /board");
    });
  }

  SUBCASE("replays green five times, each against a fresh app, with no rules file") {
    isolated([&] {
      size_t exchanges = replayable_exchanges(rec);
      REQUIRE(exchanges >= 8);
      for (int attempt = 1; attempt <= 5; ++attempt) {
        ReplayRun run = replay(c.dir, rec.db, {"--server", server_command()});
        INFO("replay " << attempt << " of 5; recorded: " << exchanges << " responses, "
                       << kServerPackets << " server packets");
        INFO(describe(run));
        CHECK(run.exit_code == 0);
        REQUIRE(run.report.is_object());
        REQUIRE(run.report["sessions"].size() == 1);
        const json& session = run.report["sessions"][0];
        CHECK(session["errors"] == json::array());
        CHECK(session["warnings"] == json::array());
        CHECK(session.value("exchanges", size_t(0)) == exchanges);
        CHECK(session.value("events_expected", size_t(0)) == kServerPackets);
        CHECK(session.value("events_matched", size_t(0)) == kServerPackets);
        CHECK(real_differences(run).empty());
        // Both logo rows compared, the revalidation answered 304 as recorded.
        std::vector<std::string> logo;
        for (const json& row : session["timeline"])
          if (row.value("where", "") == "GET /static/logo.svg")
            logo.push_back(row.value("actual", ""));
        CHECK(logo == std::vector<std::string>{"200", "304"});
        if (run.exit_code != 0) break;
      }
    });
  }

  SUBCASE("replay against the changed app names both regressions") {
    isolated([&] {
      ReplayRun run = replay(c.dir, rec.db, {"--server", server_command("changed")});
      INFO(describe(run));
      CHECK(run.exit_code == 1);
      std::vector<json> real = real_differences(run);
      CHECK(real.size() == 2);
      bool role = false, text = false;
      for (const auto& d : real) {
        role =
            role || (d.value("where", "") == "GET /api/profile" && d.value("path", "") == "/role");
        text = text || d.value("path", "") == "/0/text";
      }
      CHECK(role);
      CHECK(text);
    });
  }
}

TEST_CASE("browser inline_state: the first event's member id, over one transport only") {
  // The member id arrives in the socket's first event and goes back in a later one, whichever
  // transport carried them: a WebSocket from the start, or long-polling throughout.
  for (std::string transports : {"websocket", "polling"}) {
    CAPTURE(transports);
    TempDir dir;
    Recorded rec = record(dir, transports);
    CHECK(rec.result["transport"] == transports);
    CHECK(rec.result["card"] == json({{"ok", true}, {"text", "first card"}}));
    const store::SocketPacket* state = packet_of(rec, store::Direction::server, 2, "state");
    REQUIRE(state);
    CHECK(state->transport ==
          (transports == "websocket" ? store::Transport::websocket : store::Transport::polling));
    for (int attempt = 1; attempt <= 2; ++attempt) {
      ReplayRun run = replay(dir, rec.db, {"--server", server_command("none", transports)});
      INFO("replay " << attempt << " of 2");
      INFO(describe(run));
      CHECK(run.exit_code == 0);
      REQUIRE(run.report.is_object());
      const json& session = run.report["sessions"][0];
      CHECK(session.value("exchanges", size_t(0)) == replayable_exchanges(rec));
      CHECK(session.value("events_expected", size_t(0)) == kServerPackets);
      CHECK(session.value("events_matched", size_t(0)) == kServerPackets);
      CHECK(real_differences(run).empty());
      if (run.exit_code != 0) break;
    }
  }
}
