#include "replay/socket_client_core.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wa;
using namespace wa::replay;

namespace {

const std::string kOpenV4 =
    R"(0{"sid":"S1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000})";
const std::string kOpenV3 =
    R"(0{"sid":"S3","upgrades":["websocket"],"pingInterval":1000,"pingTimeout":500})";

// Drives a core and keeps what it said, with cache busters T1, T2, ...
struct Driver {
  explicit Driver(traffic::Family family, Plan plan, std::string url)
      : core(SocketCoreConfig{.family = family,
                              .plan = plan,
                              .url = std::move(url),
                              .cache_buster = [this] { return "T" + std::to_string(++busters); },
                              .request_timeout_ms = 10'000,
                              .close_timeout_ms = 3'000}) {}

  std::vector<SocketCommand> take() { return core.take(); }

  int busters = 0;
  uint64_t now = 1000;
  SocketClientCore core;
};

template <class T>
std::vector<T> all(const std::vector<SocketCommand>& commands) {
  std::vector<T> out;
  for (const auto& c : commands) {
    if (const T* t = std::get_if<T>(&c)) out.push_back(*t);
  }
  return out;
}

template <class T>
T only(const std::vector<SocketCommand>& commands) {
  auto found = all<T>(commands);
  REQUIRE(found.size() == 1);
  return found.front();
}

std::vector<std::string> ws_sent(const std::vector<SocketCommand>& commands) {
  std::vector<std::string> out;
  for (const auto& s : all<WsSendCommand>(commands))
    out.push_back(s.binary ? "<bin " + s.payload + ">" : s.payload);
  return out;
}

const sio::Packet& sio_of(const MessageCommand& m) {
  return std::get<sio::Packet>(m.message.packet);
}

}  // namespace

TEST_CASE("SocketClientCore: Engine.IO v4 polling, probe and upgrade, as a browser does") {
  Driver d(traffic::Family::eio4, Plan::upgrade,
           "http://h:1/socket.io/?token=abc&EIO=4&transport=polling&t=old");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  CHECK(handshake.purpose == HttpPurpose::handshake);
  CHECK(handshake.method == "GET");
  CHECK(handshake.url == "http://h:1/socket.io/?token=abc&EIO=4&transport=polling&t=T1");

  // A CONNECT sent before the handshake answered waits for it.
  CHECK_FALSE(d.core.send("0", {}, d.now));
  CHECK(d.take().empty());

  d.core.http_response(handshake.id, 200, "text/plain; charset=UTF-8", kOpenV4, d.now);
  auto commands = d.take();
  auto opened = only<OpenedCommand>(commands);
  CHECK(opened.opened.sid == "S1");
  CHECK(opened.opened.transport == eio::Transport::polling);
  REQUIRE(opened.opened.eio);
  CHECK(opened.opened.eio->ping_interval_ms == 25000);
  auto requests = all<HttpCommand>(commands);
  REQUIRE(requests.size() == 2);
  HttpCommand poll = requests[0];
  HttpCommand post = requests[1];
  CHECK(poll.purpose == HttpPurpose::poll);
  CHECK(poll.url == "http://h:1/socket.io/?token=abc&EIO=4&transport=polling&t=T2&sid=S1");
  CHECK(poll.timeout_ms == 50000);
  CHECK(post.purpose == HttpPurpose::post);
  CHECK(post.method == "POST");
  CHECK(post.body == "40");
  auto connect = only<WsConnectCommand>(commands);
  CHECK(connect.url == "http://h:1/socket.io/?token=abc&EIO=4&transport=websocket&sid=S1");

  d.core.ws_opened(d.now);
  CHECK(ws_sent(d.take()) == std::vector<std::string>{"2probe"});
  d.core.ws_message("3probe", false, d.now);
  CHECK(d.take().empty());  // paused: the poll and the POST are still out

  d.core.http_response(post.id, 200, "text/html", "ok", d.now);
  CHECK(d.take().empty());
  CHECK_FALSE(d.core.send(R"(20["chat",{"text":"hi"}])", {}, d.now));
  CHECK(d.take().empty());  // waits for the upgrade

  d.core.http_response(poll.id, 200, "text/plain",
                       "40{\"sid\":\"X\"}\x1e"
                       R"(42["welcome",{"username":"alice"}])"
                       "\x1e"
                       "6",
                       d.now);
  commands = d.take();
  auto messages = all<MessageCommand>(commands);
  REQUIRE(messages.size() == 2);
  CHECK(sio_of(messages[0]).type == sio::PacketType::connect);
  CHECK(messages[0].message.text == R"(0{"sid":"X"})");
  CHECK(messages[0].message.transport == eio::Transport::polling);
  CHECK(sio::event_name(sio_of(messages[1])) == "welcome");
  CHECK(all<HttpCommand>(commands).empty());  // no new poll after the upgrade
  CHECK(ws_sent(commands) == std::vector<std::string>{"5", R"(420["chat",{"text":"hi"}])"});
  auto moved = only<TransportCommand>(commands);
  CHECK(moved.transport == eio::Transport::websocket);
  CHECK(d.core.transport() == eio::Transport::websocket);

  // The server's ping is answered with a pong and counted, not delivered.
  d.core.ws_message("2", false, d.now + 100);
  commands = d.take();
  CHECK(all<HeartbeatCommand>(commands).size() == 1);
  CHECK(ws_sent(commands) == std::vector<std::string>{"3"});
  CHECK(all<MessageCommand>(commands).empty());
  d.core.ws_message("6", false, d.now);  // python's noop on the WebSocket
  CHECK(d.take().empty());

  d.core.ws_message(R"(430[{"ok":true,"id":1}])", false, d.now);
  auto ack = only<MessageCommand>(d.take());
  CHECK(sio_of(ack).type == sio::PacketType::ack);
  CHECK(sio_of(ack).id == 0u);
  CHECK(ack.message.transport == eio::Transport::websocket);

  d.core.close(d.now);
  commands = d.take();
  CHECK(only<WsCloseCommand>(commands).graceful);
  d.core.ws_closed("the server sent a Close frame (1000)", d.now);
  auto ended = only<EndedCommand>(d.take());
  CHECK_FALSE(ended.failure);
  CHECK(d.core.ended());
  CHECK(d.core.send("2[\"late\"]", {}, d.now).has_value());
}

TEST_CASE("SocketClientCore: v4 ping timeout and a 400 'Session ID unknown' are drops") {
  SUBCASE("ping timeout") {
    Driver d(traffic::Family::eio4, Plan::polling, "http://h/socket.io/");
    d.core.start(d.now);
    auto handshake = only<HttpCommand>(d.take());
    CHECK(handshake.url == "http://h/socket.io/?EIO=4&transport=polling&t=T1");
    d.core.http_response(handshake.id, 200, "", kOpenV4, d.now);
    auto poll = only<HttpCommand>(d.take());
    CHECK(all<WsConnectCommand>(d.take()).empty());
    REQUIRE(d.core.deadline());
    CHECK(*d.core.deadline() == d.now + 45000);
    // A ping pushes the deadline on.
    d.core.http_response(poll.id, 200, "", "2", d.now + 20000);
    auto commands = d.take();
    auto sent = all<HttpCommand>(commands);  // the pong's POST and the next poll
    REQUIRE(sent.size() == 2);
    CHECK(sent[0].purpose == HttpPurpose::post);
    CHECK(sent[0].body == "3");
    CHECK(sent[1].purpose == HttpPurpose::poll);
    CHECK(*d.core.deadline() == d.now + 65000);
    d.core.tick(d.now + 65000);
    auto ended = only<EndedCommand>(d.take());
    REQUIRE(ended.failure);
    CHECK(ended.failure->kind == FailureKind::timeout);
    CHECK(ended.failure->why == "ping timeout: no ping from the server for 45000 ms");
  }
  SUBCASE("unknown session") {
    Driver d(traffic::Family::eio4, Plan::polling, "http://h/socket.io/");
    d.core.start(d.now);
    auto handshake = only<HttpCommand>(d.take());
    d.core.http_response(handshake.id, 200, "", kOpenV4, d.now);
    auto poll = only<HttpCommand>(d.take());
    d.core.http_response(poll.id, 400, "application/json",
                         R"({"code":1,"message":"Session ID unknown"})", d.now);
    auto ended = only<EndedCommand>(d.take());
    REQUIRE(ended.failure);
    CHECK(ended.failure->kind == FailureKind::refused);
    CHECK(ended.failure->why == R"(poll: HTTP 400 {"code":1,"message":"Session ID unknown"})");
  }
  SUBCASE("the server closes the session") {
    Driver d(traffic::Family::eio4, Plan::polling, "http://h/socket.io/");
    d.core.start(d.now);
    auto handshake = only<HttpCommand>(d.take());
    d.core.http_response(handshake.id, 200, "", kOpenV4, d.now);
    auto poll = only<HttpCommand>(d.take());
    d.core.http_response(poll.id, 200, "",
                         "41\x1e"
                         "6\x1e"
                         "1",
                         d.now);
    auto commands = d.take();
    CHECK(sio_of(only<MessageCommand>(commands)).type == sio::PacketType::disconnect);
    auto ended = only<EndedCommand>(commands);
    REQUIRE(ended.failure);
    CHECK(ended.failure->why == "the server closed the session");
  }
  SUBCASE("a poll that fails") {
    Driver d(traffic::Family::eio4, Plan::polling, "http://h/socket.io/");
    d.core.start(d.now);
    auto handshake = only<HttpCommand>(d.take());
    d.core.http_response(handshake.id, 200, "", kOpenV4, d.now);
    auto poll = only<HttpCommand>(d.take());
    d.core.http_failed(poll.id, ClientFailure{FailureKind::closed, "connection closed"}, d.now);
    auto ended = only<EndedCommand>(d.take());
    REQUIRE(ended.failure);
    CHECK(ended.failure->kind == FailureKind::closed);
    CHECK(ended.failure->why == "poll: connection closed");
  }
}

TEST_CASE("SocketClientCore: a refused handshake says what the server said") {
  Driver d(traffic::Family::eio3, Plan::upgrade, "http://h/socket.io/?EIO=3&transport=polling");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  CHECK(handshake.url == "http://h/socket.io/?EIO=3&transport=polling&t=T1");
  d.core.http_response(handshake.id, 403, "application/json", R"({"code":4,"message":"Forbidden"})",
                       d.now);
  auto ended = only<EndedCommand>(d.take());
  REQUIRE(ended.failure);
  CHECK(ended.failure->kind == FailureKind::refused);
  CHECK(ended.failure->why == R"(handshake refused: HTTP 403 {"code":4,"message":"Forbidden"})");
}

TEST_CASE("SocketClientCore: Engine.IO v3 pings every pingInterval and wants its pong") {
  Driver d(traffic::Family::eio3, Plan::polling, "http://h/socket.io/?EIO=3&transport=polling");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  // v3: the server connects `/` in the open packet's body; the io cookie is the caller's.
  d.core.http_response(handshake.id, 200, "text/plain; charset=UTF-8",
                       std::to_string(kOpenV3.size()) + ":" + kOpenV3 + "2:40", d.now);
  auto commands = d.take();
  CHECK(only<OpenedCommand>(commands).opened.sid == "S3");
  CHECK(sio_of(only<MessageCommand>(commands)).type == sio::PacketType::connect);
  auto poll = only<HttpCommand>(commands);
  CHECK(*d.core.deadline() == d.now + 1000);

  d.core.tick(d.now + 1000);
  auto ping = only<HttpCommand>(d.take());
  CHECK(ping.purpose == HttpPurpose::post);
  CHECK(ping.body == "1:2");
  CHECK(*d.core.deadline() == d.now + 1500);
  d.core.http_response(ping.id, 200, "text/html", "ok", d.now + 1001);
  d.core.http_response(poll.id, 200, "text/plain", "1:3", d.now + 1002);
  commands = d.take();
  CHECK(all<HeartbeatCommand>(commands).size() == 1);
  CHECK(*d.core.deadline() == d.now + 2002);

  d.core.tick(d.now + 2002);
  CHECK(only<HttpCommand>(d.take()).body == "1:2");
  d.core.tick(d.now + 2502);
  auto ended = only<EndedCommand>(d.take());
  REQUIRE(ended.failure);
  CHECK(ended.failure->kind == FailureKind::timeout);
  CHECK(ended.failure->why == "ping timeout: no pong within 500 ms");
}

TEST_CASE("SocketClientCore: sends are batched while a POST is out") {
  Driver d(traffic::Family::eio3, Plan::polling, "http://h/socket.io/");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  d.core.http_response(handshake.id, 200, "", std::to_string(kOpenV3.size()) + ":" + kOpenV3,
                       d.now);
  (void)d.take();
  CHECK_FALSE(d.core.send(R"(20["chat",{"text":"é"}])", {}, d.now));
  auto first = only<HttpCommand>(d.take());
  CHECK(first.body == R"(24:420["chat",{"text":"é"}])");
  CHECK_FALSE(d.core.send(R"(21["chat",{"text":"😀"}])", {}, d.now));
  std::vector<std::string> bytes = {std::string("\x01\x02\x03", 3)};
  CHECK_FALSE(d.core.send(R"(51-2["bin",{"_placeholder":true,"num":0}])", bytes, d.now));
  CHECK(d.take().empty());
  d.core.http_response(first.id, 200, "text/html", "ok", d.now);
  auto second = only<HttpCommand>(d.take());
  CHECK(second.body ==
        R"(25:421["chat",{"text":"😀"}]42:451-2["bin",{"_placeholder":true,"num":0}]6:b4AQID)");
  CHECK(d.core.send("\xff", {}, d.now).has_value());
}

TEST_CASE("SocketClientCore: binary packets are whole once their attachments arrived") {
  Driver d(traffic::Family::eio4, Plan::polling, "http://h/socket.io/");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  d.core.http_response(handshake.id, 200, "", kOpenV4, d.now);
  auto poll = only<HttpCommand>(d.take());
  d.core.http_response(poll.id, 200, "", R"(461-0[{"_placeholder":true,"num":0}])", d.now);
  auto commands = d.take();
  CHECK(all<MessageCommand>(commands).empty());
  poll = only<HttpCommand>(commands);
  d.core.http_response(poll.id, 200, "", "bAQID/w==", d.now);
  commands = d.take();
  auto message = only<MessageCommand>(commands);
  CHECK(sio_of(message).type == sio::PacketType::binary_ack);
  REQUIRE(sio_of(message).attachments.size() == 1);
  CHECK(sio_of(message).attachments[0] == std::string("\x01\x02\x03\xff", 4));
  CHECK(message.message.text == R"(61-0[{"_placeholder":true,"num":0}])");

  // Text while an attachment is awaited is an error, as in the reference parsers.
  d.core.http_response(only<HttpCommand>(commands).id, 200, "",
                       R"(451-["b",{"_placeholder":true,"num":0}])", d.now);
  poll = only<HttpCommand>(d.take());
  d.core.http_response(poll.id, 200, "", "42[\"x\"]", d.now);
  auto ended = only<EndedCommand>(d.take());
  REQUIRE(ended.failure);
  CHECK(ended.failure->kind == FailureKind::protocol);
}

TEST_CASE("SocketClientCore: a failed upgrade goes on polling, with a note") {
  Driver d(traffic::Family::eio4, Plan::upgrade, "http://h/socket.io/");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  d.core.http_response(handshake.id, 200, "", kOpenV4, d.now);
  auto commands = d.take();
  auto poll = only<HttpCommand>(commands);
  d.core.ws_failed(ClientFailure{FailureKind::refused, "HTTP 400"}, d.now);
  commands = d.take();
  CHECK_FALSE(only<WsCloseCommand>(commands).graceful);
  auto note = only<TransportCommand>(commands);
  CHECK(note.transport == eio::Transport::polling);
  CHECK(note.note == "the upgrade to websocket failed: HTTP 400");
  d.core.http_response(poll.id, 200, "", "6", d.now);
  CHECK(only<HttpCommand>(d.take()).purpose == HttpPurpose::poll);
  CHECK_FALSE(d.core.ended());
}

TEST_CASE("SocketClientCore: closing over polling POSTs the close packet") {
  Driver d(traffic::Family::eio4, Plan::upgrade, "http://h/socket.io/");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  d.core.http_response(handshake.id, 200, "", kOpenV4, d.now);
  (void)d.take();
  d.core.ws_opened(d.now);
  (void)d.take();
  d.core.close(d.now);
  auto commands = d.take();
  CHECK_FALSE(only<WsCloseCommand>(commands).graceful);  // the probe is abandoned
  auto post = only<HttpCommand>(commands);
  CHECK(post.body == "1");
  d.core.http_response(post.id, 200, "text/html", "ok", d.now);
  CHECK_FALSE(only<EndedCommand>(d.take()).failure);
}

TEST_CASE("SocketClientCore: Engine.IO opened on the WebSocket") {
  Driver d(traffic::Family::eio3, Plan::websocket_only, "https://h/socket.io/?q=1");
  d.core.start(d.now);
  auto connect = only<WsConnectCommand>(d.take());
  CHECK(connect.url == "https://h/socket.io/?q=1&EIO=3&transport=websocket");
  std::vector<std::string> bytes = {"\x01"};
  CHECK_FALSE(d.core.send(R"(51-["bin",{"_placeholder":true,"num":0}])", bytes, d.now));
  d.core.ws_opened(d.now);
  CHECK(d.take().empty());
  d.core.ws_message(kOpenV3, false, d.now);
  auto commands = d.take();
  CHECK(only<OpenedCommand>(commands).opened.transport == eio::Transport::websocket);
  CHECK(ws_sent(commands) ==
        std::vector<std::string>{R"(451-["bin",{"_placeholder":true,"num":0}])",
                                 std::string("<bin \x04\x01>")});
  d.core.ws_message("40", false, d.now);
  CHECK(sio_of(only<MessageCommand>(d.take())).type == sio::PacketType::connect);
  d.core.ws_closed("the connection closed without a Close frame (1006)", d.now);
  auto ended = only<EndedCommand>(d.take());
  REQUIRE(ended.failure);
  CHECK(ended.failure->kind == FailureKind::closed);
  CHECK(ended.failure->why ==
        "websocket closed: the connection closed without a Close frame (1006)");
}

TEST_CASE("SocketClientCore: Socket.IO 0.9 over the WebSocket") {
  Driver d(traffic::Family::sio09, Plan::upgrade,
           "http://h:3/socket.io/1/?t=1700000000000&token=x");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  CHECK(handshake.url == "http://h:3/socket.io/1/?t=T1&token=x");
  d.core.http_response(handshake.id, 200, "text/plain",
                       "FXp:60:60:websocket,htmlfile,xhr-polling,jsonp-polling", d.now);
  auto commands = d.take();
  auto opened = only<OpenedCommand>(commands);
  CHECK(opened.opened.sid == "FXp");
  REQUIRE(opened.opened.sio09);
  CHECK(only<WsConnectCommand>(commands).url == "http://h:3/socket.io/1/websocket/FXp?token=x");
  CHECK_FALSE(d.core.send(R"(5:1+::{"name":"chat","args":[{"text":"hello"}]})", {}, d.now));
  CHECK(d.take().empty());
  d.core.ws_opened(d.now);
  CHECK(ws_sent(d.take()) ==
        std::vector<std::string>{R"(5:1+::{"name":"chat","args":[{"text":"hello"}]})"});
  CHECK(*d.core.deadline() == d.now + 60000);
  d.core.ws_message("1::", false, d.now);
  auto connected = only<MessageCommand>(d.take());
  CHECK(std::get<sio09::Decoded>(connected.message.packet).frame.type == sio09::FrameType::connect);
  d.core.ws_message("2::", false, d.now + 10);
  auto commands2 = d.take();
  CHECK(all<HeartbeatCommand>(commands2).size() == 1);
  CHECK(ws_sent(commands2) == std::vector<std::string>{"2::"});
  CHECK(*d.core.deadline() == d.now + 60010);
  d.core.close(d.now);
  commands = d.take();
  CHECK(ws_sent(commands) == std::vector<std::string>{"0::"});
  CHECK(only<WsCloseCommand>(commands).graceful);
  d.core.ws_message("0::", false, d.now);
  commands = d.take();
  CHECK_FALSE(only<EndedCommand>(commands).failure);
}

TEST_CASE("SocketClientCore: Socket.IO 0.9 heartbeats missing, a kick, a refusal") {
  auto open_ws = [](Driver& d) {
    d.core.start(d.now);
    auto handshake = only<HttpCommand>(d.take());
    d.core.http_response(handshake.id, 200, "", "S:2:60:websocket", d.now);
    (void)d.take();
    d.core.ws_opened(d.now);
    (void)d.take();
  };
  SUBCASE("no heartbeat") {
    Driver d(traffic::Family::sio09, Plan::websocket_only, "http://h/socket.io/1/");
    open_ws(d);
    d.core.tick(d.now + 2000);
    auto ended = only<EndedCommand>(d.take());
    REQUIRE(ended.failure);
    CHECK(ended.failure->why == "heartbeat timeout: no heartbeat from the server for 2 s");
  }
  SUBCASE("a kick") {
    Driver d(traffic::Family::sio09, Plan::websocket_only, "http://h/socket.io/1/");
    open_ws(d);
    d.core.ws_message("0::", false, d.now);
    auto commands = d.take();
    CHECK(all<MessageCommand>(commands).size() == 1);
    auto ended = only<EndedCommand>(commands);
    REQUIRE(ended.failure);
    CHECK(ended.failure->why == "the server ended the session (0::)");
  }
  SUBCASE("refused") {
    Driver d(traffic::Family::sio09, Plan::websocket_only, "http://h/socket.io/1/");
    d.core.start(d.now);
    auto handshake = only<HttpCommand>(d.take());
    CHECK(handshake.url == "http://h/socket.io/1/?t=T1");
    d.core.http_response(handshake.id, 500, "text/plain", "handshake error", d.now);
    auto ended = only<EndedCommand>(d.take());
    REQUIRE(ended.failure);
    CHECK(ended.failure->kind == FailureKind::refused);
    CHECK(ended.failure->why == "handshake refused: HTTP 500 handshake error");
  }
}

TEST_CASE("SocketClientCore: Socket.IO 0.9 over xhr-polling") {
  Driver d(traffic::Family::sio09, Plan::polling, "http://h/socket.io/1/?t=5");
  d.core.start(d.now);
  auto handshake = only<HttpCommand>(d.take());
  d.core.http_response(handshake.id, 200, "", "S9:60:60:websocket,xhr-polling", d.now);
  auto commands = d.take();
  CHECK(only<OpenedCommand>(commands).opened.transport == eio::Transport::polling);
  auto poll = only<HttpCommand>(commands);
  CHECK(poll.url == "http://h/socket.io/1/xhr-polling/S9?t=T2");
  CHECK_FALSE(d.core.send("1::/chat", {}, d.now));
  auto post = only<HttpCommand>(d.take());
  CHECK(post.body == "1::/chat");
  CHECK_FALSE(d.core.send("3:::a", {}, d.now));
  CHECK_FALSE(d.core.send("3:::é", {}, d.now));
  d.core.http_response(post.id, 200, "text/plain", "1", d.now);
  post = only<HttpCommand>(d.take());
  CHECK(post.body ==
        "\xef\xbf\xbd"
        "5\xef\xbf\xbd"
        "3:::a\xef\xbf\xbd"
        "5\xef\xbf\xbd"
        "3:::é");
  d.core.http_response(post.id, 200, "text/plain", "1", d.now);
  d.core.http_response(poll.id, 200, "text/plain",
                       "\xef\xbf\xbd"
                       "3\xef\xbf\xbd"
                       "1::\xef\xbf\xbd"
                       "3\xef\xbf\xbd"
                       "8::",
                       d.now);
  commands = d.take();
  CHECK(all<MessageCommand>(commands).size() == 1);
  poll = only<HttpCommand>(commands);
  d.core.close(d.now);
  post = only<HttpCommand>(d.take());
  CHECK(post.body == "0::");
  d.core.http_response(post.id, 200, "text/plain", "1", d.now);
  CHECK_FALSE(only<EndedCommand>(d.take()).failure);
}

TEST_CASE("CacheBuster: yeast ids, a suffix within one millisecond") {
  CacheBuster buster;
  CHECK(buster.next(0) == "0");
  CHECK(buster.next(64) == "10");
  CHECK(buster.next(64) == "10.0");
  CHECK(buster.next(64) == "10.1");
  CHECK(buster.next(1795213603356) == "Q7x4R8S");
}
