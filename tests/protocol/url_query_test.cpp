#include <doctest/doctest.h>

#include "protocol/url.h"

using namespace wa;
using namespace wa::url;

TEST_CASE("percent-encoding in the URI-component and form flavours") {
  CHECK(percent_encode("a b+c/d?e=f&g~h!*'()", Flavour::component) ==
        "a%20b%2Bc%2Fd%3Fe%3Df%26g~h!*'()");
  CHECK(percent_encode("a b+c/d?e=f&g~h!*'()", Flavour::form) ==
        "a+b%2Bc%2Fd%3Fe%3Df%26g%7Eh%21*%27%28%29");
  CHECK(percent_encode(std::string("\xc3\xa9\0", 3)) == "%C3%A9%00");

  CHECK(*percent_decode("a%20b+c%2b", Flavour::component) == "a b+c+");
  CHECK(*percent_decode("a%20b+c%2B", Flavour::form) == "a b c+");
  CHECK(*percent_decode("%e2%82%AC") == "\xe2\x82\xac");
  auto bad = percent_decode("100%");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Errc::bad_encoding);
  CHECK_FALSE(percent_decode("%4").ok());
  CHECK_FALSE(percent_decode("%g0").ok());
  CHECK(percent_decode_lenient("100%") == "100%");
  CHECK(percent_decode_lenient("%%41%4") == "%A%4");
  for (const char* s : {"", "plain", "a b&c=d/é", "100%"}) {
    CHECK(*percent_decode(percent_encode(s, Flavour::form), Flavour::form) == s);
    CHECK(*percent_decode(percent_encode(s)) == s);
  }
}

TEST_CASE("an Engine.IO query keeps order and encoding when one parameter changes") {
  const char* raw = "token=abc%2Fdef%3D&EIO=3&transport=polling&t=Q7x3vuz";
  Query q(raw);
  CHECK(q.str() == raw);
  REQUIRE(q.params().size() == 4);
  CHECK(q.get("token") == "abc/def=");
  CHECK(q.get("EIO") == "3");
  CHECK(q.get("transport") == "polling");
  CHECK_FALSE(q.get("sid").has_value());

  q.set("t", "Q7x4aaa");
  CHECK(q.str() == "token=abc%2Fdef%3D&EIO=3&transport=polling&t=Q7x4aaa");
  q.add("sid", "lv_VI97HAXpY6yYWAAAC");
  CHECK(q.str() == "token=abc%2Fdef%3D&EIO=3&transport=polling&t=Q7x4aaa&sid=lv_VI97HAXpY6yYWAAAC");
  q.set("transport", "websocket");
  CHECK(q.str() ==
        "token=abc%2Fdef%3D&EIO=3&transport=websocket&t=Q7x4aaa&sid=lv_VI97HAXpY6yYWAAAC");
  CHECK(q.remove("t") == 1);
  CHECK(q.str() == "token=abc%2Fdef%3D&EIO=3&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC");
  q.set("token", "a b/c");
  CHECK(q.str() == "token=a%20b%2Fc&EIO=3&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC");
  CHECK(q.get("token") == "a b/c");
}

TEST_CASE("query parameters: repeats, missing values, empty pieces, '+' and odd escapes") {
  Query q("a=1&b&=x&&a=2&c=d%3De&a+b=c+d&%61=3&bad=%zz");
  CHECK(q.str() == "a=1&b&=x&&a=2&c=d%3De&a+b=c+d&%61=3&bad=%zz");
  CHECK(q.get_all("a") == std::vector<std::string>{"1", "2", "3"});
  CHECK(q.get("b") == "");
  CHECK_FALSE(q.params()[1].has_value);
  CHECK(q.get("") == "x");
  CHECK(q.get("c") == "d=e");
  CHECK(q.get("a b") == "c d");
  CHECK(q.get("bad") == "%zz");

  q.set("a", "9");  // the first keeps its place, the later ones go
  CHECK(q.str() == "a=9&b&=x&&c=d%3De&a+b=c+d&bad=%zz");
  q.set("b", "");
  CHECK(q.str() == "a=9&b=&=x&&c=d%3De&a+b=c+d&bad=%zz");
  CHECK(q.remove("nothing") == 0);
  CHECK(q.remove("a b") == 1);
  CHECK(q.str() == "a=9&b=&=x&&c=d%3De&bad=%zz");

  CHECK(Query("").empty());
  CHECK(Query("").str() == "");
  CHECK(Query("&").params().size() == 2);
  CHECK(Query("&").str() == "&");
  Query fresh;
  fresh.add("k y", "v&w");
  CHECK(fresh.str() == "k%20y=v%26w");
}

TEST_CASE("substitute rewrites a correlated value in path and query, keeping the rest") {
  auto u = parse("http://h/room/abc123/x%20y?sid=abc123&other=%7Eabc123%7e&keep=%41");
  REQUIRE(u.ok());
  CHECK(substitute(*u, "abc123", "LIVE-9") == 3);
  CHECK(u->str() == "http://h/room/LIVE-9/x%20y?sid=LIVE-9&other=%7ELIVE-9%7e&keep=%41");

  // A base64 token recorded percent-encoded, replaced by one that needs encoding too.
  auto t = parse("http://h/a?token=ab%2Bc%2fd%3D%3D&n=1");
  REQUIRE(t.ok());
  CHECK(substitute(*t, "ab+c/d==", "x/y+z=") == 1);
  CHECK(t->str() == "http://h/a?token=x%2Fy%2Bz%3D&n=1");

  // A token a client sent with a raw '+' still matches.
  auto raw_plus = parse("http://h/?t=ab+cd");
  CHECK(substitute(*raw_plus, "ab+cd", "ef") == 1);
  CHECK(raw_plus->query == "t=ef");
  auto spaced = parse("http://h/?q=hello+world");
  CHECK(substitute(*spaced, "hello world", "bye") == 1);
  CHECK(spaced->query == "q=bye");

  // Matches never span separators.
  auto sep = parse("http://h/a/b?a=b&c=d");
  CHECK(substitute(*sep, "a/b", "z") == 0);
  CHECK(substitute(*sep, "b&c", "z") == 0);
  CHECK(substitute(*sep, "a=b", "z") == 0);
  CHECK(substitute(*sep, "", "z") == 0);
  CHECK(sep->str() == "http://h/a/b?a=b&c=d");

  // Path segments encode '/' and '?' in the new value; repeated matches all go.
  auto p = parse("http://h/xx/xxx");
  CHECK(substitute(*p, "x", "/?") == 5);
  CHECK(p->path == "/%2F%3F%2F%3F/%2F%3F%2F%3F%2F%3F");
  CHECK_FALSE(p->has_query);
}
