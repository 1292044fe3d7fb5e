#include "storage/database.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "storage/reader.h"
#include "storage/schema.h"
#include "tests/storage/sample.h"

using namespace wa::store;
using namespace wa::store::testing;

namespace {

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A finished capture file with one recording, checkpointed into the main file (no WAL left).
std::string make_capture(const ScratchDir& dir, const std::string& name) {
  std::string path = dir.file(name);
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE(w.ok());
  auto events = sample_events(**w);
  for (auto& e : events)
    REQUIRE((*w)->push(e).ok());
  REQUIRE((*w)->close(kT0 + 90000).ok());
  w->reset();
  REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));
  return path;
}

void exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// The one line the CLI prints, for a file that is refused.
std::string refusal(const std::string& path) {
  auto r = CaptureReader::open(path);
  if (r.ok()) {
    // Some damage only shows when the rows are read.
    auto list = r->recordings();
    if (list.ok()) {
      auto data = r->load(1);
      if (data.ok()) return "(accepted)";
      return data.error().why;
    }
    return list.error().why;
  }
  CHECK(r.error().code == wa::Errc::setup);
  return r.error().why;
}

}  // namespace

TEST_CASE("a missing file, a folder and an empty file are refused for reading") {
  ScratchDir dir;
  CHECK(refusal(dir.file("nope.sqlite")) == dir.file("nope.sqlite") + ": no such capture file");
  CHECK(refusal(dir.path()) == dir.path() + ": is a directory, not a capture file");
  write_file(dir.file("empty.sqlite"), "");
  CHECK(refusal(dir.file("empty.sqlite")) ==
        dir.file("empty.sqlite") + ": empty file, not a capture file");
  CHECK_FALSE(std::filesystem::exists(dir.file("nope.sqlite")));  // reading creates nothing
}

TEST_CASE("a file that is not SQLite is refused, for reading and for writing") {
  ScratchDir dir;
  std::string path = dir.file("notes.sqlite");
  write_file(path, "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n");
  std::string want = path + ": not a capture file (not an SQLite database)";
  CHECK(refusal(path) == want);
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().why == want);
  CHECK(read_file(path).substr(0, 3) == "GET");  // untouched
}

TEST_CASE("a truncated capture file is refused as corrupt") {
  ScratchDir dir;
  std::string path = make_capture(dir, "cut.sqlite");
  std::string bytes = read_file(path);
  REQUIRE(bytes.size() > 8192);

  write_file(path, bytes.substr(0, 60));  // inside the 100-byte header
  CHECK(refusal(path) == path + ": corrupt capture file (cut short)");

  write_file(path, bytes.substr(0, bytes.size() / 2));
  std::string why = refusal(path);
  CHECK(why.rfind(path + ": corrupt capture file (", 0) == 0);
  CHECK(why.find('\n') == std::string::npos);
}

TEST_CASE("a capture file with garbage in its pages is reported as corrupt") {
  ScratchDir dir;
  std::string path = make_capture(dir, "mangled.sqlite");
  std::string bytes = read_file(path);
  // Overwrite everything after page 1 (the header and the schema root stay intact).
  for (size_t i = 4096; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(0xa5 ^ (i * 31));
  write_file(path, bytes);
  std::string why = refusal(path);
  CHECK(why.rfind(path + ": corrupt capture file (", 0) == 0);
}

TEST_CASE("SQLite files of other programs are refused") {
  ScratchDir dir;
  std::string other = dir.file("other.sqlite");
  exec(other, "CREATE TABLE t (x)");
  CHECK(refusal(other) ==
        other + ": not a Work Already capture file (an SQLite database of some other program)");
  auto w = CaptureWriter::open(other, sample_recording());
  REQUIRE_FALSE(w.ok());

  std::string foreign = dir.file("foreign.sqlite");
  exec(foreign, "PRAGMA application_id = 1234; CREATE TABLE t (x)");
  CHECK(refusal(foreign) == foreign +
                                ": not a Work Already capture file (application_id "
                                "0x000004d2)");

  std::string blank = dir.file("blank.sqlite");
  exec(blank, "PRAGMA user_version = 0; VACUUM");
  CHECK(refusal(blank) == blank + ": empty database, not a capture file");
  CHECK(CaptureWriter::open(blank, sample_recording()).ok());  // but a writer may fill it
}

TEST_CASE("a capture file of a newer schema is refused, untouched") {
  ScratchDir dir;
  std::string path = make_capture(dir, "newer.sqlite");
  exec(path, "PRAGMA user_version = " + std::to_string(kSchemaVersion + 1));
  std::string want = path + ": written by a newer Work Already (capture schema v" +
                     std::to_string(kSchemaVersion + 1) + "; this build reads up to v" +
                     std::to_string(kSchemaVersion) + ")";
  CHECK(refusal(path) == want);
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().why == want);
}

TEST_CASE("a capture file with no schema version is refused") {
  ScratchDir dir;
  std::string path = make_capture(dir, "noversion.sqlite");
  exec(path, "PRAGMA user_version = 0");
  CHECK(refusal(path) == path + ": corrupt capture file (no schema version)");
}

TEST_CASE("the schema's views work with trusted_schema off, as files are opened") {
  // Capture files travel, so they are opened with SQLITE_DBCONFIG_TRUSTED_SCHEMA off; the views
  // may then only use innocuous functions. Every view is queried here to keep it that way.
  ScratchDir dir;
  std::string path = make_capture(dir, "views.sqlite");
  auto reader = CaptureReader::open(path);
  REQUIRE(reader.ok());
  for (const char* view : {"socketio_events", "exchange_cookies", "recording_counts"}) {
    CAPTURE(view);
    auto n = reader->database().query_int((std::string("SELECT count(*) FROM ") + view).c_str());
    REQUIRE_MESSAGE(n.ok(), n.error().why);
    CHECK(*n > 0);
  }
}

TEST_CASE("Database reports SQLite errors with the path") {
  ScratchDir dir;
  std::string path = dir.file("x.sqlite");
  auto db = open_capture(path, Access::write);
  REQUIRE(db.ok());
  auto bad = db->prepare("SELECT nope FROM recordings");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().why == path + ": cannot prepare a query: no such column: nope");
  auto n = db->query_int("SELECT count(*) FROM recordings");
  REQUIRE(n.ok());
  CHECK(*n == 0);
}
