// What `replay` and `diff` share: reading the capture file, the rules file and the recordings
// into prepared scripts, and writing the reports.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/result.h"
#include "replay/report.h"
#include "replay/runner.h"

namespace wa::cli {

struct ReplayInputs {
  std::string db = "captures/workalready.sqlite";
  std::vector<std::string> recordings;  // ids or names; empty: all
  std::string target;                   // the live URL of the main origin
  std::vector<std::string> maps;        // ORIGIN=URL
  std::string rules_file;               // "" for none
  bool use_stored_noise = true;         // the capture file's noise rules
};

// Loads and prepares every chosen recording. Errors are one line (exit 2).
Result<std::vector<replay::Prepared>> load_recordings(const ReplayInputs& in,
                                                      replay::RunnerOptions& options);

// Writes `text` to `path`; one line on failure.
Result<void> write_file(const std::string& path, const std::string& text);

// Writes the reports asked for ("" skips one).
Result<void> write_reports(const replay::RunReport& report, const std::string& json,
                           const std::string& junit, const std::string& html);

// A progress bar on stderr when it is a terminal ("" otherwise).
std::function<void(size_t, size_t)> progress_bar(const char* what);

bool stdout_is_tty();

}  // namespace wa::cli
