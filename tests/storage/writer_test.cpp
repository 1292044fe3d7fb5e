#include "storage/writer.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "storage/reader.h"
#include "tests/storage/sample.h"

using namespace wa::store;
using namespace wa::store::testing;
using Clock = std::chrono::steady_clock;

namespace {

// Pushes every event, writing back the id the writer gave it (as the proxy would keep it).
void push_all(CaptureWriter& w, std::vector<CaptureEvent>& events) {
  for (CaptureEvent& e : events) {
    auto id = w.push(e);
    REQUIRE(id.ok());
    std::visit(
        [&](auto& v) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, ConnectionClosed>) v.id = *id;
        },
        e);
  }
}

// What reading the recording back must give: the events, with the recording id filled in and
// each connection's end folded into its row.
RecordingData expected(const Recording& recording, const std::vector<CaptureEvent>& events) {
  RecordingData d;
  d.recording = recording;
  Id rec = recording.id;
  for (const CaptureEvent& e : events) {
    std::visit(
        [&](auto v) {
          using T = decltype(v);
          if constexpr (std::is_same_v<T, ConnectionClosed>) {
            for (Connection& c : d.connections) {
              if (c.id == v.connection_id) {
                c.closed_us = v.closed_us;
                c.error = v.error;
              }
            }
          } else {
            v.recording_id = rec;
            if constexpr (std::is_same_v<T, Connection>) d.connections.push_back(v);
            if constexpr (std::is_same_v<T, Exchange>) d.exchanges.push_back(v);
            if constexpr (std::is_same_v<T, WsMessage>) d.ws_messages.push_back(v);
            if constexpr (std::is_same_v<T, EioSession>) d.sessions.push_back(v);
            if constexpr (std::is_same_v<T, SocketPacket>) d.packets.push_back(v);
            if constexpr (std::is_same_v<T, CookieEvent>) d.cookies.push_back(v);
            if constexpr (std::is_same_v<T, SseEvent>) d.sse_events.push_back(v);
          }
        },
        e);
  }
  return d;
}

// Field-by-field comparison, so that a failure names what differs.
void check_same(const RecordingData& got, const RecordingData& want) {
  CHECK(got.recording == want.recording);
  REQUIRE(got.connections.size() == want.connections.size());
  for (size_t i = 0; i < got.connections.size(); ++i) {
    CHECK(got.connections[i] == want.connections[i]);
  }
  REQUIRE(got.exchanges.size() == want.exchanges.size());
  for (size_t i = 0; i < got.exchanges.size(); ++i) {
    CAPTURE(i);
    CHECK(got.exchanges[i].request_headers == want.exchanges[i].request_headers);
    CHECK(got.exchanges[i].response_headers == want.exchanges[i].response_headers);
    CHECK(got.exchanges[i].request_body == want.exchanges[i].request_body);
    CHECK(got.exchanges[i].response_body == want.exchanges[i].response_body);
    CHECK(got.exchanges[i] == want.exchanges[i]);
  }
  REQUIRE(got.ws_messages.size() == want.ws_messages.size());
  for (size_t i = 0; i < got.ws_messages.size(); ++i) {
    CHECK(got.ws_messages[i] == want.ws_messages[i]);
  }
  CHECK(got.sessions == want.sessions);
  REQUIRE(got.packets.size() == want.packets.size());
  for (size_t i = 0; i < got.packets.size(); ++i) {
    CAPTURE(i);
    CHECK(got.packets[i].attachments == want.packets[i].attachments);
    CHECK(got.packets[i] == want.packets[i]);
  }
  CHECK(got.cookies == want.cookies);
  CHECK(got.sse_events == want.sse_events);
  CHECK(got == want);
}

}  // namespace

TEST_CASE("write -> read gives back every field of every event") {
  ScratchDir dir;
  std::string path = dir.file("captures/round.sqlite");  // the folder does not exist yet
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE_MESSAGE(w.ok(), w.error().why);
  std::vector<CaptureEvent> events = sample_events(**w);
  push_all(**w, events);
  REQUIRE((*w)->close(kT0 + 90000).ok());
  Recording recording = (*w)->recording();
  CHECK(recording.id == 1);
  CHECK(recording.ended_us == kT0 + 90000);
  CHECK((*w)->stats().committed == events.size());
  CHECK((*w)->stats().rejected == 0);

  auto reader = CaptureReader::open(path);
  REQUIRE_MESSAGE(reader.ok(), reader.error().why);
  auto data = reader->load(recording.id);
  REQUIRE_MESSAGE(data.ok(), data.error().why);
  check_same(*data, expected(recording, events));

  // Lookups by id give the same rows.
  const RecordingData want = expected(recording, events);
  auto exchange = reader->exchange(want.exchanges[1].id);
  REQUIRE(exchange.ok());
  CHECK(*exchange == want.exchanges[1]);
  auto bin = reader->packet(want.packets[4].id);
  REQUIRE(bin.ok());
  CHECK(bin->attachments.size() == 1);
  CHECK(*bin == want.packets[4]);
  CHECK(reader->connection(want.connections[1].id)->closed_us == kT0 + 71000);
  CHECK(*reader->ws_message(want.ws_messages[0].id) == want.ws_messages[0]);
  CHECK(*reader->session(want.sessions[0].id) == want.sessions[0]);
  CHECK(*reader->cookie(want.cookies[0].id) == want.cookies[0]);
  auto missing = reader->exchange(999);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().why == path + ": no exchange with id 999");
}

TEST_CASE("server-sent events are written as they arrive, before their stream's exchange") {
  ScratchDir dir;
  std::string path = dir.file("sse.sqlite");
  auto w = CaptureWriter::open(path, sample_recording("sse"));
  REQUIRE_MESSAGE(w.ok(), w.error().why);
  std::vector<CaptureEvent> events = sample_events(**w);
  Connection c;
  c.id = (*w)->new_connection_id();
  c.client_addr = "127.0.0.1:53500";
  c.server_host = "app.test";
  c.server_port = 80;
  c.opened_us = kT0 + 80000;
  events.push_back(c);
  // The stream's id is taken when its request starts; its row comes after its events.
  Exchange stream;
  stream.id = (*w)->new_exchange_id();
  stream.connection_id = c.id;
  stream.method = "GET";
  stream.url = "http://app.test/events";
  stream.status = 200;
  stream.reason = "OK";
  stream.response_version = "HTTP/1.1";
  stream.response_headers = {{"Content-Type", "text/event-stream"}};
  stream.response_body = Payload::whole("id: 1\ndata: one\n\n");
  stream.started_us = kT0 + 80100;
  stream.first_byte_us = kT0 + 80200;
  stream.error_code = "incomplete";
  stream.error = "client closed the stream";
  auto sse = [&](int seq, Micros at, std::optional<std::string> id, std::string type,
                 std::string data, std::optional<std::int64_t> retry) {
    SseEvent e;
    e.exchange_id = stream.id;
    e.seq = seq;
    e.time_us = at;
    e.event_id = std::move(id);
    e.event = std::move(type);
    e.data = std::move(data);
    e.retry_ms = retry;
    return e;
  };
  events.push_back(sse(0, kT0 + 80300, "1", "message", "one", std::nullopt));
  events.push_back(sse(1, kT0 + 80400, std::nullopt, "update", "{\"n\":1}\nline 2", 3000));
  events.push_back(sse(2, kT0 + 80500, "", "message", "", std::nullopt));  // an id reset
  events.push_back(stream);
  push_all(**w, events);
  REQUIRE((*w)->close(kT0 + 90000).ok());
  CHECK((*w)->stats().rejected == 0);

  auto reader = CaptureReader::open(path);
  REQUIRE(reader.ok());
  const Recording recording = (*w)->recording();
  auto data = reader->load(recording.id);
  REQUIRE_MESSAGE(data.ok(), data.error().why);
  const RecordingData want = expected(recording, events);
  REQUIRE(data->sse_events.size() == 3);
  CHECK(data->sse_events == want.sse_events);
  CHECK(data->sse_events[0].event_id == "1");
  CHECK_FALSE(data->sse_events[1].event_id);
  CHECK(data->sse_events[2].event_id == "");
  check_same(*data, want);
  CHECK(*reader->sse_event(want.sse_events[1].id) == want.sse_events[1]);
  auto list = reader->recordings();
  REQUIRE(list.ok());
  CHECK(list->back().sse_events == 3);

  // A writer opened on the file later continues after the largest id.
  w->reset();
  auto again = CaptureWriter::open(path, sample_recording("next"));
  REQUIRE(again.ok());
  CHECK((*again)->new_sse_event_id() == want.sse_events.back().id + 1);
}

TEST_CASE("text is stored as TEXT when it is UTF-8 and byte for byte either way") {
  ScratchDir dir;
  std::string path = dir.file("t.sqlite");
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE(w.ok());
  Exchange e;
  e.connection_id = (*w)->new_connection_id();
  e.method = "GET";
  e.url = "http://a.test/";
  e.started_us = kT0;
  Id exchange = *(*w)->push(e);
  WsMessage good, bad;
  good.exchange_id = bad.exchange_id = exchange;
  good.payload = Payload::whole("42[\"x\",\"\xc3\xa9\"]");
  bad.payload = Payload::whole(std::string("4\xff\xfe\0x", 5));  // broken text frame, with NUL
  Id g = *(*w)->push(good);
  Id b = *(*w)->push(bad);
  REQUIRE((*w)->close(kT0 + 1).ok());

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT typeof(payload), json_valid(payload) FROM ws_messages "
                             "WHERE id = ?1",
                             -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_int64(stmt, 1, g);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "text");
  sqlite3_reset(stmt);
  sqlite3_bind_int64(stmt, 1, b);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "blob");
  sqlite3_finalize(stmt);
  sqlite3_close(db);

  auto reader = CaptureReader::open(path);
  REQUIRE(reader.ok());
  CHECK(reader->ws_message(g)->payload == good.payload);
  CHECK(reader->ws_message(b)->payload == bad.payload);
}

TEST_CASE("capture files and their journal are created 0600") {
  ScratchDir dir;
  std::string path = dir.file("secret.sqlite");
  ::umask(022);
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE(w.ok());
  REQUIRE((*w)->push(Connection{}).ok());
  REQUIRE((*w)->flush().ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // journal_mode=TRUNCATE keeps the (empty) journal between transactions.
  REQUIRE(::stat((path + "-journal").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  // Closed, the capture is one file again.
  REQUIRE((*w)->close(kT0).ok());
  CHECK_FALSE(std::filesystem::exists(path + "-journal"));
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("ids continue after the largest id in the file, across recordings") {
  ScratchDir dir;
  std::string path = dir.file("ids.sqlite");
  Id last_exchange = 0;
  for (int round = 1; round <= 2; ++round) {
    auto w = CaptureWriter::open(path, sample_recording("take " + std::to_string(round)));
    REQUIRE(w.ok());
    CHECK((*w)->recording().id == round);
    Id first = (*w)->new_exchange_id();
    CHECK(first == last_exchange + 1);
    Exchange e;
    e.id = first;
    e.method = "GET";
    e.url = "http://a.test/";
    REQUIRE(*(*w)->push(e) == first);
    e.id = 0;  // assigned at push time
    auto second = (*w)->push(e);
    REQUIRE(second.ok());
    CHECK(*second == first + 1);
    last_exchange = *second;
    REQUIRE((*w)->close(kT0 + round).ok());
  }
  auto reader = CaptureReader::open(path);
  REQUIRE(reader.ok());
  auto list = reader->recordings();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].exchanges == 2);
  CHECK((*list)[1].recording.name == "take 2");
}

TEST_CASE("a second writer on the same file is refused with one line") {
  ScratchDir dir;
  std::string path = dir.file("busy.sqlite");
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE(w.ok());
  auto second = CaptureWriter::open(path, sample_recording());
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == wa::Errc::setup);
  CHECK(second.error().why == path + ": another workalready process is recording into it");
  REQUIRE((*w)->close(kT0).ok());
  w->reset();
  CHECK(CaptureWriter::open(path, sample_recording()).ok());  // free again once closed
}

TEST_CASE("an event SQLite refuses is skipped alone and counted") {
  ScratchDir dir;
  auto w = CaptureWriter::open(dir.file("reject.sqlite"), sample_recording());
  REQUIRE(w.ok());
  SocketPacket both;  // the schema wants exactly one source
  both.ws_message_id = 1;
  both.exchange_id = 1;
  Exchange fine;
  fine.method = "GET";
  fine.url = "http://a.test/";
  REQUIRE((*w)->push(fine).ok());
  REQUIRE((*w)->push(both).ok());
  REQUIRE((*w)->push(fine).ok());
  REQUIRE((*w)->flush().ok());
  WriterStats stats = (*w)->stats();
  CHECK(stats.committed == 2);
  CHECK(stats.rejected == 1);
  CHECK(stats.last_error.find("CHECK constraint failed") != std::string::npos);
  REQUIRE((*w)->close(kT0).ok());
  CHECK_FALSE((*w)->push(fine).ok());  // closed
}

TEST_CASE("an event is committed within about 100 ms of its push") {
  ScratchDir dir;
  std::string path = dir.file("latency.sqlite");
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE(w.ok());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  // A commit holds the file for a moment: a reader waits for it (storage/README.md).
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM connections", -1, &stmt, nullptr) ==
          SQLITE_OK);
  for (int i = 1; i <= 5; ++i) {
    auto pushed = Clock::now();
    REQUIRE((*w)->push(Connection{}).ok());
    // Another connection, as `workalready ls` would be, polls until it sees the row.
    for (;;) {
      REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
      int seen = sqlite3_column_int(stmt, 0);
      sqlite3_reset(stmt);
      if (seen == i) break;
      REQUIRE(Clock::now() - pushed < std::chrono::seconds(2));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    auto waited = Clock::now() - pushed;
    CAPTURE(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
    // 50 ms commit interval plus scheduling on a loaded machine.
    CHECK(waited < std::chrono::milliseconds(150));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_CASE("a full queue pushes back instead of growing") {
  ScratchDir dir;
  std::string path = dir.file("backpressure.sqlite");
  WriterOptions options;
  options.max_queued_events = 4;
  auto w = CaptureWriter::open(path, sample_recording(), options);
  REQUIRE(w.ok());

  // Another process-like connection holds the write lock, so the writer thread cannot write.
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  for (int i = 0; i < 4; ++i) {
    CaptureEvent e = Connection{};
    auto r = (*w)->try_push(e);
    REQUIRE(r.ok());
    CHECK(r->has_value());
  }
  CaptureEvent fifth = Connection{};
  auto refused = (*w)->try_push(fifth);
  REQUIRE(refused.ok());
  CHECK_FALSE(refused->has_value());
  CHECK(std::get<Connection>(fifth).id == 0);  // left as it was

  // A blocking push waits for room; it completes once the lock is released.
  std::atomic<bool> done{false};
  std::thread producer([&] {
    auto r = (*w)->push(Connection{});
    CHECK(r.ok());
    done = true;
  });
  CHECK((*w)->stats().pushed == 4);
  REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  producer.join();
  CHECK(done);
  REQUIRE((*w)->flush().ok());
  CHECK((*w)->stats().committed == 5);
}

TEST_CASE("a big event still goes through a small byte budget") {
  ScratchDir dir;
  WriterOptions options;
  options.max_queued_bytes = 1024;
  auto w = CaptureWriter::open(dir.file("big.sqlite"), sample_recording(), options);
  REQUIRE(w.ok());
  WsMessage m;
  m.exchange_id = 1;
  m.opcode = 2;
  m.payload = Payload::whole(std::string(100000, 'x'));
  for (int i = 0; i < 3; ++i)
    REQUIRE((*w)->push(m).ok());
  REQUIRE((*w)->flush().ok());
  CHECK((*w)->stats().committed == 3);
}

// DESIGN.md, reliability: `kill -9` during recording; the file opens, PRAGMA integrity_check
// is ok, and everything committed more than a second before the kill is there. The child
// records continuously and reports its progress on a pipe; the parent kills it at a moment
// chosen by progress, never by a fixed sleep.
TEST_CASE("a recorder killed with SIGKILL leaves a sound file with everything older than 1 s") {
  ScratchDir dir;
  std::string path = dir.file("killed.sqlite");
  for (int round = 1; round <= 2; ++round) {
    CAPTURE(round);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      WriterOptions options;
      options.max_queued_events = 2000;  // keeps queueing delay well under a second
      auto w = CaptureWriter::open(path, sample_recording("killed"), options);
      if (!w) ::_exit(3);
      Connection c;
      c.id = (*w)->new_connection_id();
      c.opened_us = kT0;
      if (!(*w)->push(c)) ::_exit(4);
      for (std::int64_t i = 1;; ++i) {
        Exchange e;
        e.connection_id = c.id;
        e.seq = static_cast<int>(i);
        e.method = "GET";
        e.url = "http://app.test/item/" + std::to_string(i);
        e.request_headers = {{"Host", "app.test"}};
        e.status = 200;
        e.response_body = Payload::whole(std::string(256, 'b'));
        e.started_us = kT0 + i;
        if (!(*w)->push(e)) ::_exit(5);
        if (i % 50 == 0 && ::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(6);
      }
    }
    ::close(fds[1]);
    struct Report {
      std::int64_t pushed;
      Clock::time_point at;
    };
    std::vector<Report> reports;
    auto started = Clock::now();
    // Read progress until the child has been recording for 1.5 s.
    while (reports.empty() || Clock::now() - reports.front().at < std::chrono::milliseconds(1500)) {
      pollfd p{fds[0], POLLIN, 0};
      REQUIRE(::poll(&p, 1, 10000) == 1);
      std::int64_t n = 0;
      REQUIRE(::read(fds[0], &n, sizeof n) == sizeof n);
      reports.push_back({n, Clock::now()});
      REQUIRE(Clock::now() - started < std::chrono::seconds(30));
    }
    auto killed_at = Clock::now();
    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    ::close(fds[0]);

    // Everything the child had pushed by a report received more than a second before the
    // kill must be there.
    std::int64_t must_have = 0;
    for (const Report& r : reports) {
      if (killed_at - r.at > std::chrono::seconds(1)) must_have = r.pushed;
    }
    REQUIRE(must_have > 0);

    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "ok");
    sqlite3_finalize(stmt);
    sqlite3_close(db);

    auto reader = CaptureReader::open(path);
    REQUIRE_MESSAGE(reader.ok(), reader.error().why);
    auto recording = reader->find_recording("");
    REQUIRE(recording.ok());
    CHECK(recording->id == round);
    CHECK_FALSE(recording->ended_us.has_value());  // never closed
    auto data = reader->load(recording->id);
    REQUIRE(data.ok());
    MESSAGE("round " << round << ": " << data->exchanges.size() << " exchanges on file, "
                     << must_have << " pushed more than 1 s before the kill");
    REQUIRE(static_cast<std::int64_t>(data->exchanges.size()) >= must_have);
    for (std::int64_t i = 0; i < must_have; ++i) {
      if (data->exchanges[i].seq != i + 1) {
        FAIL("exchange " << i + 1 << " is missing");
      }
    }
  }
}
