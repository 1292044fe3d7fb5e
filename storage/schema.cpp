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
};

static_assert(std::size(kMigrations) == kSchemaVersion - 1, "one step per version");

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

}  // namespace wa::store
