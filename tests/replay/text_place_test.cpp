#include "replay/text_place.h"

#include <doctest/doctest.h>

#include <string>

using namespace wa::replay;

namespace {

// The place of `spelled` (the first occurrence) in `text`.
TextPlace place_of(std::string_view text, std::string_view spelled, Spelling spelling,
                   std::string_view value) {
  size_t at = text.find(spelled);
  REQUIRE(at != std::string_view::npos);
  return learn_place(text, at, spelled.size(), spelling, value);
}

}  // namespace

TEST_CASE("text place: an inline script's token, read from a live page where it moved") {
  std::string recorded =
      "<html><head><script nonce=\"n0nceAAA\">\n"
      "  window.APP_LOCALS = { user: 'bob', _csrf: unescape('Ab/cd+Ef%3D%3D') };\n"
      "</script></head><body>hello</body></html>";
  TextPlace p = place_of(recorded, "Ab/cd+Ef%3D%3D", Spelling::js_escape, "Ab/cd+Ef==");
  CHECK(p.left.size() == TextPlace::kLeftBytes);
  CHECK(p.left.ends_with("{ user: 'bob', _csrf: unescape('"));
  CHECK(p.right == "') };");
  CHECK(p.occurrences == 1);

  // Another length, another position (a longer user name before it), another nonce.
  std::string live =
      "<html><head><script nonce=\"other-nonce-value\">\n"
      "  window.APP_LOCALS = { user: 'roberta', _csrf: unescape('Zy+x%3D/Wv9876+uT%3D') };\n"
      "</script></head><body>hello, roberta</body></html>";
  auto v = read_place(p, live);
  REQUIRE(v);
  CHECK(v->value == "Zy+x=/Wv9876+uT=");
  CHECK(v->same_shape);
}

TEST_CASE("text place: the same occurrence of a repeated boundary") {
  std::string recorded = "<a data-id=\"first11\"></a><a data-id=\"second22\"></a>";
  TextPlace p = place_of(recorded, "second22", Spelling::raw, "second22");
  CHECK(p.left.find("first11") != std::string::npos);
  // The left boundary holds the first id: when that changes too, a shorter tail is used, and
  // the occurrence nearest the recorded position is taken.
  std::string live = "<a data-id=\"firstXY\"></a><a data-id=\"secondZZ\"></a>";
  auto v = read_place(p, live);
  REQUIRE(v);
  CHECK(v->value == "secondZZ");

  TextPlace q = learn_place("x=aaa111;x=bbb222;", 11, 6, Spelling::raw, "bbb222");
  CHECK(q.left == "x=aaa111;x=");
  CHECK(q.occurrence == 0);
  auto w = read_place(q, "x=ccc333;x=ddd444;");
  REQUIRE(w);
  CHECK(w->value == "ddd444");
}

TEST_CASE("text place: escaped as the page escaped it") {
  std::string recorded = "<p title=\"tok&#x3D;ab&amp;cd\">";
  TextPlace p = place_of(recorded, "tok&#x3D;ab&amp;cd", Spelling::html_hex, "tok=ab&cd");
  auto v = read_place(p, "<p title=\"tok&#61;xy&amp;zw\">");
  REQUIRE(v);
  CHECK(v->value == "tok=xy&zw");

  std::string json = R"(<script type="application/json">{"csrf":"a\/b\u002bc"}</script>)";
  TextPlace j = place_of(json, R"(a\/b\u002bc)", Spelling::json_slash, "a/b+c");
  auto w = read_place(j, R"(<script type="application/json">{"csrf":"q\/r\u002bs"}</script>)");
  REQUIRE(w);
  CHECK(w->value == "q/r+s");
}

TEST_CASE("text place: a live value of another shape is found but flagged") {
  std::string recorded = "var token = \"3f9a1c0b7e2d4a68\";\nvar other = 1;";
  TextPlace p = place_of(recorded, "3f9a1c0b7e2d4a68", Spelling::raw, "3f9a1c0b7e2d4a68");
  CHECK(p.left == "var token = \"");
  CHECK(p.right == "\";");
  auto ok = read_place(p, "var token = \"0123abcd4567ef89\";\nvar other = 1;");
  REQUIRE(ok);
  CHECK(ok->same_shape);
  // Not hex any more: the page changed what sits there.
  auto odd = read_place(p, "var token = \"please sign in\";\nvar other = 1;");
  REQUIRE(odd);
  CHECK(odd->value == "please sign in");
  CHECK_FALSE(odd->same_shape);
  // Far too long.
  auto longer = read_place(p, "var token = \"" + std::string(100, 'a') + "\";");
  REQUIRE(longer);
  CHECK_FALSE(longer->same_shape);
}

TEST_CASE("text place: nothing at the place") {
  std::string recorded = "csrf = 'Tok3nValue9';";
  TextPlace p = place_of(recorded, "Tok3nValue9", Spelling::raw, "Tok3nValue9");
  CHECK_FALSE(read_place(p, "nothing like it here"));
  CHECK_FALSE(read_place(p, "csrf = '';"));                   // empty
  CHECK_FALSE(read_place(p, "csrf = 'no end of the value"));  // no right boundary
  TextPlace js = place_of("x=unescape('a%3Db')", "a%3Db", Spelling::js_escape, "a=b");
  CHECK_FALSE(read_place(js, "x=unescape('a%3')"));  // does not decode
}

TEST_CASE("text place: shapes") {
  CHECK(same_shape(shape_of("3f9a1c0b"), 8, "00ffaa11"));
  CHECK_FALSE(same_shape(shape_of("3f9a1c0b"), 8, "00ffaa1z"));
  CHECK_FALSE(same_shape(shape_of("3f9a1c0b"), 8, "00FFAA11"));  // hex keeps its case
  // Mixed case: the base64 and base64url signs the sample lacked are allowed.
  CHECK(same_shape(shape_of("AbCdEf123"), 9, "Ab-d_f+2/="));
  CHECK_FALSE(same_shape(shape_of("AbCdEf123"), 9, "Ab<d>f123"));
  // UUIDs.
  CHECK(same_shape(shape_of("0b7c3b4e-8f3a-4c1e-9d2a-1f2e3d4c5b6a"), 36,
                   "11111111-2222-4333-8444-555555555555"));
  CHECK(same_shape(shape_of("12345678"), 8, "87654321"));
  CHECK_FALSE(same_shape(shape_of("12345678"), 8, "8765432a"));
  CHECK_FALSE(same_shape(shape_of("abc"), 3, ""));
}
