#include "replay/report_text.h"

#include <cstdio>
#include <ctime>
#include <limits>
#include <map>

namespace wa::replay::report_text {
namespace {

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

}  // namespace

std::string markup(std::string_view s, bool attribute) {
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

std::string plural(size_t n, std::string_view one, std::string_view many) {
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

std::string seconds(int64_t us, int decimals) {
  return fixed(double(us) / 1e6, decimals);
}

// "2024-05-01T12:00:00Z" (UTC); "" for an unset time.
std::string iso_time(int64_t unix_ms, bool zone) {
  if (unix_ms <= 0) return "";
  std::time_t t = std::time_t(unix_ms / 1000);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return "";
  char buf[40];
  std::strftime(buf, sizeof buf, zone ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}
// ---- Verdicts and names ---------------------------------------------------------------------

Verdict verdict(const SessionResult& s) {
  if (!s.errors.empty()) return Verdict::error;
  return s.failures() == 0 && !s.cut_short ? Verdict::passed : Verdict::failed;
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

std::string deadline_line(const RunReport& report) {
  size_t cut = 0;
  for (const SessionResult& s : report.sessions)
    cut += s.cut_short ? 1 : 0;
  return report.command + ": deadline of " + std::to_string(report.deadline_ms) +
         " ms passed: " + plural(cut, "session") + " cut short, " +
         std::to_string(report.copies_not_run) + " not run";
}

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

std::vector<size_t> failures_by_row(const SessionResult& s) {
  std::vector<size_t> out(s.timeline.size(), 0);
  for (const Difference& d : s.differences)
    if (!d.noise && d.outcome >= 0 && size_t(d.outcome) < out.size()) ++out[size_t(d.outcome)];
  return out;
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

}  // namespace wa::replay::report_text
