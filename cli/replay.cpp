#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/replay_setup.h"
#include "net/loop.h"
#include "replay/runner.h"
#include "storage/database.h"
#include "storage/noise_rules.h"

namespace wa::cli {
namespace {

struct ReplayArgs {
  ReplayInputs in;
  std::string pace = "fast", json, junit, html;
  bool calibrate = false, explain = false, quiet = false, insecure = false;
  int concurrency = 1, repeat = 1;
  uint64_t timeout_ms = 5000;
};

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Two runs against the same target; whatever differs between them is noise. The rules are
// stored per recording (a new calibration replaces the previous one) and printed.
Result<void> calibrate(const ReplayArgs& args, std::vector<replay::Prepared>& prepared,
                       replay::RunnerOptions options) {
  options.concurrency = 1;
  options.repeat = 2;
  options.progress = progress_bar("calibrating");
  net::Loop loop;
  replay::RunResult runs = replay::run(loop, prepared, options);
  for (const auto& session : runs.report.sessions)
    if (!session.errors.empty()) return fail(Errc::setup, session.errors.front());
  auto db = store::open_capture(args.in.db, store::Access::write);
  if (!db) return db.error();
  for (size_t r = 0; r < prepared.size(); ++r) {
    // Runs are queued copy by copy: copy 0 of every recording, then copy 1.
    const replay::LiveOutputs& first = runs.live[r];
    const replay::LiveOutputs& second = runs.live[prepared.size() + r];
    const std::vector<replay::Difference> differences =
        replay::compare_runs(prepared[r], first, second);
    std::vector<replay::NoiseRule> rules = replay::calibration_rules(differences);
    std::vector<store::NoiseRule> rows;
    for (const auto& rule : rules)
      rows.push_back(replay::to_store(rule, store::RuleOrigin::calibrate, now_unix_ms() * 1000));
    if (auto stored =
            store::replace_noise_rules(*db, prepared[r].id, store::RuleOrigin::calibrate, rows);
        !stored)
      return stored.error();
    std::printf("calibrate: %s: %zu noise rule%s stored\n", prepared[r].name.c_str(), rules.size(),
                rules.size() == 1 ? "" : "s");
    for (const auto& rule : rules)
      std::printf("  %s %s (scope %s)\n", store::to_string(rule.kind), rule.pattern.c_str(),
                  rule.scope.c_str());
  }
  if (loop.close() != 0) std::fprintf(stderr, "workalready: %s\n", loop.open_handles().c_str());
  return {};
}

int run_replay(ReplayArgs& args) {
  if (args.pace != "fast" && args.pace != "recorded")
    return usage_error("--pace " + args.pace + ": must be fast or recorded");
  replay::RunnerOptions options;
  options.pace_recorded = args.pace == "recorded";
  options.timeout_ms = args.timeout_ms;
  options.http.insecure = args.insecure;
  options.concurrency = args.concurrency;
  options.repeat = args.repeat;

  auto prepared = load_recordings(args.in, options);
  if (!prepared) return usage_error(prepared.error().why);
  if (args.explain) {
    for (const replay::Prepared& p : *prepared) {
      std::printf("recording %s\n", p.name.c_str());
      for (const auto& [from, to] : p.origins.entries())
        std::printf("  origin %s -> %s\n", from.c_str(), to.c_str());
      auto n = [](size_t count, const char* what) {
        return std::to_string(count) + " " + what + (count == 1 ? "" : "s");
      };
      std::printf("  %s, %s, %s, %s\n", n(p.script->clients.size(), "client").c_str(),
                  n(p.script->actions.size(), "action").c_str(),
                  n(p.script->expectations.size(), "expectation").c_str(),
                  n(p.script->sessions.size(), "socket session").c_str());
      for (const std::string& w : p.script->warnings)
        std::printf("  warning: %s\n", w.c_str());
      std::string values = replay::explain(*p.correlations);
      std::fputs(values.c_str(), stdout);
      for (const auto& rule : p.noise.rules())
        std::printf("  noise: %s %s (scope %s)\n", store::to_string(rule.kind),
                    rule.pattern.c_str(), rule.scope.c_str());
    }
    std::fflush(stdout);
  }
  if (args.calibrate) {
    if (auto r = calibrate(args, *prepared, options); !r) return usage_error(r.error().why);
    // Prepared again, with the rules just stored.
    prepared = load_recordings(args.in, options);
    if (!prepared) return usage_error(prepared.error().why);
  }
  if (!args.quiet) options.progress = progress_bar("replaying");
  net::Loop loop;
  int64_t started = now_unix_ms();
  replay::RunResult result = replay::run(loop, *prepared, options);
  result.report.command = "replay";
  result.report.target = args.in.target;
  result.report.db = args.in.db;
  result.report.started_unix_ms = started;
  if (!args.quiet) {
    std::fputs(replay::format_console(result.report, stdout_is_tty()).c_str(), stdout);
  } else {
    // Quiet: the last line only.
    std::string text = replay::format_console(result.report, false);
    size_t last = text.rfind('\n', text.size() > 1 ? text.size() - 2 : 0);
    std::fputs(text.substr(last == std::string::npos ? 0 : last + 1).c_str(), stdout);
  }
  std::fflush(stdout);
  if (auto r = write_reports(result.report, args.json, args.junit, args.html); !r)
    return usage_error(r.error().why);
  if (loop.close() != 0)
    std::fprintf(stderr, "workalready: handles left open: %s\n", loop.open_handles().c_str());
  int code = result.report.exit_code();
  if (code == kUsage) {
    for (const auto& s : result.report.sessions)
      if (!s.errors.empty()) {
        std::fprintf(stderr, "workalready: %s\n", s.errors.front().c_str());
        break;
      }
  }
  return code;
}

}  // namespace

void add_replay(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "replay",
      "Replay recordings against a server: every server-issued identifier (cookies, Engine.IO "
      "sid, tokens, form fields) rewritten, responses and Socket.IO events compared");
  static ReplayArgs args;
  sub->add_option("--db", args.in.db, "Capture file")->capture_default_str();
  sub->add_option("RECORDING", args.in.recordings, "Recording ids or names (default: all)");
  sub->add_option("--target", args.in.target,
                  "URL that the recording's main origin maps to (http://127.0.0.1:3000)")
      ->required();
  sub->add_option("--map", args.in.maps,
                  "ORIGIN=URL for another recorded origin (repeatable); unmapped origins are "
                  "skipped");
  sub->add_option("--rules", args.in.rules_file,
                  "Rules file (JSON): extract/substitute and noise rules (see README)");
  sub->add_flag("--calibrate", args.calibrate,
                "Replay twice first and store what differs between the runs as noise rules in "
                "the capture file");
  sub->add_option("--concurrency", args.concurrency, "Session copies at once")
      ->check(CLI::Range(1, 10000));
  sub->add_option("--repeat", args.repeat, "Copies of each recording")
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--pace", args.pace,
                  "fast: each action as soon as what it waits for came; recorded: keep the "
                  "recorded gaps")
      ->capture_default_str();
  sub->add_option("--timeout", args.timeout_ms,
                  "Milliseconds to wait for an expected response or event")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{3'600'000}));
  sub->add_flag("--insecure", args.insecure, "Do not verify the target's TLS certificate");
  sub->add_flag("--explain", args.explain,
                "Print what was correlated (value, where the server issued it, where it is "
                "used), the origin mapping and the noise rules");
  sub->add_flag("--quiet", args.quiet, "Only the last line of the console report");
  sub->add_option("--report-json", args.json, "Write a JSON report");
  sub->add_option("--report-junit", args.junit, "Write a JUnit XML report");
  sub->add_option("--report-html", args.html, "Write a self-contained HTML report");
  set_action(sub, [] { return run_replay(args); });
}

}  // namespace wa::cli
