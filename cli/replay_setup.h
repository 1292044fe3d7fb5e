// What `replay` and `diff` share: reading the capture file, the rules file and the recordings
// into prepared scripts, and writing the reports.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
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

// --deadline DURATION: a whole number with a unit (ms, s, m, h) or without one (milliseconds,
// as --timeout), more than 0 and at most a week. Fails with one line naming the option.
Result<uint64_t> parse_deadline(const std::string& text);

// The monotonic time (RunnerOptions::deadline_us) `ms` from now; 0 for 0 (no deadline).
int64_t deadline_from_now(uint64_t ms);

// The --deadline option, shared by replay and diff (a string: parse_deadline reads it).
void add_deadline_option(CLI::App* sub, std::string& text);

}  // namespace wa::cli
