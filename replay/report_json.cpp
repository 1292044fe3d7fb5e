// The machine-readable reports: JSON (report.h, to_json) and JUnit XML.
#include <nlohmann/json.hpp>

#include "replay/report.h"
#include "replay/report_text.h"

namespace wa::replay {

using namespace report_text;

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

nlohmann::json difference_json(const Difference& d) {
  return {{"where", d.where},
          {"scope", d.scope},
          {"kind", diff_kind_name(d.kind)},
          {"path", d.path},
          {"expected", d.expected},
          {"actual", d.actual},
          {"noise", d.noise},
          {"noise_reason", d.noise_reason},
          {"outcome", d.outcome < 0 ? nlohmann::json() : nlohmann::json(d.outcome)}};
}

nlohmann::json rule_json(const NoiseRule& r) {
  return {{"kind", store::to_string(r.kind)},
          {"pattern", r.pattern},
          {"scope", r.scope},
          {"origin", r.origin},
          {"evidence", r.evidence}};
}

}  // namespace

std::string to_json(const RunReport& report) {
  using nlohmann::json;
  Tally t = tally(report);
  json sessions = json::array();
  for (const SessionResult& s : report.sessions) {
    json timeline = json::array();
    std::vector<size_t> failing = failures_by_row(s);
    for (size_t r = 0; r < s.timeline.size(); ++r) {
      const Outcome& o = s.timeline[r];
      timeline.push_back({{"kind", kind_name(o.kind)},
                          {"client", o.client},
                          {"where", o.where},
                          {"expected", o.expected},
                          {"actual", o.actual},
                          {"recorded_us", micros(o.recorded_us)},
                          {"live_us", micros(o.live_us)},
                          {"latency_us", micros(o.latency_us)},
                          {"ok", o.ok},
                          {"failures", failing[r]}});
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
                        {"cut_short", s.cut_short},
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
  json rules = json::array();
  for (const RunReport::Rules& r : report.rules) {
    json noise = json::array();
    for (const NoiseRule& rule : r.noise)
      noise.push_back(rule_json(rule));
    rules.push_back(
        {{"recording", r.recording}, {"recording_id", r.recording_id}, {"noise", noise}});
  }
  json correlated = json::array();
  for (const RunReport::Correlated& r : report.correlated) {
    json values = json::array();
    for (const RunReport::CorrelatedValue& v : r.values) {
      values.push_back({{"value", v.value},
                        {"rule", v.rule},
                        {"issued", v.issued},
                        {"used", v.used},
                        {"use_count", v.use_count}});
    }
    correlated.push_back(
        {{"recording", r.recording}, {"recording_id", r.recording_id}, {"values", values}});
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
              {"deadline",
               {{"ms", report.deadline_ms},
                {"passed", report.deadline_passed},
                {"not_run", report.copies_not_run}}},
              {"summary",
               {{"sessions", report.sessions.size()},
                {"passed", t.passed},
                {"failed", t.failed},
                {"errors", t.errors},
                {"differences", t.differences}}},
              {"sessions", std::move(sessions)},
              {"latencies", std::move(latencies)},
              {"rules", std::move(rules)},
              {"correlated", std::move(correlated)},
              {"server_output", report.server_output}};
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
    size_t differences = 0, broken = 0, cut = 0;
    std::string failure_text, error_text, system_out;
    for (size_t i : copies) {
      const SessionResult& s = report.sessions[i];
      duration += s.duration_us;
      differences += s.failures();
      broken += s.errors.size();
      std::string copy = copies.size() > 1 ? "copy " + std::to_string(s.copy + 1) + ": " : "";
      for (const std::string& e : s.errors)
        error_text += copy + e + "\n";
      if (s.cut_short) {
        ++cut;
        failure_text += copy + "cut short: the run's deadline passed\n";
      }
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
    } else if (differences > 0 || cut > 0) {
      ++failures;
      cases += "      <failure message=\"" +
               (cut > 0 ? plural(cut, "copy", "copies") + " cut short by the deadline, " : "") +
               plural(differences, "difference") + "\" type=\"mismatch\">" + markup(failure_text) +
               "</failure>\n";
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
  if (report.deadline_ms > 0) {
    property("deadline_ms", std::to_string(report.deadline_ms));
    property("deadline_passed", report.deadline_passed ? "true" : "false");
  }
  out += "    </properties>\n" + cases;
  if (!report.server_output.empty()) {
    std::string lines;
    for (const std::string& line : report.server_output)
      lines += line + "\n";
    out += "    <system-err>" + markup(lines) + "</system-err>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace wa::replay
