#include "replay/report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

namespace wa::replay {
namespace {

// ---- Text -----------------------------------------------------------------------------------

constexpr uint32_t kInvalid = std::numeric_limits<uint32_t>::max();
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the UTF-8 sequence at s[i] and its code point, or 0 when the bytes there do
// not start one (RFC 3629 §3: shortest form only, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  uint32_t min = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1Fu, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0Fu, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < n) return 0;
  for (size_t k = 1; k < n; ++k) {
    auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Calls on(code point, its bytes) for every character; a byte that starts no valid sequence
// comes alone, with the code point kInvalid.
template <class F>
void for_each_char(std::string_view s, F&& on) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t n = utf8_sequence(s, i, cp);
    if (n == 0) {
      on(kInvalid, s.substr(i, 1));
      ++i;
    } else {
      on(cp, s.substr(i, n));
      i += n;
    }
  }
}

// Text for XML and HTML, in content or in a quoted attribute. XML 1.0 §2.2 allows no C0
// control but tab, newline and carriage return, and neither U+FFFE nor U+FFFF; HTML treats
// controls as parse errors. Those and invalid UTF-8 become U+FFFD. In attributes, tab and line
// breaks are written as references so that attribute-value normalisation (XML §3.3.3) keeps
// them.
std::string markup(std::string_view s, bool attribute = false) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for_each_char(s, [&](uint32_t cp, std::string_view bytes) {
    switch (cp) {
      case '&':
        out += "&amp;";
        return;
      case '<':
        out += "&lt;";
        return;
      case '>':
        out += "&gt;";
        return;
      case '"':
        out += "&quot;";
        return;
      case '\'':
        out += "&#39;";
        return;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        return;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        return;
      case '\r':
        out += "&#13;";
        return;
      default:
        break;
    }
    if (cp == kInvalid || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF) {
      out += kReplacement;
    } else {
      out += bytes;
    }
  });
  return out;
}

// Text for a terminal: recorded bodies may hold escape sequences or line breaks that would
// repaint the screen or break the layout of the diff, so controls and invalid bytes are shown
// as escapes.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for_each_char(s, [&](uint32_t cp, std::string_view bytes) {
    char buf[8];
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == kInvalid || cp < 0x20 || cp == 0x7F) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(bytes[0]));
      out += buf;
    } else if (cp >= 0x80 && cp <= 0x9F) {
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(cp));
      out += buf;
    } else {
      out += bytes;
    }
  });
  return out;
}

// Terminal columns, roughly: one per code point.
size_t columns(std::string_view s) {
  return size_t(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string pad(std::string s, size_t width) {
  size_t w = columns(s);
  if (w < width) s.append(width - w, ' ');
  return s;
}

std::string plural(size_t n, std::string_view one, std::string_view many = {}) {
  std::string out = std::to_string(n) + " ";
  if (n == 1) return out.append(one);
  if (!many.empty()) return out.append(many);
  return out.append(one).append("s");
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string seconds(int64_t us, int decimals = 1) {
  return fixed(double(us) / 1e6, decimals);
}

// "2024-05-01T12:00:00Z" (UTC); "" for an unset time.
std::string iso_time(int64_t unix_ms, bool zone = true) {
  if (unix_ms <= 0) return "";
  std::time_t t = std::time_t(unix_ms / 1000);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return "";
  char buf[40];
  std::strftime(buf, sizeof buf, zone ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// ---- Verdicts and names ---------------------------------------------------------------------

enum class Verdict { passed, failed, error };

Verdict verdict(const SessionResult& s) {
  if (!s.errors.empty()) return Verdict::error;
  return s.failures() == 0 ? Verdict::passed : Verdict::failed;
}

struct Tally {
  size_t passed = 0, failed = 0, errors = 0, differences = 0;
};

Tally tally(const RunReport& report) {
  Tally t;
  for (const SessionResult& s : report.sessions) {
    switch (verdict(s)) {
      case Verdict::passed:
        ++t.passed;
        break;
      case Verdict::failed:
        ++t.failed;
        break;
      case Verdict::error:
        ++t.errors;
        break;
    }
    t.differences += s.failures();
  }
  return t;
}

// "replay: 3 sessions, 2 passed, 1 failed (5 differences), 1 error in 1.2 s"
std::string summary_line(const RunReport& report) {
  Tally t = tally(report);
  std::string out = report.command + ": " + plural(report.sessions.size(), "session") + ", " +
                    std::to_string(t.passed) + " passed, " + std::to_string(t.failed) + " failed";
  if (t.differences > 0) out += " (" + plural(t.differences, "difference") + ")";
  if (t.errors > 0) out += ", " + plural(t.errors, "error");
  return out + " in " + seconds(report.duration_us) + " s";
}

using RecordingKey = std::pair<store::Id, std::string>;
RecordingKey key_of(const SessionResult& s) {
  return {s.recording_id, s.recording};
}

// The recordings in the order of their first copy, each with the indices of its copies.
std::vector<std::vector<size_t>> by_recording(const RunReport& report) {
  std::vector<std::vector<size_t>> groups;
  std::map<RecordingKey, size_t> index;
  for (size_t i = 0; i < report.sessions.size(); ++i) {
    auto [it, fresh] = index.emplace(key_of(report.sessions[i]), groups.size());
    if (fresh) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  return groups;
}

// "chat-alice", or "chat-alice (copy 2)" when the run replayed it more than once.
std::vector<std::string> session_names(const RunReport& report) {
  std::map<RecordingKey, size_t> copies;
  for (const SessionResult& s : report.sessions)
    ++copies[key_of(s)];
  std::vector<std::string> names;
  for (const SessionResult& s : report.sessions) {
    std::string name = s.recording;
    if (report.repeat > 1 || copies[key_of(s)] > 1)
      name += " (copy " + std::to_string(s.copy + 1) + ")";
    names.push_back(std::move(name));
  }
  return names;
}

// "12 exchanges, 9/9 events, 3 broadcasts counted"
std::string counts(const SessionResult& s) {
  std::string out = plural(s.exchanges, "exchange");
  if (s.events_expected > 0)
    out += ", " + std::to_string(s.events_matched) + "/" + std::to_string(s.events_expected) +
           " events";
  if (s.broadcasts_counted > 0)
    out += ", " + plural(s.broadcasts_counted, "broadcast") + " counted";
  return out;
}

std::string client_label(const SessionResult& s, int client) {
  if (client >= 0 && size_t(client) < s.clients.size()) return s.clients[size_t(client)];
  return "client " + std::to_string(client + 1);
}

// What a difference is about, as format_differences names it.
std::string subject(const Difference& d) {
  switch (d.kind) {
    case DiffKind::missing:
      return "never came";
    case DiffKind::extra:
      return "not expected";
    case DiffKind::order:
      return "out of order";
    case DiffKind::json:
      return d.path.empty() ? "the whole value" : d.path;
    default:
      return d.path;
  }
}

// ---- Console --------------------------------------------------------------------------------

struct Ansi {
  bool on;
  std::string paint(std::string_view code, std::string_view text) const {
    if (!on) return std::string(text);
    return "\x1b[" + std::string(code) + "m" + std::string(text) + "\x1b[0m";
  }
};

constexpr size_t kListed = 5;  // skipped exchanges and warnings listed before "and N more"

// Skipped exchanges or warnings of every copy: the same text from several copies of one
// recording is listed once, with how many times it came.
void list_notes(std::string& out, const RunReport& report, const Ansi& ansi,
                std::vector<std::string> SessionResult::*notes, std::string_view what) {
  size_t total = 0;
  std::vector<std::pair<std::string, size_t>> lines;
  std::map<std::string, size_t> seen;
  for (const SessionResult& s : report.sessions) {
    for (const std::string& note : s.*notes) {
      ++total;
      std::string line = printable(s.recording) + ": " + printable(note);
      auto [it, fresh] = seen.emplace(line, lines.size());
      if (fresh) lines.emplace_back(std::move(line), 0);
      ++lines[it->second].second;
    }
  }
  if (total == 0) return;
  out += "\n" + ansi.paint("33", std::to_string(total) + " " + std::string(what)) + ":\n";
  for (size_t i = 0; i < lines.size() && i < kListed; ++i) {
    out += "  " + lines[i].first;
    if (lines[i].second > 1) out += " (×" + std::to_string(lines[i].second) + ")";
    out += "\n";
  }
  if (lines.size() > kListed)
    out += "  … and " + std::to_string(lines.size() - kListed) + " more\n";
}

void latency_table(std::string& out, const std::vector<LatencyStats>& latencies) {
  size_t width = 4;
  for (const LatencyStats& l : latencies)
    width = std::max(width, std::min<size_t>(columns(printable(l.name)), 60));
  auto cell = [](std::string s) { return std::string(s.size() < 9 ? 9 - s.size() : 0, ' ') + s; };
  out += "\nlatency (ms)\n  " + pad("name", width) + cell("count") + cell("p50") + cell("p90") +
         cell("p99") + cell("max") + "\n";
  for (const LatencyStats& l : latencies) {
    out += "  " + pad(printable(l.name), width) + cell(std::to_string(l.count)) +
           cell(fixed(l.p50_ms, 1)) + cell(fixed(l.p90_ms, 1)) + cell(fixed(l.p99_ms, 1)) +
           cell(fixed(l.max_ms, 1)) + "\n";
  }
}

// format_differences' text, indented under its session, with the -/+ lines coloured.
void diff_block(std::string& out, std::string_view text, const Ansi& ansi) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    out += "  ";
    if (line.starts_with("  - "))
      out += ansi.paint("31", line);
    else if (line.starts_with("  + "))
      out += ansi.paint("32", line);
    else
      out += line;
    out += "\n";
    start = end + 1;
  }
}

}  // namespace

// ---- Latency --------------------------------------------------------------------------------

std::vector<LatencyStats> latency_stats(
    const std::map<std::string, std::vector<int64_t>>& samples) {
  std::vector<LatencyStats> out;
  for (const auto& entry : samples) {
    LatencyStats l;
    l.name = entry.first;
    l.count = entry.second.size();
    if (l.count > 0) {
      std::vector<int64_t> sorted = entry.second;
      std::sort(sorted.begin(), sorted.end());
      // Nearest rank: the smallest sample with at least p% of the samples at or below it,
      // rank ceil(p/100 · n), counted from 1.
      auto rank = [&](size_t p) {
        size_t r = (p * l.count + 99) / 100;
        return double(sorted[std::max<size_t>(r, 1) - 1]) / 1000.0;
      };
      l.p50_ms = rank(50);
      l.p90_ms = rank(90);
      l.p99_ms = rank(99);
      l.max_ms = double(sorted.back()) / 1000.0;
    }
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(),
            [](const LatencyStats& a, const LatencyStats& b) { return a.name < b.name; });
  return out;
}

int RunReport::exit_code() const {
  bool failed = false;
  for (const SessionResult& s : sessions) {
    if (!s.errors.empty()) return 2;
    failed = failed || s.failures() > 0;
  }
  return failed ? 1 : 0;
}

std::string format_console(const RunReport& report, bool colour, size_t max_differences) {
  const Ansi ansi{colour};
  std::vector<std::string> names = session_names(report);
  size_t width = 0;
  for (std::string& name : names) {
    name = printable(name);
    width = std::max(width, columns(name));
  }

  std::string out;
  for (size_t i = 0; i < report.sessions.size(); ++i) {
    const SessionResult& s = report.sessions[i];
    switch (verdict(s)) {
      case Verdict::error:
        out += "  " + ansi.paint("1;31", "ERROR") + " " + names[i] + ": " +
               printable(s.errors.front()) + "\n";
        for (size_t e = 1; e < s.errors.size(); ++e)
          out += "        " + names[i] + ": " + printable(s.errors[e]) + "\n";
        break;
      case Verdict::failed:
        out += "  " + ansi.paint("31", "FAIL") + "  " + pad(names[i], width) + "   " +
               plural(s.failures(), "difference") + "   " + counts(s) + "   " +
               seconds(s.duration_us) + " s\n";
        break;
      case Verdict::passed:
        out += "  " + ansi.paint("32", "PASS") + "  " + pad(names[i], width) + "   " + counts(s) +
               "   " + seconds(s.duration_us) + " s\n";
        break;
    }
  }

  // The first failures across sessions, each session's block under its name.
  size_t budget = max_differences, hidden = 0, hidden_sessions = 0;
  bool heading = false;
  for (size_t i = 0; i < report.sessions.size(); ++i) {
    const SessionResult& s = report.sessions[i];
    size_t failures = s.failures();
    if (failures == 0) continue;
    if (budget == 0) {
      hidden += failures;
      ++hidden_sessions;
      continue;
    }
    if (!heading) out += "\n";
    heading = true;
    std::vector<Difference> shown;
    for (const Difference& d : s.differences) {
      if (d.noise) continue;
      Difference p = d;
      p.where = printable(d.where);
      p.path = printable(d.path);
      p.expected = printable(d.expected);
      p.actual = printable(d.actual);
      shown.push_back(std::move(p));
    }
    out += ansi.paint("1", names[i]) + "\n";
    diff_block(out, format_differences(shown, budget), ansi);
    budget -= std::min(budget, failures);
  }
  // With nothing shown at all (max_differences 0), the last line's count says enough.
  if (hidden > 0 && heading)
    out += "… and " + plural(hidden, "more difference", "more differences") + " in " +
           plural(hidden_sessions, "other session") + "\n";

  list_notes(out, report, ansi, &SessionResult::skipped, "skipped");
  list_notes(out, report, ansi, &SessionResult::warnings, "warnings");

  if ((report.concurrency > 1 || report.repeat > 1) && !report.latencies.empty())
    latency_table(out, report.latencies);

  out += "\n" + summary_line(report) + "\n";
  return out;
}

// ---- JSON -----------------------------------------------------------------------------------

namespace {

nlohmann::json micros(int64_t us) {
  return us < 0 ? nlohmann::json() : nlohmann::json(us);
}

const char* kind_name(Outcome::Kind kind) {
  switch (kind) {
    case Outcome::Kind::exchange:
      return "exchange";
    case Outcome::Kind::event:
      return "event";
    case Outcome::Kind::socket:
      return "socket";
  }
  return "?";
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::passed:
      return "passed";
    case Verdict::failed:
      return "failed";
    case Verdict::error:
      return "error";
  }
  return "?";
}

nlohmann::json difference_json(const Difference& d) {
  return {{"where", d.where}, {"scope", d.scope},       {"kind", diff_kind_name(d.kind)},
          {"path", d.path},   {"expected", d.expected}, {"actual", d.actual},
          {"noise", d.noise}};
}

}  // namespace

std::string to_json(const RunReport& report) {
  using nlohmann::json;
  Tally t = tally(report);
  json sessions = json::array();
  for (const SessionResult& s : report.sessions) {
    json timeline = json::array();
    for (const Outcome& o : s.timeline) {
      timeline.push_back({{"kind", kind_name(o.kind)},
                          {"client", o.client},
                          {"where", o.where},
                          {"expected", o.expected},
                          {"actual", o.actual},
                          {"recorded_us", micros(o.recorded_us)},
                          {"live_us", micros(o.live_us)},
                          {"latency_us", micros(o.latency_us)},
                          {"ok", o.ok}});
    }
    json differences = json::array();
    for (const Difference& d : s.differences)
      differences.push_back(difference_json(d));
    sessions.push_back({{"recording", s.recording},
                        {"recording_id", s.recording_id},
                        {"copy", s.copy},
                        {"result", verdict_name(verdict(s))},
                        {"passed", s.passed()},
                        {"failures", s.failures()},
                        {"clients", s.clients},
                        {"duration_ms", double(s.duration_us) / 1000.0},
                        {"exchanges", s.exchanges},
                        {"events_expected", s.events_expected},
                        {"events_matched", s.events_matched},
                        {"broadcasts_counted", s.broadcasts_counted},
                        {"errors", s.errors},
                        {"skipped", s.skipped},
                        {"warnings", s.warnings},
                        {"timeline", std::move(timeline)},
                        {"differences", std::move(differences)}});
  }
  json latencies = json::array();
  for (const LatencyStats& l : report.latencies) {
    latencies.push_back({{"name", l.name},
                         {"count", l.count},
                         {"p50_ms", l.p50_ms},
                         {"p90_ms", l.p90_ms},
                         {"p99_ms", l.p99_ms},
                         {"max_ms", l.max_ms}});
  }
  json out = {{"command", report.command},
              {"target", report.target},
              {"db", report.db},
              {"started", iso_time(report.started_unix_ms)},
              {"started_unix_ms", report.started_unix_ms},
              {"duration_ms", double(report.duration_us) / 1000.0},
              {"concurrency", report.concurrency},
              {"repeat", report.repeat},
              {"passed", report.exit_code() == 0},
              {"exit_code", report.exit_code()},
              {"summary",
               {{"sessions", report.sessions.size()},
                {"passed", t.passed},
                {"failed", t.failed},
                {"errors", t.errors},
                {"differences", t.differences}}},
              {"sessions", std::move(sessions)},
              {"latencies", std::move(latencies)}};
  // Bodies may be binary: invalid UTF-8 becomes U+FFFD rather than an exception.
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

// ---- JUnit XML ------------------------------------------------------------------------------

std::string to_junit(const RunReport& report) {
  std::vector<std::vector<size_t>> groups = by_recording(report);
  const std::string classname = "workalready." + report.command;
  const std::string suite = "workalready " + report.command;
  size_t failures = 0, errors = 0;
  std::string cases;
  for (const std::vector<size_t>& copies : groups) {
    const SessionResult& first = report.sessions[copies.front()];
    int64_t duration = 0;
    size_t differences = 0, broken = 0;
    std::string failure_text, error_text, system_out;
    for (size_t i : copies) {
      const SessionResult& s = report.sessions[i];
      duration += s.duration_us;
      differences += s.failures();
      broken += s.errors.size();
      std::string copy = copies.size() > 1 ? "copy " + std::to_string(s.copy + 1) + ": " : "";
      for (const std::string& e : s.errors)
        error_text += copy + e + "\n";
      if (s.failures() > 0) {
        if (!copy.empty()) failure_text += copy + plural(s.failures(), "difference") + "\n";
        failure_text += format_differences(s.differences, s.failures());
      }
      system_out += copy + counts(s) + ", " + seconds(s.duration_us, 3) + " s\n";
      for (const std::string& k : s.skipped)
        system_out += copy + "skipped: " + k + "\n";
      for (const std::string& w : s.warnings)
        system_out += copy + "warning: " + w + "\n";
    }
    cases += "    <testcase classname=\"" + markup(classname, true) + "\" name=\"" +
             markup(first.recording, true) + "\" time=\"" + seconds(duration, 3) + "\">\n";
    // One outcome per test case, as JUnit readers count them: a setup error wins, and its
    // text carries the differences found before it.
    if (broken > 0) {
      ++errors;
      cases += "      <error message=\"" + markup(plural(broken, "setup error"), true) +
               "\" type=\"setup\">" + markup(error_text + failure_text) + "</error>\n";
    } else if (differences > 0) {
      ++failures;
      cases += "      <failure message=\"" + plural(differences, "difference") +
               "\" type=\"mismatch\">" + markup(failure_text) + "</failure>\n";
    }
    cases += "      <system-out>" + markup(system_out) + "</system-out>\n";
    cases += "    </testcase>\n";
  }

  std::string counts_attrs = "tests=\"" + std::to_string(groups.size()) + "\" failures=\"" +
                             std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
                             "\" time=\"" + seconds(report.duration_us, 3) + "\"";
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"" + markup(suite, true) + "\" " + counts_attrs + ">\n";
  out += "  <testsuite name=\"" + markup(suite, true) + "\" " + counts_attrs + " skipped=\"0\"";
  if (std::string when = iso_time(report.started_unix_ms, false); !when.empty())
    out += " timestamp=\"" + when + "\"";
  out += ">\n    <properties>\n";
  auto property = [&](std::string_view name, std::string_view value) {
    out += "      <property name=\"" + std::string(name) + "\" value=\"" + markup(value, true) +
           "\"/>\n";
  };
  property("target", report.target);
  property("db", report.db);
  property("concurrency", std::to_string(report.concurrency));
  property("repeat", std::to_string(report.repeat));
  out += "    </properties>\n" + cases + "  </testsuite>\n</testsuites>\n";
  return out;
}

// ---- HTML -----------------------------------------------------------------------------------

namespace {

// No script runs and nothing loads from elsewhere, whatever a recorded body holds: the escaping
// below keeps markup out, and the policy is a second fence.
constexpr std::string_view kHead = R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .5em; }
h2 { font-size: 1.15em; margin: 1.5em 0 .5em; }
h3 { font-size: 1em; margin: 1em 0 .3em; }
table { border-collapse: collapse; margin: .3em 0 1em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; font: 12px/1.3 monospace; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 4px; color: #fff;
         font-weight: bold; font-size: .85em; }
.badge.passed { background: #2e7d32; } .badge.failed { background: #c62828; }
.badge.error { background: #6a1b9a; }
tr.ok td { background: #f1f8f1; } tr.bad td { background: #fdecea; }
td.exp { background: #fff0f0; } td.act { background: #f0fff0; }
table.noise, table.noise td, table.noise th { color: #888; background: #fafafa; }
details { border: 1px solid #ddd; border-radius: 4px; padding: .3em .8em; margin: .5em 0; }
summary { cursor: pointer; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 1em; }
dt { font-weight: bold; } dd { margin: 0; }
ul.errors { color: #6a1b9a; }
</style>
)";

std::string badge(Verdict v) {
  std::string name = verdict_name(v);
  return "<span class=\"badge " + name + "\">" + name + "</span>";
}

std::string html_time(int64_t us) {
  return us < 0 ? "—" : seconds(us, 3) + " s";
}

std::string html_ms(int64_t us) {
  return us < 0 ? "" : fixed(double(us) / 1000.0, 1);
}

void html_list(std::string& out, std::string_view title, const std::vector<std::string>& items,
               std::string_view cls = {}) {
  if (items.empty()) return;
  out += "<h3>" + std::string(title) + " (" + std::to_string(items.size()) + ")</h3>\n<ul";
  if (!cls.empty()) out += " class=\"" + std::string(cls) + "\"";
  out += ">\n";
  for (const std::string& item : items)
    out += "<li>" + markup(item) + "</li>\n";
  out += "</ul>\n";
}

// Side-by-side: what the recording holds beside what the live server sent.
void html_differences(std::string& out, const std::vector<Difference>& differences, bool noise) {
  out += noise ? "<table class=\"noise\">\n" : "<table class=\"diff\">\n";
  out += "<tr><th>where</th><th>what</th><th>kind</th><th>expected</th><th>actual</th></tr>\n";
  for (const Difference& d : differences) {
    if (d.noise != noise) continue;
    out += "<tr><td>" + markup(d.where) + "</td><td>" + markup(subject(d)) + "</td><td>" +
           diff_kind_name(d.kind) + "</td><td class=\"exp\"><pre>" +
           (d.kind == DiffKind::extra ? "" : markup(d.expected)) +
           "</pre></td><td class=\"act\"><pre>" +
           (d.kind == DiffKind::missing ? "" : markup(d.actual)) + "</pre></td></tr>\n";
  }
  out += "</table>\n";
}

void html_session(std::string& out, const SessionResult& s, const std::string& name, size_t index) {
  Verdict v = verdict(s);
  out += "<details id=\"session-" + std::to_string(index) + "\"";
  if (v != Verdict::passed) out += " open";
  out +=
      ">\n<summary>" + badge(v) + " <strong>" + markup(name) + "</strong> — " + markup(counts(s));
  if (s.failures() > 0) out += ", " + plural(s.failures(), "difference");
  out += ", " + seconds(s.duration_us) + " s</summary>\n";

  html_list(out, "Setup errors", s.errors, "errors");
  if (!s.clients.empty()) {
    std::string list;
    for (const std::string& c : s.clients)
      list += (list.empty() ? "" : ", ") + markup(c);
    out += "<p>Clients: " + list + "</p>\n";
  }

  if (!s.timeline.empty()) {
    out +=
        "<h3>Timeline</h3>\n<table class=\"timeline\">\n<tr><th>recorded</th><th>live</th>"
        "<th>latency (ms)</th><th>client</th><th>what</th><th>expected</th><th>actual</th>"
        "<th>ok</th></tr>\n";
    for (const Outcome& o : s.timeline) {
      out += std::string("<tr class=\"") + (o.ok ? "ok" : "bad") + "\"><td class=\"num\">" +
             html_time(o.recorded_us) + "</td><td class=\"num\">" + html_time(o.live_us) +
             "</td><td class=\"num\">" + html_ms(o.latency_us) + "</td><td>" +
             markup(client_label(s, o.client)) + "</td><td>" + markup(o.where) + "</td><td><pre>" +
             markup(o.expected) + "</pre></td><td><pre>" + markup(o.actual) + "</pre></td><td>" +
             (o.ok ? "✓" : "✗") + "</td></tr>\n";
    }
    out += "</table>\n";
  }

  size_t noise = s.differences.size() - s.failures();
  if (s.failures() > 0) {
    out += "<h3>Differences (" + std::to_string(s.failures()) + ")</h3>\n";
    html_differences(out, s.differences, false);
  }
  if (noise > 0) {
    out += "<h3>Noise, not failures (" + std::to_string(noise) + ")</h3>\n";
    html_differences(out, s.differences, true);
  }
  html_list(out, "Skipped", s.skipped);
  html_list(out, "Warnings", s.warnings);
  out += "</details>\n";
}

}  // namespace

std::string to_html(const RunReport& report) {
  std::vector<std::string> names = session_names(report);
  Tally t = tally(report);
  int code = report.exit_code();
  Verdict overall = code == 2 ? Verdict::error : code == 1 ? Verdict::failed : Verdict::passed;

  std::string out(kHead);
  out += "<title>workalready " + markup(report.command) + " — " + verdict_name(overall) +
         "</title>\n</head>\n<body>\n";
  out += "<h1>workalready " + markup(report.command) + " " + badge(overall) + "</h1>\n<dl>\n";
  auto field = [&](std::string_view name, const std::string& value) {
    out += "<dt>" + std::string(name) + "</dt><dd>" + markup(value) + "</dd>\n";
  };
  field("target", report.target);
  field("capture file", report.db);
  if (std::string when = iso_time(report.started_unix_ms); !when.empty()) field("started", when);
  field("duration", seconds(report.duration_us) + " s");
  field("concurrency", std::to_string(report.concurrency));
  field("repeat", std::to_string(report.repeat));
  field("sessions", plural(report.sessions.size(), "session") + ": " + std::to_string(t.passed) +
                        " passed, " + std::to_string(t.failed) + " failed, " +
                        plural(t.errors, "error"));
  field("differences", std::to_string(t.differences));
  out += "</dl>\n<p>" + markup(summary_line(report)) + "</p>\n";

  if (!report.sessions.empty()) {
    out +=
        "<h2>Sessions</h2>\n<table class=\"sessions\">\n<tr><th>session</th><th>result</th>"
        "<th>exchanges</th><th>events</th><th>differences</th><th>duration</th></tr>\n";
    for (size_t i = 0; i < report.sessions.size(); ++i) {
      const SessionResult& s = report.sessions[i];
      out += "<tr><td><a href=\"#session-" + std::to_string(i) + "\">" + markup(names[i]) +
             "</a></td><td>" + badge(verdict(s)) + "</td><td class=\"num\">" +
             std::to_string(s.exchanges) + "</td><td class=\"num\">" +
             std::to_string(s.events_matched) + "/" + std::to_string(s.events_expected) +
             "</td><td class=\"num\">" + std::to_string(s.failures()) + "</td><td class=\"num\">" +
             seconds(s.duration_us) + " s</td></tr>\n";
    }
    out += "</table>\n";
    for (size_t i = 0; i < report.sessions.size(); ++i)
      html_session(out, report.sessions[i], names[i], i);
  }

  if (!report.latencies.empty()) {
    out +=
        "<h2>Latency (ms)</h2>\n<table class=\"latency\">\n<tr><th>name</th><th>count</th>"
        "<th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>\n";
    for (const LatencyStats& l : report.latencies) {
      out += "<tr><td>" + markup(l.name) + "</td><td class=\"num\">" + std::to_string(l.count) +
             "</td><td class=\"num\">" + fixed(l.p50_ms, 1) + "</td><td class=\"num\">" +
             fixed(l.p90_ms, 1) + "</td><td class=\"num\">" + fixed(l.p99_ms, 1) +
             "</td><td class=\"num\">" + fixed(l.max_ms, 1) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

// ---- Grouped changes ------------------------------------------------------------------------

std::vector<ChangeGroup> group_changes(const std::vector<Difference>& differences) {
  std::vector<ChangeGroup> groups;
  std::map<std::string, size_t> index;
  for (const Difference& d : differences) {
    if (d.noise) continue;
    auto [it, fresh] = index.emplace(d.scope, groups.size());
    if (fresh) groups.push_back({d.scope, 0, d});
    ++groups[it->second].count;
  }
  std::sort(groups.begin(), groups.end(), [](const ChangeGroup& a, const ChangeGroup& b) {
    return a.count != b.count ? a.count > b.count : a.scope < b.scope;
  });
  return groups;
}

}  // namespace wa::replay
