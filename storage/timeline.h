// Human-readable views of a capture file, for `workalready ls` and `workalready show`
// (DESIGN.md, command line): the list of recordings with counts, and one recording as a
// timeline of connections, HTTP lines with status and size, Socket.IO sessions and events with
// abbreviated arguments, other WebSocket messages, and the cookies servers set.
//
// Pure formatting: the caller reads the data (reader.h) and prints the text. Everything that
// came off the network is escaped so that a capture cannot drive the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "storage/model.h"
#include "storage/reader.h"

namespace wa::store {

struct TimelineOptions {
  std::size_t max_text = 100;  // characters of a URL, arguments or message shown before "…"
};

// A table: id, name, started (UTC), duration, connections, exchanges, WebSocket messages,
// Socket.IO events. One line "no recordings" when empty.
std::string format_recording_list(const std::vector<RecordingSummary>& recordings);

// The timeline of one recording, one event per line, times relative to its start.
std::string format_timeline(const RecordingData& data, const TimelineOptions& options = {});

// Helpers, exposed for tests.
std::string format_utc(Micros us);            // "2026-11-20 22:35:29"
std::string format_size(std::int64_t bytes);  // "512 B", "1.2 KiB", "3.0 MiB"
std::string format_duration(Micros us);       // "850 us", "15 ms", "12.3 s", "2 min 05 s"
// Control characters and invalid UTF-8 as \xNN, cut to `max` characters with "…".
std::string printable(std::string_view text, std::size_t max);

}  // namespace wa::store
