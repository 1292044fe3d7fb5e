#include "replay/secret_book.h"

#include <doctest/doctest.h>

#include <string>

using wa::replay::SecretBook;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("secret book: the same value gets the same placeholder, a new one the next number") {
  SecretBook book;
  CHECK(book.learn("cookie sid", "s%3Arecorded-abc123"));
  CHECK(book.learn("cookie sid", "s%3Alive-xyz789"));
  CHECK_FALSE(book.learn("header cookie", "s%3Arecorded-abc123"));  // keeps its first label
  CHECK(book.placeholder("s%3Arecorded-abc123") == "«cookie sid #1»");
  CHECK(book.placeholder("s%3Alive-xyz789") == "«cookie sid #2»");
  CHECK(book.placeholder("unknown-value") == "");
  std::string out =
      book.redact("sid=s%3Arecorded-abc123 vs sid=s%3Alive-xyz789; again s%3Alive-xyz789");
  CHECK(out == "sid=«cookie sid #1» vs sid=«cookie sid #2»; again «cookie sid #2»");
  CHECK(count(out, "abc123") == 0);
  CHECK(count(out, "xyz789") == 0);
}

TEST_CASE("secret book: short values and common words are never learnt") {
  SecretBook book;
  CHECK_FALSE(book.learn("field flag", "1"));
  CHECK_FALSE(book.learn("field flag", "true"));
  CHECK_FALSE(book.learn("query transport", "websocket"));
  CHECK_FALSE(book.learn("field x", "abcde"));
  CHECK(book.empty());
  CHECK(book.redact("true 1 websocket abcde") == "true 1 websocket abcde");
}

TEST_CASE("secret book: longest values first, inside longer strings, in their spellings") {
  SecretBook book;
  book.learn("field token", "tok123456");
  book.learn("header authorization", "Bearer tok123456-long");
  CHECK(book.redact("Authorization: Bearer tok123456-long") ==
        "Authorization: «header authorization #1»");
  CHECK(book.redact("{\"token\":\"tok123456\"}") == "{\"token\":\"«field token #1»\"}");
  book.learn("field password", "p@ss word/9");
  // Percent-encoded (a query or a form) and JSON-escaped ("\/") spellings are hidden too.
  CHECK(book.redact("/login?password=p%40ss%20word%2F9&x=1") ==
        "/login?password=«field password #1»&x=1");
  CHECK(book.redact("{\"password\":\"p@ss word\\/9\"}") ==
        "{\"password\":\"«field password #1»\"}");
}

TEST_CASE("secret book: a text cut short loses the secret's start too") {
  SecretBook book;
  book.learn("correlated token", "eyJhbGciOiJIUzI1NiJ9.payload-0123456789.signature");
  std::string cut = "[\"welcome\",{\"token\":\"eyJhbGciOiJIUzI1NiJ9.payl…";
  std::string out = book.redact(cut);
  CHECK(count(out, "eyJhbGciOiJIUzI1NiJ9") == 0);
  CHECK(count(out, "«correlated token #1»") == 1);
}

TEST_CASE("secret book: headers, URLs and bodies by the name rule") {
  SecretBook book;
  wa::replay::learn_header(book, "Cookie", "connect.sid=s%3Aabcdef.123456; theme=dark-mode-x");
  wa::replay::learn_header(book, "Set-Cookie", "other=value-98765; Path=/; HttpOnly");
  wa::replay::learn_header(book, "Authorization", "Bearer secret-bearer-1");
  wa::replay::learn_header(book, "X-Api-Key", "key-0123456789");
  wa::replay::learn_header(book, "Content-Type", "application/json");
  wa::replay::learn_header(book, "User-Agent", "Mozilla/5.0 something");
  wa::replay::learn_url(book, "http://h/api/items?token=qtoken-4567&page=123456789");
  wa::replay::learn_body(
      book, R"({"user":"alice-long","password":"hunter2-pw","nested":{"apiKey":"nested-key-1"}})");
  wa::replay::learn_body(book, "username=bob-long&_csrf=form-csrf-77");
  wa::replay::learn_auth_payload(book, R"({"token":"sio-auth-abc","room":"lobby-1234"})");
  CHECK(book.placeholder("s%3Aabcdef.123456") == "«cookie connect.sid #1»");
  CHECK(book.placeholder("dark-mode-x") == "«cookie theme #1»");  // every cookie value
  CHECK(book.placeholder("value-98765") == "«cookie other #1»");
  CHECK(book.placeholder("secret-bearer-1") == "«header authorization #1»");
  CHECK(book.placeholder("Bearer secret-bearer-1") == "");
  CHECK(book.redact("Bearer secret-bearer-1") == "Bearer «header authorization #1»");
  CHECK(book.placeholder("key-0123456789") == "«header x-api-key #1»");
  CHECK(book.placeholder("application/json") == "");
  CHECK(book.placeholder("Mozilla/5.0 something") == "");
  CHECK(book.placeholder("qtoken-4567") == "«query token #1»");
  CHECK(book.placeholder("123456789") == "");
  CHECK(book.placeholder("hunter2-pw") == "«field password #1»");
  CHECK(book.placeholder("nested-key-1") == "«field apikey #1»");
  CHECK(book.placeholder("alice-long") == "");
  CHECK(book.placeholder("form-csrf-77") == "«field _csrf #1»");
  CHECK(book.placeholder("bob-long") == "");
  // The auth payload is hidden whole: every string in it.
  CHECK(book.placeholder("sio-auth-abc") == "«auth token #1»");
  CHECK(book.placeholder("lobby-1234") == "«auth room #1»");
}

TEST_CASE("secret book: a report's texts are all redacted") {
  SecretBook book;
  book.learn("cookie sid", "recorded-sid-1");
  book.learn("cookie sid", "live-sid-2");
  wa::replay::RunReport report;
  report.target = "http://127.0.0.1:1";
  wa::replay::SessionResult s;
  s.recording = "chat";
  wa::replay::Difference d;
  d.where = "GET /me?sid=recorded-sid-1";
  d.path = "header set-cookie";
  d.expected = "sid=recorded-sid-1; Path=/";
  d.actual = "sid=live-sid-2; Path=/";
  s.differences.push_back(d);
  s.timeline.push_back({});
  s.timeline.back().where = d.where;
  s.timeline.back().actual = "live-sid-2";
  s.errors.push_back("bad recorded-sid-1");
  s.secrets.emplace_back("cookie sid", "live-sid-2");
  report.sessions.push_back(s);
  report.latencies.push_back({"GET /me?sid=recorded-sid-1", 1, 0, 0, 0, 0});
  report.server_output.push_back("session live-sid-2 started");
  wa::replay::redact_report(report, book);
  const auto& r = report.sessions[0];
  CHECK(r.differences[0].where == "GET /me?sid=«cookie sid #1»");
  CHECK(r.differences[0].expected == "sid=«cookie sid #1»; Path=/");
  CHECK(r.differences[0].actual == "sid=«cookie sid #2»; Path=/");
  CHECK(r.timeline[0].actual == "«cookie sid #2»");
  CHECK(r.errors[0] == "bad «cookie sid #1»");
  CHECK(r.secrets.empty());
  CHECK(report.latencies[0].name == "GET /me?sid=«cookie sid #1»");
  CHECK(report.server_output[0] == "session «cookie sid #2» started");
  std::string json = wa::replay::to_json(report);
  CHECK(count(json, "recorded-sid-1") == 0);
  CHECK(count(json, "live-sid-2") == 0);
}

TEST_CASE("secret book: a session's live values and its differences at credential places") {
  SecretBook book;
  wa::replay::SessionResult s;
  s.secrets.emplace_back("correlated csrf", "live-csrf-value");
  wa::replay::Difference d;
  d.path = "/0/token";
  d.expected = "\"recorded-token-1\"";
  d.actual = "\"live-token-22\"";
  s.differences.push_back(d);
  d.path = "header x-auth-token";
  d.expected = "hdr-recorded-1";
  d.actual = "hdr-live-2";
  s.differences.push_back(d);
  d.path = "/sessionSecret";
  d.expected = "\"recorded-secret-3\"";
  d.actual = "(absent)";
  s.differences.push_back(d);
  d.path = "/1/token";
  d.expected = "\"recorded-token-9\"";
  d.actual = "\"⟨value 2⟩\"";  // the matcher's name for a correlated value: no secret
  s.differences.push_back(d);
  d.path = "/0/username";
  d.expected = "\"alice-long\"";
  d.actual = "\"bob-longer\"";
  s.differences.push_back(d);
  wa::replay::learn_session(book, s);
  CHECK(book.placeholder("live-csrf-value") == "«correlated csrf #1»");
  CHECK(book.placeholder("recorded-token-1") == "«field token #1»");
  CHECK(book.placeholder("live-token-22") == "«field token #2»");
  CHECK(book.placeholder("hdr-live-2") == "«header x-auth-token #2»");
  CHECK(book.placeholder("recorded-secret-3") == "«field sessionsecret #1»");
  CHECK(book.placeholder("(absent)") == "");
  CHECK(book.placeholder("⟨value 2⟩") == "");
  CHECK(book.placeholder("alice-long") == "");
}
