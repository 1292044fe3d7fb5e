#include "replay/report.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "replay/report_text.h"

namespace wa::replay {

using namespace report_text;

namespace {

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
    failed = failed || !s.passed();
  }
  return failed || deadline_passed ? 1 : 0;
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
               (s.cut_short ? "cut short by the deadline, " : "") +
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

  // Load runs: the places whose live values differed between copies of a recording (noise).
  std::vector<std::string> varied;
  for (const SessionResult& s : report.sessions)
    for (const Difference& d : s.differences)
      if (d.noise && d.noise_reason == "varies between copies") {
        std::string place = printable(d.where) + (d.path.empty() ? "" : " " + printable(d.path));
        if (std::find(varied.begin(), varied.end(), place) == varied.end()) varied.push_back(place);
      }
  if (!varied.empty()) {
    out += "\n" + ansi.paint("33", plural(varied.size(), "value") + " varied between copies") +
           " (noise): ";
    for (size_t i = 0; i < varied.size() && i < kListed; ++i)
      out += (i ? ", " : "") + varied[i];
    if (varied.size() > kListed)
      out += ", … and " + std::to_string(varied.size() - kListed) + " more";
    out += "\n";
  }

  if ((report.concurrency > 1 || report.repeat > 1) && !report.latencies.empty())
    latency_table(out, report.latencies);

  out += "\n" + summary_line(report) + "\n";
  if (report.deadline_passed) out += deadline_line(report) + "\n";
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
