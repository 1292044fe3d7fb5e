#include "protocol/url.h"

#include <doctest/doctest.h>

using namespace wa;
using namespace wa::url;

namespace {

Url must_parse(std::string_view text) {
  auto u = parse_reference(text);
  INFO(text);
  REQUIRE(u.ok());
  return *u;
}

std::string resolved(std::string_view base, std::string_view ref) {
  auto b = parse(base);
  REQUIRE(b.ok());
  auto r = resolve(*b, ref);
  INFO(ref);
  REQUIRE(r.ok());
  return serialise(*r);
}

std::string normalised(std::string_view text) {
  return serialise(normalise(must_parse(text)));
}

}  // namespace

TEST_CASE("an absolute URL splits into its RFC 3986 components") {
  auto u = parse("HTTP://user:pw@Example.COM:8080/a/b;p?x=1&y#frag");
  REQUIRE(u.ok());
  CHECK(u->scheme == "HTTP");
  CHECK(u->has_userinfo);
  CHECK(u->userinfo == "user:pw");
  CHECK(u->host == "Example.COM");
  CHECK(u->host_kind == HostKind::name);
  CHECK(u->port == 8080);
  CHECK(u->path == "/a/b;p");
  CHECK(u->has_query);
  CHECK(u->query == "x=1&y");
  CHECK(u->has_fragment);
  CHECK(u->fragment == "frag");
  CHECK(u->str() == "HTTP://user:pw@Example.COM:8080/a/b;p?x=1&y#frag");
  CHECK(u->effective_port() == 8080);
  CHECK(u->target() == "/a/b;p?x=1&y");
}

TEST_CASE("components that are absent differ from components that are empty") {
  auto u = must_parse("http://h?#");
  CHECK(u.path.empty());
  CHECK(u.has_query);
  CHECK(u.query.empty());
  CHECK(u.has_fragment);
  CHECK(serialise(u) == "http://h?#");
  auto v = must_parse("http://h");
  CHECK_FALSE(v.has_query);
  CHECK_FALSE(v.has_fragment);
  CHECK(v.target() == "/");
  CHECK(serialise(v) == "http://h");
}

TEST_CASE("hosts: names, IPv4, IPv6 literals, localhost") {
  auto v6 = parse("http://[::1]:3000/x");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->host_kind == HostKind::ipv6);
  CHECK(v6->port == 3000);
  CHECK(v6->host_text() == "[::1]");
  CHECK(v6->host_header() == "[::1]:3000");
  CHECK(v6->str() == "http://[::1]:3000/x");

  auto v4 = parse("http://127.0.0.1:8080/");
  REQUIRE(v4.ok());
  CHECK(v4->host_kind == HostKind::ipv4);
  CHECK(v4->host_header() == "127.0.0.1:8080");

  auto local = parse("ws://localhost/socket.io/");
  REQUIRE(local.ok());
  CHECK(local->host_kind == HostKind::name);
  CHECK(local->effective_port() == 80);
  CHECK(local->host_header() == "localhost");

  CHECK(parse("https://h:443/")->host_header() == "h");
  CHECK(parse("https://h:80/")->host_header() == "h:80");
  // Not dotted-quad IPv4: a name.
  CHECK(parse("http://127.1/")->host_kind == HostKind::name);
  CHECK(parse("http://1.2.3.04/")->host_kind == HostKind::name);
  CHECK(parse("http://1.2.3.256/")->host_kind == HostKind::name);
}

TEST_CASE("IPv6 text forms and their RFC 5952 canonical text") {
  CHECK(canonical_ipv6("0:0:0:0:0:0:0:1") == "::1");
  CHECK(canonical_ipv6("2001:DB8:0:0:1:0:0:1") == "2001:db8::1:0:0:1");
  CHECK(canonical_ipv6("2001:db8:0:0:0:0:2:1") == "2001:db8::2:1");
  CHECK(canonical_ipv6("2001:0db8:0000:0000:0000:ff00:0042:8329") == "2001:db8::ff00:42:8329");
  CHECK(canonical_ipv6("2001:db8:0:1:1:1:1:1") == "2001:db8:0:1:1:1:1:1");  // no lone "::"
  CHECK(canonical_ipv6("::") == "::");
  CHECK(canonical_ipv6("1::") == "1::");
  CHECK(canonical_ipv6("::ffff:192.0.2.1") == "::ffff:c000:201");
  CHECK(canonical_ipv6("1:0:0:2:0:0:0:3") == "1:0:0:2::3");
  CHECK_FALSE(canonical_ipv6("1:2:3:4:5:6:7:8:9").has_value());
  CHECK_FALSE(canonical_ipv6("1::2::3").has_value());
  CHECK_FALSE(canonical_ipv6("12345::").has_value());
  CHECK_FALSE(canonical_ipv6(":1::").has_value());
  CHECK_FALSE(canonical_ipv6("1:").has_value());
  CHECK_FALSE(canonical_ipv6("1:2:3:4:5:6:7::8").has_value());
  CHECK_FALSE(canonical_ipv6("::1.2.3").has_value());
  CHECK_FALSE(canonical_ipv6("").has_value());
  CHECK(is_ipv4("0.0.0.0"));
  CHECK_FALSE(is_ipv4("1.2.3"));
  CHECK_FALSE(is_ipv4("1.2.3.4."));
}

TEST_CASE("malformed URLs fail with url_malformed and a reason") {
  const char* bad[] = {
      "http://",        "http:///path", "http://h:99999/",
      "http://h:8o/",   "http://[::1/", "http://[::g]/",
      "http://[::1]x/", "http://a b/",  "http://h/\x01",
      "1http://h/",     "://h",         "http://a<b/",
      "http://h/a\nb",  "/relative",    "http://[v1.x]/",
      "http://%zz/",    "http://h:-1/", "http://[fe80::1%25eth0]/",
  };
  for (const char* text : bad) {
    auto u = parse(text);
    INFO(text);
    CHECK_FALSE(u.ok());
    if (!u.ok()) {
      CHECK(u.error().code == Errc::url_malformed);
      CHECK_FALSE(u.error().why.empty());
    }
  }
}

TEST_CASE("lenient where browsers are") {
  // An empty port is no port (RFC 3986 §3.2.3); '@' in userinfo: the last one ends it.
  auto u = must_parse("http://a@b@h:/p q?x=<y>#f#g");
  CHECK(u.userinfo == "a@b");
  CHECK(u.host == "h");
  CHECK_FALSE(u.port.has_value());
  CHECK(u.path == "/p q");
  CHECK(u.query == "x=<y>");
  CHECK(u.fragment == "f#g");
  CHECK(must_parse("http://h:0080/").port == 80);
  CHECK(must_parse("file:///etc/hosts").host_kind == HostKind::none);
  CHECK(must_parse("mailto:a@b").path == "a@b");
  CHECK(parse("http://caf\xc3\xa9.example/").ok());  // no IDNA: kept as UTF-8
}

TEST_CASE("request targets: origin-form and authority-form") {
  auto o = parse_origin_form("/socket.io/?EIO=4&transport=polling");
  REQUIRE(o.ok());
  CHECK(o->path == "/socket.io/");
  CHECK(o->query == "EIO=4&transport=polling");
  CHECK_FALSE(o->is_absolute());
  CHECK_FALSE(o->has_authority);
  CHECK(o->target() == "/socket.io/?EIO=4&transport=polling");

  auto slashes = parse_origin_form("//not-a-host/x");
  REQUIRE(slashes.ok());
  CHECK(slashes->path == "//not-a-host/x");
  CHECK_FALSE(slashes->has_authority);

  CHECK_FALSE(parse_origin_form("x").ok());
  CHECK_FALSE(parse_origin_form("").ok());
  CHECK_FALSE(parse_origin_form("/a#b").ok());

  auto a = parse_authority_form("example.com:443");
  REQUIRE(a.ok());
  CHECK(a->host == "example.com");
  CHECK(a->port == 443);
  auto a6 = parse_authority_form("[::1]:8443");
  REQUIRE(a6.ok());
  CHECK(a6->host_kind == HostKind::ipv6);
  CHECK(a6->port == 8443);
  CHECK_FALSE(parse_authority_form("example.com").ok());
  CHECK_FALSE(parse_authority_form(":443").ok());
  CHECK_FALSE(parse_authority_form("h:443/x").ok());
  CHECK_FALSE(parse_authority_form("u@h:443").ok());
}

TEST_CASE("RFC 3986 §5.4.1 normal reference resolution examples") {
  const char* base = "http://a/b/c/d;p?q";
  const char* cases[][2] = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
  };
  for (auto& c : cases)
    CHECK(resolved(base, c[0]) == c[1]);
}

TEST_CASE("RFC 3986 §5.4.2 abnormal reference resolution examples") {
  const char* base = "http://a/b/c/d;p?q";
  const char* cases[][2] = {
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"http:g", "http:g"},  // strict parsers
  };
  for (auto& c : cases)
    CHECK(resolved(base, c[0]) == c[1]);
}

TEST_CASE("resolution of Location headers") {
  CHECK(resolved("http://127.0.0.1:3000/login", "/home") == "http://127.0.0.1:3000/home");
  CHECK(resolved("http://h/a/b", "//other:81/x?y") == "http://other:81/x?y");
  CHECK(resolved("https://h", "x") == "https://h/x");  // §5.2.3 empty base path with authority
  CHECK(resolved("http://h/a?q#f", "") == "http://h/a?q");
  CHECK(resolved("foo:a/b", "../../c") == "foo:/c");
  auto rel = parse_reference("a/b");
  REQUIRE(rel.ok());
  CHECK_FALSE(resolve(*rel, "c").ok());  // the base must be absolute
  CHECK(remove_dot_segments("/a/b/c/./../../g") == "/a/g");
  CHECK(remove_dot_segments("mid/content=5/../6") == "mid/6");
}

TEST_CASE("normalisation: case, default ports, dot segments, escapes, empty path") {
  CHECK(normalised("HTTP://Example.COM:80") == "http://example.com/");
  CHECK(normalised("https://h:443/a/./b/../c") == "https://h/a/c");
  CHECK(normalised("wss://h:443/") == "wss://h/");
  CHECK(normalised("ws://h:80/") == "ws://h/");
  CHECK(normalised("ws://h:443/") == "ws://h:443/");
  CHECK(normalised("http://h:8080") == "http://h:8080/");
  CHECK(normalised("http://h/%7e%2fa?b=%c3%a9#%aa") == "http://h/%7E%2Fa?b=%C3%A9#%AA");
  CHECK(normalised("http://[0:0::1]:80/") == "http://[::1]/");
  CHECK(normalised("http://[2001:DB8::1]/") == "http://[2001:db8::1]/");
  CHECK(normalised("http://h/a b?c d#e f") == "http://h/a%20b?c%20d#e%20f");
  CHECK(normalised("http://h/100%?x=5%") == "http://h/100%25?x=5%25");
  CHECK(normalised("http://h/caf\xc3\xa9") == "http://h/caf%C3%A9");
  CHECK(normalised("http://h/#a#b") == "http://h/#a%23b");
  CHECK(normalised("/a/../b?x") == "/b?x");
  CHECK(normalised("../a") == "../a");  // unresolved: left for resolve()
  CHECK(normalised("foo:/..//x") == "foo:/.//x");
  // Percent-encoded unreserved characters are kept (what the replayer must send).
  CHECK(normalised("http://h/%2E%2E/x") == "http://h/%2E%2E/x");
  for (const char* text : {"HTTP://u@H:80/a/../%7e b?%aa#x#", "foo:/..//x", "/./a/..//b"}) {
    Url once = normalise(must_parse(text));
    CHECK(normalise(once) == once);
    CHECK(normalise(must_parse(serialise(once))) == once);
  }
}

TEST_CASE("origins") {
  CHECK(origin(*parse("HTTP://Example.com:80/x?y")) == "http://example.com");
  CHECK(origin(*parse("http://127.0.0.1:3000/")) == "http://127.0.0.1:3000");
  CHECK(origin(*parse("https://[::1]:443/")) == "https://[::1]");
  CHECK(origin(*parse("wss://h:8443/")) == "wss://h:8443");
  CHECK(origin(*parse("file:///x")) == "null");
  CHECK(origin(*parse("data:text/plain,x")) == "null");
  CHECK(same_origin(*parse("http://h/a"), *parse("http://H:80/b")));
  CHECK_FALSE(same_origin(*parse("http://h/"), *parse("https://h/")));
  CHECK_FALSE(same_origin(*parse("file:///a"), *parse("file:///a")));
}

TEST_CASE("origin mapping rewrites scheme, host and port and nothing else") {
  Url from = *parse("http://localhost:3000");
  Url to = *parse("https://127.0.0.1:8443");
  CHECK(map_origin("http://localhost:3000/a%2fb?x=%41&y#f", from, to) ==
        "https://127.0.0.1:8443/a%2fb?x=%41&y#f");
  CHECK(map_origin("HTTP://LOCALHOST:3000", from, to) == "https://127.0.0.1:8443");  // Origin
  CHECK(map_origin("//localhost:3000/x", from, to) == "//127.0.0.1:8443/x");
  CHECK(map_origin("http://localhost:3001/x", from, to) == "http://localhost:3001/x");
  CHECK(map_origin("/relative", from, to) == "/relative");
  CHECK(map_origin("null", from, to) == "null");
  CHECK(map_origin("http://[bad", from, to) == "http://[bad");
  Url plain = *parse("http://127.0.0.1");
  CHECK(map_origin("http://localhost:3000/p", from, plain) == "http://127.0.0.1/p");
  Url moved = with_origin(*parse("http://u@a:1/p?q"), *parse("ws://[::1]:2"));
  CHECK(moved.str() == "ws://u@[::1]:2/p?q");
}

TEST_CASE("serialise keeps the text parseable and round-trips what parse gave") {
  const char* texts[] = {
      "http://a/b/c/d;p?q",
      "HTTP://u:p@[::FFFF:1.2.3.4]:1/%zz?%%#frag",
      "//host",
      "?only",
      "#only",
      "",
      "a/b",
      "mailto:x@y",
      "urn:isbn:0451450523",
      "http://h/?a=1&&b==2&",
  };
  for (const char* text : texts) {
    Url u = must_parse(text);
    CHECK(serialise(u) == text);
    CHECK(must_parse(serialise(u)) == u);
  }
  Url odd;
  odd.scheme = "foo";
  odd.path = "//x";
  CHECK(serialise(odd) == "foo:/.//x");
  Url colon;
  colon.path = "a:b";
  CHECK(serialise(colon) == "./a:b");
  Url rootless;
  rootless.scheme = "http";
  rootless.has_authority = true;
  rootless.host = "h";
  rootless.host_kind = HostKind::name;
  rootless.path = "p";
  CHECK(serialise(rootless) == "http://h/p");
}

TEST_CASE("Host header mapping") {
  Url from = *parse("http://localhost:3000");
  Url to = *parse("http://127.0.0.1:8080");
  CHECK(map_host("localhost:3000", from, to) == "127.0.0.1:8080");
  CHECK(map_host("LOCALHOST:3000", from, to) == "127.0.0.1:8080");
  CHECK(map_host("localhost", from, to) == "localhost");  // port 80: another origin
  CHECK(map_host("other:3000", from, to) == "other:3000");
  CHECK(map_host("", from, to) == "");
  CHECK(map_host("a/b", from, to) == "a/b");
  Url plain = *parse("https://example.com");
  CHECK(map_host("example.com:443", plain, to) == "127.0.0.1:8080");
  CHECK(map_host("example.com", plain, *parse("https://[::1]:443/")) == "[::1]");
}

TEST_CASE("Host field values: uri-host [\":\" port] and nothing else (RFC 9110 §7.2)") {
  for (const char* ok :
       {"", "a", "localhost:3000", "example.com", "EXAMPLE.com:443", "127.0.0.1", "127.0.0.1:8080",
        "[::1]", "[::1]:8443", "[2001:db8::7]", "a-b_c~d.e", "x%41y", "sub!$&'()*+,;=delims",
        "host:", "[::1]:", "host:65535", "host:0"}) {
    CAPTURE(ok);
    CHECK(is_valid_host_field(ok));
  }
  for (const char* bad : {"a b@c",     "a b",        "user@host",     "user:pw@host:80",
                          " a",        "a\t",        "a\x01",         "a\x7f",
                          "h\xc3\xa9", "host:65536", "host:99999999", "host:8a",
                          "host:-1",   "host:80:80", "[::1",          "[::1]x",
                          ":80",       "[v1.x]",     "[1.2.3.4]",     "::1",
                          "a/b",       "a?b",        "a#b",           "x%4",
                          "x%zz",      "[::1]:8o"}) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_host_field(bad));
  }
}
