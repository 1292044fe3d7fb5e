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
