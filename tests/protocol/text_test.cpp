#include "protocol/text.h"

#include <doctest/doctest.h>

using namespace wa::text;

TEST_CASE("base64 round-trips the RFC 4648 §10 vectors") {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    CHECK(base64_encode(plain[i]) == coded[i]);
    auto back = base64_decode(coded[i]);
    REQUIRE(back.ok());
    CHECK(*back == plain[i]);
  }
}

TEST_CASE("base64 decodes Engine.IO's unpadded binary and rejects garbage") {
  auto v = base64_decode("AQID/w==");
  REQUIRE(v.ok());
  CHECK(*v == std::string("\x01\x02\x03\xff", 4));
  CHECK(base64_decode("AQID").ok());
  CHECK_FALSE(base64_decode("A").ok());
  CHECK_FALSE(base64_decode("AQ!D").ok());
  CHECK_FALSE(base64_decode("AQ=D").ok());
}

TEST_CASE("UTF-16 length counts an emoji as two units") {
  // PROTOCOLS.md: "é€😀" is 3 code points, 4 UTF-16 units, 9 UTF-8 bytes.
  std::string s = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  REQUIRE(s.size() == 9);
  CHECK(utf16_length(s) == 4u);
  CHECK(utf8_prefix_for_utf16_units(s, 2) == 5u);
  CHECK(utf8_prefix_for_utf16_units(s, 4) == 9u);
  CHECK_FALSE(utf8_prefix_for_utf16_units(s, 3).has_value());  // inside the surrogate pair
  CHECK_FALSE(utf8_prefix_for_utf16_units(s, 5).has_value());
  CHECK_FALSE(utf16_length("\xc0\x80").has_value());  // overlong
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));          // a lone surrogate
}

TEST_CASE("header helpers") {
  CHECK(iequals("Content-Length", "content-length"));
  CHECK_FALSE(iequals("Content-Length", "content-lengths"));
  CHECK(trim(" \t x y \t") == "x y");
  CHECK(hex("\x01\xab") == "01ab");
}
