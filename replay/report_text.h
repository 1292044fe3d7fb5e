// What the report formats share (report.cpp: console; report_json.cpp: JSON and JUnit;
// report_html.cpp: HTML): text made safe for its medium, numbers and times, the verdict of a
// session, and the names sessions are given. Internal to replay/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replay/report.h"

namespace wa::replay::report_text {

// ---- Text

// `s` as XML/HTML character data, or as an attribute value: markup characters escaped,
// controls and invalid UTF-8 replaced by U+FFFD.
std::string markup(std::string_view s, bool attribute = false);
// `s` for a terminal: controls and invalid bytes shown as escapes.
std::string printable(std::string_view s);
// Terminal columns, roughly: one per code point.
size_t columns(std::string_view s);
// `s` padded with spaces to `width` columns.
std::string pad(std::string s, size_t width);
// "1 session", "2 sessions"; `many` when the plural is not `one` + "s".
std::string plural(size_t n, std::string_view one, std::string_view many = {});
std::string fixed(double value, int decimals);
// Microseconds as seconds: "1.2".
std::string seconds(int64_t us, int decimals = 1);
// "2024-05-01T12:00:00Z" (UTC); "" for an unset time.
std::string iso_time(int64_t unix_ms, bool zone = true);

// ---- Verdicts and names

enum class Verdict { passed, failed, error };
Verdict verdict(const SessionResult& s);
const char* verdict_name(Verdict v);  // "passed", "failed", "error"

struct Tally {
  size_t passed = 0, failed = 0, errors = 0, differences = 0;
};
Tally tally(const RunReport& report);

// "replay: 3 sessions, 2 passed, 1 failed (5 differences), 1 error in 1.2 s"
std::string summary_line(const RunReport& report);
// "replay: deadline of 10000 ms passed: 2 sessions cut short, 5 not run" (deadline_passed).
std::string deadline_line(const RunReport& report);

using RecordingKey = std::pair<store::Id, std::string>;
RecordingKey key_of(const SessionResult& s);
// The recordings in the order of their first copy, each with the indices of its copies.
std::vector<std::vector<size_t>> by_recording(const RunReport& report);
// "chat-alice", or "chat-alice (copy 2)" when the run replayed it more than once.
std::vector<std::string> session_names(const RunReport& report);
// "12 exchanges, 9/9 events, 3 broadcasts counted"
std::string counts(const SessionResult& s);
std::string client_label(const SessionResult& s, int client);
// By timeline row: how many failures (differences not noise) are about it
// (Difference::outcome).
std::vector<size_t> failures_by_row(const SessionResult& s);
// What a difference is about, as format_differences names it.
std::string subject(const Difference& d);

}  // namespace wa::replay::report_text
