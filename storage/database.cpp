#include "storage/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "storage/schema.h"

namespace wa::store {

// ---- Statement ----------------------------------------------------------------------------

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
}

void Statement::bind(int index, std::optional<std::int64_t> value) {
  if (value) {
    sqlite3_bind_int64(stmt_, index, *value);
  } else {
    sqlite3_bind_null(stmt_, index);
  }
}

void Statement::bind_text(int index, std::string_view text) {
  // A non-null pointer even for "" so that an empty string is '' and not NULL.
  sqlite3_bind_text64(stmt_, index, text.empty() ? "" : text.data(), text.size(), SQLITE_STATIC,
                      SQLITE_UTF8);
}

void Statement::bind_text_or_null(int index, std::string_view text) {
  if (text.empty()) {
    sqlite3_bind_null(stmt_, index);
  } else {
    bind_text(index, text);
  }
}

void Statement::bind_blob(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_, index, bytes.empty() ? "" : bytes.data(), bytes.size(), SQLITE_STATIC);
}

void Statement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
}

int Statement::step() {
  return sqlite3_step(stmt_);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::text(int column) const {
  // sqlite3_column_blob returns the bytes of TEXT values unchanged too, so one accessor reads
  // both (text messages are stored as TEXT, binary ones as BLOB).
  const void* data = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

// ---- Database -----------------------------------------------------------------------------

Database::Database(Database&& other) noexcept : db_(other.db_), path_(std::move(other.path_)) {
  other.db_ = nullptr;
}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = other.db_;
    path_ = std::move(other.path_);
    other.db_ = nullptr;
  }
  return *this;
}

Database::~Database() {
  sqlite3_close_v2(db_);
}

Result<void> Database::exec(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);  // failure() reads sqlite3_errmsg, which holds the same text
  if (rc != SQLITE_OK) return failure("cannot run SQL");
  return {};
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return failure("cannot prepare a query");
  return Statement(stmt);
}

Result<std::int64_t> Database::query_int(const char* sql) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  int rc = stmt->step();
  if (rc == SQLITE_ROW) return stmt->int64(0);
  if (rc == SQLITE_DONE) return std::int64_t{0};
  return failure("cannot read");
}

Failure Database::failure(std::string_view doing) const {
  int code = db_ ? sqlite3_extended_errcode(db_) & 0xff : SQLITE_CANTOPEN;
  std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
    return fail(Errc::setup, path_ + ": corrupt capture file (" + message + ")");
  }
  return fail(Errc::setup, path_ + ": " + std::string(doing) + ": " + message);
}

// ---- Opening ------------------------------------------------------------------------------

namespace {

// SQLite file format §1.3: every database file starts with this 16-byte string, and its
// header is 100 bytes long.
constexpr char kMagic[] = "SQLite format 3";  // with its NUL: 16 bytes
constexpr size_t kHeaderSize = 100;

Failure refuse(const std::string& path, const std::string& why) {
  return fail(Errc::setup, path + ": " + why);
}

// Looks at the file before SQLite does, so that the common mistakes get plain words instead
// of SQLite's "file is not a database".
Result<void> check_file(const std::string& path, Access access, bool& is_new) {
  is_new = false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return refuse(path, std::strerror(errno));
    if (access == Access::read) return refuse(path, "no such capture file");
    is_new = true;
    return {};
  }
  if (S_ISDIR(st.st_mode)) return refuse(path, "is a directory, not a capture file");
  if (st.st_size == 0) {
    if (access == Access::read) return refuse(path, "empty file, not a capture file");
    is_new = true;
    return {};
  }
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return refuse(path, std::strerror(errno));
  char header[kHeaderSize] = {};
  size_t got = std::fread(header, 1, sizeof header, file);
  std::fclose(file);
  if (got < sizeof kMagic || std::memcmp(header, kMagic, sizeof kMagic) != 0) {
    return refuse(path, "not a capture file (not an SQLite database)");
  }
  if (got < kHeaderSize) return refuse(path, "corrupt capture file (cut short)");
  return {};
}

// Creates a missing file with mode 0600 before SQLite opens it: capture files hold live
// session secrets (DESIGN.md), and SQLite gives its -wal and -shm files the database's mode.
Result<void> create_private_file(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    if (auto made = create_private_folders(parent.string()); !made) return made.error();
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST)
    return refuse(path, std::string("cannot create: ") + std::strerror(errno));
  if (fd >= 0) {
    ::fchmod(fd, 0600);  // whatever the umask said
    ::close(fd);
  }
  return {};
}

Result<void> configure(Database& db, Access access) {
  sqlite3_busy_timeout(db.handle(), 5000);
  // Capture files travel (CI artefacts, colleagues): do not let a file's schema run anything
  // but plain SQL, and refuse writes that could corrupt it (SQLite "defensive" mode).
  sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.handle(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  if (access == Access::write) {
    // Page size: recorded bodies are large (tens of KiB is common, --max-body is 4 MiB), and
    // SQLite writes every page with its own system call: with 4 KiB pages a 64 KiB body cost
    // 17 writes, whose kernel time was most of the proxy's CPU per request. 32 KiB pages
    // measured best (bench/README.md): 64 KiB ones cost small rows more (every commit rewrites
    // whole pages), 16 KiB ones cost large bodies more. It only takes effect on a new file
    // (sqlite.org/pragma.html#pragma_page_size); an existing file keeps its own.
    if (auto r = db.exec("PRAGMA page_size=32768"); !r) return r;
    // The page cache must hold a whole transaction (writer.cpp ends one at 24 MB), or SQLite
    // spills pages to the file mid-transaction and writes them again. Memory is only taken as
    // transactions need it.
    if (auto r = db.exec("PRAGMA cache_size=-32768"); !r) return r;
    // A rollback journal rather than WAL: a recording only appends, so the journal holds just
    // the few pages a commit changes in place, and a body is written once, into the file. In
    // WAL mode every page was written to the WAL, read back and written again at checkpoint,
    // which cost the recorder a third of its CPU at 64 KiB per request. With synchronous=NORMAL
    // a committed transaction survives the recorder being killed, and the file stays sound
    // across a power loss (sqlite.org/pragma.html#pragma_synchronous). Readers open the file
    // read-write when they can, so that the first of them after a kill rolls back the
    // transaction that was cut short (sqlite.org/lockingv3.html, "hot journals").
    if (auto r = db.exec("PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=NORMAL;"); !r) return r;
  }
  return {};
}

Result<void> create_schema(Database& db) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return r;
  auto tables = db.query_int("SELECT count(*) FROM sqlite_schema");
  if (!tables) return tables.error();
  if (*tables == 0) {
    std::string sql(schema_sql());
    if (auto r = db.exec(sql.c_str()); !r) {
      (void)db.exec("ROLLBACK");
      return r;
    }
  }
  return db.exec("COMMIT");
}

Result<void> migrate(Database& db) {
  if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return r;
  // Read the version again inside the transaction: another process may have migrated it.
  auto version = db.query_int("PRAGMA user_version");
  if (!version) return version.error();
  for (const Migration& step : migrations()) {
    if (step.from < *version) continue;
    std::string sql(step.sql);
    if (auto r = db.exec(sql.c_str()); !r) {
      (void)db.exec("ROLLBACK");
      return fail(Errc::setup,
                  r.error().why + " (migrating from schema v" + std::to_string(step.from) + ")");
    }
  }
  std::string set = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  if (auto r = db.exec(set.c_str()); !r) {
    (void)db.exec("ROLLBACK");
    return r;
  }
  return db.exec("COMMIT");
}

// Reading never changes a capture file: example captures live in git, CI artefacts may be
// shared, and an older build must still be able to read what it wrote. So a reader migrates a
// private copy instead, a temporary database that SQLite deletes when it is closed (an empty
// file name, sqlite.org/inmemorydb.html "Temporary Databases"), filled with the backup API.
Result<Database> migrated_copy(Database& source) {
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2("", &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Database copy(handle, source.path());
  if (rc != SQLITE_OK) return copy.failure("cannot make a temporary copy to migrate");
  sqlite3_backup* backup = sqlite3_backup_init(handle, "main", source.handle(), "main");
  if (backup == nullptr) return copy.failure("cannot copy to migrate");
  rc = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return source.failure("cannot copy to migrate");
  if (auto r = configure(copy, Access::read); !r) return r.error();
  if (auto r = migrate(copy); !r) return r.error();
  return copy;
}

}  // namespace

Result<Database> open_capture(const std::string& path, Access access) {
  bool is_new = false;
  if (auto r = check_file(path, access, is_new); !r) return r.error();
  if (is_new) {
    if (auto r = create_private_file(path); !r) return r.error();
  }

  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  sqlite3* handle = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  if (rc != SQLITE_OK && access == Access::read) {
    // A capture file shipped read-only (a CI artefact) can still be read.
    sqlite3_close_v2(handle);
    handle = nullptr;
    flags = (flags & ~SQLITE_OPEN_READWRITE) | SQLITE_OPEN_READONLY;
    rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
  }
  Database db(handle, path);
  if (rc != SQLITE_OK) return db.failure("cannot open");
  if (auto r = configure(db, access); !r) return r.error();

  // Reading the schema touches page 1 and the schema b-tree: a truncated or mangled file fails
  // here (SQLite checks the header's page count against the file size) rather than later.
  auto tables = db.query_int("SELECT count(*) FROM sqlite_schema");
  if (!tables) return tables.error();
  auto app = db.query_int("PRAGMA application_id");
  if (!app) return app.error();
  auto version = db.query_int("PRAGMA user_version");
  if (!version) return version.error();

  if (*tables == 0 && *app == 0) {
    if (access == Access::read) return refuse(path, "empty database, not a capture file");
    if (auto r = create_schema(db); !r) return r.error();
    return db;
  }
  if (*app != kApplicationId) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", static_cast<unsigned>(*app));
    return refuse(path, *app == 0 ? std::string("not a Work Already capture file (an SQLite "
                                                "database of some other program)")
                                  : std::string("not a Work Already capture file "
                                                "(application_id ") +
                                        hex + ")");
  }
  if (*version > kSchemaVersion) {
    return refuse(path, "written by a newer Work Already (capture schema v" +
                            std::to_string(*version) + "; this build reads up to v" +
                            std::to_string(kSchemaVersion) + ")");
  }
  if (*version < 1) return refuse(path, "corrupt capture file (no schema version)");
  if (*version < kSchemaVersion) {
    if (access == Access::read) return migrated_copy(db);
    if (auto r = migrate(db); !r) return r.error();
  }
  return db;
}

std::string permission_warning(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) return {};
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
  return "the capture file " + path + " is accessible by group or others (mode " + mode +
         ") and holds session secrets; run chmod 600 " + path;
}

Result<void> create_private_folders(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      return refuse(part, std::string("cannot create folder: ") + std::strerror(errno));
    }
  }
  return {};
}

}  // namespace wa::store
