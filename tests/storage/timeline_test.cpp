#include "storage/timeline.h"

#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "storage/schema.h"
#include "tests/storage/sample.h"

using namespace wa::store;
using namespace wa::store::testing;

namespace {

std::string record_sample(const ScratchDir& dir, const std::string& name = "t.sqlite") {
  std::string path = dir.file(name);
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE(w.ok());
  auto events = sample_events(**w);
  for (auto& e : events)
    REQUIRE((*w)->push(e).ok());
  REQUIRE((*w)->close(kT0 + 90000).ok());
  return path;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Run {
  int status;
  std::string out, err;
};

// Runs the built binary (the ls/show wiring in cli/ is thin; this checks it end to end).
Run run(const ScratchDir& dir, const std::string& args) {
  std::string exe = WA_BINARY_DIR "/bin/workalready";
  std::string out = dir.file("stdout"), err = dir.file("stderr");
  int status = std::system((exe + " " + args + " >" + out + " 2>" + err).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

bool have_binary() {
  if (std::filesystem::exists(WA_BINARY_DIR "/bin/workalready")) return true;
  MESSAGE("workalready is not built in " WA_BINARY_DIR "; skipping the CLI checks");
  return false;
}

}  // namespace

TEST_CASE("the timeline of a recording reads like what happened") {
  ScratchDir dir;
  auto reader = CaptureReader::open(record_sample(dir));
  REQUIRE(reader.ok());
  auto data = reader->load(1);
  REQUIRE(data.ok());
  CHECK(format_timeline(*data) ==
        "recording 1 \"login-chat\"  2026-11-20 22:26:43 UTC  90 ms  reverse proxy on "
        "127.0.0.1:8080 -> http://127.0.0.1:3000\n"
        "   +0.001s  connection 1 127.0.0.1:53422 -> app.test:443 TLS sni app.test alpn "
        "http/1.1\n"
        "   +0.002s  POST https://app.test/login  303  0 B  7 ms\n"
        "            set-cookie connect.sid=s%3APpYF.sig; Path=/; HttpOnly\n"
        "   +0.010s  GET https://app.test/  200  20.0 KiB (cut)  5 ms\n"
        "   +0.020s  GET https://app.test/socket.io/?EIO=4&transport=polling&t=jpn9g8bk  200  "
        "118 B  1 ms\n"
        "   +0.021s  engine.io v4 session FaQlkxn7_bPvpM-GAAAA opened\n"
        "   +0.030s  GET wss://app.test/socket.io/?EIO=4&transport=websocket&sid=FaQlkxn7_bPvpM-"
        "GAAAA  101 upgrade  1 ms\n"
        "   +0.032s  C> connect /  [websocket]\n"
        "   +0.033s  S> event welcome [{\"username\":\"alice\"}]  [websocket]\n"
        "   +0.040s  C> event chat #0 [{\"text\":\"h\xc3\xa9llo\"}]  [websocket]\n"
        "   +0.042s  S> event srvbin [{\"_placeholder\":true,\"num\":0}] +1 binary  "
        "[websocket]\n"
        "   +0.042s  S> engine.io binary 4 B  [websocket]\n"
        "   +0.060s  C> ws close 1001\n"
        "   +0.070s  connection 2 127.0.0.1:53430 -> unreachable.test:80\n"
        "   +0.070s  GET http://unreachable.test/  error: setup: connect: connection refused\n"
        "   +0.071s  connection 2 failed: upstream unreachable\n");
}

TEST_CASE("the timeline shows Socket.IO 0.9 frames, acks and errors, and skips heartbeats") {
  RecordingData d;
  d.recording = sample_recording("legacy");
  d.sessions.push_back({1, 1, "FXpXJZZ8JUOGiQO4EaoE", SocketProtocol::sio09, kT0 + 5, 1});
  auto frame = [&](Direction dir, int type, std::string ns, std::string event,
                   std::optional<std::int64_t> ack, std::string args) {
    SocketPacket p;
    p.id = static_cast<Id>(d.packets.size() + 1);
    p.ws_message_id = p.id;
    p.direction = dir;
    p.time_us = kT0 + 10 * p.id;
    p.sio_type = type;
    p.namespace_ = std::move(ns);
    p.event = std::move(event);
    p.ack_id = ack;
    p.args = std::move(args);
    d.packets.push_back(p);
  };
  frame(Direction::server, 1, "", "", std::nullopt, "");
  frame(Direction::server, 2, "", "", std::nullopt, "");  // heartbeat
  frame(Direction::client, 5, "/chat", "chat", 1, R"([{"text":"hello 1"}])");
  frame(Direction::server, 6, "/chat", "", 1, R"([{"ok":true,"id":1}])");
  frame(Direction::server, 7, "/private", "", std::nullopt, "2");
  frame(Direction::server, 8, "", "", std::nullopt, "");  // noop
  frame(Direction::client, 3, "", "", 2, "\"hi \xc3\xa9\"");
  CHECK(format_timeline(d) ==
        "recording 0 \"legacy\"  2026-11-20 22:26:43 UTC  unfinished  reverse proxy on "
        "127.0.0.1:8080 -> http://127.0.0.1:3000\n"
        "   +0.000s  socket.io 0.9 session FXpXJZZ8JUOGiQO4EaoE opened\n"
        "   +0.000s  S> connect /  [websocket]\n"
        "   +0.000s  C> event /chat chat #1 [{\"text\":\"hello 1\"}]  [websocket]\n"
        "   +0.000s  S> ack /chat #1 [{\"ok\":true,\"id\":1}]  [websocket]\n"
        "   +0.000s  S> error /private 2  [websocket]\n"
        "   +0.000s  C> message #2 \"hi \xc3\xa9\"  [websocket]\n");
}

TEST_CASE("the timeline shows server-sent events with their stream, type and id") {
  RecordingData d;
  d.recording = sample_recording("sse");
  Exchange stream;
  stream.id = 4;
  stream.method = "GET";
  stream.url = "http://127.0.0.1:3000/events?x=1";
  stream.started_us = kT0 + 1000;
  d.exchanges.push_back(stream);
  auto sse = [&](Micros at, std::optional<std::string> id, std::string type, std::string data) {
    SseEvent e;
    e.id = static_cast<Id>(d.sse_events.size() + 1);
    e.exchange_id = 4;
    e.seq = static_cast<int>(d.sse_events.size());
    e.time_us = at;
    e.event_id = std::move(id);
    e.event = std::move(type);
    e.data = std::move(data);
    d.sse_events.push_back(e);
  };
  sse(kT0 + 2000, "3", "update", R"({"n":1})");
  sse(kT0 + 3000, std::nullopt, "message", "two\nlines");
  d.sse_events.back().retry_ms = 500;
  CHECK(format_timeline(d) ==
        "recording 0 \"sse\"  2026-11-20 22:26:43 UTC  unfinished  reverse proxy on "
        "127.0.0.1:8080 -> http://127.0.0.1:3000\n"
        "   +0.001s  GET http://127.0.0.1:3000/events?x=1\n"
        "   +0.002s  S> sse GET /events?x=1  event=update id=3 {\"n\":1}\n"
        "   +0.003s  S> sse GET /events?x=1  retry=500 two\\x0alines\n");
}

TEST_CASE("nothing from the network reaches the terminal raw") {
  CHECK(printable("plain", 10) == "plain");
  CHECK(printable("\x1b[2Jclear", 20) == "\\x1b[2Jclear");
  CHECK(printable("bad \xff utf8 \xc3", 20) == "bad \\xff utf8 \\xc3");
  CHECK(printable("line\r\nbreak\t", 20) == "line\\x0d\\x0abreak\\x09");
  CHECK(printable("h\xc3\xa9llo world", 5) == "h\xc3\xa9llo\xe2\x80\xa6");
  CHECK(printable("\xf0\x9f\x98\x80!", 1) == "\xf0\x9f\x98\x80\xe2\x80\xa6");
  CHECK(printable("\xed\xa0\x80", 10) == "\\xed\\xa0\\x80");  // a UTF-16 surrogate in UTF-8

  RecordingData d;
  d.recording = sample_recording("evil\x1b]0;title\x07");
  Exchange e;
  e.method = "GET";
  e.url = "http://a.test/\x1b[31mred";
  e.status = 200;
  d.exchanges.push_back(e);
  std::string text = format_timeline(d);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\x07') == std::string::npos);
  CHECK(text.find("evil\\x1b]0;title\\x07") != std::string::npos);
}

TEST_CASE("sizes, durations and times are short and exact") {
  CHECK(format_size(0) == "0 B");
  CHECK(format_size(1023) == "1023 B");
  CHECK(format_size(1024) == "1.0 KiB");
  CHECK(format_size(1536) == "1.5 KiB");
  CHECK(format_size(3 << 20) == "3.0 MiB");
  CHECK(format_size(std::int64_t(5) << 30) == "5.0 GiB");
  CHECK(format_duration(-5) == "0 us");
  CHECK(format_duration(850) == "850 us");
  CHECK(format_duration(15000) == "15 ms");
  CHECK(format_duration(12345678) == "12.3 s");
  CHECK(format_duration(125000000) == "2 min 05 s");
  CHECK(format_duration(Micros(3723) * 1000000) == "1 h 02 min");
  CHECK(format_utc(0) == "1970-01-01 00:00:00");
  CHECK(format_utc(kT0) == "2026-11-20 22:26:43");
}

TEST_CASE("the recording list is a table with counts") {
  std::vector<RecordingSummary> list;
  CHECK(format_recording_list(list) == "no recordings\n");
  RecordingSummary a{sample_recording("login-chat"), 2, 5, 7, 3, 4};
  a.recording.id = 1;
  a.recording.ended_us = kT0 + 12300000;
  RecordingSummary b{sample_recording(""), 0, 0, 0, 0, 0};
  b.recording.id = 12;
  list = {a, b};
  CHECK(format_recording_list(list) ==
        "ID  NAME        STARTED (UTC)          DURATION  CONNECTIONS  EXCHANGES  WS MESSAGES  "
        "SOCKET.IO EVENTS  SSE EVENTS\n"
        " 1  login-chat  2026-11-20 22:26:43      12.3 s            2          5            7  "
        "               3           4\n"
        "12  -           2026-11-20 22:26:43  unfinished            0          0            0  "
        "               0           0\n");
}

TEST_CASE("workalready ls and show: output on stdout, exit 0") {
  if (!have_binary()) return;
  ScratchDir dir;
  std::string path = record_sample(dir);
  Run ls = run(dir, "ls --db " + path);
  CHECK(ls.status == 0);
  CHECK(ls.err.empty());
  CHECK(ls.out.find(" 1  login-chat  2026-11-20 22:26:43") != std::string::npos);
  Run show = run(dir, "show --db " + path + " login-chat");
  CHECK(show.status == 0);
  CHECK(show.err.empty());
  CHECK(show.out.rfind("recording 1 \"login-chat\"", 0) == 0);
  CHECK(show.out.find("S> event welcome") != std::string::npos);
  CHECK(run(dir, "show --db " + path).out == show.out);  // the latest by default
  CHECK(run(dir, "show --db " + path + " 1").out == show.out);
}

TEST_CASE("workalready ls and show: bad files and unknown recordings exit 2 with one line") {
  if (!have_binary()) return;
  ScratchDir dir;
  std::string good = record_sample(dir, "good.sqlite");

  std::string text = dir.file("text.sqlite");
  std::ofstream(text) << "not a database at all, just some text that is long enough\n";
  std::string cut = dir.file("cut.sqlite");
  std::string bytes = slurp(good);
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::string newer = record_sample(dir, "newer.sqlite");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(newer.c_str(), &db) == SQLITE_OK);
    std::string sql = "PRAGMA user_version = " + std::to_string(kSchemaVersion + 1);
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  std::string foreign = dir.file("foreign.sqlite");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(foreign.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE notes (x)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }

  struct Case {
    std::string args;
    std::string starts;
  } cases[] = {
      {"ls --db " + dir.file("missing.sqlite"),
       "workalready: " + dir.file("missing.sqlite") + ": no such capture file"},
      {"show --db " + dir.file("missing.sqlite"),
       "workalready: " + dir.file("missing.sqlite") + ": no such capture file"},
      {"ls --db " + text, "workalready: " + text + ": not a capture file"},
      {"show --db " + cut, "workalready: " + cut + ": corrupt capture file"},
      {"ls --db " + cut, "workalready: " + cut + ": corrupt capture file"},
      {"ls --db " + newer, "workalready: " + newer + ": written by a newer Work Already"},
      {"ls --db " + foreign, "workalready: " + foreign + ": not a Work Already capture file"},
      {"show --db " + good + " nope", "workalready: " + good + ": no recording 'nope'"},
      {"show --db " + good + " 77", "workalready: " + good + ": no recording '77'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    Run r = run(dir, c.args);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind(c.starts, 0) == 0);
    CAPTURE(r.err);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}
