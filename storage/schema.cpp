#include "storage/schema.h"

#include "storage/schema_sql.h"  // generated from schema.sql into the build tree

namespace wa::store {

std::string_view schema_sql() {
  return generated::kSchemaSql;
}

namespace {

// Each step's SQL brings a file of version `from` to exactly what schema.sql creates for
// `from + 1`; tests/storage/migrations_test.cpp compares the two, table by table.
constexpr Migration kMigrations[] = {
    {1, "noise rules, learned by replay --calibrate",
     R"sql(
CREATE TABLE noise_rules (
  id            INTEGER PRIMARY KEY,
  recording_id  INTEGER REFERENCES recordings(id),
  scope         TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('header', 'json_pointer', 'regex')),
  pattern       TEXT NOT NULL,
  origin        TEXT NOT NULL CHECK (origin IN ('calibrate', 'user')),
  created_us    INTEGER NOT NULL
);
CREATE INDEX noise_rules_by_recording ON noise_rules(recording_id);
)sql"},
    {2, "Server-Sent Events, one row per event of a text/event-stream response",
     R"sql(
CREATE TABLE sse_events (
  id            INTEGER PRIMARY KEY,
  recording_id  INTEGER NOT NULL REFERENCES recordings(id),
  exchange_id   INTEGER NOT NULL REFERENCES exchanges(id),
  seq           INTEGER NOT NULL,
  time_us       INTEGER NOT NULL,
  event_id      TEXT,
  event         TEXT NOT NULL,
  data          TEXT NOT NULL,
  retry         INTEGER
);
CREATE INDEX sse_events_by_recording ON sse_events(recording_id);
DROP VIEW recording_counts;
CREATE VIEW recording_counts AS
SELECT r.id AS recording_id, r.name, r.started_us, r.ended_us,
       (SELECT count(*) FROM connections WHERE recording_id = r.id) AS connections,
       (SELECT count(*) FROM exchanges WHERE recording_id = r.id) AS exchanges,
       (SELECT count(*) FROM ws_messages WHERE recording_id = r.id) AS ws_messages,
       (SELECT count(*) FROM socket_packets WHERE recording_id = r.id AND event IS NOT NULL)
         AS socket_events,
       (SELECT count(*) FROM sse_events WHERE recording_id = r.id) AS sse_events
FROM recordings AS r
ORDER BY r.id;
)sql"},
    {3, "noise rules keep their evidence: the values each calibration pass saw",
     R"sql(
ALTER TABLE noise_rules ADD COLUMN evidence TEXT NOT NULL DEFAULT '[]';
)sql"},
    {4, "WebSocket messages say why a peer would refuse them, or why they are not whole",
     R"sql(
ALTER TABLE ws_messages ADD COLUMN error TEXT;
)sql"},
};

static_assert(std::size(kMigrations) == kSchemaVersion - 1, "one step per version");

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

}  // namespace wa::store
