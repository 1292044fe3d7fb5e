// Engine.IO single packets, WebSocket messages, the open packet and the URL query, checked
// against the bytes of PROTOCOLS.md §1.
#include "protocol/engineio.h"

#include <doctest/doctest.h>

#include <string>

using namespace wa;
using namespace wa::eio;
using namespace std::string_literals;

namespace {

const std::string kEmoji = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // é€😀: 9 bytes, 4 units
const std::string kNodeV4Open =
    R"({"sid":"FaQlkxn7_bPvpM-GAAAA","upgrades":["websocket"],"pingInterval":25000,)"
    R"("pingTimeout":20000,"maxPayload":1000000})";
const std::string kNodeV3Open =
    R"({"sid":"-fARYxmUEb9JzHxDAAAA","upgrades":["websocket"],"pingInterval":25000,)"
    R"("pingTimeout":20000})";

Packet pk(PacketType type, std::string data = {}) {
  return Packet{type, std::move(data), false};
}
Packet bin(std::string data, PacketType type = PacketType::message) {
  return Packet{type, std::move(data), true};
}

}  // namespace

TEST_CASE("every packet type decodes from its text form in both versions") {
  for (Version v : {Version::v3, Version::v4}) {
    CAPTURE(static_cast<int>(v));
    auto open = decode_packet(v, "0" + kNodeV4Open);
    REQUIRE(open.ok());
    CHECK(*open == pk(PacketType::open, kNodeV4Open));
    CHECK(*decode_packet(v, "1") == pk(PacketType::close));
    CHECK(*decode_packet(v, "2") == pk(PacketType::ping));
    CHECK(*decode_packet(v, "3") == pk(PacketType::pong));
    CHECK(*decode_packet(v, "2probe") == pk(PacketType::ping, "probe"));
    CHECK(*decode_packet(v, "3probe") == pk(PacketType::pong, "probe"));
    CHECK(*decode_packet(v, R"(42["chat",{"text":"hello 1"}])") ==
          pk(PacketType::message, R"(2["chat",{"text":"hello 1"}])"));
    CHECK(*decode_packet(v, "5") == pk(PacketType::upgrade));
    CHECK(*decode_packet(v, "6") == pk(PacketType::noop));
    CHECK(*decode_packet(v, "430[\"" + kEmoji + "\"]") ==
          pk(PacketType::message, "30[\"" + kEmoji + "\"]"));
  }
}

TEST_CASE("probe packets are recognised by type and data") {
  CHECK(is_probe(pk(PacketType::ping, "probe")));
  CHECK(is_probe(pk(PacketType::pong, "probe")));
  CHECK_FALSE(is_probe(pk(PacketType::ping)));
  CHECK_FALSE(is_probe(pk(PacketType::message, "probe")));
  CHECK_FALSE(is_probe(bin("probe", PacketType::ping)));
  CHECK(std::string(packet_type_name(PacketType::upgrade)) == "upgrade");
}

TEST_CASE("base64 binary packets: v4 b<base64> has no type, v3 b4<base64> has one") {
  auto v4 = decode_packet(Version::v4, "bAQID/w==");
  REQUIRE(v4.ok());
  CHECK(*v4 == bin("\x01\x02\x03\xff"));
  auto v3 = decode_packet(Version::v3, "b4AQID/w==");
  REQUIRE(v3.ok());
  CHECK(*v3 == bin("\x01\x02\x03\xff"));
  CHECK(*decode_packet(Version::v3, "b4QUI=") == bin("AB"));
  CHECK(*decode_packet(Version::v4, "b") == bin(""));

  // v3 needs the type digit: `AQID/w==` read as v3 has 'A' where the type goes.
  auto no_type = decode_packet(Version::v3, "bAQID/w==");
  REQUIRE_FALSE(no_type.ok());
  CHECK(no_type.error().code == Errc::eio_malformed);
  // v4 reads a type digit as base64 data: `b4AQID/w==` is 9 base64 characters, impossible.
  CHECK_FALSE(decode_packet(Version::v4, "b4AQID/w==").ok());
  CHECK_FALSE(decode_packet(Version::v4, "bAQ!D").ok());
  CHECK_FALSE(decode_packet(Version::v3, "b").ok());
}

TEST_CASE("malformed text packets fail with eio_malformed and a reason") {
  for (Version v : {Version::v3, Version::v4}) {
    for (const std::string& bad : {""s, "7"s, "x"s, "-1"s, "\xff"s, "4\xff"s, "4\xc3"s, " 4"s}) {
      CAPTURE(bad);
      auto r = decode_packet(v, bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == Errc::eio_malformed);
      CHECK_FALSE(r.error().why.empty());
      CHECK(r.error().why.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("packets over the limits fail with Errc::limit") {
  Limits small;
  small.max_packet = 4;
  CHECK(decode_packet(Version::v4, "41234", small).ok());
  auto big = decode_packet(Version::v4, "412345", small);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code == Errc::limit);
  auto big_b64 = decode_packet(Version::v4, "bAQIDBAU=", small);  // 5 bytes
  REQUIRE_FALSE(big_b64.ok());
  CHECK(big_b64.error().code == Errc::limit);
  small.max_payload = 3;
  CHECK(decode_packet(Version::v3, "4abc", small).error().code == Errc::limit);
}

TEST_CASE("text packets encode to the wire form") {
  CHECK(*encode_packet(Version::v4, pk(PacketType::ping, "probe")) == "2probe");
  CHECK(*encode_packet(Version::v3, pk(PacketType::noop)) == "6");
  CHECK(*encode_packet(Version::v4, pk(PacketType::message, "0")) == "40");
  CHECK(*encode_packet(Version::v4, bin("\x01\x02\x03\xff")) == "bAQID/w==");
  CHECK(*encode_packet(Version::v3, bin("\x01\x02\x03\xff")) == "b4AQID/w==");
  CHECK(*encode_packet(Version::v3, bin("AB")) == "b4QUI=");
  // v4 has no way to say "binary ping"; text must be UTF-8.
  CHECK(encode_packet(Version::v4, bin("x", PacketType::ping)).error().code == Errc::eio_malformed);
  CHECK_FALSE(encode_packet(Version::v3, pk(PacketType::message, "\xff")).ok());
  CHECK_FALSE(encode_packet(Version::v3, pk(static_cast<PacketType>(7))).ok());
  CHECK_FALSE(encode_ws_message(Version::v3, bin("", static_cast<PacketType>(9))).ok());
}

TEST_CASE("text packets round-trip through encode and decode") {
  const Packet samples[] = {
      pk(PacketType::open, kNodeV3Open),
      pk(PacketType::close),
      pk(PacketType::ping),
      pk(PacketType::pong, "probe"),
      pk(PacketType::upgrade),
      pk(PacketType::noop),
      pk(PacketType::message, "2[\"x\",\"" + kEmoji + "\"]"),
      bin(""),
      bin("\x00\xff\x10"s),
  };
  for (Version v : {Version::v3, Version::v4}) {
    for (const auto& p : samples) {
      auto wire = encode_packet(v, p);
      REQUIRE(wire.ok());
      auto back = decode_packet(v, *wire);
      REQUIRE(back.ok());
      CHECK(*back == p);
    }
  }
}

TEST_CASE("WebSocket messages: one packet each, binary spelled per version") {
  // PROTOCOLS.md §1 WebSocket framing: v4 raw attachment bytes, v3 the type byte 04 first.
  auto v4 = decode_ws_message(Version::v4, "\x01\x02\x03\xff", true);
  REQUIRE(v4.ok());
  CHECK(*v4 == bin("\x01\x02\x03\xff"));
  auto v3 = decode_ws_message(Version::v3, "\x04\x01\x02\x03\xff", true);
  REQUIRE(v3.ok());
  CHECK(*v3 == bin("\x01\x02\x03\xff"));
  CHECK(*decode_ws_message(Version::v3, "\x04\x09\x08\x07", true) == bin("\x09\x08\x07"));
  CHECK(*decode_ws_message(Version::v4, "", true) == bin(""));

  CHECK(*encode_ws_message(Version::v4, bin("\x01\x02\x03\xff")) ==
        WsMessage{"\x01\x02\x03\xff", true});
  CHECK(*encode_ws_message(Version::v3, bin("\x01\x02\x03\xff")) ==
        WsMessage{"\x04\x01\x02\x03\xff", true});
  CHECK(*encode_ws_message(Version::v4, pk(PacketType::ping, "probe")) ==
        WsMessage{"2probe", false});

  CHECK(decode_ws_message(Version::v3, "", true).error().code == Errc::eio_malformed);
  CHECK(decode_ws_message(Version::v3, "\x07\x01", true).error().code == Errc::eio_malformed);
  CHECK(decode_ws_message(Version::v3, "4", true).error().code == Errc::eio_malformed);
  CHECK(encode_ws_message(Version::v4, bin("x", PacketType::pong)).error().code ==
        Errc::eio_malformed);
  Limits small;
  small.max_packet = 2;
  CHECK(decode_ws_message(Version::v4, "abcd", true, small).error().code == Errc::limit);
}

TEST_CASE("the captured v4 WebSocket upgrade exchange decodes frame by frame") {
  // Chromium against socket.io 4 after the polling handshake.
  const char* frames[] = {"2probe",
                          "3probe",
                          "5",
                          R"(420["chat",{"text":"hello 1"}])",
                          R"(42["chat",{"from":"alice","text":"hello 1"}])",
                          R"(430[{"ok":true,"id":1}])"};
  const PacketType types[] = {PacketType::ping,    PacketType::pong,    PacketType::upgrade,
                              PacketType::message, PacketType::message, PacketType::message};
  for (int i = 0; i < 6; ++i) {
    auto p = decode_ws_message(Version::v4, frames[i], false);
    REQUIRE(p.ok());
    CHECK(p->type == types[i]);
    auto back = encode_ws_message(Version::v4, *p);
    REQUIRE(back.ok());
    CHECK(back->payload == frames[i]);
    CHECK_FALSE(back->binary);
  }
  // socket.io 2 (v3): a binary event and its attachment, then the binary ack.
  auto header =
      decode_ws_message(Version::v3, R"(451-1["bin",{"_placeholder":true,"num":0}])", false);
  REQUIRE(header.ok());
  CHECK(header->data == R"(51-1["bin",{"_placeholder":true,"num":0}])");
  CHECK(*decode_ws_message(Version::v3, "\x04\x01\x02\x03\xff", true) == bin("\x01\x02\x03\xff"));
}

TEST_CASE("open packets parse by key: Node v4, Node v3 and python") {
  auto v4 = parse_handshake(kNodeV4Open);
  REQUIRE(v4.ok());
  CHECK(v4->sid == "FaQlkxn7_bPvpM-GAAAA");
  CHECK(v4->upgrades == std::vector<std::string>{"websocket"});
  CHECK(v4->ping_interval_ms == 25000);
  CHECK(v4->ping_timeout_ms == 20000);
  CHECK(v4->max_payload == 1000000u);
  CHECK(v4->extra.empty());
  CHECK(encode_handshake(*v4) == kNodeV4Open);

  auto v3 = parse_handshake(kNodeV3Open);
  REQUIRE(v3.ok());
  CHECK_FALSE(v3->max_payload.has_value());
  CHECK(encode_handshake(*v3) == kNodeV3Open);

  // python-engineio: pingTimeout before pingInterval, no maxPayload.
  auto py = parse_handshake(
      R"({"sid":"2xAuJ0bXbS6cPnEyAAAA","upgrades":["websocket"],"pingTimeout":20000,"pingInterval":25000})");
  REQUIRE(py.ok());
  CHECK(py->sid == "2xAuJ0bXbS6cPnEyAAAA");
  CHECK(py->ping_interval_ms == 25000);
  CHECK(py->ping_timeout_ms == 20000);
  CHECK_FALSE(py->max_payload.has_value());

  // A WebSocket-only client gets no upgrades; key order does not matter.
  auto ws = parse_handshake(R"({"pingTimeout":5,"upgrades":[],"pingInterval":7,"sid":"x"})");
  REQUIRE(ws.ok());
  CHECK(ws->upgrades.empty());
  CHECK(ws->ping_interval_ms == 7);
  CHECK(encode_handshake(*ws) == R"({"sid":"x","upgrades":[],"pingInterval":7,"pingTimeout":5})");
}

TEST_CASE("open packets keep unknown keys in wire order") {
  const std::string json = R"({"sid":"a","extra1":{"y":[1,")" + kEmoji +
                           R"("]},"upgrades":[],"pingInterval":1,"pingTimeout":2,"z":null})";
  auto h = parse_handshake(json);
  REQUIRE(h.ok());
  REQUIRE(h->extra.size() == 2);
  CHECK(h->extra[0].first == "extra1");
  CHECK(h->extra[0].second == R"({"y":[1,")" + kEmoji + R"("]})");
  CHECK(h->extra[1] == std::pair<std::string, std::string>{"z", "null"});
  auto again = parse_handshake(encode_handshake(*h));
  REQUIRE(again.ok());
  CHECK(*again == *h);
}

TEST_CASE("bad open packets fail with eio_malformed") {
  const std::string bad[] = {
      "",
      "{",
      "[]",
      R"("sid")",
      R"({"upgrades":[],"pingInterval":1,"pingTimeout":2})",
      R"({"sid":1,"upgrades":[],"pingInterval":1,"pingTimeout":2})",
      R"({"sid":"a","upgrades":"websocket","pingInterval":1,"pingTimeout":2})",
      R"({"sid":"a","upgrades":[1],"pingInterval":1,"pingTimeout":2})",
      R"({"sid":"a","upgrades":[],"pingInterval":-1,"pingTimeout":2})",
      R"({"sid":"a","upgrades":[],"pingInterval":1.5,"pingTimeout":2})",
      R"({"sid":"a","upgrades":[],"pingInterval":1})",
      R"({"sid":"a","upgrades":[],"pingTimeout":1})",
      R"({"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":"x"})",
      "{\"sid\":\"\xff\",\"pingInterval\":1,\"pingTimeout\":2}",
      R"({"sid":"a","pingInterval":1,"pingTimeout":2} x)",
      std::string(100, '[') + std::string(100, ']'),
  };
  for (const auto& json : bad) {
    CAPTURE(json);
    auto r = parse_handshake(json);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::eio_malformed);
  }
  CHECK(parse_handshake(std::string(70000, ' ')).error().code == Errc::limit);
}

TEST_CASE("the request query gives version, transport, sid, b64 and the JSONP index") {
  auto handshake = parse_query("/socket.io/?EIO=4&transport=polling&t=jpn9g8bk");
  CHECK(handshake.version == Version::v4);
  CHECK(handshake.transport == Transport::polling);
  CHECK(handshake.sid.empty());
  CHECK_FALSE(handshake.b64);
  CHECK_FALSE(handshake.jsonp.has_value());

  // User parameters come first (PROTOCOLS.md §1).
  auto v3 = parse_query("?token=abc&EIO=3&transport=polling&t=Q7x3vuz&b64=1");
  CHECK(v3.version == Version::v3);
  CHECK(v3.b64);

  auto ws = parse_query(
      "http://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket&sid=FaQlkxn7_bPvpM-GAAAA#x");
  CHECK(ws.transport == Transport::websocket);
  CHECK(ws.sid == "FaQlkxn7_bPvpM-GAAAA");

  auto jsonp = parse_query("EIO=3&transport=polling&j=0&t=x");
  CHECK(jsonp.jsonp == 0u);
  CHECK(parse_query("j=12").jsonp == 12u);
  CHECK_FALSE(parse_query("j=x").jsonp.has_value());

  CHECK_FALSE(parse_query("EIO=5").version.has_value());
  CHECK_FALSE(parse_query("q=1").version.has_value());
  CHECK_FALSE(parse_query("transport=flashsocket").transport.has_value());
  CHECK_FALSE(parse_query("b64=").b64);
  CHECK(parse_query("b64=true").b64);
  CHECK(parse_query("sid=a%2Db%zz%4").sid == "a-b%zz%4");
  CHECK(parse_query("sid=user&EIO=4&sid=engine").sid == "engine");
  CHECK(parse_query("/socket.io/") == Query{});
  CHECK(parse_query("http://host/socket.io/") == Query{});
  CHECK(parse_query("") == Query{});
  CHECK(parse_query("&&=&EIO&sid").sid.empty());
  CHECK(std::string(transport_name(Transport::websocket)) == "websocket");
}
