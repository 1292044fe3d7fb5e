// A real headless Chromium (Debian `chromium`) through the recording proxy: it opens the
// Express + Socket.IO 4 app, signs in with the login form, connects the socket, waits for the
// upgrade to WebSocket, emits a chat and receives its ack and broadcast — through the forward
// proxy over plain HTTP (ws:// goes through CONNECT), over HTTPS (the app behind TLS, Chromium
// trusting the local CA by its SPKI hash, as `workalready ca` prints it), and through the
// reverse proxy. The recording must hold the login POST, its Set-Cookie, the Engine.IO
// handshake carrying that cookie, and the decoded events with their arguments and acks.
// Chromium's own background requests go through the proxy as well and must not disturb it.
//
// The browser is driven over the DevTools protocol by browser_drive.js (Node, `ws` package).
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/integration/browser.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

struct Drive {
  int exit_code = -1;
  std::vector<json> lines;
  std::string out, err;
  json step(const std::string& type) const {
    for (const auto& line : lines) {
      if (line.value("type", "") == type) return line;
    }
    return json();
  }
};

// Signs in as `user` at `url` and chats `text`, in the browser.
Drive drive(Chromium& browser, const std::string& url, const std::string& user,
            const std::string& text) {
  require_node_modules();
  CommandRun run = run_command(
      {"node", repo_path("tests/integration/browser_drive.js"), "--devtools", browser.devtools(),
       "--url", url, "--user", user, "--text", text, "--timeout-ms", "60000"},
      {}, 90s);
  Drive d{run.exit_code, json_lines(run.out), run.out, run.err};
  // Browser.close ends the browser; its exit is awaited so that the proxy sees every close.
  browser.process().wait_exit(10s);
  return d;
}

// What every browser run must have left in the capture for `origin` (the URL the browser
// used: the app's, or the reverse proxy's).
void check_capture(const store::RecordingData& data, const std::string& origin,
                   const std::string& user, const std::string& text) {
  INFO(describe(data));
  auto at = [&](const store::Exchange& x) { return x.url.rfind(origin + "/", 0) == 0; };

  // The form's POST, the redirect and the session cookie it set.
  const store::Exchange* login = nullptr;
  for (const auto& x : data.exchanges) {
    if (at(x) && x.method == "POST" && path_of(x.url) == "/login") login = &x;
  }
  REQUIRE(login != nullptr);
  CHECK(login->status == 303);
  CHECK(header_of(login->request_headers, "content-type") == "application/x-www-form-urlencoded");
  CHECK(login->request_body.bytes == "username=" + user + "&password=secret");
  auto set = cookies_of(data, login->id, store::CookieKind::set);
  REQUIRE(set.size() == 1);
  CHECK(set[0]->name == "connect.sid");
  CHECK(set[0]->http_only);

  // The page after the redirect, fetched with the cookie.
  bool page_with_cookie = false;
  for (const auto& x : data.exchanges) {
    if (!at(x) || x.method != "GET" || path_of(x.url) != "/" || x.id < login->id) continue;
    for (const auto* c : cookies_of(data, x.id, store::CookieKind::sent))
      page_with_cookie =
          page_with_cookie || (c->name == "connect.sid" && c->value == set[0]->value);
  }
  CHECK(page_with_cookie);

  // The Engine.IO session whose handshake went to this origin and carried the cookie.
  const store::EioSession* session = nullptr;
  const store::Exchange* handshake = nullptr;
  for (const auto& s : data.sessions) {
    if (!s.handshake_exchange_id) continue;
    const store::Exchange* x = exchange_by_id(data, *s.handshake_exchange_id);
    if (x && at(*x)) {
      session = &s;
      handshake = x;
    }
  }
  REQUIRE(session != nullptr);
  CHECK(session->protocol == store::SocketProtocol::eio4);
  CHECK(header_of(handshake->request_headers, "cookie").find("connect.sid=" + set[0]->value) !=
        std::string::npos);
  bool sent = false;
  for (const auto* c : cookies_of(data, handshake->id, store::CookieKind::sent))
    sent = sent || (c->name == "connect.sid" && c->value == set[0]->value);
  CHECK(sent);

  // Its decoded events: the welcome, the chat with its ack id, the ack, the broadcast.
  std::vector<const store::SocketPacket*> packets;
  for (const auto& p : data.packets) {
    if (p.session_id == std::optional<store::Id>(session->id)) packets.push_back(&p);
  }
  auto find = [&](auto pred) -> const store::SocketPacket* {
    for (const auto* p : packets) {
      if (pred(*p)) return p;
    }
    return nullptr;
  };
  const auto* welcome = find([](const store::SocketPacket& p) {
    return p.direction == store::Direction::server && p.event == "welcome";
  });
  REQUIRE(welcome != nullptr);
  CHECK(parse_args(*welcome) == json::array({{{"username", user}}}));
  const auto* chat = find([](const store::SocketPacket& p) {
    return p.direction == store::Direction::client && p.event == "chat";
  });
  REQUIRE(chat != nullptr);
  CHECK(parse_args(*chat) == json::array({{{"text", text}}}));
  CHECK(chat->transport == store::Transport::websocket);
  REQUIRE(chat->ack_id.has_value());
  const auto* ack = find([&](const store::SocketPacket& p) {
    return p.direction == store::Direction::server && p.sio_type == 3 && p.ack_id == chat->ack_id;
  });
  REQUIRE(ack != nullptr);
  json answer = parse_args(*ack);
  REQUIRE(answer.is_array());
  CHECK(answer[0]["ok"] == true);
  CHECK(answer[0]["id"].is_number_integer());
  const auto* broadcast = find([](const store::SocketPacket& p) {
    return p.direction == store::Direction::server && p.event == "chat";
  });
  REQUIRE(broadcast != nullptr);
  CHECK(parse_args(*broadcast) == json::array({{{"from", user}, {"text", text}}}));
  // The session spans both transports.
  CHECK(find([](const store::SocketPacket& p) {
          return p.transport == store::Transport::polling;
        }) != nullptr);
}

void check_drive(const Drive& d, const std::string& user, const std::string& text) {
  INFO(d.out << d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(d.step("welcome")["args"] == json::array({{{"username", user}}}));
  CHECK(d.step("ack")["ack"]["ok"] == true);
  CHECK(d.step("done").is_object());
  (void)text;
}

}  // namespace

TEST_CASE("browser: Chromium through the forward proxy over plain HTTP") {
  TempDir dir;
  App app({.kind = AppKind::express_v4});
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--ca-dir", dir.file("ca")});
  Chromium browser(dir.file("chromium-profile"),
                   {"--proxy-server=" + proxy.origin(), "--proxy-bypass-list=<-loopback>"});

  Drive d = drive(browser, app.origin(), "alice", "hello over http");
  INFO(proxy.process().tail(4000));
  check_drive(d, "alice", "hello over http");
  REQUIRE(proxy.interrupt() == 0);
  CHECK(!proxy.summary().empty());
  store::RecordingData data = load_capture(db);
  check_capture(data, app.origin(), "alice", "hello over http");
}

TEST_CASE("browser: Chromium through the forward proxy to an HTTPS app, trusting the local CA") {
  TempDir dir;
  TestPki pki = make_test_pki(dir);
  App app({.kind = AppKind::express_v4, .tls_cert = pki.leaf_cert, .tls_key = pki.leaf_key});
  std::string ca_dir = dir.file("ca");
  std::string spki = spki_of(ca_dir);
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--ca-dir", ca_dir}, {{"SSL_CERT_FILE", pki.ca_cert}});
  Chromium browser(dir.file("chromium-profile"),
                   {"--proxy-server=" + proxy.origin(), "--proxy-bypass-list=<-loopback>",
                    "--ignore-certificate-errors-spki-list=" + spki});

  Drive d = drive(browser, app.origin(), "bob", "hello over https");
  INFO(proxy.process().tail(4000));
  check_drive(d, "bob", "hello over https");
  REQUIRE(proxy.interrupt() == 0);
  // Chromium accepted the minted certificate: no rejection was reported.
  CHECK(proxy.process().err().find("rejected the certificate") == std::string::npos);
  store::RecordingData data = load_capture(db);
  check_capture(data, app.origin(), "bob", "hello over https");
  bool intercepted = false;
  for (const auto& c : data.connections)
    intercepted = intercepted || (c.tls && c.server_port == app.port());
  CHECK(intercepted);
}

TEST_CASE("browser: Chromium through the reverse proxy") {
  TempDir dir;
  App app({.kind = AppKind::express_v4});
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", app.origin()});
  Chromium browser(dir.file("chromium-profile"), {});

  Drive d = drive(browser, proxy.origin(), "carol", "hello in reverse");
  INFO(proxy.process().tail(4000));
  check_drive(d, "carol", "hello in reverse");
  REQUIRE(proxy.interrupt() == 0);
  store::RecordingData data = load_capture(db);
  check_capture(data, proxy.origin(), "carol", "hello in reverse");
}
