#include "replay/report.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/text.h"

using namespace wa;
using namespace wa::replay;

namespace {

Difference diff(std::string where, std::string path, std::string expected, std::string actual,
                DiffKind kind = DiffKind::json, bool noise = false) {
  Difference d;
  d.where = where;
  d.scope = where;
  d.kind = kind;
  d.path = std::move(path);
  d.expected = std::move(expected);
  d.actual = std::move(actual);
  d.noise = noise;
  return d;
}

SessionResult session(std::string recording, store::Id id, int copy = 0) {
  SessionResult s;
  s.recording = std::move(recording);
  s.recording_id = id;
  s.copy = copy;
  s.clients = {"client 1 (alice)"};
  return s;
}

SessionResult passed_session() {
  SessionResult s = session("chat-alice", 1);
  s.exchanges = 12;
  s.events_expected = 9;
  s.events_matched = 9;
  s.duration_us = 400'000;
  Outcome o;
  o.where = "POST /login";
  o.expected = "303";
  o.actual = "303";
  o.recorded_us = 1'000;
  o.live_us = 2'000;
  o.latency_us = 1'500;
  s.timeline.push_back(o);
  return s;
}

SessionResult failed_session() {
  SessionResult s = session("login", 2);
  s.exchanges = 3;
  s.duration_us = 260'000;
  s.differences = {diff("POST /login", "status", "303", "500", DiffKind::status),
                   diff("GET /api/me", "/name", "\"alice\"", "\"bob\""),
                   diff("GET /api/me", "/time", "1", "2", DiffKind::json, true)};
  Outcome ok;
  ok.where = "GET /";
  ok.expected = ok.actual = "200";
  Outcome bad;
  bad.where = "POST /login";
  bad.expected = "303";
  bad.actual = "500";
  bad.ok = false;
  s.timeline = {ok, bad};
  return s;
}

SessionResult error_session() {
  SessionResult s = session("down", 3);
  s.errors = {"cannot connect to 127.0.0.1:9: connection refused"};
  return s;
}

RunReport report_of(std::vector<SessionResult> sessions) {
  RunReport r;
  r.target = "http://127.0.0.1:3000";
  r.db = "captures/chat.wa";
  r.started_unix_ms = 1'714'564'800'000;  // 2024-05-01T12:00:00Z
  r.duration_us = 1'200'000;
  r.sessions = std::move(sessions);
  return r;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

size_t occurrences(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t i = text.find(what); i != std::string_view::npos; i = text.find(what, i + 1))
    ++n;
  return n;
}

bool has_line(const std::vector<std::string>& lines, std::string_view line) {
  for (const std::string& l : lines)
    if (l == line) return true;
  return false;
}

// Every element opened is closed, in order (HTML's void elements and <br/>-style tags aside),
// and no tag holds a stray '<'. Enough to catch unescaped text breaking the structure.
bool balanced(std::string_view doc) {
  std::vector<std::string> open;
  size_t i = 0;
  while ((i = doc.find('<', i)) != std::string_view::npos) {
    size_t end = doc.find('>', i);
    if (end == std::string_view::npos) return false;
    std::string_view tag = doc.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.find('<') != std::string_view::npos) return false;
    if (tag.starts_with('?') || tag.starts_with('!')) continue;
    bool closing = tag.starts_with('/');
    if (closing) tag.remove_prefix(1);
    if (tag.ends_with('/')) continue;
    std::string name(tag.substr(0, tag.find_first_of(" \t\n")));
    if (name == "meta") continue;
    if (!closing) {
      open.push_back(name);
    } else {
      if (open.empty() || open.back() != name) return false;
      open.pop_back();
    }
  }
  return open.empty();
}

// XML 1.0 §2.2: no C0 controls but tab, newline and carriage return.
bool xml_chars(std::string_view doc) {
  for (char c : doc) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return text::is_valid_utf8(doc);
}

}  // namespace

TEST_CASE("report: latency percentiles by nearest rank, sorted by name") {
  std::map<std::string, std::vector<int64_t>> samples;
  for (int64_t ms = 100; ms >= 1; --ms)
    samples["GET /api/me"].push_back(ms * 1000);
  samples["event chat"] = {40'000, 15'000, 50'000, 20'000, 35'000};
  samples["a single"] = {7'500};
  samples["empty"] = {};
  auto stats = latency_stats(samples);
  REQUIRE(stats.size() == 4);
  CHECK(stats[0].name == "GET /api/me");
  CHECK(stats[1].name == "a single");
  CHECK(stats[2].name == "empty");
  CHECK(stats[3].name == "event chat");

  CHECK(stats[0].count == 100);
  CHECK(stats[0].p50_ms == 50.0);
  CHECK(stats[0].p90_ms == 90.0);
  CHECK(stats[0].p99_ms == 99.0);
  CHECK(stats[0].max_ms == 100.0);
  // Five samples: ranks ceil(2.5) = 3, ceil(4.5) = 5, ceil(4.95) = 5.
  CHECK(stats[3].p50_ms == 35.0);
  CHECK(stats[3].p90_ms == 50.0);
  CHECK(stats[3].p99_ms == 50.0);
  CHECK(stats[3].max_ms == 50.0);
  CHECK(stats[1].p50_ms == 7.5);
  CHECK(stats[1].p99_ms == 7.5);
  CHECK(stats[2].count == 0);
  CHECK(stats[2].max_ms == 0.0);
}

TEST_CASE("report: exit codes") {
  CHECK(report_of({}).exit_code() == 0);
  CHECK(report_of({passed_session()}).exit_code() == 0);
  CHECK(report_of({passed_session(), failed_session()}).exit_code() == 1);
  CHECK(report_of({failed_session(), error_session(), passed_session()}).exit_code() == 2);
  SessionResult noise_only = passed_session();
  noise_only.differences = {diff("GET /", "/t", "1", "2", DiffKind::json, true)};
  CHECK(noise_only.passed());
  CHECK(report_of({noise_only}).exit_code() == 0);
}

TEST_CASE("report: console lines, without colour") {
  RunReport r = report_of({passed_session(), failed_session(), error_session()});
  std::string text = format_console(r, false);
  auto lines = lines_of(text);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(has_line(lines, "  PASS  chat-alice   12 exchanges, 9/9 events   0.4 s"));
  CHECK(has_line(lines, "  FAIL  login        2 differences   3 exchanges   0.3 s"));
  CHECK(has_line(lines, "  ERROR down: cannot connect to 127.0.0.1:9: connection refused"));
  // The diff, under its session's name; noise left out.
  CHECK(has_line(lines, "login"));
  CHECK(has_line(lines, "  POST /login: status"));
  CHECK(has_line(lines, "    - 303"));
  CHECK(has_line(lines, "    + 500"));
  CHECK(has_line(lines, "  GET /api/me: /name"));
  CHECK(text.find("/time") == std::string::npos);
  // No latency table for a single copy without concurrency.
  CHECK(text.find("latency") == std::string::npos);
  REQUIRE(!lines.empty());
  CHECK(lines.back() == "replay: 3 sessions, 1 passed, 1 failed (2 differences), 1 error in 1.2 s");
  CHECK(text.ends_with("1.2 s\n"));

  RunReport ok = report_of({passed_session()});
  ok.command = "diff";
  CHECK(lines_of(format_console(ok, false)).back() ==
        "diff: 1 session, 1 passed, 0 failed in 1.2 s");
}

TEST_CASE("report: console colours mark passed, failed and the -/+ lines") {
  RunReport r = report_of({passed_session(), failed_session(), error_session()});
  std::string text = format_console(r, true);
  CHECK(text.find("\x1b[32mPASS\x1b[0m") != std::string::npos);
  CHECK(text.find("\x1b[31mFAIL\x1b[0m") != std::string::npos);
  CHECK(text.find("\x1b[1;31mERROR\x1b[0m") != std::string::npos);
  CHECK(text.find("  \x1b[31m  - 303\x1b[0m\n") != std::string::npos);
  CHECK(text.find("  \x1b[32m  + 500\x1b[0m\n") != std::string::npos);
  // The last line stays plain, for whatever reads it.
  CHECK(lines_of(text).back() ==
        "replay: 3 sessions, 1 passed, 1 failed (2 differences), 1 error in 1.2 s");
}

TEST_CASE("report: console shows the first differences across sessions, then how many more") {
  SessionResult a = failed_session();
  SessionResult b = session("other", 4);
  for (int i = 0; i < 4; ++i)
    b.differences.push_back(diff("GET /x", "/" + std::to_string(i), "1", "2"));
  SessionResult c = session("third", 5);
  c.differences = {diff("GET /y", "/a", "1", "2"), diff("GET /y", "/b", "1", "2")};
  RunReport r = report_of({a, b, c});
  std::string text = format_console(r, false, 3);
  auto lines = lines_of(text);
  CHECK(has_line(lines, "  GET /api/me: /name"));
  CHECK(has_line(lines, "  GET /x: /0"));
  CHECK(!has_line(lines, "  GET /x: /1"));
  CHECK(has_line(lines, "  … and 3 more"));
  CHECK(has_line(lines, "… and 2 more differences in 1 other session"));
  CHECK(!has_line(lines, "third"));
  CHECK(lines.back() == "replay: 3 sessions, 0 passed, 3 failed (8 differences) in 1.2 s");

  // A budget that ends exactly at a session's end.
  text = format_console(r, false, 2);
  lines = lines_of(text);
  CHECK(!has_line(lines, "other"));
  CHECK(has_line(lines, "… and 6 more differences in 2 other sessions"));

  // None at all: the session lines and the last line only.
  text = format_console(r, false, 0);
  CHECK(text.find("GET /") == std::string::npos);
  CHECK(text.find("more") == std::string::npos);
  CHECK(lines_of(text).back() == "replay: 3 sessions, 0 passed, 3 failed (8 differences) in 1.2 s");
}

TEST_CASE("report: console lists the first skipped and warnings, then and N more") {
  SessionResult a = passed_session();
  for (int i = 0; i < 7; ++i)
    a.skipped.push_back("GET https://fonts.example.com/" + std::to_string(i) +
                        ".css (unmapped origin)");
  a.warnings = {"binary frame cut at 1 MiB"};
  SessionResult b = a;
  b.copy = 1;
  b.skipped.resize(1);
  RunReport r = report_of({a, b});
  r.repeat = 2;
  std::string text = format_console(r, false);
  auto lines = lines_of(text);
  CHECK(has_line(lines, "  PASS  chat-alice (copy 1)   12 exchanges, 9/9 events   0.4 s"));
  CHECK(has_line(lines, "  PASS  chat-alice (copy 2)   12 exchanges, 9/9 events   0.4 s"));
  CHECK(has_line(lines, "8 skipped:"));
  CHECK(
      has_line(lines, "  chat-alice: GET https://fonts.example.com/0.css (unmapped origin) (×2)"));
  CHECK(has_line(lines, "  chat-alice: GET https://fonts.example.com/4.css (unmapped origin)"));
  CHECK(!has_line(lines, "  chat-alice: GET https://fonts.example.com/5.css (unmapped origin)"));
  CHECK(has_line(lines, "  … and 2 more"));
  CHECK(has_line(lines, "2 warnings:"));
  CHECK(has_line(lines, "  chat-alice: binary frame cut at 1 MiB (×2)"));
}

TEST_CASE("report: console latency table with repeat or concurrency") {
  RunReport r = report_of({passed_session()});
  r.latencies = latency_stats({{"GET /api/me", {1'000, 2'000, 3'000}}, {"event chat", {500}}});
  CHECK(format_console(r, false).find("latency") == std::string::npos);
  r.concurrency = 4;
  auto lines = lines_of(format_console(r, false));
  CHECK(has_line(lines, "latency (ms)"));
  CHECK(has_line(lines, "  name           count      p50      p90      p99      max"));
  CHECK(has_line(lines, "  GET /api/me        3      2.0      3.0      3.0      3.0"));
  CHECK(has_line(lines, "  event chat         1      0.5      0.5      0.5      0.5"));
}

TEST_CASE("report: console escapes control characters from recorded bodies") {
  SessionResult s = session("evil\x1b]0;x\x07", 9);
  s.differences = {diff("GET /", "body line 1", "a\nb", "\x1b[2J\xff")};
  std::string text = format_console(report_of({s}), false);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\x07') == std::string::npos);
  CHECK(has_line(lines_of(text), "    + \\x1b[2J\\xff"));
  CHECK(has_line(lines_of(text), "    - a\\nb"));
  CHECK(text.find("evil\\x1b]0;x\\x07") != std::string::npos);
}

TEST_CASE("report: JSON holds every field and survives invalid UTF-8") {
  SessionResult bad = failed_session();
  bad.differences.push_back(diff("GET /bin", "body", "\xff\xfe", "ok\xc3", DiffKind::body));
  RunReport r = report_of({passed_session(), bad, error_session()});
  r.latencies = latency_stats({{"GET /", {1'000}}});
  std::string text = to_json(r);
  CHECK(text::is_valid_utf8(text));
  auto j = nlohmann::json::parse(text);
  CHECK(j["command"] == "replay");
  CHECK(j["target"] == "http://127.0.0.1:3000");
  CHECK(j["db"] == "captures/chat.wa");
  CHECK(j["started"] == "2024-05-01T12:00:00Z");
  CHECK(j["started_unix_ms"] == 1'714'564'800'000);
  CHECK(j["duration_ms"] == 1200.0);
  CHECK(j["concurrency"] == 1);
  CHECK(j["repeat"] == 1);
  CHECK(j["passed"] == false);
  CHECK(j["exit_code"] == 2);
  CHECK(j["summary"]["failed"] == 1);
  CHECK(j["summary"]["differences"] == 3);
  REQUIRE(j["sessions"].size() == 3);

  const auto& s0 = j["sessions"][0];
  CHECK(s0["recording"] == "chat-alice");
  CHECK(s0["recording_id"] == 1);
  CHECK(s0["result"] == "passed");
  CHECK(s0["exchanges"] == 12);
  CHECK(s0["events_expected"] == 9);
  CHECK(s0["events_matched"] == 9);
  CHECK(s0["duration_ms"] == 400.0);
  CHECK(s0["clients"][0] == "client 1 (alice)");
  REQUIRE(s0["timeline"].size() == 1);
  CHECK(s0["timeline"][0]["kind"] == "exchange");
  CHECK(s0["timeline"][0]["where"] == "POST /login");
  CHECK(s0["timeline"][0]["live_us"] == 2000);
  CHECK(s0["timeline"][0]["ok"] == true);

  const auto& s1 = j["sessions"][1];
  CHECK(s1["result"] == "failed");
  CHECK(s1["failures"] == 3);
  REQUIRE(s1["differences"].size() == 4);
  CHECK(s1["differences"][0]["kind"] == "status");
  CHECK(s1["differences"][0]["where"] == "POST /login");
  CHECK(s1["differences"][0]["scope"] == "POST /login");
  CHECK(s1["differences"][0]["path"] == "status");
  CHECK(s1["differences"][0]["expected"] == "303");
  CHECK(s1["differences"][0]["actual"] == "500");
  CHECK(s1["differences"][2]["noise"] == true);
  CHECK(s1["differences"][3]["expected"] == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(s1["differences"][3]["actual"] == "ok\xEF\xBF\xBD");
  CHECK(s1["timeline"][0]["recorded_us"].is_null());

  CHECK(j["sessions"][2]["errors"][0] == "cannot connect to 127.0.0.1:9: connection refused");
  CHECK(j["sessions"][2]["result"] == "error");
  CHECK(j["latencies"][0]["name"] == "GET /");
  CHECK(j["latencies"][0]["p50_ms"] == 1.0);
}

TEST_CASE("report: JUnit XML, one test case per recording, escaped") {
  SessionResult a1 = failed_session();
  SessionResult a2 = failed_session();
  a2.copy = 1;
  a2.differences.push_back(diff("GET <&\"'>", "/x", "a\x01z", "\xff", DiffKind::json));
  a2.skipped = {"GET https://cdn.test/a.js (unmapped origin)"};
  SessionResult p1 = passed_session();
  SessionResult p2 = passed_session();
  p2.copy = 1;
  SessionResult e = error_session();
  e.recording = "down & <out>";
  RunReport r = report_of({a1, p1, a2, p2, e});
  r.repeat = 2;
  std::string xml = to_junit(r);
  CHECK(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
  CHECK(balanced(xml));
  CHECK(xml_chars(xml));
  CHECK(xml.find("<testsuite name=\"workalready replay\" tests=\"3\" failures=\"1\" "
                 "errors=\"1\" time=\"1.200\" skipped=\"0\" timestamp=\"2024-05-01T12:00:00\">") !=
        std::string::npos);
  CHECK(occurrences(xml, "<testcase ") == 3);
  CHECK(occurrences(xml, "<failure ") == 1);
  CHECK(occurrences(xml, "<error ") == 1);
  CHECK(xml.find("<testcase classname=\"workalready.replay\" name=\"login\" time=\"0.520\">") !=
        std::string::npos);
  CHECK(xml.find("<failure message=\"5 differences\"") != std::string::npos);
  // Every failing difference of every copy, noise left out.
  CHECK(occurrences(xml, "POST /login: status\n  - 303\n  + 500\n") == 2);
  CHECK(xml.find("/time") == std::string::npos);
  CHECK(xml.find("copy 2: 3 differences") != std::string::npos);
  CHECK(xml.find("GET &lt;&amp;&quot;&#39;&gt;: /x\n  - a\xEF\xBF\xBDz\n  + \xEF\xBF\xBD\n") !=
        std::string::npos);
  CHECK(xml.find("name=\"down &amp; &lt;out&gt;\"") != std::string::npos);
  CHECK(xml.find("<error message=\"1 setup error\" type=\"setup\">cannot connect") !=
        std::string::npos);
  CHECK(xml.find("copy 2: skipped: GET https://cdn.test/a.js (unmapped origin)") !=
        std::string::npos);
  CHECK(xml.find("<property name=\"target\" value=\"http://127.0.0.1:3000\"/>") !=
        std::string::npos);

  // Nothing to report: an empty, well-formed suite.
  std::string empty = to_junit(report_of({}));
  CHECK(balanced(empty));
  CHECK(empty.find("tests=\"0\" failures=\"0\" errors=\"0\"") != std::string::npos);
}

TEST_CASE("report: HTML escapes recorded text and shows the timeline and diffs") {
  SessionResult s = failed_session();
  s.differences.push_back(diff("GET /page", "body line 3", "<p>hello</p>",
                               "<script>alert(1)</script>\xff", DiffKind::body));
  s.timeline[1].actual = "<script>alert('x')</script>";
  s.errors.clear();
  s.warnings = {"<img src=x onerror=alert(1)>"};
  RunReport r = report_of({passed_session(), s});
  r.latencies = latency_stats({{"GET /api/me", {1'000, 2'000}}});
  r.target = "http://t/\"><script>";
  std::string html = to_html(r);

  CHECK(html.starts_with("<!DOCTYPE html>"));
  CHECK(balanced(html));
  CHECK(text::is_valid_utf8(html));
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;\xEF\xBF\xBD") != std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("http://t/&quot;&gt;&lt;script&gt;") != std::string::npos);
  // Nothing loaded from elsewhere.
  CHECK(html.find("src=\"") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  CHECK(html.find("default-src 'none'") != std::string::npos);

  // Summary, timeline rows (three, one failed), side-by-side diff, noise apart, latency.
  CHECK(html.find("<span class=\"badge failed\">failed</span></h1>") != std::string::npos);
  CHECK(html.find("replay: 2 sessions, 1 passed, 1 failed (3 differences) in 1.2 s") !=
        std::string::npos);
  CHECK(occurrences(html, "<tr class=\"ok\" id=\"session-") == 2);
  CHECK(occurrences(html, "<tr class=\"bad\" id=\"session-1-row-1\">") == 1);
  CHECK(occurrences(html, "✓</td>") == 2);
  CHECK(occurrences(html, "✗</td>") == 1);
  CHECK(html.find("<td>client 1 (alice)</td>") != std::string::npos);
  CHECK(html.find("<td class=\"exp\"><pre>303</pre></td><td class=\"act\"><pre>500</pre></td>") !=
        std::string::npos);
  CHECK(occurrences(html, "<table class=\"diff\">") == 1);
  CHECK(occurrences(html, "<table class=\"noise\">") == 1);
  CHECK(html.find("<td>/time</td>") > html.find("<table class=\"noise\">"));
  CHECK(html.find("<table class=\"latency\">") != std::string::npos);
  CHECK(html.find("<td>GET /api/me</td><td class=\"num\">2</td><td class=\"num\">1.0</td>") !=
        std::string::npos);
  CHECK(html.find("<details id=\"session-1\" open>") != std::string::npos);
  CHECK(html.find("<details id=\"session-0\">") != std::string::npos);
}

TEST_CASE("report: changes grouped by scope, largest first, ties by name") {
  std::vector<Difference> d = {
      diff("GET /b", "/1", "1", "2"),
      diff("event chat", "/0", "a", "b"),
      diff("GET /b", "/2", "1", "2"),
      diff("GET /a", "/1", "1", "2"),
      diff("event chat", "/1", "a", "b"),
      diff("GET /c", "/1", "1", "2", DiffKind::json, true),
      diff("GET /c", "/2", "1", "2", DiffKind::json, true),
      diff("GET /c", "/3", "1", "2", DiffKind::json, true),
  };
  auto groups = group_changes(d);
  REQUIRE(groups.size() == 3);
  CHECK(groups[0].scope == "GET /b");
  CHECK(groups[0].count == 2);
  CHECK(groups[0].example.path == "/1");
  CHECK(groups[1].scope == "event chat");
  CHECK(groups[1].count == 2);
  CHECK(groups[1].example.path == "/0");
  CHECK(groups[2].scope == "GET /a");
  CHECK(groups[2].count == 1);
  CHECK(group_changes({}).empty());
}

TEST_CASE("report: every byte value in every text field keeps each format well-formed") {
  std::string bytes;
  for (int b = 0; b < 256; ++b)
    bytes += char(b);
  bytes += "\xEF\xBF\xBE\xED\xA0\x80\xF4\x90\x80\x80\xC0\xAF\xE2\x82";  // U+FFFE, surrogate,
                                                                        // >U+10FFFF, overlong, cut
  SessionResult s = session(bytes, 1);
  s.clients = {bytes};
  s.differences = {diff(bytes, bytes, bytes, bytes),
                   diff(bytes, bytes, bytes, bytes, DiffKind::body, true)};
  s.errors = {bytes};
  s.skipped = {bytes};
  s.warnings = {bytes};
  Outcome o;
  o.where = o.expected = o.actual = bytes;
  o.client = 7;
  s.timeline = {o};
  RunReport r = report_of({s, failed_session()});
  r.command = "diff";
  r.target = r.db = bytes;
  r.latencies = latency_stats({{bytes, {1}}});
  r.concurrency = 2;

  std::string xml = to_junit(r);
  CHECK(balanced(xml));
  CHECK(xml_chars(xml));
  CHECK(xml.find("\xEF\xBF\xBE") == std::string::npos);
  std::string html = to_html(r);
  CHECK(balanced(html));
  CHECK(text::is_valid_utf8(html));
  CHECK(html.find("<td>client 8</td>") != std::string::npos);
  std::string json = to_json(r);
  CHECK(nlohmann::json::parse(json)["sessions"][0]["recording"].get<std::string>().size() > 200);
  std::string console = format_console(r, false);
  CHECK(text::is_valid_utf8(console));
  CHECK(std::count_if(console.begin(), console.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 && c != '\n';
        }) == 0);
}

TEST_CASE("the HTML report shows each noise rule's origin and evidence") {
  RunReport r;
  NoiseRule learned{
      store::NoiseKind::json_pointer, "/id", "POST /api/items", "calibration", {"17", "18"}};
  NoiseRule clock{store::NoiseKind::json_pointer,
                  "/1/iat",
                  "ack",
                  "calibration",
                  {"1796647155", "1796647158", "1796647158"}};
  NoiseRule written{store::NoiseKind::header, "x-request-id", "*"};
  r.rules.push_back({"chat", 1, {learned, clock, written}});
  std::string html = to_html(r);
  CHECK(html.find("<h3>chat (3 rules)</h3>") != std::string::npos);
  CHECK(html.find("pass 1: 17\npass 2: 18\n") != std::string::npos);
  // Three values are not three passes: the recorded one and each pass's, listed.
  CHECK(html.find("1796647155\n1796647158\n1796647158\n") != std::string::npos);
  CHECK(html.find("pass 3") == std::string::npos);
  CHECK(html.find("<td>calibration</td>") != std::string::npos);
  CHECK(html.find("<td>rules file</td>") != std::string::npos);
}

TEST_CASE("the HTML and JSON reports list each correlated value with its places") {
  RunReport r;
  RunReport::CorrelatedValue csrf{"Xq7/pL+9Zk==",
                                  "",
                                  {"the text after \"_csrf: unescape('\" (JavaScript escape()) "
                                   "in GET /board"},
                                  {"header x-csrf-token of POST /api/token", "packet 40{…}"},
                                  40};
  r.correlated.push_back({"board", 1, {csrf}});
  std::string html = to_html(r);
  CHECK(html.find("<h2>Correlated values</h2>") != std::string::npos);
  CHECK(html.find("<h3>board (1 value)</h3>") != std::string::npos);
  CHECK(html.find("<pre>Xq7/pL+9Zk==</pre>") != std::string::npos);
  CHECK(html.find("the text after &quot;_csrf: unescape(&#39;&quot;") != std::string::npos);
  CHECK(html.find("header x-csrf-token of POST /api/token\npacket 40{…}\nand 38 more\n") !=
        std::string::npos);
  auto json = nlohmann::json::parse(to_json(r));
  REQUIRE(json["correlated"].size() == 1);
  CHECK(json["correlated"][0]["values"][0]["use_count"] == 40);
  CHECK(json["correlated"][0]["values"][0]["issued"].size() == 1);
}
