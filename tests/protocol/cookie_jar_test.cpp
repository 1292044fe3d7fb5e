#include "protocol/cookie_jar.h"

#include <doctest/doctest.h>

using namespace wa;
using namespace wa::cookie;

namespace {

url::Url U(std::string_view text) {
  auto u = url::parse(text);
  INFO(text);
  REQUIRE(u.ok());
  return *u;
}

Stored set(CookieJar& jar, std::string_view url, std::string_view header, int64_t now = 0) {
  auto r = jar.set_from_response(U(url), header, now);
  INFO(url << " " << header);
  REQUIRE(r.ok());
  return *r;
}

std::string refusal(CookieJar& jar, std::string_view url, std::string_view header,
                    int64_t now = 0) {
  size_t before = jar.size();
  auto r = jar.set_from_response(U(url), header, now);
  INFO(url << " " << header);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::cookie_malformed);
  CHECK(jar.size() == before);
  return r.error().why;
}

std::string header(CookieJar& jar, std::string_view url, int64_t now = 0) {
  return jar.cookie_header_for(U(url), now);
}

constexpr int64_t k2020 = 1577836800000;  // 2020-01-01T00:00:00Z

}  // namespace

TEST_CASE("RFC 6265 §3.1 examples") {
  CookieJar jar;
  // "Set-Cookie: SID=31d4d96e407aad42" → "Cookie: SID=31d4d96e407aad42"
  CHECK(set(jar, "http://example.com/", "SID=31d4d96e407aad42") == Stored::added);
  CHECK(header(jar, "http://example.com/") == "SID=31d4d96e407aad42");
  // Host-only: not for subdomains.
  CHECK(header(jar, "http://docs.example.com/") == "");

  // "SID=...; Path=/; Domain=example.com": example.com and its subdomains.
  CookieJar domain_jar;
  set(domain_jar, "http://example.com/", "SID=31d4d96e407aad42; Path=/; Domain=example.com");
  CHECK(header(domain_jar, "http://docs.example.com/x") == "SID=31d4d96e407aad42");
  CHECK(header(domain_jar, "http://example.com/") == "SID=31d4d96e407aad42");

  // "SID=...; Path=/; Secure; HttpOnly" and "lang=en-US; Path=/; Domain=example.com".
  CookieJar two;
  set(two, "https://example.com/", "SID=31d4d96e407aad42; Path=/; Secure; HttpOnly");
  set(two, "https://example.com/", "lang=en-US; Path=/; Domain=example.com");
  CHECK(header(two, "https://example.com/") == "SID=31d4d96e407aad42; lang=en-US");
  CHECK(header(two, "http://example.com/") == "lang=en-US");  // Secure: https only
  auto listed = two.list(0);
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].http_only);  // kept, though an HTTP client sends it anyway
  CHECK(listed[0].secure);
  CHECK(listed[0].host_only);
  CHECK_FALSE(listed[1].host_only);

  // "lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT" persists until then; "lang=; Expires=
  // Sun, 06 Nov 1994 08:49:37 GMT" deletes it.
  CookieJar persist;
  set(persist, "https://example.com/", "SID=31d4d96e407aad42; Path=/; Secure; HttpOnly", k2020);
  CHECK(set(persist, "https://example.com/", "lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT",
            k2020) == Stored::added);
  CHECK(header(persist, "https://example.com/", k2020) == "SID=31d4d96e407aad42; lang=en-US");
  CHECK(set(persist, "https://example.com/", "lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT",
            k2020 + 1) == Stored::deleted);
  CHECK(header(persist, "https://example.com/", k2020 + 2) == "SID=31d4d96e407aad42");
}

TEST_CASE("Domain attributes that do not cover the request host are refused") {
  CookieJar jar;
  CHECK(set(jar, "http://www.example.com/", "a=1; Domain=example.com") == Stored::added);
  CHECK(set(jar, "http://www.example.com/", "b=2; Domain=WWW.Example.com") == Stored::added);
  CHECK(jar.list(0).back().domain == "www.example.com");
  CHECK_FALSE(jar.list(0).back().host_only);
  refusal(jar, "http://www.example.com/", "b=2; Domain=www.example.com.");  // a trailing dot
  CHECK(refusal(jar, "http://www.example.com/", "c=3; Domain=other.com").find("domain-match") !=
        std::string::npos);
  refusal(jar, "http://example.com/", "c=3; Domain=www.example.com");
  refusal(jar, "http://badexample.com/", "c=3; Domain=example.com");
  // No public suffix list: single labels stand for one.
  CHECK(refusal(jar, "http://example.com/", "c=3; Domain=com").find("top-level") !=
        std::string::npos);
  refusal(jar, "http://example.com/", "c=3; Domain=.com");
  // ... but a single-label host may name itself: a host-only cookie.
  CHECK(set(jar, "http://localhost:3000/", "d=4; Domain=localhost") == Stored::added);
  CHECK(jar.list(0).back().host_only);
  CHECK(header(jar, "http://app.localhost/") == "");
  refusal(jar, "http://app.localhost/", "e=5; Domain=localhost");
  CHECK(set(jar, "http://app.localhost/", "e=5; Domain=app.localhost") == Stored::added);
}

TEST_CASE("IP-address hosts: Domain only when it is the address itself") {
  CookieJar jar;
  CHECK(set(jar, "http://127.0.0.1:3000/", "a=1; Domain=127.0.0.1") == Stored::added);
  CHECK(jar.list(0)[0].host_only);
  CHECK(refusal(jar, "http://127.0.0.1:3000/", "b=2; Domain=0.0.1").find("IP address") !=
        std::string::npos);
  refusal(jar, "http://10.0.0.1/", "b=2; Domain=0.0.1");
  refusal(jar, "http://127.0.0.1/", "b=2; Domain=localhost");
  CHECK(set(jar, "http://[::1]:3000/", "c=3; Domain=[::1]") == Stored::added);
  refusal(jar, "http://[::1]:3000/", "c=3; Domain=::1");
  CHECK(set(jar, "http://[0:0::1]/", "v6=yes") == Stored::added);
  CHECK(jar.list(0).back().domain == "[::1]");
  // Cookies ignore ports (RFC 6265 §8.5) but not hosts.
  CHECK(header(jar, "http://127.0.0.1:4000/") == "a=1");
  CHECK(header(jar, "http://localhost:3000/") == "");
  CHECK(header(jar, "http://[::1]/") == "c=3; v6=yes");
}

TEST_CASE("default path and path matching decide where a cookie goes") {
  CookieJar jar;
  set(jar, "http://h/app/login?next=/", "s=1");  // default path "/app"
  CHECK(jar.list(0)[0].path == "/app");
  CHECK(header(jar, "http://h/app") == "s=1");
  CHECK(header(jar, "http://h/app/x/y?q") == "s=1");
  CHECK(header(jar, "http://h/application") == "");
  CHECK(header(jar, "http://h/") == "");
  set(jar, "http://h/a/b", "rel=1; Path=relative");  // not absolute: the default path "/a"
  CHECK(jar.list(0).back().path == "/a");
  set(jar, "http://h", "root=1");  // an empty path: "/"
  CHECK(jar.list(0).back().path == "/");
  set(jar, "ws://h/socket.io/?EIO=4&transport=websocket", "io=abc; Path=/socket.io");
  CHECK(header(jar, "ws://h/socket.io/?EIO=4&transport=websocket&sid=x") == "io=abc; root=1");
}

TEST_CASE("the Cookie header lists longer paths first, then earlier creation") {
  CookieJar jar;
  set(jar, "http://h/", "root=1; Path=/", 10);
  set(jar, "http://h/", "deep=2; Path=/a/b", 20);
  set(jar, "http://h/", "mid=3; Path=/a", 30);
  set(jar, "http://h/", "early=4; Path=/a", 5);  // older creation, same path length
  set(jar, "http://h/", "same1=5; Path=/", 40);
  set(jar, "http://h/", "same2=6; Path=/", 40);               // same time: the sequence decides
  set(jar, "http://h/", "dom=7; Domain=h; Path=/a/b/c", 50);  // single label: host-only
  CHECK(header(jar, "http://h/a/b/c/d", 60) ==
        "dom=7; deep=2; early=4; mid=3; root=1; same1=5; same2=6");
  CHECK(header(jar, "http://h/a", 60) == "early=4; mid=3; root=1; same1=5; same2=6");
  auto sent = jar.cookies_for(U("http://h/"), 70);
  REQUIRE(sent.size() == 3);
  CHECK(sent[0].last_access_ms == 70);
}

TEST_CASE("replacement keeps the creation time, and so the place in the header") {
  CookieJar jar;
  set(jar, "http://h/", "a=1", 1);
  set(jar, "http://h/", "b=2", 2);
  CHECK(set(jar, "http://h/", "a=3; HttpOnly", 3) == Stored::replaced);
  CHECK(header(jar, "http://h/", 4) == "a=3; b=2");
  auto all = jar.list(4);
  REQUIRE(all.size() == 2);
  CHECK(all[0].created_ms == 1);
  CHECK(all[0].http_only);
  CHECK(all[0].raw == "a=3; HttpOnly");
  // Another path is another cookie.
  CHECK(set(jar, "http://h/", "a=4; Path=/x", 5) == Stored::added);
  CHECK(header(jar, "http://h/x", 6) == "a=4; a=3; b=2");
  // A host-only cookie and a domain cookie of the same name coexist, as in browsers.
  CookieJar both;
  set(both, "http://example.com/", "n=host");
  CHECK(set(both, "http://example.com/", "n=domain; Domain=example.com") == Stored::added);
  CHECK(header(both, "http://example.com/") == "n=host; n=domain");
  CHECK(header(both, "http://sub.example.com/") == "n=domain");
}

TEST_CASE("expiry follows the clock passed in") {
  CookieJar jar;
  set(jar, "http://h/", "short=1; Max-Age=10", 1000);
  set(jar, "http://h/", "dated=2; Expires=Wed, 01 Jan 2020 00:00:10 GMT", 1000);
  set(jar, "http://h/", "session=3", 1000);
  CHECK(header(jar, "http://h/", 10999) == "short=1; dated=2; session=3");
  CHECK(header(jar, "http://h/", 11000) == "dated=2; session=3");  // expiry is exclusive
  CHECK(jar.size() == 2);                                          // evicted, not hidden
  CHECK(header(jar, "http://h/", k2020 + 9999) == "dated=2; session=3");
  CHECK(header(jar, "http://h/", k2020 + 10000) == "session=3");
  // Max-Age wins over Expires, both ways.
  set(jar, "http://h/", "m=1; Expires=Wed, 01 Jan 2020 00:00:10 GMT; Max-Age=100", k2020 + 50000);
  CHECK(header(jar, "http://h/", k2020 + 149999) == "session=3; m=1");
  set(jar, "http://h/", "m=2; Max-Age=0; Expires=Fri, 31 Dec 9999 23:59:59 GMT", k2020);
  CHECK(header(jar, "http://h/", k2020) == "session=3");
  // A past date or a non-positive Max-Age with nothing to delete changes nothing.
  CHECK(set(jar, "http://h/", "gone=1; Max-Age=-1", k2020) == Stored::expired);
  CHECK(set(jar, "http://h/", "session=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT", k2020) ==
        Stored::deleted);
  CHECK(jar.size() == 0);
  CHECK(jar.list(k2020).empty());
}

TEST_CASE("Secure cookies: set and sent only in a secure context; loopback counts as one") {
  CookieJar jar;
  CHECK(refusal(jar, "http://example.com/", "s=1; Secure").find("Secure") != std::string::npos);
  set(jar, "https://example.com/", "s=1; Secure");
  set(jar, "https://example.com/", "p=2");
  CHECK(header(jar, "https://example.com/") == "s=1; p=2");
  CHECK(header(jar, "wss://example.com/socket.io/") == "s=1; p=2");
  CHECK(header(jar, "http://example.com/") == "p=2");
  CHECK(header(jar, "ws://example.com/") == "p=2");

  // Browsers treat loopback as potentially trustworthy.
  CookieJar local;
  set(local, "http://localhost:3000/", "s=1; Secure");
  set(local, "http://127.0.0.1:3000/", "s=2; Secure");
  set(local, "http://127.5.6.7/", "s=3; Secure");
  set(local, "http://[::1]/", "s=4; Secure");
  set(local, "http://app.localhost/", "s=5; Secure");
  CHECK(header(local, "http://localhost:3000/") == "s=1");
  CHECK(header(local, "ws://127.0.0.1:3000/") == "s=2");
  CHECK(is_secure_context(U("http://LOCALHOST/")));
  CHECK_FALSE(is_secure_context(U("http://localhost.example.com/")));
  CHECK_FALSE(is_secure_context(U("http://10.0.0.1/")));
  CHECK_FALSE(is_secure_context(U("http://127.example/")));
}

TEST_CASE("an insecure origin cannot shadow a Secure cookie (rfc6265bis)") {
  CookieJar jar;
  set(jar, "https://example.com/", "sid=secret; Secure; Domain=example.com; Path=/");
  refusal(jar, "http://example.com/", "sid=attacker");
  refusal(jar, "http://www.example.com/", "sid=attacker; Path=/deep");
  CHECK(set(jar, "http://example.com/", "other=fine") == Stored::added);
  CHECK(set(jar, "https://example.com/", "sid=over-https") == Stored::added);  // host-only
  CookieJar paths;
  set(paths, "https://example.com/", "sid=s; Secure; Path=/login");
  CHECK(set(paths, "http://example.com/", "sid=x; Path=/foo") == Stored::added);
}

TEST_CASE("cookie prefixes, SameSite=None and Partitioned") {
  CookieJar jar;
  CHECK(set(jar, "https://example.com/", "__Secure-a=1; Secure") == Stored::added);
  refusal(jar, "https://example.com/", "__Secure-b=1");
  refusal(jar, "http://example.com/", "__Secure-b=1; Secure");
  refusal(jar, "https://example.com/", "__secure-b=1");  // matched case-insensitively
  CHECK(set(jar, "https://example.com/", "__Host-c=1; Secure; Path=/") == Stored::added);
  refusal(jar, "https://example.com/", "__Host-d=1; Secure");              // no Path=/
  refusal(jar, "https://example.com/x/y", "__Host-d=1; Secure; Path=/x");  // Path not /
  refusal(jar, "https://example.com/", "__Host-d=1; Path=/");              // not Secure
  refusal(jar, "https://www.example.com/",
          "__Host-d=1; Secure; Path=/; Domain=example.com");  // a Domain
  refusal(jar, "https://example.com/", "__HOST-d=1; Path=/");
  refusal(jar, "https://example.com/", "__Host-nameless");  // a nameless cookie posing as one
  refusal(jar, "https://example.com/", "=__Secure-x; Secure");
  CHECK(set(jar, "http://localhost/", "__Host-local=1; Secure; Path=/") == Stored::added);

  CHECK(refusal(jar, "https://example.com/", "n=1; SameSite=None").find("SameSite") !=
        std::string::npos);
  CHECK(set(jar, "https://example.com/", "n=1; SameSite=None; Secure; Partitioned") ==
        Stored::added);
  auto n = jar.list(0).back();
  CHECK(n.same_site == SameSite::none);
  CHECK(n.partitioned);
  CHECK(set(jar, "https://example.com/", "odd=1; SameSite=Whatever") == Stored::added);
  CHECK(jar.list(0).back().same_site_raw == "Whatever");
}

TEST_CASE("nameless cookies go back as their value alone") {
  CookieJar jar;
  set(jar, "http://h/", "bare-token");
  set(jar, "http://h/", "a=1");
  CHECK(header(jar, "http://h/") == "bare-token; a=1");
  CHECK(set(jar, "http://h/", "=replaced") == Stored::replaced);
  CHECK(header(jar, "http://h/") == "replaced; a=1");
}

TEST_CASE("malformed headers and host-less URLs change nothing") {
  CookieJar jar;
  refusal(jar, "http://h/", "");
  refusal(jar, "http://h/", "a=b\x01");
  url::Url no_host = *url::parse("file:///x");
  auto r = jar.set_from_response(no_host, "a=1", 0);
  REQUIRE_FALSE(r.ok());
  CHECK(jar.cookie_header_for(no_host, 0) == "");
  CHECK(jar.size() == 0);
}

TEST_CASE("list, insert and seed: storing and restoring a jar") {
  CookieJar jar;
  set(jar, "https://example.com/app/x", "s=1; Secure; HttpOnly; SameSite=Lax", 100);
  set(jar, "https://example.com/", "d=2; Domain=example.com; Max-Age=60", 200);
  set(jar, "https://example.com/", "t=3", 200);
  auto stored = jar.list(300);
  REQUIRE(stored.size() == 3);

  CookieJar restored;
  for (const Cookie& c : stored)
    CHECK(restored.insert(c, 300).ok());
  auto again = restored.list(300);
  REQUIRE(again.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(again[i].name == stored[i].name);
    CHECK(again[i].created_ms == stored[i].created_ms);
    CHECK(again[i].expires_ms == stored[i].expires_ms);
    CHECK(again[i].host_only == stored[i].host_only);
    CHECK(again[i].raw == stored[i].raw);
  }
  CHECK(header(restored, "https://example.com/app/y", 400) ==
        header(jar, "https://example.com/app/y", 400));
  CHECK(header(restored, "https://www.example.com/", 400) == "d=2");
  CHECK(header(restored, "https://www.example.com/", 200 + 60000) == "");

  Cookie bad;
  bad.name = "x";
  bad.value = "y";
  bad.path = "/";
  CHECK_FALSE(restored.insert(bad, 0).ok());  // no domain
  bad.domain = "h";
  bad.path = "rel";
  CHECK_FALSE(restored.insert(bad, 0).ok());
  bad.path = "/";
  bad.value = "a;b";
  CHECK_FALSE(restored.insert(bad, 0).ok());
  bad.value = "y";
  bad.name = "a=b";
  CHECK_FALSE(restored.insert(bad, 0).ok());
  bad.name = "";
  bad.value = "";
  CHECK_FALSE(restored.insert(bad, 0).ok());
  bad.value = std::string(4097, 'v');
  CHECK_FALSE(restored.insert(bad, 0).ok());
  bad.value = "v\x02";
  CHECK_FALSE(restored.insert(bad, 0).ok());
  bad.value = "v";
  bad.domain = "H";
  CHECK(restored.insert(bad, 0).ok());
  CHECK(restored.list(0).back().domain == "h");

  // Cookies the browser held before the recording, known from a Cookie header only.
  CookieJar seeded;
  auto pairs = parse_cookie_header("connect.sid=s%3Aabc; theme=dark");
  REQUIRE(pairs.ok());
  for (const auto& p : *pairs) {
    CHECK(seeded.seed(U("http://127.0.0.1:3000/login"), p.name, p.value, 0).ok());
  }
  CHECK(header(seeded, "http://127.0.0.1:3000/socket.io/?EIO=4") ==
        "connect.sid=s%3Aabc; theme=dark");
  CHECK(header(seeded, "http://localhost:3000/") == "");
  // A Set-Cookie of the same name then replaces the seeded one.
  CHECK(set(seeded, "http://127.0.0.1:3000/login", "connect.sid=s%3Anew; Path=/; HttpOnly") ==
        Stored::replaced);
  CHECK(header(seeded, "http://127.0.0.1:3000/") == "connect.sid=s%3Anew; theme=dark");
}

TEST_CASE("remove and clear") {
  CookieJar jar;
  set(jar, "http://example.com/", "a=1");
  set(jar, "http://example.com/", "a=2; Domain=example.com");
  set(jar, "http://example.com/", "b=1; Path=/x");
  CHECK(jar.remove("a", "example.com", "/") == 2);
  CHECK(jar.remove("a", "example.com", "/") == 0);
  CHECK(jar.remove("b", "example.com", "/") == 0);
  CHECK(jar.size() == 1);
  jar.clear();
  CHECK(jar.size() == 0);
}

TEST_CASE("limits: the least recently used cookies go first") {
  CookieJar jar(CookieJar::Limits{5, 3});
  set(jar, "http://a.example/", "a1=1", 1);
  set(jar, "http://a.example/", "a2=1", 2);
  set(jar, "http://a.example/", "a3=1", 3);
  CHECK(header(jar, "http://a.example/", 4) == "a1=1; a2=1; a3=1");  // all used at 4
  set(jar, "http://a.example/", "a4=1", 5);  // a1 is evicted: oldest among equals
  CHECK(header(jar, "http://a.example/", 6) == "a2=1; a3=1; a4=1");
  set(jar, "http://b.example/", "b1=1", 7);
  set(jar, "http://b.example/", "b2=1", 8);
  set(jar, "http://c.example/", "c1=1", 9);  // six in all: the least recently used goes (a2)
  CHECK(jar.size() == 5);
  CHECK(header(jar, "http://a.example/", 10) == "a3=1; a4=1");
  CHECK(header(jar, "http://b.example/", 10) == "b1=1; b2=1");
  // Hostile input cannot grow the jar without bound.
  CookieJar small(CookieJar::Limits{50, 10});
  for (int i = 0; i < 1000; ++i) {
    set(small, "http://x" + std::to_string(i % 20) + ".example/", "n" + std::to_string(i) + "=v",
        i);
  }
  CHECK(small.size() == 50);
}
