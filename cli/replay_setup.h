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
#include "replay/secret_book.h"

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

// The permission bits report files get unless --report-mode says otherwise: they may hold
// what the application returned, so they are the user's alone.
inline constexpr unsigned kReportMode = 0600;

// --report-mode MODE: octal permission bits, 0 to 0777 ("0644", "644"). Fails with one line
// naming the option.
Result<unsigned> parse_report_mode(const std::string& text);

// Writes `text` to `path`, the file created (or truncated) with exactly `mode` as its
// permission bits whatever the umask; one line on failure.
Result<void> write_file(const std::string& path, const std::string& text,
                        unsigned mode = kReportMode);

// Writes the reports asked for ("" skips one), each with `mode`.
Result<void> write_reports(const replay::RunReport& report, const std::string& json,
                           const std::string& junit, const std::string& html,
                           unsigned mode = kReportMode);

// The session secrets of a run (replay/secret_book.h) replaced by placeholders in every text of
// `report`: learnt from each prepared recording (its correlated values, then its recorded
// traffic) and then from what each copy saw live. Returns the book, for other texts printed.
replay::SecretBook hide_secrets(replay::RunReport& report,
                                const std::vector<const std::vector<replay::Prepared>*>& prepared);

// The book hide_secrets() uses, learnt from the recordings and the sessions of `reports`.
replay::SecretBook learn_secrets(const std::vector<const std::vector<replay::Prepared>*>& prepared,
                                 const std::vector<const replay::RunReport*>& reports);

// --show-secrets and --report-mode, shared by replay and diff.
struct SecretOptions {
  bool show = false;
  std::string mode;  // "" → kReportMode
};
void add_secret_options(CLI::App* sub, SecretOptions& options);

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
