// Reading capture files: the list of recordings with counts, a whole recording in capture
// order (what the replayer turns into a script), and lookups by id.
//
// Every failure is one line naming the file (Errc::setup), for the CLI to print and exit 2.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"
#include "storage/database.h"
#include "storage/model.h"

namespace wa::store {

struct RecordingSummary {
  Recording recording;
  std::int64_t connections = 0;
  std::int64_t exchanges = 0;
  std::int64_t ws_messages = 0;
  std::int64_t socket_events = 0;  // Socket.IO events (packets with an event name)
  std::int64_t sse_events = 0;     // Server-Sent Events
  // Socket packets recorded as not decoded (storage/capture_assembler.h, undecodable_reason).
  std::int64_t undecodable_packets = 0;
  bool operator==(const RecordingSummary&) const = default;
};

// What the file holds of one recording, counted in the file (as `record` reports at its end).
struct RecordedCounts {
  std::int64_t exchanges = 0;
  std::int64_t ws_messages = 0;
  std::int64_t socket_events = 0;
  std::int64_t sse_events = 0;
  std::int64_t cookies_set = 0;
  std::int64_t ws_marked = 0;  // WebSocket messages recorded with an error
};

// Everything of one recording. Each vector is in capture order (ascending id: the order in
// which the proxy took the ids, i.e. in which things started); packets carry their
// attachments.
struct RecordingData {
  Recording recording;
  std::vector<Connection> connections;
  std::vector<Exchange> exchanges;
  std::vector<WsMessage> ws_messages;
  std::vector<EioSession> sessions;
  std::vector<SocketPacket> packets;
  std::vector<CookieEvent> cookies;
  std::vector<SseEvent> sse_events;  // of every stream, in arrival order
  bool operator==(const RecordingData&) const = default;
};

class CaptureReader {
 public:
  // Opens an existing capture file (see open_capture: older schemas are migrated).
  static Result<CaptureReader> open(const std::string& path);

  const std::string& path() const { return db_.path(); }

  // Every recording, oldest first.
  Result<std::vector<RecordingSummary>> recordings();
  Result<RecordedCounts> counts(Id recording_id);
  // By id (all digits) or by name (the latest of that name); "" means the latest recording.
  Result<Recording> find_recording(std::string_view id_or_name);
  Result<RecordingData> load(Id recording_id);

  Result<Recording> recording(Id id);
  Result<Connection> connection(Id id);
  Result<Exchange> exchange(Id id);
  Result<WsMessage> ws_message(Id id);
  Result<EioSession> session(Id id);
  Result<SocketPacket> packet(Id id);
  Result<CookieEvent> cookie(Id id);
  Result<SseEvent> sse_event(Id id);

  Database& database() { return db_; }

 private:
  explicit CaptureReader(Database db) : db_(std::move(db)) {}
  Failure not_found(const char* what, Id id) const;

  Database db_;
};

}  // namespace wa::store
