// Calibration (DESIGN.md, replayer: matching): what differs between two passes of the same
// recording becomes noise rules, so that later runs in CI need no hand-written rules file.
//
// A rule is always narrow: a JSON leaf (a pointer to a string or number that differs in value,
// never an object, an array, the root, or the field that names a message's kind), a header
// value, or a regex of the differing token's shape in a text line. Each rule keeps its evidence:
// the value each pass saw.
//
// Passes that differ in kind show that the server kept state between them (or is unstable):
// a status, an event that came in one pass and not in the other, a different number of
// messages, a member present in one and absent in the other, a value of another type, a
// content type, a line of text that differs in more than a value, or a value that one pass read
// back from what the client wrote in the other. Calibration then stores nothing: a rule learned
// from state would hide the very regression it should catch.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "replay/matcher.h"
#include "replay/runner.h"
#include "replay/script.h"

namespace wa::replay {

// One difference between the passes that calibration cannot turn into a rule.
struct CalibrationFinding {
  std::string where;  // "POST /signup", "event chat #2 on /"
  std::string what;   // "status 200 in pass 1, 409 in pass 2"
};

struct Learned {
  std::vector<NoiseRule> rules;  // narrow, with evidence, origin "calibration"
  // Differences in kind: when any, no rule may be stored.
  std::vector<CalibrationFinding> state;
  // Differences in value that no narrow rule can cover (a binary body, a whole scalar
  // message): reported, not learned; the replay will show them.
  std::vector<CalibrationFinding> unlearnable;
};

// The rules for one set of differences between pass 1 (Difference::expected) and pass 2
// (Difference::actual). `client_sent` (client_texts()) are texts the recording's clients sent:
// a differing value that holds one of them in one pass only was read back from what the client
// wrote, and is state.
Learned learn_noise(const std::vector<Difference>& differences,
                    const std::vector<std::string>& client_sent = {});

// The differences between two passes of `recording`, learned round by round (a text body shows
// its first differing line only, so each round's rules uncover the next line) until nothing
// new is found or state is.
// `map_url` maps a URL of pass 1 (a Location) to pass 2's instance, when they differ.
Learned learn_between(const Prepared& recording, const LiveOutputs& first,
                      const LiveOutputs& second,
                      const std::function<std::string(std::string_view)>& map_url = {});

// A value that reads as a time on the server's clock: epoch seconds or milliseconds (as a
// number or a string of digits), an ISO 8601 date-time, or an HTTP date. Two passes close in
// time may see the same second, so that pass-to-pass comparison never learns it; the recording,
// made earlier, holds an earlier one.
bool is_clock_reading(std::string_view value);

// Rules for the clock readings that differ from the recording in both passes
// (`first`/`second`: each pass's differences against the recording, in the same order of
// places), where the passes agree or differ: a JSON leaf or header whose recorded and live
// values are both clock readings, the live ones not earlier than the recorded one. Added to
// `into` (evidence: the recorded value, then each pass's) unless a rule there covers the place.
void learn_clock_readings(const std::vector<Difference>& first,
                          const std::vector<Difference>& second, Learned& into);

// Texts of at least 4 characters, not all digits, that the recording's clients sent: request
// bodies (form values, JSON strings, or the whole text), query values, and the string arguments
// of client socket events and WebSocket messages.
std::vector<std::string> client_texts(const Script& script);

// learn_noise(differences).rules: the noise that separates two runs of A in `diff`.
std::vector<NoiseRule> calibration_rules(const std::vector<Difference>& differences);

}  // namespace wa::replay
