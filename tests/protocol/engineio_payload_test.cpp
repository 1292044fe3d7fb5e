// Engine.IO polling payloads: every body of PROTOCOLS.md §1 as exact bytes, the UTF-16 length
// traps, the three binary spellings, round trips, and every truncation of every body.
#include "protocol/engineio_payload.h"

#include "protocol/text.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wa;
using namespace wa::eio;
using namespace std::string_literals;

namespace {

const std::string kEmoji = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";  // é€😀: 9 bytes, 4 units
const std::string kV3Open =
    R"(0{"sid":"-fARYxmUEb9JzHxDAAAA","upgrades":["websocket"],"pingInterval":25000,)"
    R"("pingTimeout":20000})";
const std::string kV3OpenBody = "97:" + kV3Open + "2:40";
const std::string kSrvBin = "451-[\"srvbin\",\"" + kEmoji + "\",{\"_placeholder\":true,\"num\":0}]";
// The captured v3 binary-payload GET: a 56-byte string packet, then a 4-byte binary packet.
const std::string kV3BinaryGet = "\x00\x05\x06\xff"s + kSrvBin + "\x01\x04\xff\x04\x01\x02\x03"s;

Packet pk(PacketType type, std::string data = {}) {
  return Packet{type, std::move(data), false};
}
Packet msg(std::string data) {
  return pk(PacketType::message, std::move(data));
}
Packet bin(std::string data) {
  return Packet{PacketType::message, std::move(data), true};
}

std::vector<Packet> decoded(Version v, std::string_view body, std::string_view type = {}) {
  auto r = decode_payload(v, body, type);
  if (!r.ok()) FAIL_CHECK(r.error().why);
  return r.ok() ? *r : std::vector<Packet>{};
}

Failure failure(Version v, std::string_view body, const Limits& limits = {}) {
  auto r = decode_payload(v, body, {}, limits);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.error().why.empty());
  return r.error();
}

}  // namespace

TEST_CASE("v4 text payloads: \\x1e-joined packets from the captured exchanges") {
  const std::string open =
      R"(0{"sid":"FaQlkxn7_bPvpM-GAAAA","upgrades":["websocket"],"pingInterval":25000,)"
      R"("pingTimeout":20000,"maxPayload":1000000})";
  CHECK(decoded(Version::v4, open) == std::vector{pk(PacketType::open, open.substr(1))});
  CHECK(decoded(Version::v4, "40") == std::vector{msg("0")});
  CHECK(decoded(Version::v4,
                "40{\"sid\":\"FjgbgTXBJmdue2-2AAAA\"}\x1e"
                "42[\"welcome\",{\"username\":\"alice\"}]") ==
        std::vector{msg(R"(0{"sid":"FjgbgTXBJmdue2-2AAAA"})"),
                    msg(R"(2["welcome",{"username":"alice"}])")});
  CHECK(decoded(Version::v4, "6") == std::vector{pk(PacketType::noop)});
  CHECK(decoded(Version::v4,
                "6\x1e"
                "1") == std::vector{pk(PacketType::noop), pk(PacketType::close)});
  // Heartbeat over polling: the server's GET carries 2, the client's POST 3.
  CHECK(decoded(Version::v4, "2") == std::vector{pk(PacketType::ping)});
  CHECK(decoded(Version::v4, "3") == std::vector{pk(PacketType::pong)});
  // Binary attachments in a later poll than their header.
  CHECK(decoded(Version::v4, "bAQID/w==") == std::vector{bin("\x01\x02\x03\xff")});
  CHECK(decoded(Version::v4,
                "bAQID\x1e"
                "bQUI=") == std::vector{bin("\x01\x02\x03"), bin("AB")});
}

TEST_CASE("an empty body is zero packets in every version and format") {
  for (Version v : {Version::v3, Version::v4}) {
    CHECK(decoded(v, "").empty());
    CHECK(decoded(v, "", "text/plain").empty());
  }
  CHECK(decoded(Version::v3, "", "application/octet-stream").empty());
  // engine.io 3 spells "no packets" `0:` and skips zero-length entries.
  CHECK(decoded(Version::v3, "0:").empty());
  CHECK(decoded(Version::v3, "0:1:60:") == std::vector{pk(PacketType::noop)});
}

TEST_CASE("v4 payload errors") {
  CHECK(failure(Version::v4,
                "4a\x1e\x1e"
                "4b")
            .code == Errc::eio_malformed);  // an empty packet between separators
  CHECK(failure(Version::v4, "4a\x1e").code == Errc::eio_malformed);
  CHECK(failure(Version::v4, "\x1e").code == Errc::eio_malformed);
  CHECK(failure(Version::v4, "9").code == Errc::eio_malformed);
  CHECK(failure(Version::v4, "b!!!!").code == Errc::eio_malformed);
  // v3 framing is not v4 framing (though `1:6` would read as a close packet with data).
  CHECK(failure(Version::v4, "97:0{}").code == Errc::eio_malformed);
  CHECK(decode_payload_as(Version::v4, PayloadFormat::binary,
                          "\x00\x01\xff"
                          "6"s)
            .error()
            .code == Errc::eio_malformed);
}

TEST_CASE("v3 text payloads: the captured bodies") {
  // The open packet and the server's unasked `40` in one body (socket.io 2 + Chromium).
  REQUIRE(kV3Open.size() == 97);
  CHECK(decoded(Version::v3, kV3OpenBody) ==
        std::vector{pk(PacketType::open, kV3Open.substr(1)), msg("0")});
  CHECK(decoded(Version::v3, R"(34:42["welcome",{"username":"alice"}])") ==
        std::vector{msg(R"(2["welcome",{"username":"alice"}])")});
  // Heartbeat (the v3 client pings), close and kick.
  CHECK(decoded(Version::v3, "1:2") == std::vector{pk(PacketType::ping)});
  CHECK(decoded(Version::v3, "1:3") == std::vector{pk(PacketType::pong)});
  CHECK(decoded(Version::v3, "1:6") == std::vector{pk(PacketType::noop)});
  CHECK(decoded(Version::v3, "1:1") == std::vector{pk(PacketType::close)});
  CHECK(decoded(Version::v3, "2:41") == std::vector{msg("1")});
  // b64=1 clients: `b4<base64>` inside the length-prefixed framing.
  CHECK(decoded(Version::v3, "10:b4AQID/w==") == std::vector{bin("\x01\x02\x03\xff")});
  CHECK(decoded(Version::v3, "6:b4AQID6:b4QUI=") == std::vector{bin("\x01\x02\x03"), bin("AB")});
}

TEST_CASE("v3 text lengths count UTF-16 units, not bytes or code points") {
  const std::string ack = "430[\"" + kEmoji + "\"]";  // 11 units, 16 bytes, 10 code points
  REQUIRE(ack.size() == 16);
  CHECK(decoded(Version::v3, "11:" + ack) == std::vector{msg(ack.substr(1))});
  const std::string welcome =
      "42[\"welcome\",{\"nsp\":\"/\",\"text\":\"h\xc3\xa9llo \xe2\x82\xac\xf0\x9f\x98\x80\"}]";
  REQUIRE(welcome.size() == 49);
  CHECK(decoded(Version::v3, "44:" + welcome) == std::vector{msg(welcome.substr(1))});
  CHECK(decoded(Version::v3, "44:" + welcome + "11:" + ack) ==
        std::vector{msg(welcome.substr(1)), msg(ack.substr(1))});

  // PROTOCOLS.md §1: the POST `18:42["noack","é€😀"]` was accepted, `23:` (bytes) killed the
  // session. We take exactly <len> UTF-16 units as engine.io 3 does, so a byte count fails.
  const std::string noack = "42[\"noack\",\"" + kEmoji + "\"]";
  REQUIRE(noack.size() == 23);
  CHECK(decoded(Version::v3, "18:" + noack) == std::vector{msg(noack.substr(1))});
  CHECK(failure(Version::v3, "23:" + noack).code == Errc::eio_malformed);
  // Followed by more packets, a byte count mis-splits: 16 units swallow `2:402` and leave
  // `:40`, which has no length: the body fails as a whole instead of yielding wrong packets.
  CHECK(failure(Version::v3, "16:" + ack + "2:402:40").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "16:" + ack + "1:6").code == Errc::eio_malformed);
  // Code points (10) instead of units (11) cut the emoji's surrogate pair in two.
  CHECK(failure(Version::v3, "10:" + ack).code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "9:" + ack).code == Errc::eio_malformed);
}

TEST_CASE("v3 text payload errors and hostile lengths") {
  CHECK(failure(Version::v3, "4").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "1").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, ":6").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "1;6").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "1:7").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "2:6").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "1:6x").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "1:\xff").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "3:4\xc3\xa9").code == Errc::eio_malformed);  // 2 units, not 3
  // Lengths that could never fit are refused before anything is scanned or allocated.
  CHECK(failure(Version::v3, "999999999999:4").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, "18446744073709551615:4").code == Errc::eio_malformed);
  CHECK(failure(Version::v3, std::string(5000, '9') + ":4").code == Errc::eio_malformed);
}

TEST_CASE("v3 binary payloads: the captured GET and the Chromium POST") {
  REQUIRE(kSrvBin.size() == 56);
  REQUIRE(sniff_payload(kV3BinaryGet) == PayloadFormat::binary);
  CHECK(decoded(Version::v3, kV3BinaryGet, "application/octet-stream") ==
        std::vector{msg(kSrvBin.substr(1)), bin("\x01\x02\x03")});
  // The length bytes 05 count the type byte too; the trailing ff is data.
  const std::string post = "\x01\x05\xff\x04\x01\x02\x03\xff"s;
  CHECK(decoded(Version::v3, post) == std::vector{bin("\x01\x02\x03\xff")});
  // Two digits, and a string packet of exactly ten bytes.
  CHECK(decoded(Version::v3,
                "\x00\x01\x00\xff"
                "4123456789"s) == std::vector{msg("123456789")});
  // A binary packet may carry another type byte (engine.io 3 encodes any packet this way).
  CHECK(decoded(Version::v3, "\x01\x01\xff\x06"s) ==
        std::vector{Packet{PacketType::noop, "", true}});
}

TEST_CASE("v3 binary payload errors and hostile lengths") {
  const std::string bad[] = {
      "\x02\x01\xff"
      "6"s,  // kind 02
      "\x00\xff"
      "6"s,         // no digits
      "\x00\x01"s,  // no ff
      "\x00\x0a\xff"
      "6"s,  // digit 10
      "\x00\x02\xff"
      "6"s,  // overruns
      "\x00\x01\xff"
      "7"s,                 // bad type
      "\x01\x00\xff"s,      // binary packet without a type byte
      "\x01\x01\xff\x07"s,  // binary type 7
      "\x00\x01\xff\xff"s,  // not UTF-8
      "\x00\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\xff"
      "4"s,  // 10 GB claimed
      "\x00"s + std::string(40, '\x09') +
          "\xff"
          "4"s,  // more digits than any length needs
  };
  for (const auto& body : bad) {
    CAPTURE(wa::text::hex(body));
    auto r = decode_payload_as(Version::v3, PayloadFormat::binary, body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::eio_malformed);
  }
}

TEST_CASE("sniffing: the first byte decides, then the Content-Type") {
  CHECK(sniff_payload("1:6") == PayloadFormat::text);
  CHECK(sniff_payload("6\x1e"
                      "1") == PayloadFormat::text);
  CHECK(sniff_payload("bAQID") == PayloadFormat::text);
  CHECK(sniff_payload("\x00\x01\xff"
                      "6"s) == PayloadFormat::binary);
  CHECK(sniff_payload("\x01\x05\xff\x04") == PayloadFormat::binary);
  CHECK(sniff_payload("___eio[0](\"1:6\");") == PayloadFormat::jsonp);
  // Bytes win over a wrong hint; the hint decides what bytes cannot.
  CHECK(sniff_payload("1:6", "application/octet-stream") == PayloadFormat::text);
  CHECK(sniff_payload("", "application/octet-stream") == PayloadFormat::binary);
  CHECK(sniff_payload("?", "Application/Octet-Stream; x=y") == PayloadFormat::binary);
  CHECK(sniff_payload("?", "text/javascript; charset=UTF-8") == PayloadFormat::jsonp);
  CHECK(sniff_payload("?", "text/plain; charset=UTF-8") == PayloadFormat::text);
  CHECK(sniff_payload("?") == PayloadFormat::text);
  CHECK(std::string(payload_format_name(PayloadFormat::jsonp)) == "jsonp");
  CHECK(std::string(payload_content_type(PayloadFormat::binary)) == "application/octet-stream");
}

TEST_CASE("JSONP payloads decode the JavaScript string literal") {
  // engine.io 3: ___eio[N]("<JSON.stringify of the text payload>"); (obs once, `j=0`).
  const std::string body = R"(___eio[0]("97:0{\"sid\":\"-fARYxmUEb9JzHxDAAAA\",)"
                           R"(\"upgrades\":[\"websocket\"],\"pingInterval\":25000,)"
                           R"(\"pingTimeout\":20000}2:40");)";
  CHECK(sniff_payload(body) == PayloadFormat::jsonp);
  CHECK(decoded(Version::v3, body) ==
        std::vector{pk(PacketType::open, kV3Open.substr(1)), msg("0")});
  // Escapes: \u surrogate pairs, \u2028, \n, \\ and raw UTF-8; lengths still in UTF-16 units.
  CHECK(decoded(Version::v3, R"(___eio[12]("6:4\ud83d\ude00\u2028\\\n");)"
                             "\n") == std::vector{msg("\xf0\x9f\x98\x80\xe2\x80\xa8\\\n")});
  CHECK(decoded(Version::v3, "___eio[1](\"5:4" + kEmoji + "\");") == std::vector{msg(kEmoji)});
  // engine.io 3 keeps only the digits of `j`: a missing index gives `___eio[](`.
  CHECK(decoded(Version::v3, R"(___eio[]("1:6");)") == std::vector{pk(PacketType::noop)});
  CHECK(decoded(Version::v4, R"(___eio[3]("40\u001e42[]");)") == std::vector{msg("0"), msg("2[]")});
  const char* bad[] = {
      "___eio[0](1:6);",           "___eio[x](\"1:6\");",
      "___eio[0](\"1:6\")",        "___eio[0](\"1:6);",
      "___eio[0](\"1:6\");x",      "___eio[0](\"1:\\q\");",
      "___eio[0](\"1:\\ud83d\");", "___eio[0](\"1:\\ude00\");",
      "___eio[0](\"1:\\u12\");",   "___eio[0](\"1:\\x4\");",
      "___eio[0](\"1:\n6\");",     "__eio[0](\"1:6\");",
      "___eio[0](\"1:7\");",       "___eio[0](\"\\",
  };
  for (const char* body_text : bad) {
    CAPTURE(body_text);
    auto r = decode_payload_as(Version::v3, PayloadFormat::jsonp, body_text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::eio_malformed);
  }
}

TEST_CASE("payloads encode to the captured bytes") {
  CHECK(*encode_payload(Version::v3, std::vector{pk(PacketType::open, kV3Open.substr(1)),
                                                 msg("0")}) == kV3OpenBody);
  CHECK(*encode_payload(Version::v3, std::vector{msg("30[\"" + kEmoji + "\"]")}) ==
        "11:430[\"" + kEmoji + "\"]");
  CHECK(*encode_payload(Version::v3, std::vector{bin("\x01\x02\x03\xff")}) == "10:b4AQID/w==");
  CHECK(*encode_payload(Version::v3, std::vector{bin("\x01\x02\x03"), bin("AB")}) ==
        "6:b4AQID6:b4QUI=");
  CHECK(*encode_payload(Version::v3, std::vector{msg(kSrvBin.substr(1)), bin("\x01\x02\x03")},
                        PayloadFormat::binary) == kV3BinaryGet);
  CHECK(*encode_payload(Version::v3, std::vector{bin("\x01\x02\x03\xff")}, PayloadFormat::binary) ==
        "\x01\x05\xff\x04\x01\x02\x03\xff"s);
  CHECK(*encode_payload(Version::v4, std::vector{pk(PacketType::noop), pk(PacketType::close)}) ==
        "6\x1e"
        "1");
  CHECK(*encode_payload(Version::v4, std::vector{bin("\x01\x02\x03"), bin("AB")}) ==
        "bAQID\x1e"
        "bQUI=");
  CHECK(*encode_payload(Version::v3, std::vector<Packet>{}) == "0:");
  CHECK(*encode_payload(Version::v4, std::vector<Packet>{}) == "");
  CHECK(*encode_payload(Version::v3, std::vector{pk(PacketType::noop)}, PayloadFormat::jsonp, 4) ==
        R"(___eio[4]("1:6");)");
  CHECK(*encode_payload(Version::v3, std::vector{msg("\"\\\n\x01\xe2\x80\xa8")},
                        PayloadFormat::jsonp) == R"(___eio[0]("6:4\"\\\n\u0001\u2028");)");
}

TEST_CASE("payload encoding refuses what the wire cannot carry") {
  CHECK(encode_payload(Version::v4, std::vector{msg("a\x1e"
                                                    "b")})
            .error()
            .code == Errc::eio_malformed);
  CHECK(encode_payload(Version::v4, std::vector{msg("a")}, PayloadFormat::binary).error().code ==
        Errc::eio_malformed);
  CHECK_FALSE(encode_payload(Version::v3, std::vector{msg("\xff")}).ok());
  CHECK_FALSE(encode_payload(Version::v3, std::vector{msg("\xff")}, PayloadFormat::binary).ok());
}

TEST_CASE("response format: v3 sends binary payloads only to binary-capable clients") {
  const std::vector<Packet> with_binary{msg("51-[]"), bin("x")};
  const std::vector<Packet> text_only{msg("2[]")};
  CHECK(response_format(Version::v3, with_binary, true) == PayloadFormat::binary);
  CHECK(response_format(Version::v3, with_binary, false) == PayloadFormat::text);
  CHECK(response_format(Version::v3, text_only, true) == PayloadFormat::text);
  CHECK(response_format(Version::v4, with_binary, true) == PayloadFormat::text);
}

TEST_CASE("round trips in both versions and all three binary spellings") {
  const std::vector<Packet> packets{
      pk(PacketType::open, R"({"sid":"x","upgrades":[],"pingInterval":1,"pingTimeout":2})"),
      msg("0"),
      msg("2[\"chat\",\"" + kEmoji + "\"]"),
      bin("\x01\x02\x03\xff"),
      bin(""),
      bin(std::string(300, '\x00')),
      msg(std::string(1234, 'x')),
      pk(PacketType::ping, "probe"),
      pk(PacketType::noop),
  };
  struct Case {
    Version version;
    PayloadFormat format;
  };
  for (Case c : {Case{Version::v4, PayloadFormat::text}, Case{Version::v4, PayloadFormat::jsonp},
                 Case{Version::v3, PayloadFormat::text}, Case{Version::v3, PayloadFormat::binary},
                 Case{Version::v3, PayloadFormat::jsonp}}) {
    CAPTURE(payload_format_name(c.format));
    CAPTURE(static_cast<int>(c.version));
    auto body = encode_payload(c.version, packets, c.format, 7);
    REQUIRE(body.ok());
    CHECK(sniff_payload(*body) == c.format);
    auto back = decode_payload(c.version, *body);
    REQUIRE(back.ok());
    CHECK(*back == packets);
  }
}

TEST_CASE("every truncation of every captured body fails cleanly or yields a packet prefix") {
  struct Body {
    Version version;
    std::string bytes;
  };
  const Body bodies[] = {
      {Version::v3, kV3OpenBody},
      {Version::v3, "11:430[\"" + kEmoji + "\"]1:6"},
      {Version::v3, "6:b4AQID6:b4QUI="},
      {Version::v3, kV3BinaryGet},
      {Version::v3, "\x01\x05\xff\x04\x01\x02\x03\xff"s},
      {Version::v3, R"(___eio[0]("2:401:6");)"},
      {Version::v4,
       "40{\"sid\":\"FjgbgTXBJmdue2-2AAAA\"}\x1e"
       "42[\"welcome\",{\"username\":\"alice\"}]"},
      {Version::v4,
       "bAQID\x1e"
       "bQUI=\x1e"
       "6"},
      {Version::v4,
       "6\x1e"
       "1"},
  };
  for (const auto& body : bodies) {
    auto whole = decode_payload(body.version, body.bytes);
    REQUIRE(whole.ok());
    for (size_t n = 0; n < body.bytes.size(); ++n) {
      std::string prefix = body.bytes.substr(0, n);  // its own allocation: ASan sees overreads
      CAPTURE(n);
      auto r = decode_payload(body.version, prefix);
      if (!r.ok()) {
        CHECK((r.error().code == Errc::eio_malformed));
        CHECK_FALSE(r.error().why.empty());
        continue;
      }
      // A prefix that decodes is whole packets (v3 lengths, binary framing) or, in v4, whole
      // packets then a shorter last one (v4 text has no lengths to notice the cut).
      REQUIRE(r->size() <= whole->size());
      size_t exact = body.version == Version::v4 && !r->empty() ? r->size() - 1 : r->size();
      for (size_t i = 0; i < exact; ++i)
        CHECK((*r)[i] == (*whole)[i]);
    }
  }
}

TEST_CASE("payload limits: size and packet count") {
  Limits limits;
  limits.max_packets = 2;
  CHECK(decode_payload(Version::v3, "1:61:6", {}, limits).ok());
  CHECK(failure(Version::v3, "1:61:61:6", limits).code == Errc::limit);
  CHECK(failure(Version::v4,
                "6\x1e"
                "6\x1e"
                "6",
                limits)
            .code == Errc::limit);
  CHECK(failure(Version::v3,
                "\x00\x01\xff"
                "6\x00\x01\xff"
                "6\x00\x01\xff"
                "6"s,
                limits)
            .code == Errc::limit);
  limits = Limits{};
  limits.max_payload = 4;
  CHECK(decode_payload(Version::v3, "1:6", {}, limits).ok());
  CHECK(failure(Version::v3, "1:61:6", limits).code == Errc::limit);
  limits = Limits{};
  limits.max_packet = 3;
  CHECK(failure(Version::v3, "5:41234", limits).code == Errc::limit);
  CHECK(failure(Version::v4, "bAQIDBA==", limits).code == Errc::limit);
  CHECK(failure(Version::v3, "\x01\x05\xff\x04\x01\x02\x03\xff"s, limits).code == Errc::limit);
}
