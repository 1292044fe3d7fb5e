#include "protocol/socketio.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wa::sio;
using wa::Errc;

namespace {

const std::string kNonAscii = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";    // "é€😀"
const std::string kHello = "h\xc3\xa9llo \xe2\x82\xac\xf0\x9f\x98\x80";  // "héllo €😀"

Packet dec(std::string_view text, int version = 5) {
  auto p = decode(text, version);
  INFO(text);
  if (!p.ok()) INFO(p.error().why);
  REQUIRE(p.ok());
  return *p;
}

std::string enc(const Packet& p) {
  auto e = encode(p);
  if (!e.ok()) INFO(e.error().why);
  REQUIRE(e.ok());
  return e->text;
}

Errc dec_error(std::string_view text, int version = 5) {
  auto p = decode(text, version);
  INFO(text);
  REQUIRE_FALSE(p.ok());
  CHECK_FALSE(p.error().why.empty());
  return p.error().code;
}

Json json(std::string_view text) {
  auto j = parse_json(text, Errc::sio_malformed);
  REQUIRE(j.ok());
  return *j;
}

}  // namespace

TEST_CASE("every PROTOCOLS.md §2 v5 packet decodes and encodes back to the same bytes") {
  const std::vector<std::string> packets = {
      "0",
      R"(0{"token":"abc"})",
      "0/admin,",
      R"(0/admin,{"token":"adm"})",
      R"(0{"sid":"FjgbgTXBJmdue2-2AAAA"})",
      R"(0/admin,{"sid":"FjgbgTXBJmdue2-2AAAA"})",
      R"(0/admin,{"sid":"Mpde","pid":"zBN9"})",
      "1/admin,",
      "1",
      R"(2["chat",{"text":"hello 1"}])",
      "20[\"echo\",\"" + kNonAscii + "\"]",
      R"(2/admin,0["echo","nsp"])",
      R"(2/admin,["welcome",{"text":"hi"},"Q7x4TGJ"])",
      R"(2["welcome",{"username":"alice"}])",
      R"(2["chat",{"from":"alice","text":"hello 1"}])",
      R"(20["question","q?"])",
      R"(21["question","q?"])",
      "30[\"" + kNonAscii + "\"]",
      R"(3/admin,0["nsp"])",
      "3/admin,1[]",
      R"(30[{"ok":true,"id":1}])",
      "30[{\"a\":\"\xc3\xbcn\xc3\xaf\"}]",
      R"(4{"message":"plain"})",
      R"(4/admin,{"message":"bad token","data":{"why":"token","n":1}})",
      R"(4{"message":"unauthorized"})",
      R"(4/nope,{"message":"Invalid namespace"})",
      R"(4{"message":"Connection rejected by server"})",
      R"(4/nope,"Unable to connect")",
  };
  for (const auto& text : packets) {
    CAPTURE(text);
    CHECK(enc(dec(text, 5)) == text);
  }
}

TEST_CASE("every PROTOCOLS.md §2 v4 packet decodes and encodes back to the same bytes") {
  const std::vector<std::string> packets = {
      "0",
      "0/admin?token=adm,",
      "0/admin,",
      "1/admin,",
      "1",
      R"(2["welcome",{"username":"alice"}])",
      R"(2/admin,0["echo","nsp"])",
      R"(3/admin,0["nsp"])",
      R"(4"plain")",
      R"(4/admin,{"why":"token","n":1})",
      R"(4/nope,"Invalid namespace")",
  };
  for (const auto& text : packets) {
    CAPTURE(text);
    CHECK(enc(dec(text, 4)) == text);
  }
}

TEST_CASE("fields of the v5 examples: namespace, ack id, payload") {
  Packet connect = dec("0");
  CHECK(connect.type == PacketType::connect);
  CHECK(connect.nsp == "/");
  CHECK_FALSE(connect.id);
  CHECK_FALSE(connect.data);

  Packet admin = dec("0/admin,");  // the comma stays even with nothing after it
  CHECK(admin.nsp == "/admin");
  CHECK_FALSE(admin.data);
  CHECK(enc(make_connect("/admin")) == "0/admin,");
  CHECK(enc(make_connect("/admin", json(R"({"token":"adm"})"))) == R"(0/admin,{"token":"adm"})");
  CHECK(enc(make_connect("/")) == "0");

  Packet echo = dec(R"(2/admin,0["echo","nsp"])");
  CHECK(echo.type == PacketType::event);
  CHECK(echo.nsp == "/admin");
  CHECK(echo.id == 0u);
  CHECK(event_name(echo) == "echo");
  CHECK(event_args(echo) == json(R"(["nsp"])"));

  Packet ack = dec("3/admin,1[]");
  CHECK(ack.type == PacketType::ack);
  CHECK(is_ack(ack));
  CHECK(ack.id == 1u);
  CHECK(event_args(ack) == Json::array());

  // The python server's own emits count from 1 (PROTOCOLS.md §2 gotcha 3).
  Packet question = dec(R"(21["question","q?"])");
  CHECK(question.id == 1u);
  CHECK(enc(make_event("/", "question", json(R"(["q?"])"), 1)) == R"(21["question","q?"])");
  CHECK(enc(make_ack("/", 0, json(R"([{"a":"x"}])"))) == R"(30[{"a":"x"}])");
  CHECK(enc(make_ack("/admin", 1, Json::array())) == "3/admin,1[]");
}

TEST_CASE("Flask's \\u-escaped event decodes equal to Node's raw UTF-8") {
  Packet flask = dec(R"(2["welcome",{"nsp":"/","text":"h\u00e9llo \u20ac\ud83d\ude00"}])");
  Packet node = dec("2[\"welcome\",{\"nsp\":\"/\",\"text\":\"" + kHello + "\"}]");
  CHECK(flask == node);
  CHECK(event_name(flask) == "welcome");
  CHECK(event_args(flask)[0]["text"] == kHello);
  // Re-encoded, both are written the way Node writes them.
  CHECK(enc(flask) == "2[\"welcome\",{\"nsp\":\"/\",\"text\":\"" + kHello + "\"}]");
}

TEST_CASE("Flask sends the connect-handler event before the CONNECT reply; both decode alone") {
  Decoder d(5);
  auto welcome = d.feed_text(R"(2["welcome",{"username":"alice"}])");
  auto reply = d.feed_text(R"(0{"sid":"kFGn6wovFaZ9p3nSAAAB"})");
  REQUIRE(welcome.ok());
  REQUIRE(reply.ok());
  REQUIRE(welcome->has_value());
  REQUIRE(reply->has_value());
  CHECK(event_name(**welcome) == "welcome");
  auto sid = connect_reply(**reply);
  REQUIRE(sid);
  CHECK(sid->sid == "kFGn6wovFaZ9p3nSAAAB");
  CHECK_FALSE(sid->pid);
}

TEST_CASE("connection state recovery: pid in the CONNECT reply, offset as the last argument") {
  auto reply = connect_reply(dec(R"(0/admin,{"sid":"Mpde","pid":"zBN9"})"));
  REQUIRE(reply);
  CHECK(reply->sid == "Mpde");
  CHECK(reply->pid == "zBN9");
  Packet welcome = dec(R"(2/admin,["welcome",{"user":"a"},"Q7x4TGJ"])");
  Json args = event_args(welcome);
  REQUIRE(args.size() == 2);
  CHECK(args.back() == "Q7x4TGJ");
  // v4 replies carry no sid (the socket id is "/admin#<engine sid>", never on the wire).
  CHECK_FALSE(connect_reply(dec("0/admin,", 4)));
  CHECK_FALSE(connect_reply(dec(R"(2["x"])")));
}

TEST_CASE("v4 namespace query rides in the CONNECT namespace and is kept apart") {
  Packet p = dec("0/admin?token=adm,", 4);
  CHECK(p.nsp == "/admin");
  REQUIRE(p.query);
  CHECK(*p.query == "token=adm");
  CHECK(enc(p) == "0/admin?token=adm,");
  Packet empty = dec("0/admin?,", 4);
  CHECK(empty.query == "");
  CHECK(enc(empty) == "0/admin?,");
  // v5 servers take the whole string as the namespace name.
  Packet v5 = dec("0/admin?token=adm,", 5);
  CHECK(v5.nsp == "/admin?token=adm");
  CHECK_FALSE(v5.query);
}

TEST_CASE("CONNECT_ERROR shapes from the PROTOCOLS.md §2 table") {
  struct Row {
    const char* text;
    int version;
    const char* nsp;
    const char* message;
    const char* data;  // JSON, or nullptr for none
  };
  const Row rows[] = {
      {R"(4{"message":"unauthorized"})", 5, "/", "unauthorized", nullptr},
      {R"(4/admin,{"message":"bad token","data":{"why":"token","n":1}})", 5, "/admin", "bad token",
       R"({"why":"token","n":1})"},
      {R"(4/nope,{"message":"Invalid namespace"})", 5, "/nope", "Invalid namespace", nullptr},
      {R"(4{"message":"Connection rejected by server"})", 5, "/", "Connection rejected by server",
       nullptr},
      {R"(4/nope,"Unable to connect")", 5, "/nope", "Unable to connect", nullptr},
      {R"(4"plain")", 4, "/", "plain", nullptr},
      {R"(4/admin,{"why":"token","n":1})", 4, "/admin", "", R"({"why":"token","n":1})"},
      {R"(4/nope,"Invalid namespace")", 4, "/nope", "Invalid namespace", nullptr},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    Packet p = dec(row.text, row.version);
    CHECK(p.type == PacketType::connect_error);
    CHECK(p.nsp == row.nsp);
    ConnectError e = connect_error(p, row.version);
    CHECK(e.message == row.message);
    if (row.data) {
      CHECK(e.data == json(row.data));
    } else {
      CHECK(e.data.is_null());
    }
    CHECK(enc(p) == row.text);
  }
  CHECK(std::string(type_name(PacketType::connect_error, 4)) == "ERROR");
  CHECK(std::string(type_name(PacketType::connect_error, 5)) == "CONNECT_ERROR");
  CHECK(std::string(type_name(PacketType::binary_ack, 5)) == "BINARY_ACK");
  CHECK(connect_error(dec("0"), 5).message.empty());
}

TEST_CASE("binary event with nested placeholders completes with attachments from a later message") {
  // socket.io 4 over WebSocket (PROTOCOLS.md §2): the header, then two binary messages; over
  // polling the same attachments came in the next GET (`bAQID\x1ebQUI=`).
  const std::string header =
      R"(52-["srvbin","x",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}])";
  Decoder d(5);
  auto first = d.feed_text(header);
  REQUIRE(first.ok());
  CHECK_FALSE(first->has_value());
  CHECK(d.awaiting());
  CHECK(d.attachments_missing() == 2);
  auto second = d.feed_binary(std::string("\x01\x02\x03", 3));
  REQUIRE(second.ok());
  CHECK_FALSE(second->has_value());
  CHECK(d.attachments_missing() == 1);
  auto third = d.feed_binary("AB");
  REQUIRE(third.ok());
  REQUIRE(third->has_value());
  CHECK_FALSE(d.awaiting());

  const Packet& p = **third;
  CHECK(p.type == PacketType::binary_event);
  CHECK(is_event(p));
  CHECK(event_name(p) == "srvbin");
  REQUIRE(p.attachments.size() == 2);
  CHECK(p.attachments[0] == std::string("\x01\x02\x03", 3));
  CHECK(p.attachments[1] == "AB");
  Json args = event_args(p);
  REQUIRE(args.size() == 3);
  CHECK(args[1] == placeholder(0));
  CHECK(args[2]["nested"] == placeholder(1));
  CHECK(count_placeholders(*p.data) == 2);

  auto again = encode(p);
  REQUIRE(again.ok());
  CHECK(again->text == header);
  CHECK(again->attachments == p.attachments);

  // The traffic that followed on the same socket decodes normally.
  auto question = d.feed_text(R"(20["question","q?"])");
  REQUIRE(question.ok());
  REQUIRE(question->has_value());
  CHECK((*question)->id == 0u);
}

TEST_CASE("binary packets from the §2 table, v5 and v4") {
  struct Row {
    const char* text;
    int version;
    PacketType type;
    const char* nsp;
    std::optional<uint64_t> id;
  };
  const Row rows[] = {
      {R"(51-1["bin",{"_placeholder":true,"num":0}])", 5, PacketType::binary_event, "/", 1},
      {R"(51-/admin,0["bin",{"_placeholder":true,"num":0}])", 5, PacketType::binary_event, "/admin",
       0},
      {R"(61-1[{"_placeholder":true,"num":0}])", 5, PacketType::binary_ack, "/", 1},
      {R"(61-0[{"_placeholder":true,"num":0},"x"])", 5, PacketType::binary_ack, "/", 0},
      // socket.io 2 over WebSocket: Engine.IO v3 strips the 04 type byte of `04 01 02 03 ff`.
      {R"(51-1["bin",{"_placeholder":true,"num":0}])", 4, PacketType::binary_event, "/", 1},
      {R"(61-1[{"_placeholder":true,"num":0}])", 4, PacketType::binary_ack, "/", 1},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    Decoder d(row.version);
    auto head = d.feed_text(row.text);
    REQUIRE(head.ok());
    CHECK_FALSE(head->has_value());
    auto done = d.feed_binary(std::string("\x01\x02\x03\xff", 4));
    REQUIRE(done.ok());
    REQUIRE(done->has_value());
    const Packet& p = **done;
    CHECK(p.type == row.type);
    CHECK(p.nsp == row.nsp);
    CHECK(p.id == row.id);
    CHECK(p.attachments == std::vector<std::string>{std::string("\x01\x02\x03\xff", 4)});
    CHECK(enc(p) == row.text);
  }
}

TEST_CASE("a binary event built from placeholders and blobs") {
  Json args = Json::array();
  args.push_back(placeholder(0));
  args.push_back("x");
  Packet p = make_event("/admin", "upload", args, 3);
  CHECK(p.type == PacketType::binary_event);
  p.attachments = {"\x00\x01"};
  auto e = encode(p);
  REQUIRE(e.ok());
  CHECK(e->text == R"(51-/admin,3["upload",{"_placeholder":true,"num":0},"x"])");
  CHECK(e->attachments == p.attachments);
  Packet ack = make_ack("/", 2, args);
  CHECK(ack.type == PacketType::binary_ack);
}

TEST_CASE("the decoder refuses text while attachments are awaited, and strays") {
  for (int version : {4, 5}) {
    CAPTURE(version);
    Decoder d(version);
    REQUIRE(d.feed_text(R"(51-["a",{"_placeholder":true,"num":0}])").ok());
    // socket.io-parser 3.4 and 4.2 both: "got plaintext data when reconstructing a packet".
    auto text = d.feed_text(R"(2["x"])");
    REQUIRE_FALSE(text.ok());
    CHECK(text.error().code == Errc::sio_malformed);
    CHECK_FALSE(d.awaiting());
    // "got binary data when not reconstructing a packet"
    auto stray = d.feed_binary("x");
    REQUIRE_FALSE(stray.ok());
    CHECK(stray.error().code == Errc::sio_malformed);
    // Decoding goes on afresh.
    auto next = d.feed_text(R"(2["x"])");
    REQUIRE(next.ok());
    CHECK(next->has_value());
  }
}

TEST_CASE("placeholders must name an attachment that came") {
  Decoder d(5);
  REQUIRE(d.feed_text(R"(51-["a",{"_placeholder":true,"num":3}])").ok());
  auto done = d.feed_binary("x");
  REQUIRE_FALSE(done.ok());
  CHECK(done.error().code == Errc::sio_malformed);
  CHECK_FALSE(d.awaiting());

  REQUIRE(d.feed_text(R"(51-["a",{"_placeholder":true,"num":"0"}])").ok());
  CHECK_FALSE(d.feed_binary("x").ok());
  // A placeholder-like object with _placeholder not exactly true is plain data.
  REQUIRE(d.feed_text(R"(51-["a",{"_placeholder":1,"num":9}])").ok());
  CHECK(d.feed_binary("x").ok());

  Packet p = make_event("/", "x", Json::array({placeholder(1)}));
  p.attachments = {"only one"};
  CHECK(encode(p).error().code == Errc::sio_malformed);
}

TEST_CASE("limits: attachment count and bytes, packet size, JSON depth") {
  Limits limits;
  limits.max_attachments = 2;
  limits.max_attachment_bytes = 10;
  limits.max_packet_bytes = 100;
  limits.max_json_depth = 4;
  CHECK(decode(R"(53-["a"])", 5, limits).error().code == Errc::limit);
  CHECK(decode(R"(2[")" + std::string(200, 'a') + R"("])", 5, limits).error().code == Errc::limit);
  CHECK(decode(R"(2["a",[[[[1]]]]])", 5, limits).error().code == Errc::limit);
  CHECK(decode(R"(2["a",[[1]]])", 5, limits).ok());

  Decoder d(5, limits);
  REQUIRE(
      d.feed_text(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])").ok());
  REQUIRE(d.feed_binary("123456").ok());
  auto over = d.feed_binary("12345");
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().code == Errc::limit);
  CHECK_FALSE(d.awaiting());
}

TEST_CASE("payload shapes follow the reference parsers per version") {
  // v5 (socket.io-parser 4.2)
  CHECK(dec_error("2[]") == Errc::sio_malformed);
  CHECK(dec_error("2{}") == Errc::sio_malformed);
  CHECK(dec_error("2[{}]") == Errc::sio_malformed);
  CHECK(dec_error("0[]") == Errc::sio_malformed);
  CHECK(dec_error("0null") == Errc::sio_malformed);
  CHECK(dec_error("1{}") == Errc::sio_malformed);
  CHECK(dec_error("4[1]") == Errc::sio_malformed);
  CHECK(dec_error("3{}") == Errc::sio_malformed);
  CHECK(dec("2[1]").data == json("[1]"));
  CHECK_FALSE(event_name(dec("2[1]")));
  CHECK(event_args(dec("2[1]")) == json("[1]"));
  CHECK(event_name(dec(R"(2["connect"])")) == "connect");  // python-socketio accepts it
  CHECK_FALSE(dec("2").data);  // no payload at all is accepted by both parsers
  // v4 (socket.io-parser 3.4): typeof "object" takes arrays and null
  CHECK(dec("0[]", 4).data == Json::array());
  CHECK(dec("4[1]", 4).data == json("[1]"));
  CHECK(dec("4null", 4).data == Json(nullptr));
  CHECK(dec_error("2[]", 4) == Errc::sio_malformed);
  CHECK(dec_error("1{}", 4) == Errc::sio_malformed);
  CHECK(dec_error("4true", 4) == Errc::sio_malformed);
}

TEST_CASE("digits after the namespace are the ack id; a numeric payload is refused on encode") {
  Packet p = dec("45");
  CHECK(p.type == PacketType::connect_error);
  CHECK(p.id == 5u);
  CHECK_FALSE(p.data);
  Packet err;
  err.type = PacketType::connect_error;
  err.data = Json(5);
  CHECK(encode(err).error().code == Errc::sio_malformed);
  err.data = Json(-5);  // would be refused by the decoder's shape check, but frames cleanly
  CHECK(encode(err).ok());
}

TEST_CASE("malformed packets fail with sio_malformed and a reason") {
  for (const char* bad : {"",
                          "7",
                          "9[]",
                          "x",
                          "-1",
                          "/admin,",
                          "5[\"a\"]",
                          "5-[\"a\"]",
                          "50-[\"a\"]",
                          "5x-[\"a\"]",
                          "51[\"a\"]",
                          "2[",
                          "2[\"a\"",
                          "2[\"a\"]x",
                          "2/admin,[",
                          "299999999999999999999999[\"a\"]",
                          "2'a'",
                          "2[\"\xff\"]",
                          "2/\xc3,[\"a\"]",
                          "0{\"a\":}"}) {
    CHECK(dec_error(bad) == Errc::sio_malformed);
  }
  CHECK(dec_error("51999999999999999999999-[\"a\"]") == Errc::sio_malformed);
}

TEST_CASE("lenient reads the reference parsers also make") {
  // No comma: the namespace runs to the end.
  Packet p = dec("1/admin");
  CHECK(p.nsp == "/admin");
  CHECK(enc(p) == "1/admin,");
  // An explicit "/" namespace is the default one.
  CHECK(enc(dec(R"(2/,["x"])")) == R"(2["x"])");
  // Whitespace around the JSON.
  CHECK(dec(R"(2 ["x"] )").data == json(R"(["x"])"));
}

TEST_CASE("encode refuses what cannot be framed") {
  Packet p = make_event("admin", "x", Json::array());
  CHECK(encode(p).error().code == Errc::sio_malformed);
  p.nsp = "/a,b";
  CHECK_FALSE(encode(p).ok());
  p.nsp = "/a";
  p.query = "x,y";
  CHECK_FALSE(encode(p).ok());
  p.query.reset();
  p.attachments = {"x"};
  CHECK_FALSE(encode(p).ok());  // attachments on a plain EVENT
  p.type = PacketType::binary_event;
  p.attachments.clear();
  CHECK_FALSE(encode(p).ok());  // BINARY_EVENT with none
  Packet empty_nsp = make_event("", "x", Json::array());
  CHECK(enc(empty_nsp) == R"(2["x"])");
}

TEST_CASE("encode and decode round-trip built packets in both versions") {
  std::vector<Packet> packets;
  packets.push_back(make_connect("/", json(R"({"token":"t"})")));
  packets.push_back(make_connect("/chat"));
  packets.push_back(make_event("/", kNonAscii, json(R"([1,2.5,"a:b,c",null,{"k":[true]}])"), 7));
  packets.push_back(make_ack("/chat", 18446744073709551615ull, json(R"([])")));
  Packet bin = make_event("/b", "up", Json::array({placeholder(1), placeholder(0)}));
  bin.attachments = {std::string("\0\xff", 2), ""};
  packets.push_back(bin);
  Packet disconnect;
  disconnect.type = PacketType::disconnect;
  disconnect.nsp = "/chat";
  packets.push_back(disconnect);

  for (int version : {4, 5}) {
    for (const Packet& p : packets) {
      auto e = encode(p);
      REQUIRE(e.ok());
      CAPTURE(e->text);
      Decoder d(version);
      auto r = d.feed_text(e->text);
      REQUIRE(r.ok());
      for (const auto& blob : e->attachments) {
        REQUIRE_FALSE(r->has_value());
        r = d.feed_binary(blob);
        REQUIRE(r.ok());
      }
      REQUIRE(r->has_value());
      CHECK(**r == p);
    }
  }
}
