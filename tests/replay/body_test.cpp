#include "replay/body.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/compress_helpers.h"

using namespace wa::replay;
using wa::test::brotli;
using wa::test::zlib_compress;

TEST_CASE("content codings: identity, gzip (several members), deflate zlib and raw, br, stacked") {
  std::string text(5000, 'x');
  CHECK(decode_content("abc", "") == "abc");
  CHECK(decode_content("abc", " Identity ") == "abc");
  CHECK(decode_content(zlib_compress(text, 15 + 16), "gzip") == text);
  CHECK(decode_content(zlib_compress("ab", 15 + 16) + zlib_compress("cd", 15 + 16), "x-gzip") ==
        "abcd");
  CHECK(decode_content(zlib_compress(text, 15), "deflate") == text);
  CHECK(decode_content(zlib_compress(text, -15), "deflate") == text);
  CHECK(decode_content(brotli(text), "br") == text);
  CHECK(decode_content(brotli(zlib_compress(text, 15 + 16)), "gzip, br") == text);
  CHECK(decode_content(zlib_compress(brotli(text), -15), "br, deflate") == text);
  CHECK_FALSE(decode_content("abc", "br"));
  CHECK_FALSE(decode_content(zlib_compress(text, 15 + 16), "gzip, br"));
  CHECK_FALSE(decode_content("abc", "compress"));
  CHECK_FALSE(decode_content("not gzip", "gzip"));
  std::string gz = zlib_compress(text, 15 + 16);
  CHECK_FALSE(decode_content(gz.substr(0, gz.size() / 2), "gzip"));  // cut
  CHECK_FALSE(decode_content(gz, "gzip", 100));                      // over the limit
  CHECK_FALSE(decode_content("abcdef", "", 3));
}

TEST_CASE("body kinds from the media type, or the bytes") {
  CHECK(body_kind("application/json", "") == BodyKind::empty);
  CHECK(body_kind("application/json; charset=utf-8", "{}") == BodyKind::json);
  CHECK(body_kind("application/problem+json", "{}") == BodyKind::json);
  CHECK(body_kind("Text/HTML", "<p>") == BodyKind::html);
  CHECK(body_kind("text/plain", "hi") == BodyKind::text);
  CHECK(body_kind("application/javascript", "x") == BodyKind::text);
  CHECK(body_kind("text/plain", "\xff\xfe") == BodyKind::binary);
  CHECK(body_kind("image/png", "PNG") == BodyKind::binary);
  CHECK(body_kind("", "plain words") == BodyKind::text);
  CHECK(body_kind("", std::string("a\0b", 3)) == BodyKind::binary);
}

TEST_CASE("SHA-256 in lower-case hex; header lookup without case") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  wa::store::Headers h = {{"Content-Type", "a"}, {"content-type", "b"}};
  CHECK(header_value(h, "CONTENT-TYPE") == "a");
  CHECK(header_value(h, "x") == "");
}

TEST_CASE("CappedBody: the prefix kept, the rest hashed and counted as it streams") {
  std::string whole;
  for (int i = 0; i < 1000; ++i)
    whole += char('a' + i % 26);
  SUBCASE("under the cap: whole, no hash") {
    CappedBody body(1000);
    body.append(whole.substr(0, 400));
    body.append(whole.substr(400));
    CHECK_FALSE(body.cut());
    auto p = body.take();
    CHECK(p.bytes == whole);
    CHECK(p.full_length == 1000);
    CHECK(p.sha256.empty());
    CHECK_FALSE(p.truncated());
  }
  SUBCASE("over the cap, at every split point of two pieces: the same prefix, length, hash") {
    for (size_t split = 0; split <= whole.size(); split += 37) {
      CAPTURE(split);
      CappedBody body(100);
      body.append(whole.substr(0, split));
      body.append(whole.substr(split));
      CHECK(body.length() == 1000);
      CHECK(body.cut());
      CHECK(body.kept().size() == 100);
      auto p = body.take();
      CHECK(p.bytes == whole.substr(0, 100));
      CHECK(p.full_length == 1000);
      CHECK(p.sha256 == sha256_hex(whole));
      CHECK(p.truncated());
    }
  }
  SUBCASE("byte by byte, and a cap of 0") {
    CappedBody body(0);
    for (char c : whole)
      body.append(std::string_view(&c, 1));
    auto p = body.take();
    CHECK(p.bytes.empty());
    CHECK(p.full_length == 1000);
    CHECK(p.sha256 == sha256_hex(whole));
  }
  SUBCASE("exactly the cap is whole; reserve never goes past the cap") {
    CappedBody body(1000);
    body.reserve(uint64_t{1} << 40);
    CHECK(body.kept().capacity() < 2000);
    body.append(whole);
    CHECK_FALSE(body.cut());
    body.append("");
    CHECK_FALSE(body.cut());
    auto p = body.take();
    CHECK(p.sha256.empty());
    CHECK(p.bytes == whole);
  }
  SUBCASE("memory: a large body streamed in pieces keeps only the cap") {
    CappedBody body(64 * 1024);
    std::string piece(16 * 1024, 'x');
    for (int i = 0; i < 1024; ++i)  // 16 MiB
      body.append(piece);
    CHECK(body.length() == uint64_t{16} << 20);
    CHECK(body.kept().capacity() <= 64 * 1024 + 64);
    CHECK(body.take().sha256 == sha256_hex(std::string(size_t{16} << 20, 'x')));
  }
}
