// Content codings: every coding (zlib-wrapped and raw deflate, gzip and x-gzip, br, stacked,
// several gzip members), corrupt and cut bodies, the output limit; each body also fed in two
// pieces at every split point. Vectors come from zlib's and brotli's own encoders.
#include "protocol/content_coding.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/compress_helpers.h"

using namespace wa::coding;
using wa::Errc;
using wa::test::brotli;

namespace {

// Bodies here are encoded at the best compression level.
std::string zlib_compress(std::string_view in, int window_bits) {
  return wa::test::zlib_compress(in, window_bits, 9);
}

std::string gzip(std::string_view in) {
  return zlib_compress(in, 15 + 16);
}
std::string zlib_wrapped(std::string_view in) {
  return zlib_compress(in, 15);
}
std::string raw_deflate(std::string_view in) {
  return zlib_compress(in, -15);
}

// "text" or "! code" for a failure.
std::string decode_whole(std::string_view coding, std::string_view body, size_t max = 1 << 20) {
  auto r = decode_all(coding, body, max);
  return r ? *r : std::string("! ") + wa::errc_name(r.error().code);
}

std::string decode_split(std::string_view coding, std::string_view body, size_t cut,
                         size_t max = 1 << 20) {
  auto d = Decoder::make(coding, max);
  REQUIRE(d.ok());
  std::string out;
  auto r = d->feed(body.substr(0, cut), out);
  if (r) r = d->feed(body.substr(cut), out);
  if (r) r = d->finish(out);
  return r ? out : std::string("! ") + wa::errc_name(r.error().code);
}

// Every split point gives what the whole body gives.
void check_every_split(std::string_view coding, std::string_view body, const std::string& want,
                       size_t max = 1 << 20) {
  CHECK(decode_whole(coding, body, max) == want);
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    INFO("split at " << cut << " of " << body.size());
    REQUIRE(decode_split(coding, body, cut, max) == want);
  }
}

// A polling payload of engine.io 3 above the 1 KiB compression threshold.
std::string big_text() {
  std::string s = "96:42[\"state\",{\"items\":[";
  for (int i = 0; i < 200; ++i)
    s += "{\"id\":" + std::to_string(i) + ",\"name\":\"item " + std::to_string(i * 7) + "\"},";
  s += "{}]}]";
  return s;
}

}  // namespace

TEST_CASE("Content-Encoding values parse into codings in the order applied") {
  auto c = parse_content_encoding(" GZIP , ,x-gzip,identity, deflate,Br ");
  REQUIRE(c.ok());
  CHECK(*c == std::vector<Coding>{Coding::gzip, Coding::gzip, Coding::deflate, Coding::br});
  CHECK(parse_content_encoding("")->empty());
  CHECK(parse_content_encoding("identity")->empty());
  auto unknown = parse_content_encoding("gzip, compress");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == Errc::bad_encoding);
  CHECK(unknown.error().why.find("compress") != std::string::npos);
  CHECK_FALSE(Decoder::make("zstd", 100).ok());
  CHECK(std::string(coding_name(Coding::br)) == "br");
}

TEST_CASE("identity and no coding pass the bytes through, within the limit") {
  check_every_split("", "abc", "abc");
  check_every_split("identity", "abc", "abc");
  CHECK(decode_whole("", "abcdef", 3) == "! limit");
  CHECK(decode_split("identity", "abcdef", 2, 3) == "! limit");
  CHECK(Decoder::make("identity", 1)->identity());
}

TEST_CASE("gzip and x-gzip decode at every split point") {
  const std::string text = big_text();
  check_every_split("gzip", gzip(text), text);
  check_every_split("x-gzip", gzip("hello"), "hello");
  check_every_split("gzip", gzip(""), "");
}

TEST_CASE("gzip with several members decodes them all (RFC 1952 §2.2)") {
  check_every_split("gzip", gzip("ab") + gzip("") + gzip("cd"), "abcd");
}

TEST_CASE("deflate decodes zlib-wrapped (RFC 9110 §8.4.1.2) and raw at every split point") {
  const std::string text = big_text();
  check_every_split("deflate", zlib_wrapped(text), text);
  check_every_split("deflate", raw_deflate(text), text);
  check_every_split("deflate", zlib_wrapped(""), "");
  check_every_split("deflate", raw_deflate(""), "");
  check_every_split("Deflate", raw_deflate("x"), "x");
}

TEST_CASE("br decodes at every split point") {
  const std::string text = big_text();
  check_every_split("br", brotli(text), text);
  check_every_split("br", brotli(""), "");
}

TEST_CASE("stacked codings come off in reverse order") {
  const std::string text = big_text();
  // `gzip, br`: gzipped first, then the gzip stream compressed with brotli.
  check_every_split("gzip, br", brotli(gzip(text)), text);
  check_every_split("br,deflate", raw_deflate(brotli(text)), text);
  check_every_split("deflate, identity, gzip", gzip(zlib_wrapped("abc")), "abc");
  // An inner layer may be larger than the body it holds; only the body counts against the limit.
  CHECK(decode_whole("gzip, deflate", raw_deflate(gzip("ab")), 2) == "ab");
  // In the wrong order the outer layer is not what the first decoder expects.
  CHECK(decode_whole("br, gzip", brotli(gzip(text))) == "! bad_encoding");
}

TEST_CASE("an empty body decodes to nothing whatever its coding") {
  for (const char* coding : {"gzip", "deflate", "br", "gzip, br"}) {
    CHECK(decode_whole(coding, "") == "");
  }
}

TEST_CASE("corrupt bodies are bad_encoding") {
  const std::string text = big_text();
  CHECK(decode_whole("gzip", "not gzip at all") == "! bad_encoding");
  CHECK(decode_whole("br", "not brotli at all") == "! bad_encoding");
  CHECK(decode_whole("deflate", "\xff\xff\xff\xff") == "! bad_encoding");
  std::string flipped = gzip(text);
  flipped[flipped.size() / 2] ^= 0x55;
  flipped[flipped.size() / 2 + 1] ^= 0x55;
  CHECK(decode_whole("gzip", flipped) == "! bad_encoding");
  // The gzip trailer's CRC-32 is checked.
  std::string bad_crc = gzip(text);
  bad_crc[bad_crc.size() - 6] ^= 1;
  CHECK(decode_whole("gzip", bad_crc) == "! bad_encoding");
  // Bytes after a zlib or br stream has ended; after a gzip member they must be another one.
  CHECK(decode_whole("deflate", zlib_wrapped("a") + "x") == "! bad_encoding");
  CHECK(decode_whole("br", brotli("a") + "x") == "! bad_encoding");
  CHECK(decode_whole("gzip", gzip("a") + "junk") == "! bad_encoding");
  auto r = decode_all("gzip", "not gzip at all", 100);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().why.find("gzip") != std::string::npos);
}

TEST_CASE("a body cut inside its coding is incomplete at finish") {
  const std::string text = big_text();
  for (const auto& entry : {std::pair<std::string, std::string>{"gzip", gzip(text)},
                            {"deflate", zlib_wrapped(text)},
                            {"deflate", raw_deflate(text)},
                            {"br", brotli(text)},
                            {"gzip, br", brotli(gzip(text))}}) {
    // Not a structured binding: clang 14 cannot capture one in INFO's lambda.
    const std::string& coding = entry.first;
    const std::string& body = entry.second;
    INFO(coding);
    for (size_t len = 1; len < body.size(); ++len) {
      INFO("cut to " << len);
      REQUIRE(decode_whole(coding, std::string_view(body).substr(0, len)) == "! incomplete");
    }
  }
}

TEST_CASE("output over the limit is Errc::limit, for bombs too") {
  const std::string zeros(1 << 20, '\0');
  for (const auto& entry : {std::pair<std::string, std::string>{"gzip", gzip(zeros)},
                            {"deflate", zlib_wrapped(zeros)},
                            {"deflate", raw_deflate(zeros)},
                            {"br", brotli(zeros)},
                            {"br, gzip", gzip(brotli(zeros))}}) {
    const std::string& coding = entry.first;
    const std::string& body = entry.second;
    INFO(coding);
    CHECK(body.size() < 4096);
    CHECK(decode_whole(coding, body, 1000) == "! limit");
    CHECK(decode_whole(coding, body, zeros.size()) == zeros);
    CHECK(decode_whole(coding, body, zeros.size() - 1) == "! limit");
  }
  // The limit counts everything one decoder produces, not one call's output.
  auto d = Decoder::make("gzip", 3);
  REQUIRE(d.ok());
  std::string body = gzip("abcd"), out;
  auto r = d->feed(std::string_view(body).substr(0, body.size() - 8), out);
  if (r) r = d->feed(std::string_view(body).substr(body.size() - 8), out);
  if (r) r = d->finish(out);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::limit);
  CHECK(out.size() <= 3);
}

TEST_CASE("after a failure every call fails the same way") {
  auto d = Decoder::make("gzip", 1 << 20);
  REQUIRE(d.ok());
  std::string out;
  REQUIRE_FALSE(d->feed("garbage!", out).ok());
  auto again = d->feed(gzip("a"), out);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == Errc::bad_encoding);
  CHECK_FALSE(d->finish(out).ok());
  CHECK(out.empty());
}

TEST_CASE("a decoder is movable mid-stream") {
  const std::string body = brotli(gzip("moved"));
  auto made = Decoder::make("gzip, br", 1 << 20);
  REQUIRE(made.ok());
  Decoder first = std::move(*made);
  std::string out;
  REQUIRE(first.feed(std::string_view(body).substr(0, 3), out).ok());
  Decoder second = std::move(first);
  REQUIRE(second.feed(std::string_view(body).substr(3), out).ok());
  REQUIRE(second.finish(out).ok());
  CHECK(out == "moved");
}
