#include "replay/json_diff.h"

#include <doctest/doctest.h>

#include <string>

using namespace wa::replay;

TEST_CASE("JSON pointers: escaping, splitting, resolving (RFC 6901)") {
  CHECK(pointer_append("/a", "b/c~d") == "/a/b~1c~0d");
  CHECK(pointer_append("", size_t(3)) == "/3");
  auto t = split_pointer("/a~1b/~0/0/");
  REQUIRE(t);
  CHECK(*t == std::vector<std::string>{"a/b", "~", "0", ""});
  CHECK(split_pointer("")->empty());
  CHECK_FALSE(split_pointer("a"));
  CHECK_FALSE(split_pointer("/a~2"));
  CHECK_FALSE(split_pointer("/a~"));
  Json doc = Json::parse(R"({"a":{"b/c":[10,{"d":"x"}]},"":1})");
  CHECK(*resolve_pointer(doc, "/a/b~1c/1/d") == "x");
  CHECK(*resolve_pointer(doc, "/") == 1);
  CHECK(resolve_pointer(doc, "") == &doc);
  CHECK_FALSE(resolve_pointer(doc, "/a/b~1c/2"));
  CHECK_FALSE(resolve_pointer(doc, "/a/b~1c/01"));
  CHECK_FALSE(resolve_pointer(doc, "/a/b~1c/-"));
  CHECK_FALSE(resolve_pointer(doc, "/a/b~1c/0/x"));
}

TEST_CASE("pointer patterns cover their path and everything below, * for one token") {
  CHECK(pointer_covers("/meta", "/meta/ts"));
  CHECK(pointer_covers("/items/*/ts", "/items/3/ts"));
  CHECK(pointer_covers("/*", "/anything/below"));
  CHECK(pointer_covers("", "/x"));
  CHECK(pointer_covers("", ""));
  CHECK_FALSE(pointer_covers("/items/*/ts", "/items/3"));
  CHECK_FALSE(pointer_covers("/a", "/ab"));
  CHECK_FALSE(pointer_covers("bad", "/a"));
}

TEST_CASE("structural diff: numbers by value, types, members, array lengths") {
  std::vector<JsonDifference> out;
  json_diff(Json::parse(R"([1, 2.0, -3, 18446744073709551615, "x", null, true])"),
            Json::parse(R"([1.0, 2, -3.0, 18446744073709551615, "x", null, true])"), out);
  CHECK(out.empty());
  CHECK(json_equal(Json::parse(R"({"a":1,"b":2})"), Json::parse(R"({"b":2,"a":1})")));
  CHECK_FALSE(json_equal(Json::parse("[1,2]"), Json::parse("[2,1]")));
  CHECK_FALSE(json_equal(Json::parse("-1"), Json::parse("18446744073709551615")));
  json_diff(Json::parse(R"({"a":"1","b":[1,2,3]})"), Json::parse(R"({"a":1,"b":[1]})"), out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].path == "/a");
  CHECK(out[0].expected == "\"1\"");
  CHECK(out[0].actual == "1");
  CHECK(out[1].path == "/b/1");
  CHECK(out[1].actual == "(absent)");
  CHECK(out[2].path == "/b/2");
  out.clear();
  json_diff(Json::parse("[1,2,3]"), Json::parse("[4,5,6]"), out, "/base", 2);
  CHECK(out.size() == 2);
  CHECK(out[0].path == "/base/0");
}

TEST_CASE("wide objects compare in linear time, member order ignored") {
  Json a = Json::object(), b = Json::object();
  for (int i = 0; i < 20000; ++i)
    a["k" + std::to_string(i)] = i;
  for (int i = 19999; i >= 0; --i)
    b["k" + std::to_string(i)] = i == 5 ? -1 : i;
  std::vector<JsonDifference> out;
  json_diff(a, b, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].path == "/k5");
}

TEST_CASE("excerpts cut at a UTF-8 boundary") {
  CHECK(text_excerpt("abc", 5) == "abc");
  CHECK(text_excerpt("abcdef", 3) == "abc…");
  CHECK(text_excerpt("aé", 2) == "a…");
  CHECK(json_excerpt(Json("é"), 100) == "\"é\"");
}
