#include "protocol/ws_deflate.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <initializer_list>

using namespace wa::ws;
using wa::Errc;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list)
    s.push_back(static_cast<char>(b));
  return s;
}

std::string inflate_one(Inflater& in, std::string_view payload, size_t max = 1 << 20) {
  std::string out;
  auto r = in.feed(payload, out, max);
  if (r) r = in.finish(out, max);
  return r ? out : std::string("! ") + wa::errc_name(r.error().code);
}

std::string deflate_one(Deflater& d, std::string_view message) {
  std::string out;
  REQUIRE(d.compress(message, out));
  return out;
}

Extension only(std::string_view header) {
  auto e = parse_extensions(header);
  REQUIRE(e.ok());
  REQUIRE(e->size() == 1);
  return e->front();
}

std::string describe(const DeflateParams& p) {
  return std::string(p.server_no_context_takeover ? "snct " : "") +
         (p.client_no_context_takeover ? "cnct " : "") + "s" +
         std::to_string(p.server_max_window_bits) + " c" + std::to_string(p.client_max_window_bits);
}

}  // namespace

// ---- Sec-WebSocket-Extensions grammar (RFC 6455 §9.1) ----

TEST_CASE("extension lists parse with parameters, quoted values and empty elements") {
  auto e = parse_extensions(
      "permessage-deflate; client_max_window_bits, permessage-deflate "
      ";server_max_window_bits=\"10\""
      " ; client_no_context_takeover ,, x-webkit-deflate-frame");
  REQUIRE(e.ok());
  REQUIRE(e->size() == 3);
  CHECK((*e)[0].name == "permessage-deflate");
  REQUIRE((*e)[0].params.size() == 1);
  CHECK((*e)[0].params[0].name == "client_max_window_bits");
  CHECK_FALSE((*e)[0].params[0].value.has_value());
  REQUIRE((*e)[1].params.size() == 2);
  CHECK((*e)[1].params[0].value == "10");
  CHECK((*e)[1].params[1].name == "client_no_context_takeover");
  CHECK((*e)[2].name == "x-webkit-deflate-frame");
  CHECK(parse_extensions("")->empty());
  CHECK(parse_extensions(" , ")->empty());
}

TEST_CASE("extension lists that break the grammar fail") {
  for (const char* bad : {"; x", "a;", "a; =1", "a; b=", "a; b=\"unterminated", "a; b=\"sp ace\"",
                          "a b", "a; b=1 2", "a; b=\"\"", "(a)"}) {
    INFO(bad);
    auto e = parse_extensions(bad);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().code == Errc::ws_handshake);
  }
}

TEST_CASE("format_extension is the inverse of parsing") {
  Extension e{"permessage-deflate",
              {{"server_no_context_takeover", {}}, {"client_max_window_bits", "12"}}};
  CHECK(format_extension(e) ==
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=12");
  CHECK(format_extension(only(format_extension(e))) == format_extension(e));
}

// ---- offers (RFC 7692 §7.1) ----

TEST_CASE("deflate offers: what browsers and Node send") {
  auto o = parse_deflate_offer(only("permessage-deflate; client_max_window_bits"));
  REQUIRE(o.ok());
  CHECK(o->client_max_window_bits);
  CHECK_FALSE(o->client_max_window_bits_value.has_value());
  CHECK_FALSE(o->server_max_window_bits.has_value());
  o = parse_deflate_offer(
      only("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
           "server_max_window_bits=9; client_max_window_bits=\"15\""));
  REQUIRE(o.ok());
  CHECK(o->server_no_context_takeover);
  CHECK(o->client_no_context_takeover);
  CHECK(o->server_max_window_bits == 9);
  CHECK(o->client_max_window_bits_value == 15);
  CHECK(format_extension(deflate_offer_extension(*o)) ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=9; client_max_window_bits=15");
}

TEST_CASE("invalid deflate offers: unknown, repeated, out of range, leading zero, flag values") {
  for (const char* bad :
       {"permessage-deflate; foo",
        "permessage-deflate; server_no_context_takeover; "
        "server_no_context_takeover",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=08",
        "permessage-deflate; client_max_window_bits=1a",
        "permessage-deflate; client_no_context_takeover=1",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10", "x-other"}) {
    INFO(bad);
    CHECK(parse_deflate_offer(only(bad)).error().code == Errc::ws_handshake);
  }
}

// ---- server negotiation ----

TEST_CASE("a server accepts the first valid offer and answers per §7.1") {
  // Chromium's offer, accepted as is.
  auto a = negotiate_deflate("permessage-deflate; client_max_window_bits");
  REQUIRE(a);
  CHECK(format_extension(a->response) == "permessage-deflate");
  CHECK(describe(a->params) == "s15 c15");
  // An invalid first offer is skipped; the second is taken.
  a = negotiate_deflate("permessage-deflate; bogus, permessage-deflate; server_max_window_bits=10");
  REQUIRE(a);
  CHECK(format_extension(a->response) == "permessage-deflate; server_max_window_bits=10");
  CHECK(describe(a->params) == "s10 c15");
  // Asked-for no-context-takeover is granted; the policy adds its own limits.
  DeflatePolicy policy;
  policy.client_no_context_takeover = true;
  policy.server_max_window_bits = 12;
  policy.client_max_window_bits = 11;
  a = negotiate_deflate("permessage-deflate; server_no_context_takeover; client_max_window_bits",
                        policy);
  REQUIRE(a);
  CHECK(format_extension(a->response) ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=12; client_max_window_bits=11");
  CHECK(describe(a->params) == "snct cnct s12 c11");
  // A client that did not send client_max_window_bits cannot be given a limit (§7.1.2.2).
  a = negotiate_deflate("permessage-deflate", policy);
  REQUIRE(a);
  CHECK(format_extension(a->response) ==
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=12");
  CHECK(describe(a->params) == "cnct s12 c15");
  // A client that capped its own window keeps the cap.
  a = negotiate_deflate("permessage-deflate; client_max_window_bits=10");
  REQUIRE(a);
  CHECK(describe(a->params) == "s15 c10");
  // Nothing to accept.
  CHECK_FALSE(negotiate_deflate(""));
  CHECK_FALSE(negotiate_deflate("x-webkit-deflate-frame"));
  CHECK_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=99"));
  CHECK_FALSE(negotiate_deflate("permessage-deflate;;"));
}

// ---- client checks of the response ----

TEST_CASE("a client accepts a response within its offer") {
  DeflateOffer chromium;
  chromium.client_max_window_bits = true;
  // eventlet's answer to that offer (PROTOCOLS.md).
  auto p = accept_deflate_response(only("permessage-deflate; client_max_window_bits=15"), chromium);
  REQUIRE(p.ok());
  CHECK(describe(*p) == "s15 c15");
  p = accept_deflate_response(
      only("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
           "server_max_window_bits=10; client_max_window_bits=9"),
      chromium);
  REQUIRE(p.ok());
  CHECK(describe(*p) == "snct cnct s10 c9");
  DeflateOffer capped;
  capped.server_max_window_bits = 12;
  capped.client_max_window_bits_value = 11;
  capped.client_max_window_bits = true;
  p = accept_deflate_response(only("permessage-deflate; server_max_window_bits=12"), capped);
  REQUIRE(p.ok());
  CHECK(describe(*p) == "s12 c11");
}

TEST_CASE("a client rejects a response beyond its offer") {
  DeflateOffer plain;  // "permessage-deflate"
  DeflateOffer capped;
  capped.server_max_window_bits = 10;
  capped.server_no_context_takeover = true;
  capped.client_max_window_bits = true;
  capped.client_max_window_bits_value = 10;
  struct Case {
    const char* response;
    const DeflateOffer& offer;
  };
  for (const Case& c : {
           Case{"permessage-deflate; client_max_window_bits=10", plain},
           Case{"permessage-deflate; client_max_window_bits", capped},
           Case{"permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
                capped},
           Case{"permessage-deflate; server_no_context_takeover", capped},
           Case{"permessage-deflate; server_max_window_bits=10", capped},
           Case{"permessage-deflate; server_no_context_takeover; server_max_window_bits=10; "
                "client_max_window_bits=11",
                capped},
           Case{"permessage-deflate; unknown", plain},
           Case{"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                plain},
           Case{"x-other", plain},
       }) {
    INFO(c.response);
    CHECK(accept_deflate_response(only(c.response), c.offer).error().code == Errc::ws_handshake);
  }
}

TEST_CASE("an observer reads any permessage-deflate response") {
  auto p = read_deflate_response(
      only("permessage-deflate; server_no_context_takeover; server_max_window_bits=99; x=1"));
  REQUIRE(p.ok());
  CHECK(describe(*p) == "snct s15 c15");
  CHECK_FALSE(read_deflate_response(only("x-other")).ok());
}

// ---- the codec (RFC 7692 §7.2) ----

TEST_CASE("RFC 7692 §7.2.3.1 and §7.2.3.2: Hello, then Hello again sharing the window") {
  Deflater d(15, false);
  CHECK(deflate_one(d, "Hello") == bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  CHECK(deflate_one(d, "Hello") == bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
  Inflater in(15, false);
  CHECK(inflate_one(in, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})) == "Hello");
  CHECK(inflate_one(in, bytes({0xf2, 0x00, 0x11, 0x00, 0x00})) == "Hello");
}

TEST_CASE("without context takeover every message stands alone") {
  Deflater d(15, true);
  CHECK(deflate_one(d, "Hello") == bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  CHECK(deflate_one(d, "Hello") == bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  Inflater in(15, true);
  CHECK(inflate_one(in, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})) == "Hello");
  CHECK(inflate_one(in, bytes({0xf2, 0x00, 0x11, 0x00, 0x00})) == "! ws_deflate");
}

TEST_CASE("RFC 7692 §7.2.3.3: a block with no compression, and the empty message") {
  Inflater in(15, false);
  CHECK(inflate_one(in, bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f,
                               0x00})) == "Hello");
  Deflater d(15, false);
  CHECK(deflate_one(d, "") == bytes({0x00}));
  CHECK(deflate_one(d, "a") != "");
  CHECK(deflate_one(d, "") == bytes({0x00}));  // also right after another flush
  Inflater fresh(15, false);
  CHECK(inflate_one(fresh, bytes({0x00})) == "");
  CHECK(inflate_one(fresh, "") == "");  // an empty payload (the tail alone) is an empty message
}

TEST_CASE("RFC 7692 §7.2.3.4: BFINAL ends the stream, the window carries over") {
  Inflater in(15, false);
  const std::string bfinal = bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00});
  CHECK(inflate_one(in, bfinal) == "Hello");
  CHECK(inflate_one(in, bfinal) == "Hello");
  // A sender that ends each message with BFINAL yet keeps its window writes the next message as
  // a new stream with the old window as dictionary; zlib does exactly that here.
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  REQUIRE(deflateSetDictionary(&z, reinterpret_cast<const Bytef*>("HelloHello"), 10) == Z_OK);
  unsigned char buf[64];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>("HelloHello"));
  z.avail_in = 10;
  z.next_out = buf;
  z.avail_out = sizeof buf;
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  std::string second(reinterpret_cast<char*>(buf), sizeof buf - z.avail_out);
  deflateEnd(&z);
  CHECK(inflate_one(in, second) == "HelloHello");
}

TEST_CASE("a message cut inside a deflate block fails instead of decoding garbage") {
  Inflater in(15, false);
  CHECK(inflate_one(in, bytes({0xf2, 0x48, 0xcd})) == "! ws_deflate");
  Inflater raw(15, false);
  CHECK(inflate_one(raw, "Hello") == "! ws_deflate");
}

TEST_CASE("RFC 7692 §7.2.3.5: two blocks in one message, fed in pieces") {
  const std::string payload =
      bytes({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00});
  for (size_t cut = 0; cut <= payload.size(); ++cut) {
    Inflater in(15, false);
    std::string out;
    REQUIRE(in.feed(payload.substr(0, cut), out, 100));
    REQUIRE(in.feed(payload.substr(cut), out, 100));
    REQUIRE(in.finish(out, 100));
    CHECK(out == "Hello");
  }
}

TEST_CASE("window bits: a 9-bit compressor, an 8-bit one that cannot be") {
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "abcdefghij"[i % 10] + std::to_string(i % 300);
  Deflater d9(9, false);
  std::string out;
  REQUIRE(d9.compress(text, out));
  Inflater in9(9, false);
  CHECK(inflate_one(in9, out, 1 << 20) == text);
  Deflater d8(8, false);
  CHECK_FALSE(d8.can_compress());
  out.clear();
  CHECK(d8.compress("x", out).error().code == Errc::ws_deflate);
}

TEST_CASE("a deflate bomb hits the size limit, not memory") {
  Deflater d(15, false, 9);
  std::string bomb;
  REQUIRE(d.compress(std::string(16 << 20, 'a'), bomb));
  CHECK(bomb.size() < 32 * 1024);
  Inflater in(15, false);
  std::string out;
  auto r = in.feed(bomb, out, 1 << 20);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::ws_message_too_large);
  CHECK(out.size() <= size_t{1} << 20);
  // The limit counts what the message already holds.
  Inflater again(15, false);
  std::string held(10, 'x');
  Deflater d2(15, false);
  std::string ten;
  REQUIRE(d2.compress("0123456789", ten));
  REQUIRE(again.feed(ten, held, 20));
  REQUIRE(again.finish(held, 20));
  CHECK(held == "xxxxxxxxxx0123456789");
  Deflater d3(15, false);
  std::string eleven;
  REQUIRE(d3.compress("0123456789A", eleven));
  Inflater third(15, false);
  std::string held2(10, 'x');
  auto r2 = third.feed(eleven, held2, 20);
  if (r2) r2 = third.finish(held2, 20);
  CHECK(r2.error().code == Errc::ws_message_too_large);
}

TEST_CASE("compressor and decompressor agree on large and varied input") {
  std::string text;
  uint32_t x = 12345;
  for (int i = 0; i < 200000; ++i) {
    x = x * 1103515245u + 12345u;
    text.push_back(char('a' + (x >> 16) % 8));
  }
  for (bool no_takeover : {false, true}) {
    Deflater d(15, no_takeover, 1);
    Inflater in(15, no_takeover);
    for (int round = 0; round < 3; ++round) {
      std::string z;
      REQUIRE(d.compress(text, z));
      CHECK(inflate_one(in, z, 1 << 20) == text);
    }
  }
}
