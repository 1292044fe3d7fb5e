// The capture file's versioned contract: storage/schema.sql (embedded at build time) creates the
// current schema; older files are brought up to it by ordered migration steps, each from one
// version to the next (mitmproxy's io/compat.py chains convert_N_M the same way).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace wa::store {

// PRAGMA application_id of every capture file: 'WAcp' (Work Already capture).
inline constexpr std::int32_t kApplicationId = 0x57416370;

// PRAGMA user_version of files this build writes; it reads this and every older version.
inline constexpr int kSchemaVersion = 5;

// The text of storage/schema.sql: creates every table, index and view of kSchemaVersion and
// sets application_id and user_version.
std::string_view schema_sql();

// One step from version `from` to `from + 1`. `sql` runs inside the migration's transaction.
struct Migration {
  int from;
  std::string_view what;  // one line for logs and the README
  std::string_view sql;
};

// Every step, in order: migrations()[i].from == i + 1, the last one ends at kSchemaVersion.
std::span<const Migration> migrations();

}  // namespace wa::store
