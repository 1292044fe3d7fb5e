// A thin RAII layer over SQLite for the capture file, and the one place that decides whether a
// file is a capture file this build can use (opening, checking, creating, migrating).
//
// Every failure is a wa::Failure with Errc::setup and a one-line reason that starts with the
// file's path, ready for the CLI to print (DESIGN.md: corrupt, foreign or newer files exit 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace wa::store {

// A prepared statement. Owned; finalized on destruction. Bind indexes are 1-based, column
// indexes 0-based, as in SQLite. Text and blob binds are SQLITE_STATIC: the caller keeps the
// bytes alive until the statement is stepped and reset.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  void bind(int index, std::int64_t value);
  void bind(int index, std::optional<std::int64_t> value);  // unset: NULL
  void bind_text(int index, std::string_view text);
  void bind_text_or_null(int index, std::string_view text);  // empty: NULL
  void bind_blob(int index, std::string_view bytes);
  void bind_null(int index);

  // One step: SQLITE_ROW, SQLITE_DONE or an error code (see Database::failure).
  int step();
  void reset();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  std::string text(int column) const;  // blob or text bytes; NULL reads as ""

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// An open capture file. Owned; closed on destruction.
class Database {
 public:
  Database() = default;
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  Result<void> exec(const char* sql);
  Result<Statement> prepare(std::string_view sql);
  // A query returning one integer (PRAGMA user_version, count(*)).
  Result<std::int64_t> query_int(const char* sql);

  // "<path>: <doing>: <SQLite's message>", naming corruption plainly when SQLite saw it.
  Failure failure(std::string_view doing) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

enum class Access {
  read,   // the file must exist and be a capture file; it is never changed: an older schema is
          // migrated in a private temporary copy
  write,  // created (0600, new parent folders 0700) when missing; rollback journal,
          // synchronous=NORMAL
};

// Opens `path` as a capture file. Refuses, with one line naming the file: a missing file (for
// reading), a file that is not SQLite or is cut short, SQLite files of other applications, and
// capture files of a newer schema. Older schemas are migrated in ordered steps (schema.h): in
// place for writing, in a temporary copy for reading.
Result<Database> open_capture(const std::string& path, Access access);

// Capture files hold live session secrets (cookies, tokens): a line of warning, naming the mode
// and the chmod that fixes it, when an existing `path` is accessible by group or others; empty
// when it is not, or does not exist.
std::string permission_warning(const std::string& path);

// mkdir -p whose new folders are 0700 (those that exist are left as they are).
Result<void> create_private_folders(const std::string& dir);

}  // namespace wa::store
