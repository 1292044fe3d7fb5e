// Noise rules kept in the capture file (schema v2, table noise_rules): `replay --calibrate`
// replays twice, stores what differed between the two runs here, and later runs load them, so
// that CI needs no hand-written rules file (DESIGN.md, replayer: matching).
#pragma once

#include <optional>
#include <vector>

#include "protocol/result.h"
#include "storage/database.h"
#include "storage/model.h"

namespace wa::store {

// The rules that apply to one recording: its own and the file-wide ones, in id order.
Result<std::vector<NoiseRule>> load_noise_rules(Database& db, Id recording_id);

// Replaces, in one transaction, every rule of `origin` for `recording_id` (file-wide ones when
// unset) with `rules`; their recording_id and origin fields are taken from the arguments and
// their ids are assigned by SQLite. A second calibration thus supersedes the first.
Result<void> replace_noise_rules(Database& db, std::optional<Id> recording_id, RuleOrigin origin,
                                 const std::vector<NoiseRule>& rules);

}  // namespace wa::store
