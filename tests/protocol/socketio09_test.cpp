#include "protocol/socketio09.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wa::sio09;
using wa::Errc;

namespace {

const std::string kFffd = "\xef\xbf\xbd";  // U+FFFD on the wire
const std::string kE = "\xc3\xa9";         // é
const std::string kSmile = "\xf0\x9f\x98\x80";

Decoded dec(std::string_view text) {
  auto d = decode(text);
  INFO(text);
  if (!d.ok()) INFO(d.error().why);
  REQUIRE(d.ok());
  return *d;
}

std::string enc(const Frame& f) {
  auto e = encode_frame(f);
  if (!e.ok()) INFO(e.error().why);
  REQUIRE(e.ok());
  return *e;
}

Json json(std::string_view text) {
  auto j = wa::sio::parse_json(text, Errc::sio09_malformed);
  REQUIRE(j.ok());
  return *j;
}

}  // namespace

TEST_CASE("every PROTOCOLS.md §3 frame decodes and encodes back to the same bytes") {
  const std::vector<std::string> frames = {
      "0::/chat",
      "0::",
      "1::",
      "1::/chat",
      "1::/chat:?x=1",
      "2::",
      "3:::plain " + kE,
      "3:2::hi " + kE,
      R"(4:::{"k":"v"})",
      R"(4:::{"j":1})",
      R"(5:::{"name":"welcome","args":[{"username":"alice"}]})",
      R"(5:1+::{"name":"chat","args":[{"text":"hello 1"}]})",
      R"(5:::{"name":"chat","args":[{"from":"alice","text":"hello 1"}]})",
      R"(5::/chat:{"name":"welcome","args":[{"username":"alice"}]})",
      R"(5:1+:/chat:{"name":"echo","args":["nsp"]})",
      R"(5:8:/chat:{"name":"noack","args":[1]})",
      R"(6:::1+[{"ok":true,"id":1}])",
      R"(6:::2+[{"ok":true,"id":2}])",
      "6:::2",
      R"(6::/chat:1+["nsp"])",
      "7::/private:2",
      "7:::1+0",
      "8::",
  };
  for (const auto& text : frames) {
    CAPTURE(text);
    Decoded d = dec(text);
    CHECK(enc(d.frame) == text);
    // The content writes the same data back, as socket.io 0.9's encoder does.
    CHECK(enc(make_frame(d.content, d.frame.endpoint, d.frame.id, d.frame.user_ack)) == text);
  }
}

TEST_CASE("frame fields: type, id, '+', endpoint, data") {
  Decoded chat = dec(R"(5:1+::{"name":"chat","args":[{"text":"hello 1"}]})");
  CHECK(chat.frame.type == FrameType::event);
  CHECK(chat.frame.id == 1u);
  CHECK(chat.frame.user_ack);
  CHECK(chat.frame.endpoint.empty());
  const auto& ev = std::get<Event>(chat.content);
  CHECK(ev.name == "chat");
  CHECK(ev.args == json(R"([{"text":"hello 1"}])"));

  Decoded hi = dec("3:2::hi " + kE);
  CHECK(hi.frame.type == FrameType::message);
  CHECK(hi.frame.id == 2u);
  CHECK_FALSE(hi.frame.user_ack);
  CHECK(std::get<Message>(hi.content).text == "hi " + kE);

  Decoded ns = dec(R"(6::/chat:1+["nsp"])");
  CHECK(ns.frame.endpoint == "/chat");
  const auto& ack = std::get<Ack>(ns.content);
  CHECK(ack.id == 1u);
  CHECK(ack.args == json(R"(["nsp"])"));

  Decoded bare = dec("6:::2");
  CHECK(std::get<Ack>(bare.content).id == 2u);
  CHECK(std::get<Ack>(bare.content).args == Json::array());

  Decoded connect = dec("1::/chat:?x=1");  // the form that connects (gotcha 1)
  CHECK(connect.frame.endpoint == "/chat");
  CHECK(std::get<Connect>(connect.content).query == "x=1");
  // The docs' form did not connect: the server sees an endpoint named "/chat?x=1".
  Decoded docs = dec("1::/chat?x=1");
  CHECK(docs.frame.endpoint == "/chat?x=1");
  CHECK(std::get<Connect>(docs.content).query.empty());

  CHECK(dec("1::").frame.data == std::nullopt);
  CHECK(dec("3:::").frame.data == "");
  CHECK(std::holds_alternative<Heartbeat>(dec("2::").content));
  CHECK(std::holds_alternative<Noop>(dec("8::").content));
  CHECK(std::holds_alternative<Disconnect>(dec("0::/chat").content));
  CHECK(std::get<JsonMessage>(dec(R"(4:::{"k":"v"})").content).value == json(R"({"k":"v"})"));
  CHECK(std::string(type_name(FrameType::json)) == "json");
}

TEST_CASE("data is everything after the third ':'") {
  Decoded d = dec("3:::a:b:c");
  CHECK(d.frame.endpoint.empty());
  CHECK(d.frame.data == "a:b:c");
  CHECK(std::get<Message>(d.content).text == "a:b:c");
  Decoded e = dec(R"(5::/chat:{"name":"t","args":["12:30"]})");
  CHECK(std::get<Event>(e.content).args[0] == "12:30");
}

TEST_CASE("error frames keep the reason and advice indexes") {
  Decoded refused = dec("7::/private:2");
  const auto& e = std::get<Error>(refused.content);
  CHECK(e.reason == "2");
  CHECK(e.advice.empty());
  CHECK(std::string(error_reason_name(e.reason)) == "unauthorized");
  Decoded unknown = dec("7:::1+0");
  const auto& u = std::get<Error>(unknown.content);
  CHECK(std::string(error_reason_name(u.reason)) == "client not handshaken");
  CHECK(std::string(error_advice_name(u.advice)) == "reconnect");
  CHECK(std::string(error_reason_name("0")) == "transport not supported");
  CHECK(error_reason_name("9") == nullptr);
  CHECK(error_advice_name("") == nullptr);
}

TEST_CASE("an id without '+' is acked by the library at once; with '+' by the callback") {
  auto a = automatic_ack(dec("3:2::hi " + kE).frame);
  REQUIRE(a);
  CHECK(enc(*a) == "6:::2");
  auto b = automatic_ack(dec(R"(5:8:/chat:{"name":"x"})").frame);
  REQUIRE(b);
  CHECK(enc(*b) == "6::/chat:8");
  CHECK_FALSE(automatic_ack(dec(R"(5:1+::{"name":"chat"})").frame));
  CHECK_FALSE(automatic_ack(dec("3:::x").frame));
  // The user's callback answer, as the browser saw it.
  Frame reply = make_frame(Ack{1, json(R"([{"ok":true,"id":1}])")});
  CHECK(enc(reply) == R"(6:::1+[{"ok":true,"id":1}])");
}

TEST_CASE("frames built from content write data as the reference encoder") {
  CHECK(enc(make_frame(Event{"chat", json(R"([{"text":"hello 1"}])")}, "", 1, true)) ==
        R"(5:1+::{"name":"chat","args":[{"text":"hello 1"}]})");
  CHECK(enc(make_frame(Event{"ping", Json::array()}, "/chat")) == R"(5::/chat:{"name":"ping"})");
  CHECK(enc(make_frame(Message{""})) == "3::");
  CHECK(enc(make_frame(Message{"x"}, "", 3)) == "3:3::x");
  CHECK(enc(make_frame(Connect{"x=1"}, "/chat")) == "1::/chat:?x=1");
  CHECK(enc(make_frame(Connect{}, "/chat")) == "1::/chat");
  CHECK(enc(make_frame(Error{"1", "0"})) == "7:::1+0");
  CHECK(enc(make_frame(Error{})) == "7::");
  CHECK(enc(make_frame(JsonMessage{json(R"({"k":"v"})")})) == R"(4:::{"k":"v"})");
  CHECK(enc(make_frame(Heartbeat{})) == "2::");
  CHECK(enc(make_frame(Disconnect{}, "/chat")) == "0::/chat");
  CHECK(enc(make_frame(Noop{})) == "8::");
  CHECK(enc(make_frame(Ack{4, Json::array()}, "", std::nullopt, true)) == "6:::4");
}

TEST_CASE("event frames decode Flask-style escapes to the same args") {
  Decoded a = dec(R"(5:::{"name":"t","args":["\u00e9\ud83d\ude00"]})");
  Decoded b = dec("5:::{\"name\":\"t\",\"args\":[\"" + kE + kSmile + "\"]}");
  CHECK(std::get<Event>(a.content).args == std::get<Event>(b.content).args);
  CHECK(std::get<Event>(dec(R"(5:::{"name":"t"})").content).args == Json::array());
}

TEST_CASE("malformed frames fail with sio09_malformed") {
  for (const std::string bad :
       {"", "3", "9::", "x::", "3-::", "3:x::", "3:+::", "3:1", "3:1+",
        "10::", ":::", "3:99999999999999999999999::", "3:::\xff", "3:1-::"}) {
    CAPTURE(bad);
    auto f = decode_frame(bad);
    REQUIRE_FALSE(f.ok());
    CHECK(f.error().code == Errc::sio09_malformed);
  }
  for (const std::string bad :
       {"4::", "4:::", "4:::{", "5:::", "5:::[]", "5:::{\"args\":[]}", "5:::{\"name\":1}",
        "5:::{\"name\":\"x\",\"args\":{}}", "6:::", "6:::x", "6:::1[1]", "6:::1+", "6:::1+{}",
        "6:::+[1]", "6:::99999999999999999999999"}) {
    CAPTURE(bad);
    REQUIRE(decode_frame(bad).ok());
    auto d = decode(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == Errc::sio09_malformed);
    CHECK_FALSE(d.error().why.empty());
  }
  Frame f;
  f.type = FrameType::message;
  f.endpoint = "/a:b";
  CHECK_FALSE(encode_frame(f).ok());
  f.endpoint = "/a";
  f.user_ack = true;
  CHECK_FALSE(encode_frame(f).ok());
}

TEST_CASE("limits on frame size and JSON depth") {
  Limits limits;
  limits.max_frame_bytes = 16;
  limits.max_json_depth = 3;
  CHECK(decode_frame("3:::" + std::string(20, 'a'), limits).error().code == Errc::limit);
  CHECK(decode("4:::[[[[1]]]]").ok());
  Limits shallow;
  shallow.max_json_depth = 3;
  CHECK(decode("4:::[[[[1]]]]", shallow).error().code == Errc::limit);
  CHECK(decode_payload(std::string(20, 'x'), limits).error().code == Errc::limit);
  Limits few;
  few.max_payload_frames = 2;
  std::string three =
      kFffd + "3" + kFffd + "2::" + kFffd + "3" + kFffd + "2::" + kFffd + "3" + kFffd + "2::";
  CHECK(decode_payload(three, few).error().code == Errc::limit);
  CHECK(decode_payload(three).ok());
}

TEST_CASE("xhr-polling payload: lengths in UTF-16 units, U+FFFD as EF BF BD") {
  // PROTOCOLS.md §3: 13 units, 16 bytes for the first frame.
  const std::string first = "3:::plain " + kE + kSmile;
  const std::string body = kFffd + "13" + kFffd + first + kFffd + "11" + kFffd + R"(4:::{"j":1})";
  REQUIRE(first.size() == 16);
  auto frames = decode_payload(body);
  REQUIRE(frames.ok());
  REQUIRE(frames->size() == 2);
  CHECK((*frames)[0] == first);
  CHECK((*frames)[1] == R"(4:::{"j":1})");
  CHECK(std::get<Message>(dec((*frames)[0]).content).text == "plain " + kE + kSmile);
  auto again = encode_payload(*frames);
  REQUIRE(again.ok());
  CHECK(*again == body);
}

TEST_CASE("the Node 0.9 client's POST decodes frame by frame") {
  const std::string body = kFffd + "31" + kFffd + R"(5:::{"name":"noack","args":[1]})" + kFffd +
                           "31" + kFffd + R"(5:::{"name":"noack","args":[2]})" + kFffd + "9" +
                           kFffd + "3:2::hi " + kE + kFffd + "13" + kFffd + R"(4:::{"k":"v"})";
  auto frames = decode_payload(body);
  REQUIRE(frames.ok());
  REQUIRE(frames->size() == 4);
  CHECK(std::get<Event>(dec((*frames)[0]).content).args == json("[1]"));
  CHECK(std::get<Event>(dec((*frames)[1]).content).args == json("[2]"));
  Decoded hi = dec((*frames)[2]);
  CHECK(hi.frame.id == 2u);
  CHECK(enc(*automatic_ack(hi.frame)) == "6:::2");  // the GET that followed: `6:::2`
  CHECK(std::get<JsonMessage>(dec((*frames)[3]).content).value == json(R"({"k":"v"})"));
  CHECK(*encode_payload(*frames) == body);
}

TEST_CASE("a single frame comes bare; an empty body is no frames") {
  auto one = decode_payload("6:::2");
  REQUIRE(one.ok());
  CHECK(*one == std::vector<std::string>{"6:::2"});
  CHECK(*encode_payload({"8::"}) == "8::");
  auto none = decode_payload("");
  REQUIRE(none.ok());
  CHECK(none->empty());
  CHECK(*encode_payload({}) == "");
  // A lone frame that would not read back bare is framed.
  CHECK(*encode_payload({""}) == kFffd + "0" + kFffd);
  CHECK(*decode_payload(*encode_payload({kFffd})) == std::vector<std::string>{kFffd});
  // A bare frame may hold U+FFFD further on.
  auto odd = decode_payload("3:::" + kFffd);
  REQUIRE(odd.ok());
  CHECK(odd->size() == 1);
}

TEST_CASE("payloads with wrong lengths are dropped whole, as the server dropped them") {
  const std::string first = "3:::plain " + kE + kSmile;
  const std::string second = R"(4:::{"j":1})";
  const std::vector<std::string> bad = {
      // code points (12) instead of UTF-16 units (13): ends inside the surrogate pair
      kFffd + "12" + kFffd + first + kFffd + "11" + kFffd + second,
      // bytes (16) instead of units: runs past the frame
      kFffd + "16" + kFffd + first + kFffd + "11" + kFffd + second,
      // too short for the last frame
      kFffd + "13" + kFffd + first + kFffd + "12" + kFffd + second,
      kFffd + "" + kFffd + "2::",
      kFffd + "x" + kFffd + "2::",
      kFffd + "4" + kFffd + "2::",
      kFffd + "2" + "2::",
      kFffd + "99999999999999999999999" + kFffd + "2::",
      kFffd,
      kFffd + "2" + kFffd + "2::" + "x",
      kFffd + "2" + kFffd + "\xff\xfe",
  };
  for (const auto& body : bad) {
    CAPTURE(body);
    auto frames = decode_payload(body);
    REQUIRE_FALSE(frames.ok());
    CHECK(frames.error().code == Errc::sio09_malformed);
  }
  CHECK_FALSE(encode_payload({"a", std::string("\xff")}).ok());
}

TEST_CASE("handshake bodies, plain and JSONP") {
  auto hs =
      parse_handshake("FXpXJZZ8JUOGiQO4EaoE:60:60:websocket,htmlfile,xhr-polling,jsonp-polling");
  REQUIRE(hs.ok());
  CHECK(hs->sid == "FXpXJZZ8JUOGiQO4EaoE");
  CHECK(hs->heartbeat_timeout == 60u);
  CHECK(hs->close_timeout == 60u);
  CHECK(hs->transports ==
        std::vector<std::string>{"websocket", "htmlfile", "xhr-polling", "jsonp-polling"});
  CHECK_FALSE(hs->jsonp);
  CHECK(encode_handshake(*hs) ==
        "FXpXJZZ8JUOGiQO4EaoE:60:60:websocket,htmlfile,xhr-polling,jsonp-polling");

  auto jsonp = parse_handshake(R"(io.j[0]("FXpXJZZ8JUOGiQO4EaoE:60:60:websocket,xhr-polling");)");
  REQUIRE(jsonp.ok());
  CHECK(jsonp->sid == "FXpXJZZ8JUOGiQO4EaoE");
  CHECK(jsonp->jsonp == 0u);
  CHECK(jsonp->transports == std::vector<std::string>{"websocket", "xhr-polling"});
  CHECK(encode_handshake(*jsonp) ==
        R"(io.j[0]("FXpXJZZ8JUOGiQO4EaoE:60:60:websocket,xhr-polling");)");

  // Heartbeats disabled: the field is empty.
  auto quiet = parse_handshake("abc::25:websocket");
  REQUIRE(quiet.ok());
  CHECK_FALSE(quiet->heartbeat_timeout);
  CHECK(quiet->close_timeout == 25u);
  CHECK(encode_handshake(*quiet) == "abc::25:websocket");

  for (const char* bad :
       {"", "abc", "abc:60:60", ":60:60:websocket", "abc:x:60:websocket",
        "abc:60:60:websocket:extra", "abc:60:60:websocket,", "abc:60:60:,ws", "io.j[0](\"abc\");",
        "io.j[0](5);", "io.j[x](\"a:1:1:w\");", "io.j[0](\"a:1:1:w\")", "handshake error"}) {
    CAPTURE(bad);
    auto r = parse_handshake(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::sio09_malformed);
  }
}

TEST_CASE("handshake refusals") {
  auto error = parse_refusal(500, "handshake error");
  REQUIRE(error);
  CHECK(error->kind == RefusalKind::handshake_error);
  CHECK(error->status == 500);
  CHECK(parse_refusal(403, "handshake unauthorized")->kind == RefusalKind::unauthorized);
  CHECK(parse_refusal(403, "handshake bad origin")->kind == RefusalKind::bad_origin);
  CHECK(parse_refusal(500, "Protocol version not supported.")->kind ==
        RefusalKind::protocol_unsupported);
  auto other = parse_refusal(404, "Not found");
  REQUIRE(other);
  CHECK(other->kind == RefusalKind::other);
  CHECK(other->message == "Not found");
  auto jsonp = parse_refusal(200, R"(io.j[1](new Error("handshake unauthorized"));)");
  REQUIRE(jsonp);
  CHECK(jsonp->kind == RefusalKind::unauthorized);
  CHECK(jsonp->status == 200);
  CHECK_FALSE(parse_refusal(200, "FXpX:60:60:websocket"));
  CHECK_FALSE(parse_refusal(200, R"(io.j[0]("FXpX:60:60:websocket");)"));
}

TEST_CASE("transport paths carry the sid in the path") {
  auto ws = parse_path("/socket.io/1/websocket/FXpXJZZ8JUOGiQO4EaoE");
  REQUIRE(ws);
  CHECK(ws->protocol == 1u);
  CHECK(ws->transport == "websocket");
  CHECK(ws->sid == "FXpXJZZ8JUOGiQO4EaoE");
  CHECK(ws->query.empty());
  CHECK_FALSE(ws->is_handshake());
  CHECK(make_path(*ws) == "/socket.io/1/websocket/FXpXJZZ8JUOGiQO4EaoE");

  auto poll = parse_path("/socket.io/1/xhr-polling/i-piAbC?t=1795213573394");
  REQUIRE(poll);
  CHECK(poll->transport == "xhr-polling");
  CHECK(poll->sid == "i-piAbC");
  CHECK(poll->query == "t=1795213573394");
  CHECK(make_path(*poll) == "/socket.io/1/xhr-polling/i-piAbC?t=1795213573394");

  auto hs = parse_path("/socket.io/1/?t=1795213603356");
  REQUIRE(hs);
  CHECK(hs->is_handshake());
  CHECK(hs->query == "t=1795213603356");
  CHECK(make_path(*hs) == "/socket.io/1/?t=1795213603356");
  CHECK(parse_path("/socket.io/1")->is_handshake());
  CHECK(parse_path("/socket.io/1/websocket/abc/")->sid == "abc");

  auto v2 = parse_path("/socket.io/2/");
  REQUIRE(v2);
  CHECK(v2->protocol == 2u);  // the server refuses it: "Protocol version not supported."

  auto custom = parse_path("/rt/1/websocket/s1?x=1", "/rt");
  REQUIRE(custom);
  CHECK(custom->sid == "s1");
  CHECK(make_path(*custom, "/rt") == "/rt/1/websocket/s1?x=1");

  for (const char* bad :
       {"/other/1/", "/socket.io", "/socket.io/", "/socket.io?x=1", "/socket.io/socket.io.js",
        "/socket.io/1//abc", "/socket.io/1/a/b/c", "/socket.io/x/websocket/abc", "/socket.io//1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_path(bad));
  }
}
