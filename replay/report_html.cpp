// The self-contained HTML report (report.h, to_html).
#include "replay/report.h"
#include "replay/report_text.h"

namespace wa::replay {

using namespace report_text;

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

// The anchor of row `row` of session `index`'s timeline.
std::string row_id(size_t index, size_t row) {
  return "session-" + std::to_string(index) + "-row-" + std::to_string(row);
}

// Side-by-side: what the recording holds beside what the live server sent. Each difference
// links to its timeline row.
void html_differences(std::string& out, const SessionResult& s, size_t index, bool noise) {
  out += noise ? "<table class=\"noise\">\n" : "<table class=\"diff\">\n";
  out += "<tr><th>where</th><th>what</th><th>kind</th><th>expected</th><th>actual</th></tr>\n";
  for (const Difference& d : s.differences) {
    if (d.noise != noise) continue;
    std::string where = markup(d.where);
    if (d.outcome >= 0 && size_t(d.outcome) < s.timeline.size())
      where = "<a href=\"#" + row_id(index, size_t(d.outcome)) + "\">" + where + "</a>";
    out += "<tr><td>" + where + "</td><td>" + markup(subject(d)) + "</td><td>" +
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
    for (size_t r = 0; r < s.timeline.size(); ++r) {
      const Outcome& o = s.timeline[r];
      out += std::string("<tr class=\"") + (o.ok ? "ok" : "bad") + "\" id=\"" + row_id(index, r) +
             "\"><td class=\"num\">" + html_time(o.recorded_us) + "</td><td class=\"num\">" +
             html_time(o.live_us) + "</td><td class=\"num\">" + html_ms(o.latency_us) +
             "</td><td>" + markup(client_label(s, o.client)) + "</td><td>" + markup(o.where) +
             "</td><td><pre>" + markup(o.expected) + "</pre></td><td><pre>" + markup(o.actual) +
             "</pre></td><td>" + (o.ok ? "✓" : "✗") + "</td></tr>\n";
    }
    out += "</table>\n";
  }

  size_t noise = s.differences.size() - s.failures();
  if (s.failures() > 0) {
    out += "<h3>Differences (" + std::to_string(s.failures()) + ")</h3>\n";
    html_differences(out, s, index, false);
  }
  if (noise > 0) {
    out += "<h3>Noise, not failures (" + std::to_string(noise) + ")</h3>\n";
    html_differences(out, s, index, true);
  }
  html_list(out, "Skipped", s.skipped);
  html_list(out, "Warnings", s.warnings);
  out += "</details>\n";
}

// The noise rules in force for each recording: what they cover, where they came from, and what
// calibration saw in each pass.
void html_rules(std::string& out, const std::vector<RunReport::Rules>& rules) {
  if (rules.empty()) return;
  out += "<h2>Noise rules</h2>\n";
  for (const RunReport::Rules& r : rules) {
    out += "<h3>" + markup(r.recording) + " (" + plural(r.noise.size(), "rule") + ")</h3>\n";
    if (r.noise.empty()) continue;
    out +=
        "<table class=\"rules\">\n<tr><th>kind</th><th>pattern</th><th>scope</th>"
        "<th>origin</th><th>evidence</th></tr>\n";
    for (const NoiseRule& rule : r.noise) {
      // Two values: what each calibration pass saw; more (a rule several places share, a
      // clock reading with the recorded value first): the values seen.
      std::string evidence;
      for (size_t i = 0; i < rule.evidence.size(); ++i) {
        if (rule.evidence.size() == 2) evidence += "pass " + std::to_string(i + 1) + ": ";
        evidence += markup(rule.evidence[i]) + "\n";
      }
      out += std::string("<tr><td>") + store::to_string(rule.kind) + "</td><td><pre>" +
             markup(rule.pattern) + "</pre></td><td>" + markup(rule.scope) + "</td><td>" +
             markup(rule.origin) + "</td><td><pre>" + evidence + "</pre></td></tr>\n";
    }
    out += "</table>\n";
  }
}

// The values correlated for each recording: where the server issued each, where it went back.
void html_correlated(std::string& out, const std::vector<RunReport::Correlated>& correlated) {
  if (correlated.empty()) return;
  out += "<h2>Correlated values</h2>\n";
  for (const RunReport::Correlated& r : correlated) {
    out += "<h3>" + markup(r.recording) + " (" + plural(r.values.size(), "value") + ")</h3>\n";
    if (r.values.empty()) continue;
    out += "<table class=\"rules\">\n<tr><th>value</th><th>issued by</th><th>used in</th></tr>\n";
    for (const RunReport::CorrelatedValue& v : r.values) {
      std::string issued, used;
      for (const std::string& place : v.issued)
        issued += markup(place) + "\n";
      for (const std::string& place : v.used)
        used += markup(place) + "\n";
      if (v.use_count > v.used.size())
        used += "and " + std::to_string(v.use_count - v.used.size()) + " more\n";
      out += "<tr><td><pre>" + markup(v.value) + "</pre>" +
             (v.rule.empty() ? "" : "rule " + markup(v.rule)) + "</td><td><pre>" + issued +
             "</pre></td><td><pre>" + used + "</pre></td></tr>\n";
    }
    out += "</table>\n";
  }
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
  if (report.deadline_passed) out += "<p>" + markup(deadline_line(report)) + "</p>\n";

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

  html_rules(out, report.rules);
  html_correlated(out, report.correlated);

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
  if (!report.server_output.empty()) {
    out += "<h2>Server output (last " + std::to_string(report.server_output.size()) +
           " lines)</h2>\n<pre class=\"server-output\">";
    for (const std::string& line : report.server_output)
      out += markup(line) + "\n";
    out += "</pre>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace wa::replay
