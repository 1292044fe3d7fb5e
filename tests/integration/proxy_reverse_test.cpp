// Reverse mode (`workalready record --upstream URL`) in front of each test app, driven by the
// app's real Socket.IO client (tests/apps/clients/chat_client.js): the capture must hold the
// login POST and its Set-Cookie, the Engine.IO handshake that carried that cookie, the decoded
// events (the welcome with the user's name, the chats with their arguments, the acks with
// their ids), all attributed to one Engine.IO session across the polling → websocket upgrade;
// SIGINT ends the recorder with exit 0 and its summary line.
#include <doctest/doctest.h>

#include <set>

#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

struct Case {
  AppKind kind;
  std::string auth;    // cookie | token | query
  std::string flavor;  // the client library: v4 | v2 | v09
  store::SocketProtocol protocol;
  std::string user;
};

json parse_args(const store::SocketPacket& p) {
  auto parsed = json::parse(p.args, nullptr, false);
  return parsed.is_discarded() ? json() : parsed;
}

// The Socket.IO type of an ack: 3 (ACK) in Socket.IO v4/v5, 6 (ack frame) in 0.9.
int ack_type(const Case& c) {
  return c.protocol == store::SocketProtocol::sio09 ? 6 : 3;
}

// With `pki`, the app serves HTTPS with its leaf, and the proxy trusts its CA through
// SSL_CERT_FILE.
void record_and_check(const Case& c, const TestPki* pki = nullptr) {
  TempDir dir;
  App app({.kind = c.kind,
           .auth = c.auth,
           .tls_cert = pki ? pki->leaf_cert : "",
           .tls_key = pki ? pki->leaf_key : ""});
  std::string db = dir.file("capture.sqlite");
  std::vector<Env> env;
  if (pki) env.push_back({"SSL_CERT_FILE", pki->ca_cert});
  RecordingProxy proxy(db, {"--upstream", app.origin(), "--name", c.user}, env);

  ClientRun run = run_chat_client({"--url", proxy.origin(), "--flavor", c.flavor, "--user", c.user,
                                   "--auth", c.auth, "--chats", "2"});
  INFO(run.out << run.err << proxy.process().tail());
  REQUIRE(run.exit_code == 0);

  REQUIRE(proxy.interrupt() == 0);
  std::string summary = proxy.summary();
  INFO("summary: " << summary);
  // "workalready: recorded N exchanges, N WebSocket messages, N Socket.IO events, N cookies
  // set into FILE (recording #N)"
  REQUIRE(summary.find(" exchanges, ") != std::string::npos);
  REQUIRE(summary.find(" WebSocket messages, ") != std::string::npos);
  REQUIRE(summary.find(" Socket.IO events, ") != std::string::npos);
  REQUIRE(summary.find(" cookies set into ") != std::string::npos);
  auto counts = numbers_in(summary.substr(0, summary.find(" cookies set into ")));
  REQUIRE(counts.size() == 4);
  CHECK(counts[0] >= 2);
  CHECK(counts[1] >= 4);
  // Events as `ls` counts them (packets with an event name): the welcome, two chats, two
  // broadcasts; acks carry no name.
  CHECK(counts[2] >= 5);
  CHECK(counts[3] >= 1);

  // One line per exchange on the console, with method, URL, status and time.
  std::string out = proxy.process().out();
  std::string login_line = "POST http://127.0.0.1:" + std::to_string(proxy.port()) + "/login 30";
  size_t at = out.find(login_line);
  REQUIRE(at != std::string::npos);
  std::string rest =
      out.substr(at + login_line.size(), out.find('\n', at) - at - login_line.size());
  CHECK((rest.rfind("2 ", 0) == 0 || rest.rfind("3 ", 0) == 0));
  CHECK(rest.find("ms ") != std::string::npos);
  CHECK(out.find("WS http://127.0.0.1:" + std::to_string(proxy.port())) != std::string::npos);

  store::RecordingData data = load_capture(db);
  INFO(describe(data));
  CHECK(data.recording.mode == "reverse");
  CHECK(data.recording.name == c.user);
  CHECK(data.recording.upstream == app.origin());
  REQUIRE(data.recording.ended_us.has_value());

  // The login POST, its form body, and the cookie it set.
  const store::Exchange* login = find_exchange(data, "POST", "/login");
  REQUIRE(login != nullptr);
  CHECK((login->status == 302 || login->status == 303));
  CHECK(login->request_body.bytes.find("username=" + c.user) != std::string::npos);
  CHECK(!header_of(login->response_headers, "set-cookie").empty());
  auto set = cookies_of(data, login->id, store::CookieKind::set);
  REQUIRE(!set.empty());

  // One Engine.IO session, whose handshake request carried the login's cookie.
  REQUIRE(data.sessions.size() == 1);
  const store::EioSession& session = data.sessions[0];
  CHECK(session.protocol == c.protocol);
  CHECK(!session.sid.empty());
  REQUIRE(session.handshake_exchange_id.has_value());
  const store::Exchange* handshake = exchange_by_id(data, *session.handshake_exchange_id);
  REQUIRE(handshake != nullptr);
  CHECK(handshake->method == "GET");
  CHECK(handshake->status == 200);
  CHECK(handshake->started_us > login->started_us);
  std::string cookie_header = header_of(handshake->request_headers, "cookie");
  auto sent = cookies_of(data, handshake->id, store::CookieKind::sent);
  bool carried = false;
  for (const auto* s : set) {
    bool in_header = cookie_header.find(s->name + "=" + s->value) != std::string::npos;
    bool in_rows = false;
    for (const auto* t : sent)
      in_rows = in_rows || (t->name == s->name && t->value == s->value);
    CHECK(in_header == in_rows);
    carried = carried || (in_header && in_rows);
  }
  CHECK(carried);
  if (c.auth == "query") CHECK(path_of(handshake->url).find("token=") != std::string::npos);

  // Every packet belongs to that session.
  REQUIRE(!data.packets.empty());
  for (const auto& p : data.packets) {
    CAPTURE(p.id);
    CHECK(p.session_id == std::optional<store::Id>(session.id));
  }
  if (c.auth == "token") {
    // The token travels in the CONNECT packet's auth object (Socket.IO v5).
    bool token_sent = false;
    for (const auto& p : data.packets) {
      if (p.direction == store::Direction::client && p.sio_type == 0 &&
          parse_args(p).contains("token")) {
        token_sent = true;
      }
    }
    CHECK(token_sent);
  }

  // The welcome with the user's name.
  auto welcomes = events_named(data, "welcome", store::Direction::server);
  REQUIRE(welcomes.size() == 1);
  CHECK(parse_args(*welcomes[0]) == json::array({{{"username", c.user}}}));

  // Each chat with its text and ack id, answered by an ack with that id; both broadcasts back.
  auto chats = events_named(data, "chat", store::Direction::client);
  REQUIRE(chats.size() == 2);
  std::set<int64_t> ack_ids, message_ids;
  for (int n = 1; n <= 2; ++n) {
    const store::SocketPacket& chat = *chats[size_t(n - 1)];
    std::string text = "hello " + std::to_string(n) + " from " + c.user;
    CHECK(parse_args(chat) == json::array({{{"text", text}}}));
    REQUIRE(chat.ack_id.has_value());
    ack_ids.insert(*chat.ack_id);
    const store::SocketPacket* ack = nullptr;
    for (const auto& p : data.packets) {
      if (p.direction == store::Direction::server && p.sio_type == ack_type(c) &&
          p.ack_id == chat.ack_id) {
        ack = &p;
      }
    }
    REQUIRE(ack != nullptr);
    CHECK(ack->time_us >= chat.time_us);
    json answer = parse_args(*ack);
    REQUIRE(answer.is_array());
    REQUIRE(answer.size() == 1);
    CHECK(answer[0]["ok"] == true);
    message_ids.insert(answer[0]["id"].get<int64_t>());
  }
  CHECK(ack_ids.size() == 2);
  CHECK(message_ids.size() == 2);
  auto broadcasts = events_named(data, "chat", store::Direction::server);
  REQUIRE(broadcasts.size() == 2);
  for (const auto* b : broadcasts)
    CHECK(parse_args(*b)[0]["from"] == c.user);

  // Both transports, one session: the polling requests, then the WebSocket it upgraded to.
  const store::Exchange* upgrade = nullptr;
  for (const auto& x : data.exchanges) {
    if (x.status == 101) upgrade = &x;
  }
  REQUIRE(upgrade != nullptr);
  CHECK(upgrade->url.find(session.sid) != std::string::npos);
  std::set<store::Transport> transports;
  for (const auto& p : data.packets)
    transports.insert(p.transport);
  CHECK(transports.count(store::Transport::websocket) == 1);
  for (const auto* chat : chats)
    CHECK(chat->transport == store::Transport::websocket);
  if (c.protocol != store::SocketProtocol::sio09) {
    // The polling half: the open packet came in the handshake's response.
    CHECK(transports.count(store::Transport::polling) == 1);
    bool open_polled = false;
    for (const auto& p : data.packets) {
      open_polled = open_polled || (p.exchange_id == handshake->id && p.eio_type == 0 &&
                                    p.transport == store::Transport::polling);
    }
    CHECK(open_polled);
  }
  // Every WebSocket message is on the upgraded exchange.
  REQUIRE(!data.ws_messages.empty());
  for (const auto& w : data.ws_messages)
    CHECK(w.exchange_id == upgrade->id);
}

}  // namespace

TEST_CASE("reverse: Express + Socket.IO 4, the socket authorised by the session cookie") {
  record_and_check({AppKind::express_v4, "cookie", "v4", store::SocketProtocol::eio4, "alice"});
}

TEST_CASE("reverse: Express + Socket.IO 4, the socket authorised by a token from /api/token") {
  record_and_check({AppKind::express_v4, "token", "v4", store::SocketProtocol::eio4, "bob"});
}

TEST_CASE("reverse: Express + Socket.IO 4, the token in the Engine.IO query") {
  record_and_check({AppKind::express_v4, "query", "v4", store::SocketProtocol::eio4, "carol"});
}

TEST_CASE("reverse: Express + Socket.IO 2 (Engine.IO v3), cookie authorisation") {
  record_and_check({AppKind::express_v2, "cookie", "v2", store::SocketProtocol::eio3, "dave"});
}

TEST_CASE("reverse: Flask + Flask-Login + Flask-SocketIO on eventlet") {
  record_and_check({AppKind::flask, "cookie", "v4", store::SocketProtocol::eio4, "erin"});
}

TEST_CASE("reverse: Socket.IO 0.9, cookie authorisation") {
  record_and_check({AppKind::sio09, "cookie", "v09", store::SocketProtocol::sio09, "frank"});
}

TEST_CASE("reverse: an HTTPS upstream, verified through SSL_CERT_FILE") {
  TempDir dir;
  TestPki pki = make_test_pki(dir);
  record_and_check({AppKind::express_v4, "cookie", "v4", store::SocketProtocol::eio4, "heidi"},
                   &pki);
}

TEST_CASE("reverse: an HTTPS upstream that is not trusted gets 502, unless --upstream-insecure") {
  TempDir dir;
  TestPki pki = make_test_pki(dir);
  App app({.kind = AppKind::express_v4, .tls_cert = pki.leaf_cert, .tls_key = pki.leaf_key});
  std::string empty = dir.file("empty.pem");
  write_text(empty, "");
  std::vector<Env> no_trust = {{"SSL_CERT_FILE", empty}, {"SSL_CERT_DIR", dir.file("none")}};
  {
    RecordingProxy proxy(dir.file("a.sqlite"), {"--upstream", app.origin()}, no_trust);
    HttpResponse r = http_request(proxy.port(), "GET", "/api/me");
    CHECK(r.status == 502);
    CHECK(r.body.find("certificate verify failed") != std::string::npos);
    REQUIRE(proxy.interrupt() == 0);
  }
  {
    RecordingProxy proxy(dir.file("b.sqlite"), {"--upstream", app.origin(), "--upstream-insecure"},
                         no_trust);
    HttpResponse r = http_request(proxy.port(), "GET", "/api/me");
    CHECK(r.status == 401);  // the app's own answer: signed out
    CHECK(r.body == R"({"error":"not signed in"})");
    REQUIRE(proxy.interrupt() == 0);
  }
}
