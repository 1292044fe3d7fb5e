#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/replay_setup.h"
#include "cli/server_setup.h"
#include "net/loop.h"
#include "replay/calibration.h"
#include "replay/runner.h"
#include "storage/database.h"
#include "storage/noise_rules.h"

namespace wa::cli {
namespace {

struct ReplayArgs {
  ReplayInputs in;
  // --server: a fresh instance of the application for each run (calibration: one per pass).
  ServerSpec server;
  std::string pace = "fast", json, junit, html, deadline;
  bool calibrate = false, explain = false, quiet = false, insecure = false;
  int concurrency = 1, repeat = 1;
  uint64_t timeout_ms = 5000;
  SecretOptions secrets;
};

// How a calibration pass stopped by --deadline says so (not a setup error: exit 1).
constexpr std::string_view kDeadlinePassed = "the deadline passed";

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// "17 in pass 1, 18 in pass 2" (more values: "seen: a, b, c").
std::string evidence_text(const std::vector<std::string>& evidence) {
  if (evidence.size() == 2) return evidence[0] + " in pass 1, " + evidence[1] + " in pass 2";
  std::string out = "seen:";
  for (const std::string& v : evidence)
    out += " " + v;
  return out;
}

// One calibration pass: every recording once, against a fresh instance with --server (the
// recordings prepared for its port), else against the target. Its sessions and live outputs
// are by recording (one copy each).
Result<replay::RunResult> calibration_pass(const ReplayArgs& args, int pass,
                                           const std::vector<replay::Prepared>& given,
                                           replay::RunnerOptions options, std::string& target) {
  std::optional<ServerInstance> server;
  std::vector<replay::Prepared> fresh;
  const std::vector<replay::Prepared>* prepared = &given;
  target = args.in.target;
  if (args.server.given()) {
    auto started = ServerInstance::start(args.server, args.in.target);
    if (!started) return started.error();
    server.emplace(std::move(*started));
    ReplayInputs in = args.in;
    in.target = target = server->target();
    auto loaded = load_recordings(in, options);
    if (!loaded) return loaded.error();
    fresh = std::move(*loaded);
    prepared = &fresh;
  }
  options.concurrency = 1;
  options.repeat = 1;
  options.progress = progress_bar(pass == 1 ? "calibrating, pass 1" : "calibrating, pass 2");
  net::Loop loop;
  replay::RunResult run = replay::run(loop, *prepared, options);
  if (server) server->stop();
  wait_if_interrupted();  // a pass cut short by Ctrl-C reports nothing
  if (loop.close() != 0) std::fprintf(stderr, "workalready: %s\n", loop.open_handles().c_str());
  if (run.report.deadline_passed)
    return fail(Errc::setup, std::string(kDeadlinePassed) + " during calibration pass " +
                                 std::to_string(pass) + "; no noise rules stored");
  for (const auto& session : run.report.sessions) {
    if (session.errors.empty()) continue;
    if (server) print_server_output(stderr, server->last_lines(kServerOutputLines));
    return fail(Errc::setup,
                "calibration pass " + std::to_string(pass) + ": " + session.errors.front());
  }
  return run;
}

// The differences against the recording of recording `r`'s session in a calibration pass.
const std::vector<replay::Difference>& differences_of(const replay::RunResult& pass, size_t r) {
  static const std::vector<replay::Difference> none;
  for (size_t s = 0; s < pass.report.sessions.size(); ++s)
    if (pass.recording_of[s] == r) return pass.report.sessions[s].differences;
  return none;
}

// Calibration (replay/calibration.h): two passes, each against its own fresh instance with
// --server; what differs between them in value becomes narrow noise rules, stored per
// recording (replacing the previous calibration's) and printed with their evidence. Passes
// that differ in kind mean the server kept state: nothing is stored, and the error says where.
Result<void> calibrate(const ReplayArgs& args, const std::vector<replay::Prepared>& prepared,
                       const replay::RunnerOptions& options) {
  if (!args.server.given()) {
    std::printf(
        "calibrate: both passes run against one instance, so values that change with each new "
        "instance (asset versions, instance ids) cannot be learned; give --server CMD to start a "
        "fresh instance per pass\n");
  }
  std::string target1, target2;
  auto first = calibration_pass(args, 1, prepared, options, target1);
  if (!first) return first.error();
  auto second = calibration_pass(args, 2, prepared, options, target2);
  if (!second) return second.error();
  // A Location of pass 1 names pass 1's instance: mapped to pass 2's before comparing.
  auto map_url = [&](std::string_view url) {
    std::string out(url);
    if (target1 != target2 && out.starts_with(target1)) out = target2 + out.substr(target1.size());
    return out;
  };

  // What calibration prints (evidence, findings) hides the session's secrets too.
  replay::SecretBook book;
  if (!args.secrets.show) book = learn_secrets({&prepared}, {&first->report, &second->report});
  auto shown = [&](const std::string& text) { return book.redact(text); };

  std::vector<replay::Learned> learned;
  bool state = false;
  for (size_t r = 0; r < prepared.size(); ++r) {
    learned.push_back(replay::learn_between(prepared[r], first->live[r], second->live[r], map_url));
    state = state || !learned.back().state.empty();
    // Coarse clocks: two passes in the same second agree, yet both differ from the recording.
    replay::learn_clock_readings(differences_of(*first, r), differences_of(*second, r),
                                 learned.back());
  }
  if (state) {
    std::fprintf(stderr, "calibrate: the two passes differ in kind, not only in values:\n");
    for (size_t r = 0; r < prepared.size(); ++r) {
      for (const auto& finding : learned[r].state)
        std::fprintf(stderr, "  %s: %s: %s\n", prepared[r].name.c_str(),
                     shown(finding.where).c_str(), shown(finding.what).c_str());
    }
    return fail(
        Errc::setup,
        args.server.given()
            ? "calibration stored nothing: two fresh instances answered differently in kind "
              "(the application keeps state outside its process, or is unstable)"
            : "calibration stored nothing: the second pass met what the first one left "
              "(the server keeps state); give --server CMD to calibrate on fresh instances");
  }

  auto db = store::open_capture(args.in.db, store::Access::write);
  if (!db) return db.error();
  for (size_t r = 0; r < prepared.size(); ++r) {
    const std::vector<replay::NoiseRule>& rules = learned[r].rules;
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
      std::printf("  %s %s (scope %s): %s\n", store::to_string(rule.kind),
                  shown(rule.pattern).c_str(), shown(rule.scope).c_str(),
                  shown(evidence_text(rule.evidence)).c_str());
    for (const auto& finding : learned[r].unlearnable)
      std::printf("  not learned: %s: %s\n", shown(finding.where).c_str(),
                  shown(finding.what).c_str());
  }
  std::printf("calibrate: replaying once more with the rules to confirm them\n");
  return {};
}

int run_replay(ReplayArgs& args) {
  if (args.pace != "fast" && args.pace != "recorded")
    return usage_error("--pace " + args.pace + ": must be fast or recorded");
  if (auto checked = args.server.check(); !checked) return usage_error(checked.error().why);
  if (!args.server.given()) {
    if (args.in.target.empty()) return usage_error("--target is required");
    if (args.in.target.find("{port}") != std::string::npos)
      return usage_error("--target " + args.in.target + ": {port} needs --server");
  }
  uint64_t deadline_ms = 0;
  if (!args.deadline.empty()) {
    auto parsed = parse_deadline(args.deadline);
    if (!parsed) return usage_error(parsed.error().why);
    deadline_ms = *parsed;
  }
  unsigned report_mode = kReportMode;
  if (!args.secrets.mode.empty()) {
    auto parsed = parse_report_mode(args.secrets.mode);
    if (!parsed) return usage_error(parsed.error().why);
    report_mode = *parsed;
  }
  replay::RunnerOptions options;
  // From the start of the command: starting servers, calibration and the replay all count.
  options.deadline_us = deadline_from_now(deadline_ms);
  options.pace_recorded = args.pace == "recorded";
  options.timeout_ms = args.timeout_ms;
  options.http.insecure = args.insecure;
  options.concurrency = args.concurrency;
  options.repeat = args.repeat;

  // With --server, each run gets a fresh instance, and the recordings are prepared with its
  // target (its port is new).
  std::optional<ServerInstance> server;
  ReplayInputs in = args.in;
  auto start_server = [&]() -> Result<void> {
    if (!args.server.given()) return {};
    server.reset();
    auto started = ServerInstance::start(args.server, args.in.target);
    if (!started) return started.error();
    server.emplace(std::move(*started));
    in.target = server->target();
    return {};
  };
  if (auto started = start_server(); !started) return usage_error(started.error().why);
  auto prepared = load_recordings(in, options);
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
      for (const auto& rule : p.noise.rules()) {
        std::printf("  noise: %s %s (scope %s, from %s)", store::to_string(rule.kind),
                    rule.pattern.c_str(), rule.scope.c_str(), rule.origin.c_str());
        if (!rule.evidence.empty()) std::printf(": %s", evidence_text(rule.evidence).c_str());
        std::printf("\n");
      }
    }
    std::fflush(stdout);
  }
  if (args.calibrate) {
    server.reset();  // each pass starts its own
    if (auto r = calibrate(args, *prepared, options); !r) {
      if (r.error().why.starts_with(kDeadlinePassed)) {
        std::printf("replay: %s\n", r.error().why.c_str());
        return kMismatch;
      }
      return usage_error(r.error().why);
    }
    // Prepared again, with the rules just stored, for a fresh instance.
    if (auto started = start_server(); !started) return usage_error(started.error().why);
    prepared = load_recordings(in, options);
    if (!prepared) return usage_error(prepared.error().why);
  }
  if (!args.quiet) options.progress = progress_bar("replaying");
  options.keep_live = false;  // only calibration compares runs
  net::Loop loop;
  int64_t started = now_unix_ms();
  replay::RunResult result = replay::run(loop, *prepared, options);
  result.report.command = "replay";
  result.report.target = in.target;
  result.report.deadline_ms = deadline_ms;
  // The server is stopped before anything is printed; what it wrote while stopping counts too.
  if (server) server->stop();
  wait_if_interrupted();  // a run cut short by Ctrl-C reports nothing
  const int code = result.report.exit_code();
  if (server && code != kOk) result.report.server_output = server->last_lines(kServerOutputLines);
  result.report.db = args.in.db;
  result.report.started_unix_ms = started;
  if (!args.secrets.show) hide_secrets(result.report, {&*prepared});
  if (!args.quiet) {
    std::fputs(replay::format_console(result.report, stdout_is_tty()).c_str(), stdout);
  } else {
    // Quiet: the last line only (the last two when the deadline passed: it has its own).
    std::string text = replay::format_console(result.report, false);
    size_t last = text.rfind('\n', text.size() > 1 ? text.size() - 2 : 0);
    if (result.report.deadline_passed && last != std::string::npos && last > 0)
      last = text.rfind('\n', last - 1);
    std::fputs(text.substr(last == std::string::npos ? 0 : last + 1).c_str(), stdout);
  }
  print_server_output(stdout, result.report.server_output);
  std::fflush(stdout);
  if (auto r = write_reports(result.report, args.json, args.junit, args.html, report_mode); !r)
    return usage_error(r.error().why);
  if (loop.close() != 0)
    std::fprintf(stderr, "workalready: handles left open: %s\n", loop.open_handles().c_str());
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
                  "URL that the recording's main origin maps to (http://127.0.0.1:3000); "
                  "required unless --server is given (then http://127.0.0.1:{port} by default, "
                  "and {port} in it is the server's port)");
  sub->add_option("--map", args.in.maps,
                  "ORIGIN=URL for another recorded origin (repeatable); unmapped origins are "
                  "skipped");
  sub->add_option("--rules", args.in.rules_file,
                  "Rules file (JSON): extract/substitute and noise rules (see README)");
  add_server_options(sub, args.server);
  sub->add_flag("--calibrate", args.calibrate,
                "Replay twice first (with --server, each pass on a fresh instance) and store "
                "what differs between the passes in value as narrow noise rules, with their "
                "evidence, in the capture file; passes that differ in kind (a status, an event "
                "that came once) store nothing and exit 2; then replay once more with the rules");
  sub->add_option("--concurrency", args.concurrency, "Session copies at once")
      ->check(CLI::Range(1, 10000));
  sub->add_option("--repeat", args.repeat, "Copies of each recording")
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--pace", args.pace,
                  "fast: each action as soon as what it waits for came; recorded: keep the "
                  "recorded gaps")
      ->capture_default_str();
  sub->add_option("--timeout", args.timeout_ms,
                  "Milliseconds: the longest wait for one expected response, from the request to "
                  "the last byte of its body however slowly it comes, or for an expected event; "
                  "a response cut by it is a difference, and the run goes on")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{3'600'000}));
  add_deadline_option(sub, args.deadline);
  sub->add_flag("--insecure", args.insecure, "Do not verify the target's TLS certificate");
  sub->add_flag("--explain", args.explain,
                "Print what was correlated (value, where the server issued it, where it is "
                "used), the origin mapping and the noise rules");
  sub->add_flag("--quiet", args.quiet, "Only the last line of the console report");
  sub->add_option("--report-json", args.json, "Write a JSON report");
  sub->add_option("--report-junit", args.junit, "Write a JUnit XML report");
  sub->add_option("--report-html", args.html, "Write a self-contained HTML report");
  add_secret_options(sub, args.secrets);
  set_action(sub, [] { return run_replay(args); });
}

}  // namespace wa::cli
