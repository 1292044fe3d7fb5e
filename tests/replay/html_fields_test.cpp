#include "replay/html_fields.h"

#include <doctest/doctest.h>

using namespace wa::replay;

TEST_CASE("hidden inputs and meta tags, however they are quoted and cased") {
  auto f = html_fields(
      "<meta charset=utf-8><META NAME=\"csrf-token\" CONTENT=\"m&amp;1\">"
      "<meta property='og:token' content='p1'><meta http-equiv=refresh content=\"5\">"
      "<input type=hidden name=a value=one><input name=b value=visible>"
      "<input type = \"HIDDEN\" value=\"x&#39;y&#x41;&quot;\" name=\"c\"/>"
      "<input type=hidden name=a value=two><input type=hidden name=empty value>"
      "<input type=hidden name=novalue>");
  REQUIRE(f.size() == 7);
  CHECK(f[0].kind == HtmlField::Kind::meta);
  CHECK(f[0].name == "csrf-token");
  CHECK(f[0].value == "m&1");
  CHECK(f[1].name == "og:token");
  CHECK(f[2].name == "refresh");
  CHECK(f[3].kind == HtmlField::Kind::hidden_input);
  CHECK(f[3].name == "a");
  CHECK(f[3].value == "one");
  CHECK(f[3].occurrence == 0);
  CHECK(f[4].name == "c");
  CHECK(f[4].value == "x'yA\"");
  CHECK(f[5].value == "two");
  CHECK(f[5].occurrence == 1);
  CHECK(f[6].name == "empty");
  CHECK(f[6].value == "");
}

TEST_CASE("comments and raw text elements hold no fields") {
  auto f = html_fields(
      "<!-- <input type=hidden name=a value=1> --><script>var s = '<input type=hidden name=b "
      "value=2>';</SCRIPT><textarea><input type=hidden name=c value=3></textarea>"
      "<input type=hidden name=d value=4>");
  REQUIRE(f.size() == 1);
  CHECK(f[0].name == "d");
}

TEST_CASE("a document that ends inside a tag, comment or script ends the scan") {
  CHECK(html_fields("<input type=hidden name=a value=\"1").empty());
  CHECK(html_fields("<input type=hidden name=a value=1").empty());
  CHECK(html_fields("<!-- <input type=hidden name=a value=1>").empty());
  CHECK(html_fields("<script><input type=hidden name=a value=1>").empty());
  CHECK(html_fields("< input> <3 <").empty());
  CHECK(html_fields("").empty());
  std::string many;
  for (int i = 0; i < 100; ++i)
    many += "<input type=hidden name=n value=v>";
  CHECK(html_fields(many, 10).size() == 10);
}

TEST_CASE("character references") {
  CHECK(decode_html_entities("a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;") == "a&b<>\"'AB😀");
  CHECK(decode_html_entities("&unknown; & &#xZZ; &#;") == "&unknown; & &#xZZ; &#;");
  CHECK(decode_html_entities("&#0;&#xD800;&#99999999;") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(decode_html_entities("&#99999999999999;") == "&#99999999999999;");  // too long for one
}
