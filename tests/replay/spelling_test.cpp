#include "replay/spelling.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using namespace wa::replay;

TEST_CASE("spellings: HTML character references and JavaScript escape(), and back") {
  CHECK(spell("a&b<c>\"d'e=f`", Spelling::html) == "a&amp;b&lt;c&gt;&quot;d&#39;e=f`");
  CHECK(spell("a'b=c`", Spelling::html_hex) == "a&#x27;b&#x3D;c&#x60;");
  // escape() keeps A-Z a-z 0-9 @*_+-./ and writes the rest as %XX or %uXXXX (UTF-16 units).
  CHECK(spell("Ab/c+d=e f@*_-.", Spelling::js_escape) == "Ab/c+d%3De%20f@*_-.");
  CHECK(spell("é€😀", Spelling::js_escape) == "%E9%u20AC%uD83D%uDE00");
  for (std::string value : {"Ab/cd+Ef==", "a&b<c>\"d'e=f`", "é€😀 x", "s:abc.def%", "k=v;x"}) {
    for (const SpelledValue& s : spellings(value)) {
      CAPTURE(value);
      CAPTURE(spelling_name(s.spelling));
      auto back = unspell(s.text, s.spelling);
      REQUIRE(back);
      CHECK(*back == value);
    }
  }
  CHECK(spell("user:Tk+/9", Spelling::base64) == "dXNlcjpUaysvOQ==");
  CHECK(spell("user:Tk+/9", Spelling::base64url) == "dXNlcjpUaysvOQ");
  CHECK(unspell("dXNlcjpUaysvOQ", Spelling::base64url) == "user:Tk+/9");
  CHECK_FALSE(unspell("dXNlc*pU", Spelling::base64));
  // Readers take what any writer wrote.
  CHECK(unspell("a&#x3d;&#61;&equals;&amp;&#X27;b", Spelling::html) == "a===&'b");
  CHECK(unspell("a & b", Spelling::html) == "a & b");  // a bare ampersand is text
  CHECK(unspell("%u20ac%e9", Spelling::js_escape) == "€é");
  CHECK(unspell("a\\u00e9\\/b", Spelling::json) == "aé/b");
  // Broken escapes are not values.
  CHECK_FALSE(unspell("a%2", Spelling::js_escape));
  CHECK_FALSE(unspell("%uD83D", Spelling::js_escape));             // a lone surrogate
  CHECK(unspell("a&#xD800;", Spelling::html) == "a\xEF\xBF\xBD");  // as HTML reads it
  CHECK_FALSE(unspell("a\\q", Spelling::json));
  CHECK_FALSE(unspell("a%zz", Spelling::url));
}

TEST_CASE("spellings: raw, URL-encoded, form-encoded, inside JSON strings") {
  CHECK(spell("a b/c+d", Spelling::url) == "a%20b%2Fc%2Bd");
  CHECK(spell("a b/c+d", Spelling::form) == "a+b%2Fc%2Bd");
  CHECK(spell("a\"b\\c/d", Spelling::json) == "a\\\"b\\\\c/d");
  CHECK(spell("a/b", Spelling::json_slash) == "a\\/b");
  CHECK(spell("é€😀", Spelling::json) == "é€😀");
  CHECK(spell("é€😀", Spelling::json_ascii) == "\\u00e9\\u20ac\\ud83d\\ude00");
  // A plain token is spelled raw, and in base64 and base64url; others have as many more as
  // differ.
  CHECK(spellings("FaQlkxn7_bPvpM-GAAAA").size() == 3);
  auto s = spellings("Ab/cd+Ef==");
  std::vector<Spelling> kinds;
  for (auto& v : s)
    kinds.push_back(v.spelling);
  CHECK(kinds == std::vector<Spelling>{Spelling::raw, Spelling::url, Spelling::json_slash,
                                       Spelling::html_hex, Spelling::js_escape, Spelling::base64,
                                       Spelling::base64url});
  // Not UTF-8: no JSON spellings and no escape().
  CHECK(spellings("ab\xff\xfe"
                  "cd")
            .size() == 4);
}

TEST_CASE("whole tokens: not glued to more token characters") {
  CHECK(find_whole("id=abc123&x", "abc123") == std::vector<size_t>{3});
  CHECK(find_whole("xabc1234", "abc123").empty());
  CHECK(find_whole("abc1234", "abc123").empty());
  CHECK(find_whole("xabc123", "abc123").empty());
  CHECK(find_whole("abc123.png abc123", "abc123") == std::vector<size_t>{0, 11});
  CHECK(find_whole("s%3Aabc123.sig", "abc123") == std::vector<size_t>{4});
  CHECK(find_whole("\"\\nabc123\"", "abc123") == std::vector<size_t>{3});
  CHECK(find_whole("\\u00e9abc123", "abc123") == std::vector<size_t>{6});
  CHECK(find_whole("é"
                   "abc123",
                   "abc123")
            .empty());  // a letter, even non-ASCII
  // A value that starts or ends with a separator has no constraint on that side.
  CHECK(find_whole("x/abc", "/abc") == std::vector<size_t>{1});
  CHECK(find_whole("aaaa", "aa") == std::vector<size_t>{});
  CHECK(find_whole("aa aa", "aa") == std::vector<size_t>{0, 3});
  CHECK(find_whole("", "a").empty());
  CHECK(find_whole("a", "").empty());
  CHECK_FALSE(whole_token_at("abc", 2, 5));
}

TEST_CASE("replace_whole: one pass, leftmost then longest, never re-searching output") {
  std::vector<Replacement> r = {{"abc123", "X"}, {"abc123.sig", "LONG"}, {"X", "abc123"}};
  size_t n = 0;
  CHECK(replace_whole("abc123.sig abc123 xabc123", r, &n) == "LONG X xabc123");
  CHECK(n == 2);
  CHECK(replace_whole("nothing here", r, &n) == "nothing here");
  CHECK(n == 0);
}

TEST_CASE("needle sets find every whole-token needle in one scan") {
  NeedleSet set;
  CHECK_FALSE(set.add("", 9));
  CHECK(set.add("abc123", 1));
  CHECK(set.add("abc123.sig", 2));
  CHECK(set.add("ab", 3));  // short: searched on its own
  CHECK(set.add("zzzzzz", 4));
  std::multimap<uint32_t, size_t> hits;
  set.scan("ab abc123.sig xabc123 ab", [&](uint32_t tag, size_t offset, size_t length) {
    hits.emplace(tag, offset);
    CHECK(length > 0);
  });
  CHECK(hits.count(1) == 1);
  CHECK(hits.find(1)->second == 3);
  CHECK(hits.count(2) == 1);
  CHECK(hits.count(3) == 2);
  CHECK(hits.count(4) == 0);
  size_t calls = 0;
  set.scan("abc", [&](uint32_t, size_t, size_t) { ++calls; });
  CHECK(calls == 0);
}
