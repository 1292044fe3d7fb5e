// `workalready replay` run to completion by a test, with its JSON report read back: what the
// browser and corpus tests share about a replay.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"
#include "tests/integration/recording.h"

namespace wa::test {

struct ReplayRun {
  int exit_code = -1;  // -1: still running at the timeout, killed
  std::string out, err;
  nlohmann::json report;  // null when none was written
  std::string console() const { return out + err; }
};

// `workalready replay --db DB ARGS... --report-json DIR/report-N.json`.
inline ReplayRun run_replay(const TempDir& dir, const std::string& db,
                            const std::vector<std::string>& args, Millis timeout) {
  static int count = 0;
  std::string report = dir.file("report-" + std::to_string(++count) + ".json");
  std::vector<std::string> argv = {WA_EXE, "replay", "--db", db};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--report-json", report});
  CommandRun run = run_command(argv, {}, timeout);
  ReplayRun r{run.exit_code, run.out, run.err, nlohmann::json()};
  std::string text = read_text(report);
  if (!text.empty()) r.report = nlohmann::json::parse(text, nullptr, false);
  if (r.report.is_discarded()) r.report = nlohmann::json();
  return r;
}

// Everything a failed check should print about a replay.
inline std::string describe(const ReplayRun& run) {
  std::string exit = run.exit_code == -1 ? "still running at the timeout: killed"
                                         : "exit " + std::to_string(run.exit_code);
  return exit + "\n--- stdout\n" + run.out + "--- stderr\n" + run.err + "--- report\n" +
         (run.report.is_null() ? "(none)" : run.report.dump(1));
}

// The differences of the report's sessions that are not noise.
inline std::vector<nlohmann::json> real_differences(const ReplayRun& run) {
  std::vector<nlohmann::json> real;
  if (!run.report.is_object() || !run.report["sessions"].is_array()) return real;
  for (const auto& s : run.report["sessions"])
    for (const auto& d : s["differences"])
      if (!d.value("noise", false)) real.push_back(d);
  return real;
}

}  // namespace wa::test
