// The replayer's live clients against the real test apps: sign in with the HttpClient (the
// session cookie lands in a cookie jar), open a SocketClient with that jar for each transport
// plan the server supports, connect, receive the welcome, chat twice with acks, close. Plus a
// socket refused without the cookie, and a server that dies under an open session.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <optional>
#include <string>
#include <vector>

#include "net/loop.h"
#include "protocol/cookie_jar.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/http_client.h"
#include "replay/socket_client.h"
#include "tests/integration/harness.h"
#include "tests/net/support.h"

using namespace wa;
using namespace wa::replay;
using wa::net::testing::run_until;
using wa::test::App;
using wa::test::app_name;
using wa::test::AppKind;
using wa::test::require_node_modules;

namespace {

constexpr uint64_t kWaitMs = 20000;

// A browser's worth of client: the HTTP client and a live cookie jar shared by every request.
struct Browser {
  explicit Browser(HttpClient& client) : http(client) {}

  void remember(std::string_view request_url, const HttpResponse& response) {
    auto u = url::parse(request_url);
    REQUIRE(u);
    for (const auto& h : response.headers) {
      if (text::iequals(h.name, "set-cookie")) {
        (void)jar.set_from_response(*u, h.value, now_ms());
        set_cookies.push_back(h.value);
      }
    }
  }
  std::string cookies(std::string_view request_url) {
    auto u = url::parse(request_url);
    return u ? jar.cookie_header_for(*u, now_ms()) : std::string();
  }
  static int64_t now_ms() { return 1'800'000'000'000; }

  // POST /login as a form does; the session cookie goes into the jar.
  void login(const std::string& origin, const std::string& user) {
    std::optional<ClientResult<HttpResponse>> result;
    std::string target = origin + "/login";
    HttpCall call = http.send({.method = "POST",
                               .url = target,
                               .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                               .body = "username=" + user + "&password=secret"},
                              [&](ClientResult<HttpResponse> r) { result.emplace(std::move(r)); });
    REQUIRE(run_until(
        http.loop(), [&] { return result.has_value(); }, kWaitMs));
    REQUIRE_MESSAGE(*result, result->error().why);
    CHECK((*result)->status == 303);
    remember(target, **result);
    CHECK_FALSE(cookies(origin + "/").empty());
  }

  HttpClient& http;
  cookie::CookieJar jar;
  std::vector<std::string> set_cookies;
};

// What a socket session saw.
struct Seen {
  std::optional<SocketOpened> opened;
  std::vector<SocketMessage> messages;
  std::vector<std::string> notes;
  std::optional<eio::Transport> moved_to;
  bool ended = false;
  std::optional<ClientFailure> failure;

  size_t count_events(const std::string& name) const {
    size_t n = 0;
    for (const auto& m : messages) {
      if (const auto* p = std::get_if<sio::Packet>(&m.packet)) {
        if (sio::event_name(*p) == name) ++n;
      } else if (const auto* f = std::get_if<sio09::Decoded>(&m.packet)) {
        if (const auto* e = std::get_if<sio09::Event>(&f->content); e && e->name == name) ++n;
      }
    }
    return n;
  }
  // Socket.IO acks (v4/v5 ACK packets, 0.9 ack frames with arguments).
  std::vector<sio::Json> acks() const {
    std::vector<sio::Json> out;
    for (const auto& m : messages) {
      if (const auto* p = std::get_if<sio::Packet>(&m.packet)) {
        if (sio::is_ack(*p)) out.push_back(sio::event_args(*p));
      } else if (const auto* f = std::get_if<sio09::Decoded>(&m.packet)) {
        if (const auto* a = std::get_if<sio09::Ack>(&f->content)) out.push_back(a->args);
      }
    }
    return out;
  }
  std::optional<sio::Json> welcome() const {
    for (const auto& m : messages) {
      if (const auto* p = std::get_if<sio::Packet>(&m.packet)) {
        if (sio::event_name(*p) == "welcome") return sio::event_args(*p)[0];
      } else if (const auto* f = std::get_if<sio09::Decoded>(&m.packet)) {
        if (const auto* e = std::get_if<sio09::Event>(&f->content); e && e->name == "welcome") {
          return e->args[0];
        }
      }
    }
    return std::nullopt;
  }
  bool has_connect_error() const {
    for (const auto& m : messages) {
      if (const auto* p = std::get_if<sio::Packet>(&m.packet)) {
        if (p->type == sio::PacketType::connect_error) return true;
      }
    }
    return false;
  }
};

traffic::Family family_of(AppKind kind) {
  switch (kind) {
    case AppKind::express_v2:
      return traffic::Family::eio3;
    case AppKind::sio09:
      return traffic::Family::sio09;
    default:
      return traffic::Family::eio4;
  }
}

std::string handshake_url(const App& app) {
  switch (app.options().kind) {
    case AppKind::express_v2:
      return app.origin() + "/socket.io/?EIO=3&transport=polling&t=Q7x46R2";
    case AppKind::sio09:
      return app.origin() + "/socket.io/1/?t=1795213603356";
    default:
      return app.origin() + "/socket.io/?EIO=4&transport=polling&t=jpn9g8bk";
  }
}

std::unique_ptr<SocketClient> open_socket(Browser& browser, const App& app, Plan plan, Seen& seen) {
  SocketClientOptions options;
  options.family = family_of(app.options().kind);
  options.plan = plan;
  options.url = handshake_url(app);
  // python-engineio refuses an Origin other than the target's own (PROTOCOLS.md §1 gotcha 6).
  options.headers = {{"Origin", app.origin()}, {"User-Agent", "workalready-test"}};
  options.cookies = [&browser](std::string_view u) { return browser.cookies(u); };
  options.on_response = [&browser](std::string_view u, const HttpResponse& r) {
    browser.remember(u, r);
  };
  options.close_timeout_ms = 2000;
  SocketHandler handler;
  handler.on_open = [&seen](const SocketOpened& o) { seen.opened = o; };
  handler.on_message = [&seen](SocketMessage& m) { seen.messages.push_back(std::move(m)); };
  handler.on_transport = [&seen](eio::Transport t, const std::string& note) {
    if (note.empty()) {
      seen.moved_to = t;
    } else {
      seen.notes.push_back(note);
    }
  };
  handler.on_end = [&seen](const std::optional<ClientFailure>& f) {
    seen.ended = true;
    seen.failure = f;
  };
  return std::make_unique<SocketClient>(browser.http, std::move(options), std::move(handler));
}

// The whole chat: connect (v5: the client's CONNECT; v4 and 0.9: the server connects), the
// welcome, two chats with acks and their broadcasts, a clean close.
void chat_session(AppKind kind, Plan plan) {
  std::string app_label = app_name(kind);
  std::string plan_label = plan_name(plan);
  CAPTURE(app_label);
  CAPTURE(plan_label);
  App app({.kind = kind});
  net::Loop loop;
  {
    HttpClient http(loop);
    Browser browser(http);
    browser.login(app.origin(), "alice");
    Seen seen;
    auto socket = open_socket(browser, app, plan, seen);
    auto& s = *socket;
    bool v09 = kind == AppKind::sio09;
    if (kind == AppKind::express_v4 || kind == AppKind::flask) CHECK_FALSE(s.send("0"));
    REQUIRE(run_until(
        loop, [&] { return seen.welcome() || seen.ended; }, kWaitMs));
    INFO((seen.failure ? seen.failure->why : std::string("no failure")));
    REQUIRE_FALSE(seen.ended);
    REQUIRE(seen.opened);
    CHECK_FALSE(seen.opened->sid.empty());
    CHECK(s.sid() == seen.opened->sid);
    CHECK((*seen.welcome())["username"] == "alice");
    CHECK_FALSE(seen.has_connect_error());

    for (int n = 1; n <= 2; ++n) {
      std::string text = "hello " + std::to_string(n);
      std::string packet =
          v09 ? "5:" + std::to_string(n) + "+::{\"name\":\"chat\",\"args\":[{\"text\":\"" + text +
                    "\"}]}"
              : "2" + std::to_string(n - 1) + "[\"chat\",{\"text\":\"" + text + "\"}]";
      CHECK_FALSE(s.send(packet));
      REQUIRE(run_until(
          loop,
          [&] {
            return (seen.acks().size() == size_t(n) && seen.count_events("chat") == size_t(n)) ||
                   seen.ended;
          },
          kWaitMs));
      REQUIRE_FALSE(seen.ended);
      sio::Json ack = seen.acks().back();
      CHECK(ack[0]["ok"] == true);
    }
    if (plan == Plan::upgrade && !v09) {
      REQUIRE(run_until(
          loop, [&] { return seen.moved_to.has_value() || seen.ended; }, kWaitMs));
      CHECK(seen.moved_to == std::optional<eio::Transport>(eio::Transport::websocket));
    }
    // Where traffic started, and where it is now (0.9 does not upgrade: it goes straight to
    // the WebSocket unless polling is asked for).
    bool starts_on_ws = plan == Plan::websocket_only || (v09 && plan != Plan::polling);
    CHECK(seen.opened->transport ==
          (starts_on_ws ? eio::Transport::websocket : eio::Transport::polling));
    CHECK(s.transport() ==
          (plan == Plan::polling ? eio::Transport::polling : eio::Transport::websocket));
    CHECK(seen.notes.empty());
    if (kind == AppKind::express_v2) {
      // socket.io 2 sets io=<engine sid> on every polling response.
      bool io_cookie = false;
      for (const auto& c : browser.set_cookies)
        io_cookie = io_cookie || c.starts_with("io=" + seen.opened->sid);
      CHECK(io_cookie == (plan != Plan::websocket_only));
    }

    s.close();
    REQUIRE(run_until(
        loop, [&] { return seen.ended; }, kWaitMs));
    CHECK_MESSAGE(!seen.failure, (seen.failure ? seen.failure->why : std::string()));
    socket.reset();
  }
  CHECK(loop.close() == 0);
}

}  // namespace

TEST_CASE("Replay clients: Socket.IO 4 (Engine.IO v4), every transport plan") {
  require_node_modules();
  for (Plan plan : {Plan::polling, Plan::upgrade, Plan::websocket_only})
    chat_session(AppKind::express_v4, plan);
}

TEST_CASE("Replay clients: Flask-SocketIO (Engine.IO v4, permessage-deflate), every plan") {
  for (Plan plan : {Plan::polling, Plan::upgrade, Plan::websocket_only})
    chat_session(AppKind::flask, plan);
}

TEST_CASE("Replay clients: Socket.IO 2 (Engine.IO v3), every transport plan") {
  require_node_modules();
  for (Plan plan : {Plan::polling, Plan::upgrade, Plan::websocket_only})
    chat_session(AppKind::express_v2, plan);
}

TEST_CASE("Replay clients: Socket.IO 0.9 over WebSocket and xhr-polling") {
  require_node_modules();
  for (Plan plan : {Plan::websocket_only, Plan::polling})
    chat_session(AppKind::sio09, plan);
}

TEST_CASE("Replay clients: a socket without the session cookie is refused") {
  require_node_modules();
  for (AppKind kind : {AppKind::express_v4, AppKind::flask, AppKind::express_v2, AppKind::sio09}) {
    std::string app_label = app_name(kind);
    CAPTURE(app_label);
    App app({.kind = kind});
    net::Loop loop;
    {
      HttpClient http(loop);
      Browser browser(http);  // never signed in
      Seen seen;
      auto socket = open_socket(browser, app, Plan::upgrade, seen);
      if (kind == AppKind::express_v4 || kind == AppKind::flask) CHECK_FALSE(socket->send("0"));
      REQUIRE(run_until(
          loop, [&] { return seen.ended || seen.has_connect_error(); }, kWaitMs));
      if (kind == AppKind::express_v4 || kind == AppKind::flask) {
        // v5 refuses the CONNECT: an application packet the runner compares.
        CHECK(seen.has_connect_error());
        CHECK_FALSE(seen.welcome());
        socket->close();
        REQUIRE(run_until(
            loop, [&] { return seen.ended; }, kWaitMs));
      } else {
        // socket.io 2 and 0.9 refuse the handshake itself.
        REQUIRE(seen.failure);
        CHECK(seen.failure->kind == FailureKind::refused);
        CHECK(seen.failure->why.starts_with(kind == AppKind::express_v2
                                                ? "handshake refused: HTTP 403"
                                                : "handshake refused: HTTP 500 handshake error"));
        CHECK_FALSE(seen.opened);
      }
      socket.reset();
    }
    CHECK(loop.close() == 0);
  }
}

TEST_CASE("Replay clients: a server that dies under an open session is a drop") {
  require_node_modules();
  struct Case {
    AppKind kind;
    Plan plan;
  };
  for (Case c : {Case{AppKind::express_v4, Plan::upgrade}, Case{AppKind::express_v4, Plan::polling},
                 Case{AppKind::sio09, Plan::websocket_only}}) {
    std::string app_label = app_name(c.kind);
    std::string plan_label = plan_name(c.plan);
    CAPTURE(app_label);
    CAPTURE(plan_label);
    App app({.kind = c.kind});
    net::Loop loop;
    {
      HttpClient http(loop);
      Browser browser(http);
      browser.login(app.origin(), "bob");
      Seen seen;
      auto socket = open_socket(browser, app, c.plan, seen);
      if (c.kind == AppKind::express_v4) CHECK_FALSE(socket->send("0"));
      REQUIRE(run_until(
          loop, [&] { return seen.welcome() || seen.ended; }, kWaitMs));
      if (c.plan == Plan::upgrade) {
        REQUIRE(run_until(
            loop, [&] { return seen.moved_to.has_value(); }, kWaitMs));
      }
      REQUIRE_FALSE(seen.ended);
      app.stop();
      REQUIRE(run_until(
          loop, [&] { return seen.ended; }, kWaitMs));
      REQUIRE(seen.failure);
      INFO(seen.failure->why);
      CHECK((seen.failure->kind == FailureKind::closed ||
             seen.failure->kind == FailureKind::connect));
      socket.reset();
    }
    CHECK(loop.close() == 0);
  }
}

// The client's own CPU time for whole sessions (sign in, socket with upgrade, CONNECT, welcome,
// two acked chats, close) against socket.io 4, one after the other over one HttpClient, as the
// replay benchmark measures it. Reported, not asserted: sanitizer builds are many times slower.
TEST_CASE("Replay clients: CPU time per session") {
  require_node_modules();
  App app({.kind = AppKind::express_v4});
  net::Loop loop;
  {
    HttpClient shared_http(loop);
    auto run_sessions = [&](int count, Plan plan) {
      for (int i = 0; i < count; ++i) {
        Browser browser(shared_http);
        browser.login(app.origin(), "user" + std::to_string(i));
        Seen seen;
        auto socket = open_socket(browser, app, plan, seen);
        CHECK_FALSE(socket->send("0"));
        REQUIRE(run_until(
            loop, [&] { return seen.welcome() || seen.ended; }, kWaitMs));
        for (int n = 0; n < 2; ++n) {
          CHECK_FALSE(socket->send("2" + std::to_string(n) + R"(["chat",{"text":"hi"}])"));
          REQUIRE(run_until(
              loop, [&] { return seen.acks().size() == size_t(n + 1) || seen.ended; }, kWaitMs));
        }
        socket->close();
        REQUIRE(run_until(
            loop, [&] { return seen.ended; }, kWaitMs));
        CHECK_FALSE(seen.failure);
      }
    };
    for (Plan plan : {Plan::upgrade, Plan::websocket_only, Plan::polling}) {
      run_sessions(20, plan);  // warm up
      rusage before{};
      getrusage(RUSAGE_SELF, &before);
      constexpr int kSessions = 200;
      run_sessions(kSessions, plan);
      rusage after{};
      getrusage(RUSAGE_SELF, &after);
      auto micros = [](const timeval& t) { return int64_t(t.tv_sec) * 1'000'000 + t.tv_usec; };
      int64_t cpu = micros(after.ru_utime) - micros(before.ru_utime) + micros(after.ru_stime) -
                    micros(before.ru_stime);
      MESSAGE("client CPU per session (" << std::string(plan_name(plan)) << "): " << cpu / kSessions
                                         << " us");
    }
  }
  CHECK(loop.close() == 0);
}
