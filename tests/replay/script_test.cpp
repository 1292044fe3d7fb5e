#include "replay/script.h"

#include <doctest/doctest.h>

#include <string>

using namespace wa;
using namespace wa::replay;

namespace {

// A recording of two browsers chatting through one proxy, built by hand: alice and bob log in,
// open a Socket.IO v5 session each (polling, then WebSocket), alice chats and bob receives her
// broadcast. Alice's browser also sends a background request to an origin nobody maps.
struct Builder {
  store::RecordingData data;
  store::Id next = 1;

  store::Exchange& exchange(store::Id connection, int64_t start, int64_t end, std::string method,
                            std::string url, int status) {
    store::Exchange x;
    x.id = next++;
    x.connection_id = connection;
    x.started_us = start;
    x.ended_us = end;
    x.method = std::move(method);
    x.url = std::move(url);
    x.status = status;
    data.exchanges.push_back(x);
    return data.exchanges.back();
  }
  void cookie(store::Id exchange, store::CookieKind kind, std::string name, std::string value) {
    store::CookieEvent c;
    c.id = next++;
    c.exchange_id = exchange;
    c.kind = kind;
    c.name = std::move(name);
    c.value = std::move(value);
    data.cookies.push_back(c);
  }
  void session(store::Id id, std::string sid, store::Id handshake) {
    store::EioSession s;
    s.id = id;
    s.sid = std::move(sid);
    s.handshake_exchange_id = handshake;
    data.sessions.push_back(s);
  }
  void ws(store::Id upgrade, int64_t time, store::Direction dir, int opcode, std::string payload) {
    store::WsMessage m;
    m.id = next++;
    m.exchange_id = upgrade;
    m.time_us = time;
    m.direction = dir;
    m.opcode = opcode;
    m.payload = store::Payload::whole(std::move(payload));
    data.ws_messages.push_back(m);
  }
  void packet(store::Id session, int64_t time, store::Direction dir, int eio,
              std::optional<int> sio, std::string event = {}) {
    store::SocketPacket p;
    p.id = next++;
    p.session_id = session;
    p.time_us = time;
    p.direction = dir;
    p.eio_type = eio;
    p.sio_type = sio;
    p.event = std::move(event);
    p.raw = "4";
    data.packets.push_back(p);
  }
};

const std::string kApp = "http://127.0.0.1:3000";

Builder two_users() {
  Builder b;
  using D = store::Direction;
  // alice: login (a cookie she held before the recording rides along), then her socket.
  auto& login_a = b.exchange(1, 100, 110, "POST", kApp + "/login", 303);
  login_a.request_body = store::Payload::whole("username=alice&password=x");
  b.cookie(login_a.id, store::CookieKind::sent, "lang", "en");
  b.cookie(login_a.id, store::CookieKind::set, "connect.sid", "s%3Aalice-session-0001");
  auto& hs_a =
      b.exchange(2, 200, 210, "GET", kApp + "/socket.io/?EIO=4&transport=polling&t=1", 200);
  b.cookie(hs_a.id, store::CookieKind::sent, "connect.sid", "s%3Aalice-session-0001");
  b.session(900, "ALICESID", hs_a.id);
  b.exchange(2, 220, 230, "POST", kApp + "/socket.io/?EIO=4&transport=polling&t=2&sid=ALICESID",
             200);
  b.exchange(3, 240, 250, "GET", kApp + "/socket.io/?EIO=4&transport=websocket&sid=ALICESID", 101);
  b.exchange(4, 150, 160, "GET", "https://update.example.com/check", 200);
  // bob: login, socket.
  auto& login_b = b.exchange(5, 300, 310, "POST", kApp + "/login", 303);
  login_b.request_body = store::Payload::whole("username=bob&password=y");
  b.cookie(login_b.id, store::CookieKind::set, "connect.sid", "s%3Abob-session-000002");
  auto& hs_b =
      b.exchange(6, 400, 410, "GET", kApp + "/socket.io/?EIO=4&transport=polling&t=3", 200);
  b.cookie(hs_b.id, store::CookieKind::sent, "connect.sid", "s%3Abob-session-000002");
  b.session(901, "BOBSID", hs_b.id);
  b.exchange(6, 420, 430, "POST", kApp + "/socket.io/?EIO=4&transport=polling&t=4&sid=BOBSID", 200);

  b.packet(900, 210, D::server, 0, {});  // open
  b.packet(900, 220, D::client, 4, 0);   // CONNECT
  b.packet(900, 230, D::server, 4, 0);   // CONNECT reply
  b.packet(900, 231, D::server, 4, 2, "welcome");
  b.packet(900, 245, D::client, 2, {});  // 2probe: chatter
  b.packet(901, 410, D::server, 0, {});
  b.packet(901, 420, D::client, 4, 0);
  b.packet(901, 430, D::server, 4, 0);
  b.packet(901, 431, D::server, 4, 2, "welcome");
  b.packet(900, 500, D::client, 4, 2, "chat");  // alice chats after bob is in
  b.packet(900, 510, D::server, 4, 2, "chat");
  b.packet(901, 511, D::server, 4, 2, "chat");  // bob gets the broadcast
  b.packet(900, 512, D::server, 4, 3);          // alice's ack
  return b;
}

bool mapped(const std::string& origin) {
  return origin == kApp;
}

}  // namespace

TEST_CASE("two browsers are told apart by connection, cookie and session id") {
  Script s = build_script(two_users().data, mapped);
  REQUIRE(s.clients.size() == 2);
  CHECK(s.clients[0].label == "client 1 (alice)");
  CHECK(s.clients[1].label == "client 2 (bob)");
  CHECK(s.main_origin == kApp);
  REQUIRE(s.sessions.size() == 2);
  CHECK(s.sessions[0].client == 0);
  CHECK(s.sessions[1].client == 1);
  CHECK(s.sessions[0].plan == Plan::upgrade);
  CHECK(s.sessions[1].plan == Plan::polling);
  CHECK(s.sessions[0].handshake->url.find("t=1") != std::string::npos);
}

TEST_CASE("transport requests are the socket client's; the rest are replayed or skipped") {
  Script s = build_script(two_users().data, mapped);
  std::vector<std::string> alice;
  for (int i : s.clients[0].actions) {
    const Action& a = s.actions[size_t(i)];
    std::string what = action_kind_name(a.kind);
    if (a.kind == ActionKind::http) what += " " + a.exchange->method;
    if (a.kind == ActionKind::socket_send) what += " " + std::to_string(*a.packet->sio_type);
    alice.push_back(what);
  }
  CHECK(alice == std::vector<std::string>{"http POST", "socket_open", "socket_send 0",
                                          "socket_send 2", "socket_close"});
  REQUIRE(s.skipped.size() == 1);
  CHECK(s.skipped[0]->url == "https://update.example.com/check");
  // Expected from alice's session: CONNECT reply, welcome, the broadcast of her chat, the ack.
  CHECK(s.sessions[0].expectations.size() == 4);
  CHECK(s.sessions[1].expectations.size() == 3);
}

TEST_CASE("an action waits for every output recorded before it, whoever received it") {
  Script s = build_script(two_users().data, mapped);
  const Action* chat = nullptr;
  for (const Action& a : s.actions) {
    if (a.kind == ActionKind::socket_send && a.packet->event == "chat") chat = &a;
  }
  REQUIRE(chat != nullptr);
  bool waits_for_bob_welcome = false;
  for (int i = 0; i < chat->wait_for; ++i) {
    const Expectation& e = s.expectations[size_t(i)];
    if (e.client == 1 && e.packet && e.packet->event == "welcome") waits_for_bob_welcome = true;
    CHECK(e.recorded_us < chat->recorded_us);
  }
  CHECK(waits_for_bob_welcome);
  // A response is paired with its request and never waited for by it.
  const Action& login = s.actions[size_t(s.clients[0].actions[0])];
  REQUIRE(login.expectation >= 0);
  CHECK(s.expectations[size_t(login.expectation)].action == s.clients[0].actions[0]);
  CHECK(login.wait_for <= login.expectation);
}

TEST_CASE("cookies the browser held before the recording are seeds") {
  Script s = build_script(two_users().data, mapped);
  REQUIRE(s.clients[0].seed_cookies.size() == 1);
  CHECK(s.clients[0].seed_cookies[0].name == "lang");
  CHECK(s.clients[1].seed_cookies.empty());
}

TEST_CASE("an unmapped socket origin is skipped whole") {
  Script s = build_script(two_users().data, [](const std::string&) { return false; });
  CHECK(s.actions.empty());
  CHECK(s.sessions.empty());
  CHECK(s.clients.empty());
  CHECK(s.skipped.size() >= 4);
}

TEST_CASE("a request that followed a response's head waits for that response") {
  // Chromium follows a 303 as soon as its head arrives, on another connection, before the
  // POST's body has ended: the GET carries the session cookie the 303 set.
  Builder b;
  auto& login = b.exchange(1, 100, 300, "POST", kApp + "/login", 303);
  login.first_byte_us = 150;
  b.cookie(login.id, store::CookieKind::set, "connect.sid", "s%3Aalice-session-0001");
  auto& home = b.exchange(2, 200, 400, "GET", kApp + "/", 200);
  b.cookie(home.id, store::CookieKind::sent, "connect.sid", "s%3Aalice-session-0001");
  Script s = build_script(std::move(b.data), [](const std::string&) { return true; });
  REQUIRE(s.actions.size() == 2);
  REQUIRE(s.expectations.size() == 2);
  CHECK(s.expectations[0].action == 0);
  CHECK(s.expectations[0].recorded_us == 150);
  CHECK(s.actions[1].wait_for == 1);  // the GET waits for the POST's response
  CHECK(s.actions[0].expectation == 0);
  CHECK(s.actions[1].expectation == 1);
}

namespace {

const Action* close_of(const Script& s, int session) {
  for (const Action& a : s.actions)
    if (a.kind == ActionKind::socket_close && a.session == session) return &a;
  return nullptr;
}

}  // namespace

TEST_CASE("a close waits for the answer recorded in the same microsecond as its last packet") {
  // The page emits, the ack comes, the page closes: the close must not overtake the ack.
  Builder b;
  using D = store::Direction;
  auto& hs = b.exchange(1, 100, 110, "GET", kApp + "/socket.io/?EIO=4&transport=polling&t=1", 200);
  b.session(900, "SID", hs.id);
  b.packet(900, 110, D::server, 0, {});
  b.packet(900, 120, D::client, 4, 0);
  b.packet(900, 130, D::server, 4, 0);
  b.packet(900, 140, D::client, 4, 2, "chat");
  b.packet(900, 150, D::server, 4, 2, "chat");
  b.packet(900, 150, D::server, 4, 3);  // the ack, in the same body as the broadcast
  Script s = build_script(std::move(b.data), mapped);
  const Action* close = close_of(s, 0);
  REQUIRE(close != nullptr);
  CHECK(close->wait_for == int(s.expectations.size()));
}

TEST_CASE("a WebSocket-first session closes after the client's Close frame") {
  Builder b;
  using D = store::Direction;
  auto& up = b.exchange(1, 100, 900, "GET", kApp + "/rt/?EIO=4&transport=websocket", 101);
  b.session(900, "WSSID", up.id);
  b.packet(900, 110, D::server, 0, {});
  b.packet(900, 120, D::client, 4, 0);
  b.packet(900, 130, D::server, 4, 0);
  b.packet(900, 200, D::client, 4, 2, "chat");
  b.packet(900, 210, D::server, 4, 3);
  b.ws(up.id, 300, D::client, 8, "\x03\xe9");  // 1001: the page went away
  b.packet(900, 310, D::server, 4, 1);         // the server's answer to the close
  Script s = build_script(std::move(b.data), mapped);
  REQUIRE(s.sessions.size() == 1);
  CHECK(s.sessions[0].plan == Plan::websocket_only);
  CHECK(s.sessions[0].handshake == &s.data.exchanges[0]);
  // CONNECT reply and ack are expected; the DISCONNECT after the browser's close is not.
  CHECK(s.sessions[0].expectations.size() == 2);
  const Action* close = close_of(s, 0);
  REQUIRE(close != nullptr);
  CHECK(close->recorded_us == 301);
  CHECK(close->wait_for == int(s.expectations.size()));
}

TEST_CASE("a plain WebSocket is a channel: sends, expected messages, periodic ticks") {
  Builder b;
  using D = store::Direction;
  auto& login = b.exchange(1, 100, 110, "POST", kApp + "/login", 200);
  login.response_body = store::Payload::whole(R"({"token":"tok-123456789"})");
  auto& up = b.exchange(2, 200, 210, "GET", kApp + "/comms", 101);
  b.ws(up.id, 220, D::client, 1, R"({"type":"auth","token":"tok-123456789"})");
  b.ws(up.id, 230, D::server, 1, R"({"type":"ready","user":"alice"})");
  for (int k = 0; k < 6; ++k)  // every 200 ms
    b.ws(up.id, 300'000 + k * 200'000, D::server, 1, R"({"type":"tick"})");
  b.ws(up.id, 400'000, D::client, 1, R"({"type":"place"})");
  b.ws(up.id, 450'000, D::server, 1, R"({"type":"order","id":1,"total":12.5})");
  b.ws(up.id, 460'000, D::server, 2, std::string("\x01\x02", 2));
  b.ws(up.id, 1'400'000, D::client, 8, "\x03\xe9");
  b.ws(up.id, 1'400'100, D::server, 8, "\x03\xe9");
  Script s = build_script(std::move(b.data), mapped);
  REQUIRE(s.sessions.size() == 1);
  const SocketSession& ws = s.sessions[0];
  CHECK(ws.kind == ChannelKind::websocket);
  CHECK(ws.path == "/comms");
  CHECK(ws.periodic.size() == 1);
  // ready, order and the binary message; the ticks are tolerated in number instead.
  REQUIRE(ws.expectations.size() == 3);
  auto first = recorded_event(s, s.expectations[size_t(ws.expectations[0])]);
  REQUIRE(first.has_value());
  CHECK(first->kind == EventKind::ws);
  CHECK(first->name == "ready");
  CHECK(first->args["user"] == "alice");
  CHECK(describe(*first) == "ws ready on /comms");
  // No cookie joins the login and the WebSocket: they are two clients, in causal order.
  REQUIRE(s.clients.size() == 2);
  std::vector<std::string> kinds;
  for (int i : s.clients[1].actions)
    kinds.push_back(action_kind_name(s.actions[size_t(i)].kind));
  CHECK(kinds ==
        std::vector<std::string>{"socket_open", "socket_send", "socket_send", "socket_close"});
  // The auth message goes after the login's response; `place` after `ready` came.
  const Action& auth = s.actions[size_t(s.clients[1].actions[1])];
  CHECK(auth.wait_for >= 1);
  const Action& place = s.actions[size_t(s.clients[1].actions[2])];
  REQUIRE(place.message != nullptr);
  CHECK(place.message->payload.bytes == R"({"type":"place"})");
  bool waits_for_ready = false;
  for (int i = 0; i < place.wait_for; ++i)
    if (s.expectations[size_t(i)].message &&
        s.expectations[size_t(i)].message->payload.bytes.find("ready") != std::string::npos)
      waits_for_ready = true;
  CHECK(waits_for_ready);
  const Action* close = close_of(s, 0);
  REQUIRE(close != nullptr);
  CHECK(close->wait_for == int(s.expectations.size()));
}

TEST_CASE("messages that answer the client are never taken for heartbeats") {
  Builder b;
  using D = store::Direction;
  auto& up = b.exchange(1, 100, 110, "GET", kApp + "/comms", 101);
  for (int k = 0; k < 5; ++k) {
    b.ws(up.id, 1'000'000 + k * 100'000, D::client, 1, R"({"type":"get"})");
    b.ws(up.id, 1'000'500 + k * 100'000, D::server, 1, R"({"type":"item"})");
  }
  Script s = build_script(std::move(b.data), mapped);
  REQUIRE(s.sessions.size() == 1);
  CHECK(s.sessions[0].periodic.empty());
  CHECK(s.sessions[0].expectations.size() == 5);
}

TEST_CASE("an event stream is a channel whose events are expected one by one") {
  Builder b;
  auto& stream = b.exchange(1, 100, 900, "GET", kApp + "/events", 200);
  stream.first_byte_us = 110;
  stream.response_headers = {{"Content-Type", "text/event-stream; charset=utf-8"}};
  store::Id stream_id = stream.id;  // `stream` moves as exchanges are added
  auto event = [&](int64_t time, std::string type, std::string data, std::string id) {
    store::SseEvent e;
    e.id = b.next++;
    e.exchange_id = stream_id;
    e.time_us = time;
    e.event = std::move(type);
    e.data = std::move(data);
    e.event_id = std::move(id);
    b.data.sse_events.push_back(e);
  };
  event(120, "snapshot", R"({"items":[]})", "1");
  b.exchange(2, 200, 210, "POST", kApp + "/items", 201);
  event(220, "item", R"({"id":2,"status":"new"})", "2");
  Script s = build_script(std::move(b.data), mapped);
  REQUIRE(s.sessions.size() == 1);
  CHECK(s.sessions[0].kind == ChannelKind::sse);
  CHECK(s.sessions[0].path == "/events");
  CHECK(s.sessions[0].server_ends);
  REQUIRE(s.sessions[0].expectations.size() == 2);
  auto item = recorded_event(s, s.expectations[size_t(s.sessions[0].expectations[1])]);
  REQUIRE(item.has_value());
  CHECK(describe(*item) == "sse item on /events");
  CHECK(item->args["data"]["status"] == "new");
  CHECK(item->args["id"] == "2");
  // The stream is not an HTTP action with a response to wait for: the POST goes once the
  // snapshot came, and the stream's close (when the browser let it go) after the item came.
  const Action* post = nullptr;
  for (const Action& a : s.actions)
    if (a.kind == ActionKind::http) post = &a;
  REQUIRE(post != nullptr);
  CHECK(post->exchange->method == "POST");
  CHECK(post->wait_for == 1);
  const Action* close = close_of(s, 0);
  REQUIRE(close != nullptr);
  CHECK(close->recorded_us == 901);
  CHECK(close->wait_for == int(s.expectations.size()));
}

TEST_CASE("a plain WebSocket the server closed keeps the status it closed with") {
  Builder b;
  using D = store::Direction;
  auto& up = b.exchange(1, 100, 110, "GET", kApp + "/comms", 101);
  b.ws(up.id, 120, D::client, 1, R"({"type":"auth","token":"wrong"})");
  b.ws(up.id, 130, D::server, 8, std::string("\x0f\xa1unauthorized", 14));  // 4001
  b.ws(up.id, 131, D::client, 8, std::string("\x0f\xa1", 2));
  Script s = build_script(std::move(b.data), mapped);
  REQUIRE(s.sessions.size() == 1);
  CHECK(s.sessions[0].server_close_code == 4001);
  CHECK(s.sessions[0].expectations.empty());
}

TEST_CASE("an event stream the browser let go is not expected to be ended by the server") {
  Builder b;
  auto& stream = b.exchange(1, 100, 900, "GET", kApp + "/events", 200);
  stream.response_headers = {{"Content-Type", "text/event-stream"}};
  stream.error_code = "client_closed";
  Script s = build_script(std::move(b.data), mapped);
  REQUIRE(s.sessions.size() == 1);
  CHECK(s.sessions[0].kind == ChannelKind::sse);
  CHECK_FALSE(s.sessions[0].server_ends);
}

TEST_CASE("WebSocket messages recorded marked are neither sent nor expected, and said so") {
  Builder b;
  using D = store::Direction;
  auto& up = b.exchange(1, 200, 210, "GET", kApp + "/comms", 101);
  b.ws(up.id, 220, D::client, 1, R"({"type":"hello"})");
  b.ws(up.id, 230, D::server, 1, R"({"type":"ready"})");
  b.ws(up.id, 240, D::client, 1, "\xff\xfe");
  b.data.ws_messages.back().error = "text message is not valid UTF-8";
  b.ws(up.id, 250, D::server, 8, "\x03\xef");
  Script s = build_script(std::move(b.data), mapped);
  REQUIRE(s.sessions.size() == 1);
  CHECK(s.sessions[0].expectations.size() == 1);
  int sends = 0;
  for (const Action& a : s.actions)
    sends += a.kind == ActionKind::socket_send ? 1 : 0;
  CHECK(sends == 1);
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0] ==
        "a client WebSocket message on /comms was recorded marked (text message is not valid "
        "UTF-8): not replayed");
}
