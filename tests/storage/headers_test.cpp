#include "storage/headers.h"

#include <doctest/doctest.h>

using namespace wa::store;

TEST_CASE("headers encode as ordered JSON pairs and decode back") {
  Headers h = {{"Host", "app.test"},
               {"Accept", "*/*"},
               {"Accept", "text/html"},
               {"X-Esc", "quote \" backslash \\ tab \t nul"}};
  h[3].value.push_back('\0');
  std::string json = encode_headers(h);
  CHECK(json.substr(0, 44) == R"([["Host","app.test"],["Accept","*/*"],["Acce)");
  CHECK(json.find(R"(quote \" backslash \\ tab \u0009 nul\u0000)") != std::string::npos);
  auto back = decode_headers(json);
  REQUIRE(back.ok());
  CHECK(*back == h);
  CHECK(encode_headers({}) == "[]");
  CHECK(decode_headers("[]")->empty());
}

TEST_CASE("every ASCII byte, escaped or not, at either end or in a run, decodes back") {
  std::string all;
  for (int c = 0; c < 0x80; ++c)
    all.push_back(static_cast<char>(c));
  Headers h = {{"\"lead", all + "caf\xc3\xa9"}, {"trail\\", "\x01"}, {"", ""}};
  std::string json = encode_headers(h);
  CHECK(json.find(R"(["\"lead","\u0000\u0001)") == 1);
  auto back = decode_headers(json);
  REQUIRE(back.ok());
  CHECK(*back == h);
}

TEST_CASE("non-UTF-8 pairs are stored as base64 and decode back") {
  Headers h = {{"Content-Disposition", std::string("attachment; filename=caf\xe9", 25)},
               {"X-Ok", "h\xc3\xa9llo"}};
  std::string json = encode_headers(h);
  CHECK(json.find(R"(,"base64"])") != std::string::npos);
  CHECK(json.find("\"X-Ok\",\"h\xc3\xa9llo\"") != std::string::npos);  // UTF-8 stays readable
  auto back = decode_headers(json);
  REQUIRE(back.ok());
  CHECK(*back == h);
}

TEST_CASE("anything else is refused") {
  for (const char* bad : {"", "{}", "[1]", R"([["a"]])", R"([["a","b","hex"]])", R"([["a",1]])",
                          R"([["!!","!!","base64"]])", "[[\"a\",\"b\"]"}) {
    CAPTURE(bad);
    auto r = decode_headers(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == wa::Errc::bad_encoding);
  }
}
