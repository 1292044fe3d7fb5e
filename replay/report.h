// What a replay (or a diff between two builds) found, and its forms for people and machines:
// the console summary, JSON (--report-json), JUnit XML (--report-junit) and a self-contained
// HTML page (--report-html).
//
// A RunReport holds one SessionResult per replayed copy of a recording (--repeat makes several)
// and the latency percentiles of the whole run. The runner (replay/runner.h) fills it; these
// functions only format it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "replay/matcher.h"
#include "storage/model.h"

namespace wa::replay {

// One replayed thing on the timeline: an HTTP exchange, a Socket.IO event (or ack, connect…)
// expected from the server, or a socket session's open and end.
struct Outcome {
  enum class Kind : uint8_t { exchange, event, socket };
  Kind kind = Kind::exchange;
  int client = 0;            // index into SessionResult::clients
  std::string where;         // "POST /login", "event chat #2 on /", "socket 1 (eio4, upgrade)"
  std::string expected;      // short: "303", "[\"welcome\",{\"username\":\"alice\"}]" (cut)
  std::string actual;        // short, as `expected`; "" when nothing came
  int64_t recorded_us = -1;  // from the start of the recording
  int64_t live_us = -1;      // from the start of this copy's run; -1: never happened
  int64_t latency_us = -1;   // request → response, or the client action before → arrival
  // It happened as recorded: no failure (a Difference not noise) has its index as
  // Difference::outcome, and it was not given up.
  bool ok = true;
};

struct SessionResult {
  std::string recording;  // the recording's name, or "#<id>" when it has none
  store::Id recording_id = 0;
  int copy = 0;                      // 0 .. repeat-1
  std::vector<std::string> clients;  // labels: "client 1 (alice)"
  int64_t duration_us = 0;
  std::vector<Outcome> timeline;  // in live order (things that never happened last)
  // Every difference found, noise included (Difference::noise marks it); its `outcome` is the
  // index of its row in `timeline` (-1 for an extra event, which has none).
  std::vector<Difference> differences;
  // Setup errors: the target could not be reached, a TLS handshake failed, the recording
  // cannot be replayed at all. Any of them makes the run exit 2.
  std::vector<std::string> errors;
  std::vector<std::string> skipped;   // "GET https://fonts.example.com/a.css (unmapped origin)"
  std::vector<std::string> warnings;  // what could not be replayed faithfully
  size_t exchanges = 0;               // HTTP requests replayed
  size_t events_expected = 0;         // server Socket.IO packets expected
  size_t events_matched = 0;          // of those, arrived equal (after normalisation)
  size_t broadcasts_counted = 0;      // extra broadcasts counted, not failed (load)
  // The run's deadline (--deadline) passed while this copy ran: it was stopped where it was,
  // its connections closed. It fails: what it did not get to was not checked.
  bool cut_short = false;
  // The live secrets this copy saw (label, value): its live correlated values and its clients'
  // live cookies. No report prints them; they tell the reports what to hide
  // (replay/secret_book.h).
  std::vector<std::pair<std::string, std::string>> secrets;

  size_t failures() const { return failure_count(differences); }
  bool passed() const { return errors.empty() && failures() == 0 && !cut_short; }
};

struct LatencyStats {
  std::string name;  // "GET /api/me", "event chat"
  size_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

// Percentiles (nearest rank) of each named series of microsecond samples, sorted by name.
std::vector<LatencyStats> latency_stats(const std::map<std::string, std::vector<int64_t>>& samples);

struct RunReport {
  std::string command = "replay";  // or "diff"
  std::string target;              // replay: the --target URL; diff: "A=<url> B=<url>"
  std::string db;                  // the capture file
  int64_t started_unix_ms = 0;
  int64_t duration_us = 0;
  int concurrency = 1;
  int repeat = 1;
  std::vector<SessionResult> sessions;
  std::vector<LatencyStats> latencies;  // per endpoint and event
  // The noise rules in force, per recording (its rules file's, then the capture file's), each
  // with its origin and, for calibrated ones, its evidence.
  struct Rules {
    std::string recording;  // as SessionResult::recording
    store::Id recording_id = 0;
    std::vector<NoiseRule> noise;
  };
  std::vector<Rules> rules;
  // The values correlated automatically or by rule, per recording: each once, with every place
  // that issued it and the places it was sent back (--explain says the same).
  struct CorrelatedValue {
    std::string value;                // an excerpt
    std::string rule;                 // the extract rule's name; "" when found automatically
    std::vector<std::string> issued;  // "the text after … in GET /board", each place once
    std::vector<std::string> used;    // "header x-csrf-token of POST /api/token", …
    size_t use_count = 0;             // more than used.size() when the list was cut
  };
  struct Correlated {
    std::string recording;  // as SessionResult::recording
    store::Id recording_id = 0;
    std::vector<CorrelatedValue> values;
  };
  std::vector<Correlated> correlated;
  // --server: the last lines the server wrote, when the run failed (exit 1 or 2).
  std::vector<std::string> server_output;
  // --deadline: the whole run's time limit (0: none), whether it passed, and the copies it
  // stopped (SessionResult::cut_short) or left unstarted (not in `sessions`).
  uint64_t deadline_ms = 0;
  bool deadline_passed = false;
  size_t copies_not_run = 0;

  // 2 when any session has a setup error, else 1 when any has a failure or the deadline
  // passed, else 0.
  int exit_code() const;
};

// The console report: one line per session copy (passed / failed with counts), the first
// `max_differences` failures as a readable diff (format_differences), skipped and warning
// counts, the latency table when the run had more than one copy, and a last line:
//   "replay: 3 sessions, 2 passed, 1 failed (5 differences) in 1.2 s"
// and, when the deadline passed, a last one saying what it cut:
//   "replay: deadline of 10000 ms passed: 2 sessions cut short, 5 not run"
// With `colour`, ANSI colours mark passed (green), failed (red) and the -/+ lines.
std::string format_console(const RunReport& report, bool colour, size_t max_differences = 20);

// The whole report as JSON (an object: command, target, db, started, duration_ms, concurrency,
// repeat, passed, exit_code, sessions[…] with every field above, latencies[…]).
std::string to_json(const RunReport& report);

// JUnit XML: one <testsuite name="workalready <command>">; one <testcase> per recording (its
// copies together, classname "workalready.<command>"); a failed one has one <failure> whose
// text lists every differing exchange or event of every copy; a setup error is an <error>;
// skipped exchanges go in <system-out>.
std::string to_junit(const RunReport& report);

// A self-contained HTML page (inline CSS, no scripts from elsewhere): a summary, and per
// session copy its timeline (recorded and live times, client, what, expected and actual) and
// side-by-side diffs of its differences; noise shown apart, greyed.
std::string to_html(const RunReport& report);

// Differences grouped for `diff`: by scope (endpoint or event), with a count and the first
// example of each (path, expected, actual), failures only, largest groups first.
struct ChangeGroup {
  std::string scope;
  size_t count = 0;
  Difference example;
};
std::vector<ChangeGroup> group_changes(const std::vector<Difference>& differences);

}  // namespace wa::replay
