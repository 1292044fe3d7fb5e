// `workalready diff`: the same recordings replayed against build A and build B, compared with
// each other rather than with the recording. Noise is learnt the Diffy way (DESIGN.md, "Diff
// between builds"): what differs between two runs of A (against --a2, or A twice) is noise;
// what differs between A and B beyond it is a change in behaviour.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cli/command.h"
#include "cli/replay_setup.h"
#include "cli/server_setup.h"
#include "net/loop.h"
#include "replay/calibration.h"
#include "replay/runner.h"

namespace wa::cli {
namespace {

struct DiffArgs {
  ReplayInputs in;
  std::string a, b, a2, json, junit, html, deadline;
  // --a-server / --b-server: a fresh instance of each build for each run (A's second run, which
  // noise is learnt from, gets its own).
  ServerSpec a_server, b_server;
  bool insecure = false;
  uint64_t timeout_ms = 5000;
  SecretOptions secrets;
  unsigned report_mode = kReportMode;
};

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct Side {
  std::string target;  // the live URL (with the instance's port under --server)
  std::vector<replay::Prepared> prepared;
  replay::RunResult run;
  std::vector<std::string> server_output;  // the instance's last lines (--server)
};

// "A server output (last 40 lines):" and the lines, for an error message ("" without any).
std::string output_block(const std::vector<std::string>& lines, const std::string& label) {
  if (lines.empty()) return "";
  std::string out = "\n" + label + " output (last " + std::to_string(lines.size()) + " lines):";
  for (const std::string& line : lines)
    out += "\n  " + line;
  return out;
}

// One run of the recordings against `target`, or against a fresh instance started from
// `server` when it is given (`target` is then its template).
Result<Side> replay_against(const DiffArgs& args, const std::string& target,
                            const ServerSpec& server, const replay::RunnerOptions& base) {
  std::optional<ServerInstance> instance;
  ReplayInputs in = args.in;
  in.target = target;
  if (server.given()) {
    auto started = ServerInstance::start(server, target);
    if (!started) return started.error();
    instance.emplace(std::move(*started));
    in.target = instance->target();
  }
  replay::RunnerOptions options = base;
  auto prepared = load_recordings(in, options);
  if (!prepared) return prepared.error();
  Side side;
  side.target = in.target;
  side.prepared = std::move(*prepared);
  net::Loop loop;
  side.run = replay::run(loop, side.prepared, options);
  if (instance) {
    instance->stop();
    wait_if_interrupted();  // a run cut short by Ctrl-C reports nothing
    side.server_output = instance->last_lines(kServerOutputLines);
  }
  for (const auto& s : side.run.report.sessions)
    if (!s.errors.empty())
      return fail(Errc::setup, in.target + ": " + s.errors.front() +
                                   output_block(side.server_output, server.label));
  (void)loop.close();
  return side;
}

// --deadline passed during one of the runs: nothing is compared (A with B needs all three
// runs whole). The report holds that run's copies, cut short or done, without differences
// (they would be against the recording, not between the builds), says which run it was, and
// is written where asked; exit 1.
int deadline_passed(const DiffArgs& args, Side& side, const std::string& which,
                    uint64_t deadline_ms, std::chrono::steady_clock::time_point t0) {
  replay::RunReport report = std::move(side.run.report);
  report.command = "diff";
  report.target = side.target;
  report.db = args.in.db;
  report.deadline_ms = deadline_ms;
  for (replay::SessionResult& s : report.sessions)
    s.differences.clear();
  if (!args.secrets.show) hide_secrets(report, {&side.prepared});
  report.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::fputs(replay::format_console(report, stdout_is_tty()).c_str(), stdout);
  std::printf("diff: nothing compared: the deadline passed during the run against %s\n",
              which.c_str());
  std::fflush(stdout);
  if (auto r = write_reports(report, args.json, args.junit, args.html, args.report_mode); !r)
    return usage_error(r.error().why);
  return kMismatch;
}

int run_diff(DiffArgs& args) {
  for (const ServerSpec* spec : {&args.a_server, &args.b_server})
    if (auto checked = spec->check(); !checked) return usage_error(checked.error().why);
  for (auto [url, spec, flag] :
       {std::tuple{&args.a, &args.a_server, "--a"}, std::tuple{&args.b, &args.b_server, "--b"}}) {
    if (spec->given()) continue;
    if (url->empty())
      return usage_error(std::string(flag) + " is required (or " + flag + "-server)");
    if (url->find("{port}") != std::string::npos)
      return usage_error(std::string(flag) + " " + *url + ": {port} needs " + flag + "-server");
  }
  uint64_t deadline_ms = 0;
  if (!args.deadline.empty()) {
    auto parsed = parse_deadline(args.deadline);
    if (!parsed) return usage_error(parsed.error().why);
    deadline_ms = *parsed;
  }
  if (!args.secrets.mode.empty()) {
    auto parsed = parse_report_mode(args.secrets.mode);
    if (!parsed) return usage_error(parsed.error().why);
    args.report_mode = *parsed;
  }
  replay::RunnerOptions options;
  options.timeout_ms = args.timeout_ms;
  options.http.insecure = args.insecure;
  // One deadline for the three runs together.
  options.deadline_us = deadline_from_now(deadline_ms);
  int64_t started = now_unix_ms();
  auto t0 = std::chrono::steady_clock::now();

  const ServerSpec none;
  auto a = replay_against(args, args.a, args.a_server, options);
  if (!a) return usage_error(a.error().why);
  if (a->run.report.deadline_passed) return deadline_passed(args, *a, "A", deadline_ms, t0);
  // A second run of A: against --a2 when given, else A again (a fresh instance under
  // --a-server).
  auto a2 = args.a2.empty() ? replay_against(args, args.a, args.a_server, options)
                            : replay_against(args, args.a2, none, options);
  if (!a2) return usage_error(a2.error().why);
  if (a2->run.report.deadline_passed)
    return deadline_passed(args, *a2, "A's second run", deadline_ms, t0);
  auto b = replay_against(args, args.b, args.b_server, options);
  if (!b) return usage_error(b.error().why);
  if (b->run.report.deadline_passed) return deadline_passed(args, *b, "B", deadline_ms, t0);

  replay::RunReport report;
  report.command = "diff";
  report.target = "A=" + a->target + " B=" + b->target + (args.a2.empty() ? "" : " A2=" + args.a2);
  report.db = args.in.db;
  report.started_unix_ms = started;
  std::vector<replay::Difference> all;
  for (size_t r = 0; r < a->prepared.size(); ++r) {
    const replay::Prepared& p = a->prepared[r];
    // Noise: A against A2, plus the rules the recording already has.
    std::vector<replay::NoiseRule> rules =
        replay::calibration_rules(replay::compare_runs(p, a->run.live[r], a2->run.live[r]));
    rules.insert(rules.begin(), p.noise.rules().begin(), p.noise.rules().end());
    auto noise = replay::NoiseSet::make(std::move(rules));
    if (!noise) return usage_error(noise.error().why);
    replay::SessionResult s;
    s.recording = p.name;
    s.recording_id = p.id;
    s.clients = b->run.report.sessions[r].clients;
    s.skipped = b->run.report.sessions[r].skipped;
    s.warnings = b->run.report.sessions[r].warnings;
    s.exchanges = b->run.report.sessions[r].exchanges;
    s.events_expected = a->run.report.sessions[r].events_expected;
    s.timeline = b->run.report.sessions[r].timeline;
    // What each run saw live, so that the secrets of all three are hidden.
    for (const Side* side : {&*a, &*a2, &*b}) {
      const auto& seen = side->run.report.sessions[r].secrets;
      s.secrets.insert(s.secrets.end(), seen.begin(), seen.end());
    }
    // A's absolute URLs (a Location) name A's origins: B's answer names B's.
    auto from = p.origins.entries();
    auto to = b->prepared[r].origins.entries();
    auto a_to_b = [&](std::string_view url) {
      for (size_t k = 0; k < from.size() && k < to.size(); ++k)
        if (url.substr(0, from[k].second.size()) == from[k].second)
          return to[k].second + std::string(url.substr(from[k].second.size()));
      return std::string(url);
    };
    s.differences = replay::compare_runs(p, a->run.live[r], b->run.live[r], &*noise, a_to_b);
    s.duration_us = b->run.report.sessions[r].duration_us;
    s.events_matched = s.events_expected;
    for (const auto& d : s.differences)
      if (!d.noise && (d.kind == replay::DiffKind::missing || d.kind == replay::DiffKind::json) &&
          s.events_matched > 0 && d.where.rfind("event", 0) == 0)
        --s.events_matched;
    all.insert(all.end(), s.differences.begin(), s.differences.end());
    report.sessions.push_back(std::move(s));
  }
  report.duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  if (report.exit_code() != kOk) {
    // The servers' last lines, A's then B's, each marked with its side.
    for (const auto& [side, label] : {std::pair{&*a, "A: "}, std::pair{&*b, "B: "}})
      for (const std::string& line : side->server_output)
        report.server_output.push_back(label + line);
  }
  std::vector<std::string> a_output = a->server_output, b_output = b->server_output;
  if (!args.secrets.show) {
    replay::SecretBook book = hide_secrets(report, {&a->prepared, &a2->prepared, &b->prepared});
    all.clear();
    for (const replay::SessionResult& s : report.sessions)
      all.insert(all.end(), s.differences.begin(), s.differences.end());
    for (std::string& line : a_output)
      book.redact_in_place(line);
    for (std::string& line : b_output)
      book.redact_in_place(line);
  }
  std::fputs(replay::format_console(report, stdout_is_tty()).c_str(), stdout);
  std::vector<replay::ChangeGroup> groups = replay::group_changes(all);
  if (!groups.empty()) {
    std::printf("\nchanges by endpoint and event:\n");
    for (const auto& g : groups)
      std::printf("  %5zu  %s  (e.g. %s: %s -> %s)\n", g.count, g.scope.c_str(),
                  g.example.path.empty() ? "(whole)" : g.example.path.c_str(),
                  g.example.expected.c_str(), g.example.actual.c_str());
  }
  if (report.exit_code() != kOk) {
    print_server_output(stdout, a_output, args.a_server.label);
    print_server_output(stdout, b_output, args.b_server.label);
  }
  std::fflush(stdout);
  if (auto r = write_reports(report, args.json, args.junit, args.html, args.report_mode); !r)
    return usage_error(r.error().why);
  return report.exit_code();
}

}  // namespace

void add_diff(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "diff",
      "Replay the same recordings against build A and build B and report where their behaviour "
      "differs; noise is what differs between two runs of A");
  static DiffArgs args;
  sub->add_option("--db", args.in.db, "Capture file")->capture_default_str();
  sub->add_option("RECORDING", args.in.recordings, "Recording ids or names (default: all)");
  sub->add_option("--a", args.a,
                  "URL of build A (the recording's main origin maps to it); required unless "
                  "--a-server is given (then http://127.0.0.1:{port} by default)");
  sub->add_option("--b", args.b, "URL of build B; required unless --b-server is given");
  sub->add_option("--a2", args.a2,
                  "A second instance of A, to learn noise from (default: A replayed twice)");
  add_server_options(sub, args.a_server, "a-", "build A");
  args.a_server.label = "A server";
  add_server_options(sub, args.b_server, "b-", "build B");
  args.b_server.label = "B server";
  sub->add_option("--map", args.in.maps, "ORIGIN=URL for another recorded origin (repeatable)");
  sub->add_option("--rules", args.in.rules_file, "Rules file (JSON), as for replay");
  sub->add_option("--timeout", args.timeout_ms,
                  "Milliseconds: the longest wait for one expected response, from the request to "
                  "the last byte of its body however slowly it comes, or for an expected event; "
                  "a response cut by it is a difference, and the run goes on")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{3'600'000}));
  add_deadline_option(sub, args.deadline);
  sub->add_flag("--insecure", args.insecure, "Do not verify the targets' TLS certificates");
  sub->add_option("--report-json", args.json, "Write a JSON report");
  sub->add_option("--report-junit", args.junit, "Write a JUnit XML report");
  sub->add_option("--report-html", args.html, "Write a self-contained HTML report");
  add_secret_options(sub, args.secrets);
  set_action(sub, [] { return run_diff(args); });
}

}  // namespace wa::cli
