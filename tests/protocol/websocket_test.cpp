#include "protocol/websocket.h"

#include "protocol/digest.h"

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

using namespace wa::ws;
using wa::Errc;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list)
    s.push_back(static_cast<char>(b));
  return s;
}

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::continuation:
      return "cont";
    case Opcode::text:
      return "text";
    case Opcode::binary:
      return "binary";
    case Opcode::close:
      return "close";
    case Opcode::ping:
      return "ping";
    case Opcode::pong:
      return "pong";
  }
  return "op?";
}

// Short printable payloads as text, the rest as size and a checksum.
std::string show(const std::string& p) {
  bool printable = p.size() <= 40;
  for (unsigned char c : p)
    printable = printable && c >= 0x20 && c < 0x7f;
  if (printable) return "\"" + p + "\"";
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : p)
    h = (h ^ c) * 16777619u;
  return "<" + std::to_string(p.size()) + " bytes #" + std::to_string(h) + ">";
}

// One line per message, then the failure if any: the event log the split tests compare.
std::string render(const std::vector<Message>& messages, const wa::Result<void>& r) {
  std::string log;
  for (const auto& m : messages) {
    log += opcode_name(m.opcode);
    if (m.compressed) log += "[z]";
    if (m.frames > 1) log += "[" + std::to_string(m.frames) + "f]";
    if (m.opcode == Opcode::close) log += " " + std::to_string(m.close_code);
    log += " " + show(m.payload);
    if (m.dropped) log += " +" + std::to_string(m.dropped) + " sha256 " + m.sha256.substr(0, 8);
    if (!m.invalid.empty()) log += " (invalid: " + m.invalid + ")";
    log += "\n";
  }
  if (!r) log += std::string("! ") + wa::errc_name(r.error().code) + "\n";
  return log;
}

// Decodes `input` cut at the given offsets.
std::string decode(const DecoderOptions& options, std::string_view input,
                   const std::vector<size_t>& cuts) {
  Decoder d(options);
  std::vector<Message> out;
  wa::Result<void> r;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    r = d.feed(input.substr(from, end - from), out);
    if (!r) break;
    from = end;
  }
  return render(out, r);
}

// The log of the whole input, after checking that every split into two pieces and a feed of
// one byte at a time give the same log (for long inputs, splits near both ends and every 251st
// byte in between).
std::string decode_every_split(const DecoderOptions& options, std::string_view input) {
  const std::string whole = decode(options, input, {});
  for (size_t i = 1; i < input.size(); ++i) {
    if (input.size() > 600 && i > 300 && i + 300 < input.size() && i % 251 != 0) continue;
    INFO("split at " << i);
    CHECK(decode(options, input, {i}) == whole);
  }
  std::vector<size_t> each;
  for (size_t i = 1; i < input.size(); ++i)
    each.push_back(i);
  CHECK(decode(options, input, each) == whole);
  return whole;
}

DecoderOptions from(Role sender) {
  DecoderOptions o;
  o.sender = sender;
  return o;
}

DecoderOptions with_deflate(Role sender, DeflateParams p = {}) {
  DecoderOptions o = from(sender);
  o.deflate = p;
  return o;
}

MaskSource fixed_mask(std::array<uint8_t, 4> key) {
  return [key] { return key; };
}

MaskSource counting_mask() {
  auto n = std::make_shared<uint32_t>(0x01020304);
  return [n] {
    uint32_t v = (*n)++ * 2654435761u;
    return std::array<uint8_t, 4>{uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
  };
}

std::string frame(uint8_t first, std::string_view payload) {
  std::string out;
  FrameWriter w;
  REQUIRE(w.write(
      Frame{(first & 0x80) != 0, uint8_t((first >> 4) & 7), uint8_t(first & 0xf), payload}, out));
  return out;
}

std::string masked_frame(uint8_t first, std::string_view payload) {
  std::string out;
  FrameWriter w(counting_mask());
  REQUIRE(w.write(
      Frame{(first & 0x80) != 0, uint8_t((first >> 4) & 7), uint8_t(first & 0xf), payload}, out));
  return out;
}

std::string close_body(uint16_t code, std::string_view reason = {}) {
  std::string b;
  b.push_back(char(code >> 8));
  b.push_back(char(code & 0xff));
  b.append(reason);
  return b;
}

}  // namespace

// ---- RFC 6455 §5.7 examples ----

const std::string kHelloUnmasked = bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
const std::string kHelloMasked =
    bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});

TEST_CASE("RFC 6455 §5.7: a single-frame unmasked text message from the server") {
  CHECK(decode_every_split(from(Role::server), kHelloUnmasked) == "text \"Hello\"\n");
  std::string out;
  FrameWriter w;
  REQUIRE(w.write(Frame{true, 0, 0x1, "Hello"}, out));
  CHECK(out == kHelloUnmasked);
}

TEST_CASE("RFC 6455 §5.7: a single-frame masked text message from the client") {
  CHECK(decode_every_split(from(Role::client), kHelloMasked) == "text \"Hello\"\n");
  std::string out;
  FrameWriter w(fixed_mask({0x37, 0xfa, 0x21, 0x3d}));
  REQUIRE(w.write(Frame{true, 0, 0x1, "Hello"}, out));
  CHECK(out == kHelloMasked);
}

TEST_CASE("RFC 6455 §5.7: a fragmented unmasked text message, Hel + lo") {
  const std::string in = bytes({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
  CHECK(decode_every_split(from(Role::server), in) == "text[2f] \"Hello\"\n");
  Decoder d(from(Role::server));
  std::vector<Message> out;
  REQUIRE(d.feed(in.substr(0, 5), out));
  CHECK(out.empty());
  CHECK(d.mid_message());
  REQUIRE(d.feed(in.substr(5), out));
  CHECK_FALSE(d.mid_message());
  REQUIRE(out.size() == 1);
  CHECK(out[0].wire_size == in.size());
}

TEST_CASE("RFC 6455 §5.7: unmasked ping and masked pong") {
  CHECK(decode_every_split(from(Role::server), bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f})) ==
        "ping \"Hello\"\n");
  CHECK(decode_every_split(from(Role::client), bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
                                                      0x9f, 0x4d, 0x51, 0x58})) ==
        "pong \"Hello\"\n");
}

TEST_CASE("RFC 6455 §5.7: 256 bytes and 64 KiB in one unmasked binary frame") {
  std::string p256(256, '\0');
  for (size_t i = 0; i < p256.size(); ++i)
    p256[i] = char(i);
  std::string in = bytes({0x82, 0x7e, 0x01, 0x00}) + p256;
  CHECK(frame(0x82, p256) == in);
  CHECK(decode_every_split(from(Role::server), in) == "binary " + show(p256) + "\n");

  std::string p64k(65536, '\0');
  for (size_t i = 0; i < p64k.size(); ++i)
    p64k[i] = char(i * 7);
  in = bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}) + p64k;
  CHECK(frame(0x82, p64k) == in);
  CHECK(decode_every_split(from(Role::server), in) == "binary " + show(p64k) + "\n");
  // The same, masked, from a client.
  CHECK(decode_every_split(from(Role::client), masked_frame(0x82, p64k)) ==
        "binary " + show(p64k) + "\n");
}

TEST_CASE("wslay's non-minimal length encodings are protocol errors") {
  CHECK(decode(from(Role::server), bytes({0x82, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5}), {}) ==
        "! ws_protocol\n");
  CHECK(decode(from(Role::server), bytes({0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x05, 1, 2, 3, 4, 5}),
               {}) == "! ws_protocol\n");
  // The most significant bit of a 64-bit length must be 0 (§5.2).
  CHECK(decode(from(Role::server), bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}), {}) ==
        "! ws_protocol\n");
}

// ---- fragmentation and control frames (§5.4, §5.5) ----

TEST_CASE("control frames interleaved within a fragmented message come out first") {
  std::string in = frame(0x01, "Hel") + frame(0x89, "p1") + frame(0x00, "l") + frame(0x8a, "") +
                   frame(0x80, "o") + frame(0x81, "next");
  CHECK(decode_every_split(from(Role::server), in) ==
        "ping \"p1\"\npong \"\"\ntext[3f] \"Hello\"\ntext \"next\"\n");
  // A close between fragments ends the stream; the partial message is never reported.
  in = frame(0x01, "Hel") + frame(0x88, close_body(1001));
  CHECK(decode_every_split(from(Role::server), in) == "close 1001 \"\"\n");
}

TEST_CASE("fragmentation errors") {
  // A continuation with nothing to continue.
  CHECK(decode_every_split(from(Role::server), frame(0x80, "x")) == "! ws_protocol\n");
  // A new data message before the fragmented one ended.
  CHECK(decode_every_split(from(Role::server), frame(0x01, "a") + frame(0x81, "b")) ==
        "! ws_protocol\n");
  CHECK(decode_every_split(from(Role::server), frame(0x02, "a") + frame(0x02, "b")) ==
        "! ws_protocol\n");
  // Control frames are never fragmented and carry at most 125 bytes.
  CHECK(decode_every_split(from(Role::server), bytes({0x09, 0x00})) == "! ws_protocol\n");
  CHECK(decode_every_split(from(Role::server), bytes({0x89, 0x7e, 0x00, 0x7e}) +
                                                   std::string(126, 'x')) == "! ws_protocol\n");
  // Empty fragments are fine.
  CHECK(decode_every_split(from(Role::server), frame(0x01, "") + frame(0x00, "") +
                                                   frame(0x80, "")) == "text[3f] \"\"\n");
}

TEST_CASE("reserved bits and opcodes") {
  CHECK(decode_every_split(from(Role::server), frame(0xa1, "x")) == "! ws_protocol\n");  // RSV2
  CHECK(decode_every_split(from(Role::server), frame(0x91, "x")) == "! ws_protocol\n");  // RSV3
  // RSV1 needs permessage-deflate.
  CHECK(decode_every_split(from(Role::server), frame(0xc1, "x")) == "! ws_protocol\n");
  for (int op : {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    INFO("opcode " << op);
    CHECK(decode(from(Role::server), frame(uint8_t(0x80 | op), ""), {}) == "! ws_protocol\n");
  }
}

TEST_CASE("masking direction (§5.1)") {
  CHECK(decode_every_split(from(Role::client), kHelloUnmasked) == "! ws_protocol\n");
  CHECK(decode_every_split(from(Role::server), kHelloMasked) == "! ws_protocol\n");
  DecoderOptions lax = from(Role::client);
  lax.require_masking = false;
  CHECK(decode_every_split(lax, kHelloUnmasked + kHelloMasked) ==
        "text \"Hello\"\ntext \"Hello\"\n");
}

// ---- close frames (§5.5.1, §7.4) ----

TEST_CASE("close codes that may and may not be on the wire") {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                   3999, 4000, 4999}) {
    INFO("code " << code);
    CHECK(is_valid_close_code(uint16_t(code)));
    CHECK(decode(from(Role::server), frame(0x88, close_body(uint16_t(code), "bye")), {}) ==
          "close " + std::to_string(code) + " \"bye\"\n");
  }
  for (int code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
    INFO("code " << code);
    CHECK_FALSE(is_valid_close_code(uint16_t(code)));
    CHECK(decode(from(Role::server), frame(0x88, close_body(uint16_t(code))), {}) ==
          "! ws_protocol\n");
  }
}

TEST_CASE("close payloads: empty means 1005, one byte is invalid, the reason is UTF-8") {
  CHECK(decode_every_split(from(Role::server), frame(0x88, "")) == "close 1005 \"\"\n");
  CHECK(decode_every_split(from(Role::client), masked_frame(0x88, "")) == "close 1005 \"\"\n");
  CHECK(decode_every_split(from(Role::server), frame(0x88, "\x03")) == "! ws_protocol\n");
  CHECK(decode_every_split(from(Role::server),
                           frame(0x88, close_body(1000, "\xce\xba\xe1\xbd\xb9"))) ==
        "close 1000 " + show("\xce\xba\xe1\xbd\xb9") + "\n");
  CHECK(decode_every_split(from(Role::server), frame(0x88, close_body(1000, "bad \xc0\xaf"))) ==
        "! bad_encoding\n");
}

TEST_CASE("nothing may follow a close frame") {
  CHECK(
      decode_every_split(from(Role::server), frame(0x88, close_body(1000)) + frame(0x81, "late")) ==
      "close 1000 \"\"\n! ws_protocol\n");
  // Not even part of a header, in the same feed or a later one.
  CHECK(decode(from(Role::server), frame(0x88, close_body(1000)) + "\x81", {}) ==
        "close 1000 \"\"\n! ws_protocol\n");
  Decoder d(from(Role::server));
  std::vector<Message> out;
  REQUIRE(d.feed(frame(0x88, ""), out));
  CHECK(d.closed());
  CHECK_FALSE(d.feed("\x89", out));
  CHECK(d.failed());
  REQUIRE(out.size() == 1);
  CHECK(out[0].close_code == close_code::no_status);
}

// ---- text and size limits ----

TEST_CASE("text must be UTF-8 as a whole message, binary need not be") {
  CHECK(decode_every_split(from(Role::server), frame(0x81, "caf\xc3")) == "! bad_encoding\n");
  CHECK(decode_every_split(from(Role::server), frame(0x81, "\xed\xa0\x80")) == "! bad_encoding\n");
  // A character split across fragments is fine.
  CHECK(decode_every_split(from(Role::server), frame(0x01, "caf\xc3") + frame(0x80, "\xa9")) ==
        "text[2f] " + show("caf\xc3\xa9") + "\n");
  CHECK(decode_every_split(from(Role::server), frame(0x82, "\xff\xfe")) ==
        "binary " + show("\xff\xfe") + "\n");
}

TEST_CASE("the maximum message size holds for single frames and reassembled messages") {
  DecoderOptions o = from(Role::server);
  o.max_message_size = 10;
  CHECK(decode_every_split(o, frame(0x82, std::string(10, 'a'))) == "binary \"aaaaaaaaaa\"\n");
  CHECK(decode_every_split(o, frame(0x82, std::string(11, 'a'))) == "! ws_message_too_large\n");
  CHECK(decode_every_split(o, frame(0x02, "aaaaaa") + frame(0x80, "bbbbb")) ==
        "! ws_message_too_large\n");
  // Control frames do not count against a message in progress.
  CHECK(decode_every_split(o, frame(0x02, "aaaaa") + frame(0x89, "ping") + frame(0x80, "bbbbb")) ==
        "ping \"ping\"\nbinary[2f] \"aaaaabbbbb\"\n");
  // A header announcing 2^62 bytes fails at once, before any payload arrives.
  Decoder d(o);
  std::vector<Message> out;
  auto r = d.feed(bytes({0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0, 'x'}), out);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::ws_message_too_large);
}

// ---- permessage-deflate on the wire (RFC 7692 §7.2.3) ----

TEST_CASE("RFC 7692 §7.2.3.1: a compressed Hello, whole and fragmented") {
  CHECK(decode_every_split(with_deflate(Role::server),
                           bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})) ==
        "text[z] \"Hello\"\n");
  CHECK(decode_every_split(with_deflate(Role::server), bytes({0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80,
                                                              0x04, 0xc9, 0xc9, 0x07, 0x00})) ==
        "text[z][2f] \"Hello\"\n");
  // RSV1 on the continuation frame instead of the first is an error (RFC 7692 §6.1).
  CHECK(decode_every_split(with_deflate(Role::server), bytes({0x01, 0x03, 0xf2, 0x48, 0xcd, 0xc0,
                                                              0x04, 0xc9, 0xc9, 0x07, 0x00})) ==
        "! ws_protocol\n");
  // And on a control frame.
  CHECK(decode_every_split(with_deflate(Role::server), frame(0xc9, "")) == "! ws_protocol\n");
}

TEST_CASE("RFC 7692 §7.2.3.2: two messages sharing the LZ77 window") {
  const std::string first = bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  const std::string second = bytes({0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00});
  CHECK(decode_every_split(with_deflate(Role::server), first + second) ==
        "text[z] \"Hello\"\ntext[z] \"Hello\"\n");
  // Without context takeover the second message's back-reference points at nothing.
  DeflateParams no_takeover;
  no_takeover.server_no_context_takeover = true;
  CHECK(decode(with_deflate(Role::server, no_takeover), first + second, {}) ==
        "text[z] \"Hello\"\n! ws_deflate\n");
  CHECK(decode_every_split(with_deflate(Role::server, no_takeover), first + first) ==
        "text[z] \"Hello\"\ntext[z] \"Hello\"\n");
}

TEST_CASE("RFC 7692 §7.2.3.3 and §7.2.3.4: a stored block, and a block with BFINAL set") {
  CHECK(decode_every_split(with_deflate(Role::server),
                           bytes({0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c,
                                  0x6f, 0x00})) == "text[z] \"Hello\"\n");
  const std::string bfinal = bytes({0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00});
  CHECK(decode_every_split(with_deflate(Role::server), bfinal + bfinal) ==
        "text[z] \"Hello\"\ntext[z] \"Hello\"\n");
}

TEST_CASE("RFC 7692 §7.2.3.5: two DEFLATE blocks in one message") {
  CHECK(decode_every_split(with_deflate(Role::server),
                           bytes({0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca,
                                  0xc9, 0xc9, 0x07, 0x00})) == "text[z] \"Hello\"\n");
}

TEST_CASE("eventlet's compressed frames (first byte C1) and uncompressed ones mix freely") {
  CHECK(decode_every_split(with_deflate(Role::server),
                           bytes({0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}) +
                               frame(0x81, "40") +
                               bytes({0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00})) ==
        "text[z] \"Hello\"\ntext \"40\"\ntext[z] \"Hello\"\n");
}

TEST_CASE("a deflate bomb stops at the maximum message size") {
  Endpoint sender(
      EndpointOptions{Role::server, kDefaultMaxMessageSize, DeflateParams{}, {}, true, 9});
  REQUIRE(sender.send_binary(std::string(8 << 20, '\0')));
  const std::string wire = sender.take_output();
  CHECK(wire.size() < 64 * 1024);
  DecoderOptions o = with_deflate(Role::server);
  o.max_message_size = 1 << 20;
  CHECK(decode(o, wire, {}) == "! ws_message_too_large\n");
  o.max_message_size = 8 << 20;
  CHECK(decode(o, wire, {}) == "binary[z] " + show(std::string(8 << 20, '\0')) + "\n");
}

TEST_CASE("an empty compressed message is the empty string") {
  // The payload is only the (stripped) sync-flush tail; found by fuzzing.
  CHECK(decode_every_split(with_deflate(Role::server), bytes({0xc1, 0x00}) + bytes({0xc2, 0x00})) ==
        "text[z] \"\"\nbinary[z] \"\"\n");
  CHECK(decode_every_split(with_deflate(Role::server), bytes({0x41, 0x00, 0x80, 0x00})) ==
        "text[z][2f] \"\"\n");
}

TEST_CASE("garbage under RSV1 is a deflate error") {
  CHECK(decode_every_split(with_deflate(Role::server), frame(0xc2, "\xff\xff\xff\xff")) ==
        "! ws_deflate\n");
}

// ---- endpoints ----

namespace {

struct Pair {
  Endpoint client;
  Endpoint server;

  explicit Pair(std::optional<DeflateParams> deflate = std::nullopt,
                size_t max = kDefaultMaxMessageSize)
      : client(EndpointOptions{Role::client, max, deflate, counting_mask(), true, 6}),
        server(EndpointOptions{Role::server, max, deflate, {}, true, 6}) {}

  // Moves the client's pending bytes to the server, fed one byte at a time.
  std::string to_server(std::vector<Message>& got, bool bytewise = false) {
    return carry(client, server, got, bytewise);
  }
  std::string to_client(std::vector<Message>& got, bool bytewise = false) {
    return carry(server, client, got, bytewise);
  }

  static std::string carry(Endpoint& from, Endpoint& to, std::vector<Message>& got, bool bytewise) {
    const std::string wire = from.take_output();
    wa::Result<void> r;
    if (bytewise) {
      for (char c : wire) {
        r = to.feed(std::string_view(&c, 1), got);
        if (!r) break;
      }
    } else {
      r = to.feed(wire, got);
    }
    return render(got, r);
  }
};

}  // namespace

TEST_CASE("round trip client -> server -> client without deflate, whole and fragmented") {
  Pair p;
  std::vector<Message> at_server, at_client;
  REQUIRE(p.client.send_text("hello 1"));
  REQUIRE(p.client.send_binary(std::string("\x00\x01\xff", 3), {4, true}));
  REQUIRE(p.client.send_text(std::string(70000, 'x'), {1000, true}));
  CHECK(p.to_server(at_server, true) == "text \"hello 1\"\nbinary " +
                                            show(std::string("\x00\x01\xff", 3)) + "\ntext[70f] " +
                                            show(std::string(70000, 'x')) + "\n");
  REQUIRE(p.server.send_text("42[\"chat\",{\"text\":\"hello 1\"}]", {5, true}));
  CHECK(p.to_client(at_client) == "text[6f] \"42[\"chat\",{\"text\":\"hello 1\"}]\"\n");
  // Client frames are masked, server frames are not.
  REQUIRE(p.client.send_text("m"));
  std::string wire = p.client.take_output();
  CHECK((uint8_t(wire[1]) & 0x80) != 0);
  REQUIRE(p.server.send_text("u"));
  wire = p.server.take_output();
  CHECK(wire == bytes({0x81, 0x01, 'u'}));
}

TEST_CASE("round trip with permessage-deflate, with and without context takeover") {
  DeflateParams takeover;
  DeflateParams none;
  none.client_no_context_takeover = true;
  none.server_no_context_takeover = true;
  DeflateParams small;
  small.client_max_window_bits = 9;
  small.server_max_window_bits = 10;
  for (const DeflateParams& params : {takeover, none, small}) {
    Pair p(params);
    std::vector<Message> at_server, at_client;
    std::string big;
    for (int i = 0; i < 5000; ++i)
      big += "line " + std::to_string(i % 37) + "\n";
    REQUIRE(p.client.send_text("Hello"));
    REQUIRE(p.client.send_text("Hello"));
    REQUIRE(p.client.send_text(big, {30, true}));
    REQUIRE(p.client.send_binary(""));
    REQUIRE(p.client.send_text("plain", {0, false}));
    p.to_server(at_server, true);
    REQUIRE(at_server.size() == 5);
    CHECK(render({at_server[0], at_server[1]}, {}) == "text[z] \"Hello\"\ntext[z] \"Hello\"\n");
    CHECK(at_server[2].payload == big);
    CHECK(at_server[2].compressed);
    CHECK(at_server[2].frames > 1);
    CHECK(at_server[2].wire_size < big.size() / 4);
    CHECK(render({at_server[3], at_server[4]}, {}) == "binary[z] \"\"\ntext \"plain\"\n");
    REQUIRE(p.server.send_text(big));
    REQUIRE(p.server.send_text(big));
    CHECK(p.to_client(at_client) == "text[z] " + show(big) + "\ntext[z] " + show(big) + "\n");
  }
}

TEST_CASE("an 8-bit window cannot be produced by zlib, so those messages go uncompressed") {
  DeflateParams p;
  p.server_max_window_bits = 8;
  Pair pair(p);
  std::vector<Message> got;
  REQUIRE(pair.server.send_text("Hello"));
  CHECK(pair.to_client(got) == "text \"Hello\"\n");
  got.clear();
  REQUIRE(pair.client.send_text("Hello"));
  CHECK(pair.to_server(got) == "text[z] \"Hello\"\n");
}

TEST_CASE("pings are answered with pongs, or only reported") {
  Pair p;
  std::vector<Message> got;
  REQUIRE(p.client.ping("hb"));
  CHECK(p.to_server(got) == "ping \"hb\"\n");
  got.clear();
  CHECK(p.to_client(got) == "pong \"hb\"\n");

  Endpoint quiet(EndpointOptions{Role::server, kDefaultMaxMessageSize, std::nullopt, {}, false, 6});
  got.clear();
  REQUIRE(p.client.ping("x"));
  REQUIRE(quiet.feed(p.client.take_output(), got));
  CHECK(render(got, {}) == "ping \"x\"\n");
  CHECK_FALSE(quiet.has_output());
  CHECK_FALSE(p.client.ping(std::string(126, 'x')));
}

TEST_CASE("the close handshake, started by either side") {
  {
    Pair p;
    std::vector<Message> got;
    REQUIRE(p.client.close(close_code::going_away));  // a browser leaving the page
    CHECK(p.client.state() == Endpoint::State::closing);
    CHECK_FALSE(p.client.send_text("late"));
    CHECK(p.to_server(got) == "close 1001 \"\"\n");
    CHECK(p.server.state() == Endpoint::State::closed);
    CHECK(p.server.peer_close_code() == 1001);
    got.clear();
    CHECK(p.to_client(got) == "close 1001 \"\"\n");  // the echo
    CHECK(p.client.state() == Endpoint::State::closed);
  }
  {
    Pair p;
    std::vector<Message> got;
    REQUIRE(p.client.close(close_code::no_status));  // as Node clients do
    const std::string wire = p.client.take_output();
    CHECK(wire.size() == 6);  // header and mask key only
    CHECK(p.server.feed(wire, got));
    CHECK(render(got, {}) == "close 1005 \"\"\n");
    CHECK(p.server.take_output() == bytes({0x88, 0x00}));
  }
  {
    Pair p;
    std::vector<Message> got;
    REQUIRE(p.server.close(4000, "kicked"));
    REQUIRE(p.server.send_text("x").ok() == false);
    CHECK(p.to_client(got) == "close 4000 \"kicked\"\n");
    got.clear();
    CHECK(p.to_server(got) == "close 4000 \"\"\n");
    CHECK(p.server.state() == Endpoint::State::closed);
    CHECK(p.client.state() == Endpoint::State::closed);
  }
}

TEST_CASE("close() refuses what may not be sent") {
  Pair p;
  for (int code : {0, 999, 1004, 1006, 1015, 2000, 5000}) {
    INFO("code " << code);
    auto r = p.client.close(uint16_t(code));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::ws_protocol);
  }
  CHECK_FALSE(p.client.close(1005, "reason without code"));
  CHECK_FALSE(p.client.close(1000, std::string(124, 'r')));
  CHECK(p.client.close(1000, "bad \xff").error().code == Errc::bad_encoding);
  CHECK_FALSE(p.client.has_output());
  CHECK(p.client.close(1000, std::string(123, 'r')));
  CHECK_FALSE(p.client.close(1000));  // only once
}

TEST_CASE("an endpoint fails the connection with the matching close code") {
  struct Case {
    std::string wire;
    uint16_t code;
  };
  std::string big_masked = masked_frame(0x82, std::string(20, 'b'));
  for (const Case& c : {Case{kHelloUnmasked, 1002}, Case{masked_frame(0x81, "\xff"), 1007},
                        Case{big_masked, 1009}}) {
    Endpoint server(EndpointOptions{Role::server, 16, std::nullopt, {}, true, 6});
    std::vector<Message> got;
    CHECK_FALSE(server.feed(c.wire, got));
    CHECK(server.state() == Endpoint::State::failed);
    CHECK(server.take_output() == "\x88\x02" + close_body(c.code));
    CHECK_FALSE(server.send_text("after"));
    CHECK_FALSE(server.feed("", got));
  }
  CHECK_FALSE(
      Endpoint(EndpointOptions{Role::server, 16, std::nullopt, {}, true, 6}).send_text("\xc3\x28"));
}

TEST_CASE("a text message must be UTF-8 to be sent") {
  Pair p;
  auto r = p.client.send_text("\xc3\x28");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::bad_encoding);
  CHECK(p.client.send_binary("\xc3\x28"));
}

// ---- an observer goes on where a peer would fail ----

namespace {

DecoderOptions observer(Role sender, size_t max = kDefaultMaxMessageSize) {
  DecoderOptions o = from(sender);
  o.observe = true;
  o.require_masking = false;
  o.max_message_size = max;
  return o;
}

std::string sha256_prefix(std::string_view whole) {
  wa::digest::Sha256 h;
  h.update(whole);
  return h.hex_final().substr(0, 8);
}

}  // namespace

TEST_CASE("an observer keeps the prefix of a message over the limit, with its length and hash") {
  const std::string big(100, 'a');
  const std::string wire = frame(0x82, big) + frame(0x81, "next");
  const std::string cut = "binary " + show(std::string(16, 'a')) + " +84 sha256 " +
                          sha256_prefix(big) + "\ntext \"next\"\n";
  CHECK(decode_every_split(observer(Role::server, 16), wire) == cut);
  // Fragmented, and inflated past the limit: the same prefix, length and hash.
  CHECK(decode_every_split(
            observer(Role::server, 16),
            frame(0x02, big.substr(0, 50)) + frame(0x80, big.substr(50)) + frame(0x81, "next")) ==
        "binary[2f] " + show(std::string(16, 'a')) + " +84 sha256 " + sha256_prefix(big) +
            "\ntext \"next\"\n");
  Endpoint sender(
      EndpointOptions{Role::server, kDefaultMaxMessageSize, DeflateParams{}, {}, true, 9});
  const std::string zeros(8 << 20, '\0');
  REQUIRE(sender.send_binary(zeros));
  REQUIRE(sender.send_text("after"));
  DecoderOptions o = observer(Role::server, 1 << 20);
  o.deflate = DeflateParams{};
  CHECK(decode(o, sender.take_output(), {}) == "binary[z] " + show(std::string(1 << 20, '\0')) +
                                                   " +" + std::to_string(7 << 20) + " sha256 " +
                                                   sha256_prefix(zeros) + "\ntext[z] \"after\"\n");
}

TEST_CASE("an observer marks each frame a peer would refuse and decodes the next one") {
  const auto o = observer(Role::client);
  CHECK(decode_every_split(o, masked_frame(0x81, "\xff\xfe") + masked_frame(0x81, "ok")) ==
        "text <2 bytes #3491674896> (invalid: text message is not valid UTF-8)\ntext \"ok\"\n");
  CHECK(decode_every_split(o, masked_frame(0x83, "odd") + masked_frame(0x81, "ok")) ==
        "op? \"odd\" (invalid: reserved opcode 3)\ntext \"ok\"\n");
  CHECK(decode_every_split(o, masked_frame(0x8b, "odd") + masked_frame(0x81, "ok")) ==
        "op? \"odd\" (invalid: reserved opcode 11)\ntext \"ok\"\n");
  CHECK(decode_every_split(o, masked_frame(0xa1, "rsv2") + masked_frame(0x81, "ok")) ==
        "text \"rsv2\" (invalid: RSV2 or RSV3 set)\ntext \"ok\"\n");
  CHECK(decode_every_split(o, masked_frame(0xc1, "plain") + masked_frame(0x81, "ok")) ==
        "text \"plain\" (invalid: RSV1 set without permessage-deflate)\ntext \"ok\"\n");
  CHECK(decode_every_split(o, masked_frame(0x80, "orphan") + masked_frame(0x81, "ok")) ==
        "cont \"orphan\" (invalid: continuation frame without a message to continue)\n"
        "text \"ok\"\n");
  CHECK(decode_every_split(o, masked_frame(0x01, "half") + masked_frame(0x81, "ok")) ==
        "text \"half\" (invalid: cut short by a new message before its last fragment)\n"
        "text \"ok\"\n");
  // A broken Close is kept and marked; what follows a Close is still decoded, and marked.
  CHECK(decode_every_split(
            o, masked_frame(0x88, close_body(999, "bye")) + masked_frame(0x81, "late")) ==
        "close 999 \"bye\" (invalid: invalid close code 999)\n"
        "text \"late\" (invalid: frame after a close frame)\n");
  CHECK(decode_every_split(o, masked_frame(0x88, "x")) ==
        "close 1005 \"x\" (invalid: close frame with a 1-byte body)\n");
  // Garbage under RSV1: marked, and the next compressed message starts on a fresh stream.
  DecoderOptions z = o;
  z.deflate = DeflateParams{};
  z.deflate->client_no_context_takeover = true;
  Endpoint sender(EndpointOptions{Role::client, kDefaultMaxMessageSize,
                                  DeflateParams{true, true, 15, 15}, counting_mask(), true, 6});
  REQUIRE(sender.send_text("fine"));
  const std::string fine = sender.take_output();
  CHECK(decode(z, masked_frame(0xc2, "\xff\xff\xff\xff") + fine, {}) ==
        "binary[z] \"\" (invalid: does not inflate: inflate: invalid block type)\n"
        "text[z] \"fine\"\n");
}

TEST_CASE("an observer reports a frame header it cannot parse as a last message") {
  // wslay's frame layer refuses a control frame over 125 bytes or fragmented, and non-minimal
  // lengths, itself: the observer steps over them (their length reads) and goes on.
  const std::string ping = bytes({0x89, 0x7e, 0x00, 0x7e}) + std::string(126, 'p');
  CHECK(decode_every_split(observer(Role::server), ping + frame(0x81, "ok")) ==
        "ping " + show(std::string(126, 'p')) +
            " (invalid: control frame over 125 bytes)\ntext \"ok\"\n");
  const std::string masked_ping =
      bytes({0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4}) + std::string(126, char('p' ^ 1));
  CHECK(decode(observer(Role::client), masked_ping + masked_frame(0x81, "ok"), {})
            .find("(invalid: control frame over 125 bytes)\ntext \"ok\"\n") != std::string::npos);
  CHECK(decode_every_split(observer(Role::server), bytes({0x09, 0x01, 'x'}) + frame(0x81, "ok")) ==
        "ping \"x\" (invalid: fragmented control frame)\ntext \"ok\"\n");
  CHECK(decode_every_split(observer(Role::server),
                           bytes({0x82, 0x7e, 0x00, 0x03, 'a', 'b', 'c'}) + frame(0x81, "ok")) ==
        "binary \"abc\" (invalid: non-minimal length encoding)\ntext \"ok\"\n");
  // A 64-bit length with its top bit set (§5.2): the frames cannot be found any more.
  const std::string wire = frame(0x81, "ok") + bytes({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0});
  const std::string log = decode(observer(Role::server), wire, {});
  CHECK(log.rfind("text \"ok\"\ncont \"\" (invalid: malformed frame header", 0) == 0);
  CHECK(log.find("nothing after it in this direction is decoded)\n! ws_protocol\n") !=
        std::string::npos);
}
