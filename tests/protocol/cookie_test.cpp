#include "protocol/cookie.h"

#include <doctest/doctest.h>

using namespace wa;
using namespace wa::cookie;

namespace {

SetCookie must_parse(std::string_view header) {
  auto c = parse_set_cookie(header);
  INFO(header);
  REQUIRE(c.ok());
  return *c;
}

constexpr int64_t kNov1994 = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT

}  // namespace

TEST_CASE("cookie-date: the formats of RFC 6265 §5.1.1 and what servers send") {
  const char* same_instant[] = {
      "Sun, 06 Nov 1994 08:49:37 GMT",       // IMF-fixdate (RFC 1123)
      "Sunday, 06-Nov-94 08:49:37 GMT",      // RFC 850
      "Sun Nov  6 08:49:37 1994",            // asctime
      "Sun, 06-Nov-1994 08:49:37 GMT",       // Netscape
      "06 Nov 1994 08:49:37",                // no weekday, no zone
      "Nov 6 1994 8:49:37",                  // single digits
      "1994 Nov 06 08:49:37 GMT",            // year first
      "08:49:37 6 november 1994",            // time first, full month name
      "sun, 06 NOV 1994 08:49:37 UTC+0100",  // the zone is ignored
      "Sun,06-Nov-1994,08:49:37.000Z",       // delimiters everywhere
  };
  for (const char* text : same_instant) {
    INFO(text);
    CHECK(parse_cookie_date(text) == kNov1994);
  }
  CHECK(parse_cookie_date("Wed, 09 Jun 2021 10:18:14 GMT") == 1623233894000);
  CHECK(parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
  CHECK(parse_cookie_date("Thu, 01-Jan-70 00:00:01 GMT") == 1000);
  CHECK(parse_cookie_date("Wed, 31 Dec 1969 23:59:59 GMT") == -1000);
  CHECK(parse_cookie_date("Tue, 19 Jan 2038 03:14:08 GMT") == 2147483648000);  // past 2^31 s
  CHECK(parse_cookie_date("Fri, 31 Dec 9999 23:59:59 GMT") == 253402300799000);
  CHECK(parse_cookie_date("1 Jan 69 00:00:00") == 3124224000000);  // 00-69 are 20xx
  CHECK(parse_cookie_date("1:2:3 1 january 1601") == -11644469877000);
  CHECK(parse_cookie_date("Sat, 29 Feb 2020 00:00:00 GMT") == 1582934400000);
  // Once each part has been found, later tokens are ignored.
  CHECK(parse_cookie_date("06 Nov 1994 08:49:37 12:00:00 1999 Dec") == kNov1994);
}

TEST_CASE("cookie-date: what §5.1.1 rejects") {
  const char* bad[] = {
      "",
      "garbage",
      "Sun, 06 Nov 1994",        // no time
      "Sun, Nov 1994 08:49:37",  // no day
      "06 1994 08:49:37",        // no month
      "06 Nov 08:49:37",         // no year
      "32 Jan 2020 00:00:00",    // day > 31
      "00 Jan 2020 00:00:00",    // day < 1
      "30 Feb 2020 00:00:00",    // a date that does not exist
      "29 Feb 2100 00:00:00",    // not a leap year
      "31 Jan 1600 00:00:00",    // year < 1601
      "1 Jan 2020 24:00:00",     // hour > 23
      "1 Jan 2020 00:60:00",     // minute > 59
      "1 Jan 2020 00:00:60",     // second > 59
      "1 Jan 2020 000:00:00",    // a time-field is 1*2DIGIT
      "1 Jan 20202 00:00:00",    // a year is 2*4DIGIT
      "1 Ja 2020 00:00:00",      // a month needs three letters
  };
  for (const char* text : bad) {
    INFO(text);
    CHECK_FALSE(parse_cookie_date(text).has_value());
  }
}

TEST_CASE("cookie-date: formatting round-trips") {
  CHECK(format_cookie_date(kNov1994) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(format_cookie_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(format_cookie_date(-1000) == "Wed, 31 Dec 1969 23:59:59 GMT");
  CHECK(format_cookie_date(-1) == "Wed, 31 Dec 1969 23:59:59 GMT");
  CHECK(format_cookie_date(INT64_MIN) == "Mon, 01 Jan 1601 00:00:00 GMT");  // clamped
  CHECK(format_cookie_date(INT64_MAX) == "Fri, 31 Dec 9999 23:59:59 GMT");
  for (int64_t t : {int64_t(0), kNov1994, int64_t(1582934400000), int64_t(253402300799000),
                    int64_t(-11644469877000)}) {
    CHECK(parse_cookie_date(format_cookie_date(t)) == t);
  }
}

TEST_CASE("Set-Cookie: name, value and the attributes of RFC 6265 §5.2") {
  auto c = must_parse(
      " SID = 31d4d96e407aad42 ; Path=/app; Domain=.Example.COM; Secure; HttpOnly; "
      "Expires=Wed, 09 Jun 2021 10:18:14 GMT; Max-Age=3600; SameSite=lax; Partitioned; "
      "Priority=High; Foo");
  CHECK(c.name == "SID");
  CHECK(c.value == "31d4d96e407aad42");
  CHECK(c.path == "/app");
  CHECK(c.domain == "example.com");
  CHECK(c.secure);
  CHECK(c.http_only);
  CHECK(c.partitioned);
  CHECK(c.expires_ms == 1623233894000);
  CHECK(c.max_age_s == 3600);
  CHECK(c.same_site == SameSite::lax);
  CHECK(c.same_site_raw == "lax");
  REQUIRE(c.other_attributes.size() == 2);
  CHECK(c.other_attributes[0] == Attribute{"Priority", "High", true});
  CHECK(c.other_attributes[1] == Attribute{"Foo", "", false});
  CHECK(c.raw.substr(0, 6) == " SID =");
  // Max-Age wins over Expires (§5.3 step 3).
  CHECK(c.expiry_at(1000) == 1000 + 3600 * 1000);
}

TEST_CASE("Set-Cookie: attribute edge cases") {
  SUBCASE("the last valid attribute of a kind wins") {
    auto c = must_parse("a=b; Max-Age=10; Max-Age=x1; Domain=a.com; Domain=; Path=/x; Path=/y");
    CHECK(c.max_age_s == 10);    // "x1" is ignored
    CHECK(c.domain == "a.com");  // an empty Domain is ignored
    CHECK(c.path == "/y");
  }
  SUBCASE("Max-Age: negative, zero, huge, malformed") {
    CHECK(must_parse("a=b; Max-Age=-5").max_age_s == -5);
    CHECK(must_parse("a=b; Max-Age=0").expiry_at(50) == INT64_MIN);
    CHECK(must_parse("a=b; Max-Age=-1").expiry_at(50) == INT64_MIN);
    auto huge = must_parse("a=b; Max-Age=99999999999999999999999999");
    REQUIRE(huge.max_age_s.has_value());
    CHECK(*huge.max_age_s >= 1'000'000'000'000);
    CHECK(*huge.expiry_at(0) > 0);  // saturated, not overflowed
    CHECK(huge.expiry_at(INT64_MAX - 5) == INT64_MAX);
    CHECK_FALSE(must_parse("a=b; Max-Age=").max_age_s.has_value());
    CHECK_FALSE(must_parse("a=b; Max-Age=-").max_age_s.has_value());
    CHECK_FALSE(must_parse("a=b; Max-Age=+5").max_age_s.has_value());
    CHECK_FALSE(must_parse("a=b; Max-Age=5s").max_age_s.has_value());
  }
  SUBCASE("Expires that is not a date is ignored; no expiry means a session cookie") {
    auto c = must_parse("a=b; Expires=tomorrow");
    CHECK_FALSE(c.expires_ms.has_value());
    CHECK_FALSE(c.expiry_at(0).has_value());
  }
  SUBCASE("Path that is not absolute asks for the default path") {
    CHECK(must_parse("a=b; Path=x").path == "");
    CHECK(must_parse("a=b; Path=").path == "");
    CHECK(must_parse("a=b; Path=/x; Path=rel").path == "");
    CHECK_FALSE(must_parse("a=b").path.has_value());
  }
  SUBCASE("Domain: one leading dot dropped, lower-cased; '.' alone leaves it empty") {
    CHECK(must_parse("a=b; domain=..X.org").domain == ".x.org");
    CHECK(must_parse("a=b; Domain=a.com; Domain=.").domain == "");
  }
  SUBCASE("SameSite values, unknown ones kept as given") {
    CHECK(must_parse("a=b; SameSite=STRICT").same_site == SameSite::strict);
    CHECK(must_parse("a=b; samesite=None").same_site == SameSite::none);
    auto odd = must_parse("a=b; SameSite=Relaxed");
    CHECK(odd.same_site == SameSite::other);
    CHECK(odd.same_site_raw == "Relaxed");
    CHECK(must_parse("a=b; SameSite").same_site == SameSite::other);
    CHECK(must_parse("a=b").same_site == SameSite::unset);
  }
  SUBCASE("attribute names are case-insensitive; values keep '='") {
    auto c = must_parse("a=b=c; sEcUrE; HTTPONLY; x=1=2");
    CHECK(c.value == "b=c");
    CHECK(c.secure);
    CHECK(c.http_only);
    CHECK(c.other_attributes[0] == Attribute{"x", "1=2", true});
  }
  SUBCASE("over-long attribute values are ignored") {
    auto c = must_parse("a=b; Path=/" + std::string(1024, 'p'));
    CHECK_FALSE(c.path.has_value());
  }
  SUBCASE("quotes and non-ASCII values are kept as sent; tabs are allowed") {
    CHECK(must_parse("a=\"q v\"").value == "\"q v\"");
    CHECK(must_parse("a=caf\xc3\xa9").value == "caf\xc3\xa9");
    CHECK(must_parse("a=\tb\t;\tSecure").value == "b");
  }
}

TEST_CASE("Set-Cookie: nameless cookies and what is ignored entirely") {
  auto bare = must_parse("token123; Path=/");
  CHECK(bare.name == "");
  CHECK(bare.value == "token123");
  auto eq = must_parse("=token123");
  CHECK(eq.name == "");
  CHECK(eq.value == "token123");
  auto empty_value = must_parse("a=");
  CHECK(empty_value.name == "a");
  CHECK(empty_value.value == "");

  const char* bad[] = {"", "=", " = ; Path=/", ";Secure", "a=b\x01", "a=b; Path=/\x7f", "a\nb=c"};
  for (const char* text : bad) {
    INFO(text);
    auto c = parse_set_cookie(text);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == Errc::cookie_malformed);
  }
  CHECK(parse_set_cookie("a=" + std::string(4095, 'v')).ok());
  CHECK_FALSE(parse_set_cookie("a=" + std::string(4096, 'v')).ok());
}

TEST_CASE("Cookie request header: ordered pairs as servers read them") {
  auto p = parse_cookie_header("SID=31d4d96e407aad42; lang=en-US;  io=x=y ;;nameless; e=");
  REQUIRE(p.ok());
  std::vector<CookiePair> expect = {
      {"SID", "31d4d96e407aad42"}, {"lang", "en-US"}, {"io", "x=y"}, {"", "nameless"}, {"e", ""}};
  CHECK(*p == expect);
  CHECK(serialise_cookie_header(*p) == "SID=31d4d96e407aad42; lang=en-US; io=x=y; nameless; e=");
  auto dup = parse_cookie_header("a=1; a=2");
  REQUIRE(dup.ok());
  CHECK(dup->size() == 2);  // duplicates are kept, in order
  CHECK(parse_cookie_header("")->empty());
  CHECK(parse_cookie_header(" ; ")->empty());
  CHECK(parse_cookie_header("a=\"quoted\"")->at(0).value == "\"quoted\"");
  auto bad = parse_cookie_header("a=b\r\nX: y");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Errc::cookie_malformed);
}

TEST_CASE("domain-match, RFC 6265 §5.1.3") {
  struct Row {
    const char* host;
    const char* domain;
    bool match;
  } rows[] = {
      {"example.com", "example.com", true},
      {"www.example.com", "example.com", true},
      {"a.b.example.com", "example.com", true},
      {"example.com", "www.example.com", false},
      {"badexample.com", "example.com", false},  // not on a label boundary
      {"example.com", "com", true},              // the jar refuses this one separately
      {"example.com", "", false},
      {"127.0.0.1", "127.0.0.1", true},
      {"1.127.0.0.1", "127.0.0.1", true},  // a name that looks like one, not an IP
      {"10.0.0.1", "0.0.1", false},        // an IP address only matches itself
      {"[::1]", "[::1]", true},
      {"[::1]", "1]", false},
      {"localhost", "localhost", true},
      {"app.localhost", "localhost", true},
  };
  for (const Row& r : rows) {
    INFO(r.host << " vs " << r.domain);
    CHECK(domain_matches(r.host, r.domain) == r.match);
  }
}

TEST_CASE("path-match and default-path, RFC 6265 §5.1.4") {
  struct Row {
    const char* request;
    const char* cookie;
    bool match;
  } rows[] = {
      {"/", "/", true},
      {"/docs", "/docs", true},
      {"/docs/", "/docs", true},
      {"/docs/web", "/docs", true},
      {"/docs/web", "/docs/", true},
      {"/docsets", "/docs", false},
      {"/doc", "/docs", false},
      {"/anything", "/", true},
      {"/Docs", "/docs", false},  // case-sensitive
      {"/socket.io/", "/socket.io", true},
      {"", "/", false},
  };
  for (const Row& r : rows) {
    INFO(r.request << " vs " << r.cookie);
    CHECK(path_matches(r.request, r.cookie) == r.match);
  }
  CHECK(default_path("") == "/");
  CHECK(default_path("x") == "/");
  CHECK(default_path("/") == "/");
  CHECK(default_path("/login") == "/");
  CHECK(default_path("/a/b") == "/a");
  CHECK(default_path("/a/b/") == "/a/b");
  CHECK(default_path("/a//b") == "/a/");
}
