#include "storage/schema.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>

#include "storage/database.h"
#include "storage/noise_rules.h"
#include "storage/reader.h"
#include "tests/storage/sample.h"

using namespace wa::store;
using namespace wa::store::testing;

namespace {

const std::string kFixtures = WA_SOURCE_DIR "/tests/storage/fixtures";

// SQL without comments, with runs of whitespace as one space and none around ( ) and ,.
std::string normalized(std::string_view sql) {
  std::string out;
  bool space = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n')
        ++i;
      space = true;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = true;
      continue;
    }
    bool tight = c == '(' || c == ')' || c == ',';
    if (space && !out.empty() && !tight && out.back() != '(' && out.back() != ',') out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// name -> CREATE statement without comments and with whitespace collapsed, for every table,
// index and view: two files with equal maps have the same schema, CHECKs and defaults included.
std::map<std::string, std::string> schema_of(const std::string& path) {
  std::map<std::string, std::string> out;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT type || ' ' || name, sql FROM sqlite_schema WHERE sql IS "
                             "NOT NULL",
                             -1, &stmt, nullptr) == SQLITE_OK);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))] =
        normalized(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

std::int64_t pragma(const std::string& path, const char* name) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string sql = std::string("PRAGMA ") + name;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  std::int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

std::string copy_fixture(const ScratchDir& dir, const std::string& name) {
  std::string to = dir.file(name);
  std::filesystem::copy_file(kFixtures + "/" + name, to);
  std::filesystem::permissions(
      to, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return to;
}

}  // namespace

TEST_CASE("schema.sql sets the application id and the version the code expects") {
  ScratchDir dir;
  std::string path = dir.file("fresh.sqlite");
  REQUIRE(open_capture(path, Access::write).ok());
  CHECK(pragma(path, "application_id") == kApplicationId);
  CHECK(pragma(path, "user_version") == kSchemaVersion);
  CHECK(schema_sql().find("PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";") !=
        std::string_view::npos);
  auto schema = schema_of(path);
  for (const char* table :
       {"recordings", "connections", "exchanges", "ws_messages", "eio_sessions", "socket_packets",
        "socket_attachments", "cookies", "noise_rules", "sse_events"}) {
    CHECK_MESSAGE(schema.count(std::string("table ") + table), table);
  }
  for (const char* view : {"socketio_events", "exchange_cookies", "recording_counts"}) {
    CHECK_MESSAGE(schema.count(std::string("view ") + view), view);
  }
}

TEST_CASE("migration steps are ordered and end at the current version") {
  auto steps = migrations();
  REQUIRE(steps.size() == static_cast<size_t>(kSchemaVersion - 1));
  for (size_t i = 0; i < steps.size(); ++i) {
    CHECK(steps[i].from == static_cast<int>(i) + 1);
    CHECK_FALSE(steps[i].what.empty());
  }
}

TEST_CASE("the v1 fixture migrates to exactly the current schema and keeps its rows") {
  ScratchDir dir;
  std::string old = copy_fixture(dir, "v1.sqlite");
  REQUIRE(pragma(old, "user_version") == 1);
  // A writer (the recorder adding a recording) migrates the file in place.
  auto db = open_capture(old, Access::write);
  REQUIRE_MESSAGE(db.ok(), db.error().why);
  *db = Database();
  CHECK(pragma(old, "user_version") == kSchemaVersion);

  std::string fresh = dir.file("fresh.sqlite");
  REQUIRE(open_capture(fresh, Access::write).ok());
  CHECK(schema_of(old) == schema_of(fresh));

  auto reader = CaptureReader::open(old);
  REQUIRE_MESSAGE(reader.ok(), reader.error().why);
  auto list = reader->recordings();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].recording.name == "login-chat");
  CHECK((*list)[0].exchanges == 3);
  CHECK((*list)[0].ws_messages == 7);
  CHECK((*list)[0].socket_events == 3);
  CHECK_FALSE((*list)[1].recording.ended_us);

  auto data = reader->load(1);
  REQUIRE_MESSAGE(data.ok(), data.error().why);
  REQUIRE(data->exchanges.size() == 3);
  CHECK(data->exchanges[0].request_headers[2].name == "Xlatin1");  // base64 pair, decoded
  CHECK(data->exchanges[0].request_headers[2].value == std::string("caf\xe9", 4));
  CHECK(data->exchanges[1].response_body.bytes.substr(0, 7) == "0{\"sid\"");
  CHECK(data->packets.back().attachments == std::vector<std::string>{"\x01\x02\x03\xff"});
  CHECK(data->cookies.size() == 2);
  auto big = reader->exchange(4);
  REQUIRE(big.ok());
  CHECK(big->response_body.truncated());
  CHECK(big->response_body.full_length == 1048576);

  // What v2 added works on the migrated file.
  NoiseRule rule;
  rule.kind = NoiseKind::header;
  rule.pattern = "Date";
  REQUIRE(replace_noise_rules(reader->database(), 1, RuleOrigin::calibrate, {rule}).ok());
  CHECK(load_noise_rules(reader->database(), 1)->size() == 1);

  // And a new recording goes in after the old ones.
  auto w = CaptureWriter::open(old, sample_recording("after migration"));
  REQUIRE(w.ok());
  CHECK((*w)->recording().id == 3);
  CHECK((*w)->new_exchange_id() == 6);
}

TEST_CASE("the v2 fixture migrates to exactly the current schema and keeps its rows") {
  ScratchDir dir;
  std::string old = copy_fixture(dir, "v2.sqlite");
  REQUIRE(pragma(old, "user_version") == 2);
  auto db = open_capture(old, Access::write);
  REQUIRE_MESSAGE(db.ok(), db.error().why);
  *db = Database();
  CHECK(pragma(old, "user_version") == kSchemaVersion);

  std::string fresh = dir.file("fresh.sqlite");
  REQUIRE(open_capture(fresh, Access::write).ok());
  CHECK(schema_of(old) == schema_of(fresh));

  auto reader = CaptureReader::open(old);
  REQUIRE_MESSAGE(reader.ok(), reader.error().why);
  auto list = reader->recordings();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].exchanges == 4);
  CHECK((*list)[0].socket_events == 3);
  CHECK((*list)[0].sse_events == 0);  // v2 kept the stream's body only
  CHECK(load_noise_rules(reader->database(), 1)->size() == 1);
  auto data = reader->load(1);
  REQUIRE_MESSAGE(data.ok(), data.error().why);
  CHECK(data->sse_events.empty());
  auto stream = reader->exchange(6);
  REQUIRE(stream.ok());
  CHECK(stream->response_body.bytes == "id: 1\ndata: one\n\n");

  // What v3 added works on the migrated file: events of a new recording go in and count.
  {
    auto w = CaptureWriter::open(old, sample_recording("after migration"));
    REQUIRE(w.ok());
    CHECK((*w)->recording().id == 3);
    SseEvent e;
    e.exchange_id = (*w)->new_exchange_id();
    CHECK(e.exchange_id == 7);
    e.data = "two";
    REQUIRE((*w)->push(e).ok());
    REQUIRE((*w)->close(kT0).ok());
  }
  auto after = CaptureReader::open(old);
  REQUIRE(after.ok());
  CHECK(after->recordings()->back().sse_events == 1);
  CHECK(after->load(3)->sse_events.at(0).data == "two");
}

TEST_CASE("the v3 fixture migrates to exactly the current schema; its noise rules get evidence") {
  ScratchDir dir;
  std::string old = copy_fixture(dir, "v3.sqlite");
  REQUIRE(pragma(old, "user_version") == 3);
  {
    auto db = open_capture(old, Access::write);
    REQUIRE_MESSAGE(db.ok(), db.error().why);
    CHECK(pragma(old, "user_version") == kSchemaVersion);

    std::string fresh = dir.file("fresh.sqlite");
    REQUIRE(open_capture(fresh, Access::write).ok());
    CHECK(schema_of(old) == schema_of(fresh));

    auto rules = load_noise_rules(*db, 1);
    REQUIRE(rules.ok());
    REQUIRE(rules->size() == 2);
    CHECK((*rules)[1].pattern == "/0/at");
    CHECK((*rules)[1].evidence.empty());  // v3 kept none

    // What v4 added works on the migrated file: evidence is written and read back.
    NoiseRule learned = (*rules)[1];
    learned.evidence = {"12:00:01", "12:00:02"};
    REQUIRE(replace_noise_rules(*db, 1, RuleOrigin::calibrate, {learned}).ok());
    auto again = load_noise_rules(*db, 1);
    REQUIRE(again.ok());
    REQUIRE(again->size() == 1);
    CHECK((*again)[0].evidence == std::vector<std::string>{"12:00:01", "12:00:02"});
  }
}

TEST_CASE("reading an old file migrates a private copy and leaves the file as it was") {
  ScratchDir dir;
  std::string old = copy_fixture(dir, "v1.sqlite");
  std::string before = schema_of(old).at("table exchanges");
  {
    auto reader = CaptureReader::open(old);
    REQUIRE_MESSAGE(reader.ok(), reader.error().why);
    CHECK(reader->path() == old);
    CHECK(reader->find_recording("login-chat")->id == 1);
    CHECK(reader->load(1)->ws_messages.size() == 7);
    CHECK(load_noise_rules(reader->database(), 1)->empty());  // the copy has v2's table
  }
  CHECK(pragma(old, "user_version") == 1);
  CHECK(schema_of(old).count("table noise_rules") == 0);
  CHECK(schema_of(old).at("table exchanges") == before);
}

TEST_CASE("a capture file made by the sqlite3 shell from schema.sql is accepted") {
  ScratchDir dir;
  std::string path = dir.file("shell.sqlite");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  std::string sql(schema_sql());
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto reader = CaptureReader::open(path);
  REQUIRE_MESSAGE(reader.ok(), reader.error().why);
  CHECK(reader->recordings()->empty());
  auto latest = reader->find_recording("");
  REQUIRE_FALSE(latest.ok());
  CHECK(latest.error().why == path + ": holds no recordings");
}

TEST_CASE("the v4 fixture migrates to exactly the current schema; its messages have no error") {
  ScratchDir dir;
  std::string old = copy_fixture(dir, "v4.sqlite");
  REQUIRE(pragma(old, "user_version") == 4);
  {
    auto db = open_capture(old, Access::write);
    REQUIRE_MESSAGE(db.ok(), db.error().why);
    CHECK(pragma(old, "user_version") == kSchemaVersion);
    std::string fresh = dir.file("fresh.sqlite");
    REQUIRE(open_capture(fresh, Access::write).ok());
    CHECK(schema_of(old) == schema_of(fresh));
  }
  auto reader = CaptureReader::open(old);
  REQUIRE(reader.ok());
  auto data = reader->load(1);
  REQUIRE_MESSAGE(data.ok(), data.error().why);
  REQUIRE(data->ws_messages.size() == 1);
  CHECK(data->ws_messages[0].payload.bytes == "hello");
  CHECK(data->ws_messages[0].error.empty());
  CHECK(reader->counts(1)->ws_marked == 0);

  // What v5 added works on the migrated file: a marked message goes in, reads back, counts.
  {
    auto w = CaptureWriter::open(old, sample_recording("after migration"));
    REQUIRE(w.ok());
    WsMessage m;
    m.exchange_id = 1;
    m.opcode = 3;
    m.payload = Payload::whole("odd");
    m.error = "reserved opcode 3";
    REQUIRE((*w)->push(m).ok());
    REQUIRE((*w)->close(kT0).ok());
  }
  auto after = CaptureReader::open(old);
  REQUIRE(after.ok());
  auto second = after->recordings()->back().recording.id;
  CHECK(after->load(second)->ws_messages.at(0).error == "reserved opcode 3");
  CHECK(after->counts(second)->ws_marked == 1);
  CHECK(after->counts(second)->ws_messages == 1);
}
