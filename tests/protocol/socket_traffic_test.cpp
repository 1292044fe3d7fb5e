#include "protocol/socket_traffic.h"

#include <doctest/doctest.h>

#include <string>

using namespace wa::traffic;

namespace {

HttpExchange get(std::string_view target, std::string_view body, int status = 200) {
  HttpExchange x;
  x.method = "GET";
  x.target = target;
  x.status = status;
  x.response_content_type = "text/plain; charset=UTF-8";
  x.response_body = body;
  x.request_time_us = 100;
  x.response_time_us = 200;
  return x;
}

HttpExchange post(std::string_view target, std::string_view body) {
  HttpExchange x;
  x.method = "POST";
  x.target = target;
  x.status = 200;
  x.request_content_type = "text/plain;charset=UTF-8";
  x.request_body = body;
  x.response_body = "ok";
  x.request_time_us = 300;
  x.response_time_us = 400;
  return x;
}

Source ws_source(int64_t id) {
  return Source{Source::Kind::ws_message, id, id * 10};
}

// The v3 length prefix of an ASCII packet.
std::string v3(std::string_view packet) {
  return std::to_string(packet.size()) + ":" + std::string(packet);
}

}  // namespace

TEST_CASE("a v4 session over polling, then upgraded to WebSocket, is one session") {
  // PROTOCOLS.md §1, the socket.io 4 app with Chromium.
  Observer obs;
  const std::string open =
      R"(0{"sid":"FaQlkxn7_bPvpM-GAAAA","upgrades":["websocket"],"pingInterval":25000,)"
      R"("pingTimeout":20000,"maxPayload":1000000})";
  auto a = obs.on_exchange(get("/socket.io/?EIO=4&transport=polling&t=jpn9g8bk", open), 1);
  REQUIRE(a.sessions.size() == 1);
  CHECK(a.sessions[0].sid == "FaQlkxn7_bPvpM-GAAAA");
  CHECK(a.sessions[0].family == Family::eio4);
  CHECK(a.sessions[0].handshake_seen);
  CHECK(a.sessions[0].source.id == 1);
  REQUIRE(a.packets.size() == 1);
  CHECK(a.packets[0].eio_type == 0);
  CHECK(a.packets[0].direction == Direction::server);

  const char* q = "/socket.io/?EIO=4&transport=polling&t=jpnael0v&sid=FaQlkxn7_bPvpM-GAAAA";
  auto b = obs.on_exchange(post(q, "40"), 2);
  CHECK(b.sessions.empty());
  REQUIRE(b.packets.size() == 1);
  CHECK(b.packets[0].direction == Direction::client);
  CHECK(b.packets[0].sio_type == 0);
  CHECK(b.packets[0].nsp == "/");
  CHECK(b.packets[0].source.time_us == 300);  // client packets carry the request's time

  auto c = obs.on_exchange(get(q,
                               "40{\"sid\":\"FjgbgTXBJmdue2-2AAAA\"}\x1e"
                               R"(42["welcome",{"username":"alice"}])"),
                           3);
  REQUIRE(c.packets.size() == 2);
  CHECK(c.packets[0].sio_type == 0);
  CHECK(c.packets[0].args == R"({"sid":"FjgbgTXBJmdue2-2AAAA"})");
  CHECK(c.packets[1].event == "welcome");
  CHECK(c.packets[1].args == R"([{"username":"alice"}])");
  CHECK(c.packets[1].position == 1);
  CHECK(c.packets[1].raw == R"(42["welcome",{"username":"alice"}])");
  CHECK(c.packets[1].source.time_us == 200);

  auto noop = obs.on_exchange(get(q, "6"), 4);
  REQUIRE(noop.packets.size() == 1);
  CHECK(noop.packets[0].chatter);

  REQUIRE(
      obs.on_websocket_open(7, "/socket.io/?EIO=4&transport=websocket&sid=FaQlkxn7_bPvpM-GAAAA"));
  auto probe = obs.on_websocket_message(7, Direction::client, false, "2probe", ws_source(10));
  auto answer = obs.on_websocket_message(7, Direction::server, false, "3probe", ws_source(11));
  auto upgrade = obs.on_websocket_message(7, Direction::client, false, "5", ws_source(12));
  for (auto* o : {&probe, &answer, &upgrade}) {
    REQUIRE(o->packets.size() == 1);
    CHECK(o->packets[0].chatter);
    CHECK(o->packets[0].transport == wa::eio::Transport::websocket);
  }
  auto chat = obs.on_websocket_message(7, Direction::client, false,
                                       R"(420["chat",{"text":"hello 1"}])", ws_source(13));
  REQUIRE(chat.packets.size() == 1);
  CHECK(chat.packets[0].sid == "FaQlkxn7_bPvpM-GAAAA");
  CHECK(chat.packets[0].event == "chat");
  CHECK(chat.packets[0].ack_id == 0u);
  CHECK(chat.packets[0].args == R"([{"text":"hello 1"}])");
  CHECK(chat.packets[0].source.id == 13);
  auto ack = obs.on_websocket_message(7, Direction::server, false, R"(430[{"ok":true,"id":1}])",
                                      ws_source(14));
  REQUIRE(ack.packets.size() == 1);
  CHECK(ack.packets[0].sio_type == 3);
  CHECK(ack.packets[0].ack_id == 0u);
  CHECK(ack.packets[0].args == R"([{"ok":true,"id":1}])");
  CHECK(obs.on_websocket_close(7).packets.empty());
}

TEST_CASE("a v3 open packet and the server's unasked CONNECT share one body") {
  // PROTOCOLS.md §1: socket.io 2 answers the handshake with `97:0{...}2:40`.
  Observer obs;
  std::string body = v3(R"(0{"sid":"-fARYxmUEb9JzHxDAAAA","upgrades":["websocket"],)"
                        R"("pingInterval":25000,"pingTimeout":20000})") +
                     v3("40");
  auto a = obs.on_exchange(get("/socket.io/?EIO=3&transport=polling&t=Q7x46R2", body), 1);
  REQUIRE(a.sessions.size() == 1);
  CHECK(a.sessions[0].family == Family::eio3);
  REQUIRE(a.packets.size() == 2);
  CHECK(a.packets[1].sio_type == 0);
  CHECK(a.packets[1].sid == "-fARYxmUEb9JzHxDAAAA");

  // Heartbeats: v3 clients ping over polling (`1:2`), the server pongs (`1:3`).
  const char* q = "/socket.io/?EIO=3&transport=polling&t=Q7x4&sid=-fARYxmUEb9JzHxDAAAA";
  auto ping = obs.on_exchange(post(q, "1:2"), 2);
  auto pong = obs.on_exchange(get(q, "1:3"), 3);
  REQUIRE(ping.packets.size() == 1);
  REQUIRE(pong.packets.size() == 1);
  CHECK(ping.packets[0].chatter);
  CHECK(pong.packets[0].chatter);

  // UTF-16 lengths: an emoji counts two (PROTOCOLS.md gotcha 1).
  auto emoji = obs.on_exchange(get(q, "11:430[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]"), 4);
  REQUIRE(emoji.packets.size() == 1);
  CHECK(emoji.packets[0].error.empty());
  CHECK(emoji.packets[0].sio_type == 3);
}

TEST_CASE("a binary event completes when its attachments arrive in a later poll") {
  Observer obs;
  const std::string open = R"(0{"sid":"s1","upgrades":["websocket"],"pingInterval":25000,)"
                           R"("pingTimeout":20000})";
  obs.on_exchange(get("/socket.io/?EIO=4&transport=polling", open), 1);
  const char* q = "/socket.io/?EIO=4&transport=polling&sid=s1";
  auto header = obs.on_exchange(get(q, R"(452-["srvbin","x",{"_placeholder":true,"num":0},)"
                                       R"({"nested":{"_placeholder":true,"num":1}}])"),
                                2);
  CHECK(header.packets.empty());  // not complete yet
  auto rest = obs.on_exchange(get(q,
                                  "bAQID\x1e"
                                  "bQUI="),
                              3);
  REQUIRE(rest.packets.size() == 3);
  CHECK(rest.packets[0].binary);
  CHECK(rest.packets[1].binary);
  const Packet& event = rest.packets[2];
  CHECK(event.event == "srvbin");
  CHECK(event.source.id == 2);  // the header's exchange
  CHECK(event.attachment_count == 2);
  REQUIRE(event.attachments.size() == 2);
  CHECK(event.attachments[0] == std::string("\x01\x02\x03", 3));
  CHECK(event.attachments[1] == "AB");
  CHECK(event.args.find("_placeholder") != std::string::npos);
}

TEST_CASE("a v3 binary event over the WebSocket carries its type byte") {
  Observer obs;
  obs.on_exchange(get("/socket.io/?EIO=3&transport=polling",
                      v3(R"(0{"sid":"b3","upgrades":["websocket"],"pingInterval":25000,)"
                         R"("pingTimeout":20000})")),
                  1);
  REQUIRE(obs.on_websocket_open(2, "/socket.io/?EIO=3&transport=websocket&sid=b3"));
  auto header = obs.on_websocket_message(
      2, Direction::client, false, R"(451-1["bin",{"_placeholder":true,"num":0}])", ws_source(1));
  CHECK(header.packets.empty());
  auto data = obs.on_websocket_message(2, Direction::client, true,
                                       std::string("\x04\x01\x02\x03\xff", 5), ws_source(2));
  REQUIRE(data.packets.size() == 2);
  CHECK(data.packets[1].event == "bin");
  CHECK(data.packets[1].ack_id == 1u);
  CHECK(data.packets[1].attachments.at(0) == std::string("\x01\x02\x03\xff", 4));
}

TEST_CASE("a WebSocket-only session learns its sid from the first frame") {
  Observer obs;
  REQUIRE(obs.on_websocket_open(1, "/socket.io/?EIO=4&transport=websocket"));
  auto open = obs.on_websocket_message(
      1, Direction::server, false,
      R"(0{"sid":"wsonly","upgrades":[],"pingInterval":25000,"pingTimeout":20000})", ws_source(1));
  REQUIRE(open.sessions.size() == 1);
  CHECK(open.sessions[0].sid == "wsonly");
  CHECK(open.sessions[0].handshake_seen);
  // Its handshake is the upgrade request of WebSocket 1, whatever path the app chose.
  CHECK(open.sessions[0].opened_on_websocket == 1);
  auto connect = obs.on_websocket_message(1, Direction::client, false, "40", ws_source(2));
  REQUIRE(connect.packets.size() == 1);
  CHECK(connect.packets[0].sid == "wsonly");
}

TEST_CASE("Flask's welcome before the CONNECT reply decodes in order") {
  // PROTOCOLS.md §2 gotcha 2.
  Observer obs;
  obs.on_exchange(get("/socket.io/?EIO=4&transport=polling",
                      R"(0{"pingTimeout":20000,"sid":"2xAu","upgrades":["websocket"],)"
                      R"("pingInterval":25000})"),
                  1);
  auto got = obs.on_exchange(
      get("/socket.io/?EIO=4&transport=polling&sid=2xAu", R"(42["welcome",{"username":"alice"}])"
                                                          "\x1e"
                                                          R"(40{"sid":"kFGn6wovFaZ9p3nSAAAB"})"),
      2);
  REQUIRE(got.packets.size() == 2);
  CHECK(got.packets[0].event == "welcome");
  CHECK(got.packets[1].sio_type == 0);
}

TEST_CASE("Socket.IO 0.9: handshake, WebSocket frames, and xhr-polling payloads") {
  Observer obs;
  auto hs = obs.on_exchange(
      get("/socket.io/1/?t=1795213603356",
          "FXpXJZZ8JUOGiQO4EaoE:60:60:websocket,htmlfile,xhr-polling,jsonp-polling"),
      1);
  REQUIRE(hs.sessions.size() == 1);
  CHECK(hs.sessions[0].family == Family::sio09);
  CHECK(hs.sessions[0].sid == "FXpXJZZ8JUOGiQO4EaoE");

  REQUIRE(obs.on_websocket_open(3, "/socket.io/1/websocket/FXpXJZZ8JUOGiQO4EaoE"));
  auto connect = obs.on_websocket_message(3, Direction::server, false, "1::", ws_source(1));
  REQUIRE(connect.packets.size() == 1);
  CHECK(connect.packets[0].sio_type == 1);
  auto welcome = obs.on_websocket_message(3, Direction::server, false,
                                          R"(5:::{"name":"welcome","args":[{"username":"alice"}]})",
                                          ws_source(2));
  REQUIRE(welcome.packets.size() == 1);
  CHECK(welcome.packets[0].event == "welcome");
  CHECK(welcome.packets[0].args == R"([{"username":"alice"}])");
  auto chat = obs.on_websocket_message(3, Direction::client, false,
                                       R"(5:1+::{"name":"chat","args":[{"text":"hello 1"}]})",
                                       ws_source(3));
  REQUIRE(chat.packets.size() == 1);
  CHECK(chat.packets[0].ack_id == 1u);
  auto ack = obs.on_websocket_message(3, Direction::server, false, R"(6:::1+[{"ok":true,"id":1}])",
                                      ws_source(4));
  REQUIRE(ack.packets.size() == 1);
  CHECK(ack.packets[0].sio_type == 6);
  CHECK(ack.packets[0].ack_id == 1u);
  CHECK(ack.packets[0].args == R"([{"ok":true,"id":1}])");
  auto beat = obs.on_websocket_message(3, Direction::server, false, "2::", ws_source(5));
  REQUIRE(beat.packets.size() == 1);
  CHECK(beat.packets[0].chatter);

  // xhr-polling with the U+FFFD framing, lengths in UTF-16 units (PROTOCOLS.md §3).
  auto polled =
      obs.on_exchange(post("/socket.io/1/xhr-polling/FXpXJZZ8JUOGiQO4EaoE?t=1795213573394",
                           "\xef\xbf\xbd"
                           "13\xef\xbf\xbd"
                           "3:::plain \xc3\xa9\xf0\x9f\x98\x80"
                           "\xef\xbf\xbd"
                           "11\xef\xbf\xbd"
                           R"(4:::{"j":1})"),
                      9);
  REQUIRE(polled.packets.size() == 2);
  CHECK(polled.packets[0].direction == Direction::client);
  CHECK(polled.packets[0].args == "[\"plain \xc3\xa9\xf0\x9f\x98\x80\"]");
  CHECK(polled.packets[1].args == R"([{"j":1}])");
}

TEST_CASE("what is not socket traffic is left alone") {
  CHECK(Observer::is_socket_request("/socket.io/?EIO=4&transport=polling&t=x"));
  CHECK(Observer::is_socket_request("http://127.0.0.1:3000/socket.io/?EIO=3&transport=polling"));
  CHECK(Observer::is_socket_request("/socket.io/1/?t=1795213603356"));
  CHECK(Observer::is_socket_request("/socket.io/1/xhr-polling/abc?t=1"));
  CHECK_FALSE(Observer::is_socket_request("/"));
  CHECK_FALSE(Observer::is_socket_request("/login"));
  CHECK_FALSE(Observer::is_socket_request("/api/v1/1/users/7"));
  CHECK_FALSE(Observer::is_socket_request("/socket.io/socket.io.js"));

  Observer obs;
  auto page = obs.on_exchange(get("/api/v1/1/users/7", "FXpX:60:60:websocket"), 1);
  CHECK(page.sessions.empty());
  CHECK(page.packets.empty());
  CHECK_FALSE(obs.on_websocket_open(1, "/chat"));
  CHECK(obs.on_websocket_message(1, Direction::client, false, "40", ws_source(1)).packets.empty());
}

TEST_CASE("bad bodies become error packets, refused requests none") {
  Observer obs;
  auto bad = obs.on_exchange(get("/socket.io/?EIO=3&transport=polling&sid=x", "99:40"), 1);
  REQUIRE(bad.packets.size() == 1);
  CHECK_FALSE(bad.packets[0].error.empty());

  auto gone = obs.on_exchange(get("/socket.io/?EIO=4&transport=polling&sid=x",
                                  R"({"code":1,"message":"Session ID unknown"})", 400),
                              2);
  CHECK(gone.packets.empty());

  HttpExchange cut = get("/socket.io/?EIO=4&transport=polling&sid=x", "42[\"a\"");
  cut.response_body_complete = false;
  auto partial = obs.on_exchange(cut, 3);
  REQUIRE(partial.packets.size() == 1);
  CHECK(partial.packets[0].error.find("cut") != std::string::npos);

  // Attachments that never come are reported at the end.
  obs.on_exchange(get("/socket.io/?EIO=4&transport=polling&sid=y",
                      R"(451-["bin",{"_placeholder":true,"num":0}])"),
                  4);
  auto end = obs.finish();
  REQUIRE(end.packets.size() == 1);
  CHECK(end.packets[0].event == "bin");
  CHECK_FALSE(end.packets[0].error.empty());
}

TEST_CASE("a WebSocket-only session on a custom path with extra query parameters") {
  Observer obs;
  REQUIRE(obs.on_websocket_open(42, "/rt/?appVersion=7&EIO=3&transport=websocket"));
  auto open = obs.on_websocket_message(
      42, Direction::server, false,
      R"(0{"sid":"v3ws","upgrades":[],"pingInterval":25000,"pingTimeout":20000})", ws_source(1));
  REQUIRE(open.sessions.size() == 1);
  CHECK(open.sessions[0].family == Family::eio3);
  CHECK(open.sessions[0].opened_on_websocket == 42);
  auto connect = obs.on_websocket_message(42, Direction::server, false, "40", ws_source(2));
  REQUIRE(connect.packets.size() == 1);
  CHECK(connect.packets[0].sio_type == 0);
}

TEST_CASE("an upgraded session's handshake is its polling request, not the WebSocket") {
  Observer obs;
  REQUIRE(obs.on_websocket_open(5, "/socket.io/?EIO=4&transport=websocket&sid=known"));
  auto ping = obs.on_websocket_message(5, Direction::client, false, "2probe", ws_source(1));
  REQUIRE(ping.sessions.size() == 1);
  CHECK_FALSE(ping.sessions[0].handshake_seen);
  CHECK(ping.sessions[0].opened_on_websocket == 0);
}
