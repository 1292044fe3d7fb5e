#include "protocol/socketio_json.h"

#include <doctest/doctest.h>

#include <string>

using wa::Errc;
using wa::sio::dump_json;
using wa::sio::Json;
using wa::sio::parse_json;

TEST_CASE("JSON keeps member order and round-trips compactly") {
  auto v =
      parse_json(R"({"message":"bad token","data":{"why":"token","n":1}})", Errc::sio_malformed);
  REQUIRE(v.ok());
  CHECK(dump_json(*v) == R"({"message":"bad token","data":{"why":"token","n":1}})");
  auto spaced = parse_json(" [ 1 , \"a\" , { \"k\" : null } ] ", Errc::sio_malformed);
  REQUIRE(spaced.ok());
  CHECK(dump_json(*spaced) == R"([1,"a",{"k":null}])");
}

TEST_CASE("JSON \\u escapes decode to the same UTF-8 Node writes raw") {
  // PROTOCOLS.md §2 gotcha 1: python escapes non-ASCII (surrogate pairs for the emoji).
  auto escaped = parse_json(R"("h\u00e9llo \u20ac\ud83d\ude00")", Errc::sio_malformed);
  auto raw = parse_json("\"h\xc3\xa9llo \xe2\x82\xac\xf0\x9f\x98\x80\"", Errc::sio_malformed);
  REQUIRE(escaped.ok());
  REQUIRE(raw.ok());
  CHECK(*escaped == *raw);
  CHECK(dump_json(*escaped) == "\"h\xc3\xa9llo \xe2\x82\xac\xf0\x9f\x98\x80\"");
}

TEST_CASE("JSON duplicate keys: the last value wins at the first position, as in JSON.parse") {
  auto v = parse_json(R"({"a":1,"b":2,"a":3})", Errc::sio_malformed);
  REQUIRE(v.ok());
  CHECK(dump_json(*v) == R"({"a":3,"b":2})");
}

TEST_CASE("JSON duplicate keys in a large object, before and after the index is built") {
  std::string text = "{";
  for (int i = 0; i < 40; ++i)
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  text += R"("k3":"x","k39":"y","k40":40})";
  auto v = parse_json(text, Errc::sio_malformed);
  REQUIRE(v.ok());
  CHECK(v->size() == 41u);
  CHECK((*v)["k3"] == "x");
  CHECK((*v)["k39"] == "y");
  std::string out = dump_json(*v);
  CHECK(out.substr(0, 37) == R"({"k0":0,"k1":1,"k2":2,"k3":"x","k4":4)");
  CHECK(out.substr(out.size() - 19) == R"("k39":"y","k40":40})");
}

TEST_CASE("JSON with many members parses in linear time") {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) {
    if (i) text += ',';
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  text += '}';
  auto v = parse_json(text, Errc::sio_malformed);
  REQUIRE(v.ok());
  CHECK(v->size() == 200000u);
  CHECK(v->back() == 199999);
}

TEST_CASE("JSON failures carry the caller's code, depth is a limit") {
  for (const char* bad : {"", "[", "[1,]", "[1e400]", "-1e999", "{\"a\"}", "nul", "1 2",
                          "\"\\ud83d\"", "'x'", "[\"\xff\"]", "{\"a\":1}x"}) {
    CAPTURE(bad);
    auto v = parse_json(bad, Errc::sio09_malformed);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().code == Errc::sio09_malformed);
    CHECK_FALSE(v.error().why.empty());
  }
  std::string deep(200, '[');
  deep += std::string(200, ']');
  auto v = parse_json(deep, Errc::sio_malformed, 128);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == Errc::limit);
  CHECK(parse_json(deep, Errc::sio_malformed, 200).ok());
  std::string huge(1 << 20, '[');  // a megabyte of nesting fails fast, without recursion
  CHECK(parse_json(huge, Errc::sio_malformed).error().code == Errc::limit);
}

TEST_CASE("JSON dump never throws on caller-built invalid UTF-8") {
  Json j = Json::array();
  j.push_back(std::string("a\xff"));
  CHECK(dump_json(j) == "[\"a\xef\xbf\xbd\"]");
}
