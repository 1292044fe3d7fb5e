// `workalready replay --concurrency 16 --repeat 4` against ONE server: a chat session recorded
// from the real Socket.IO 4 client through `workalready record --upstream` is replayed as four
// copies, all at once, against one fresh process of tests/apps/load/app.js. Every copy's
// broadcasts reach every other copy's socket, and the message id in each ack comes from one
// counter the whole server shares, so each copy sees other ids than the recording.
//
// A correct server passes: the ids are reported as varying between copies (noise, not
// failures), and every expected event of every copy came and matched. The same recording
// against the app's `changed` variant (the ack's `room` differs, the same in every copy) fails
// with exit 1, naming that field.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>

#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

constexpr int kConcurrency = 16;
constexpr int kRepeat = 4;
constexpr int kCopies = kRepeat;  // of the one recording, all at once

// tests/apps/load/app.js on a port of its own choosing.
class LoadApp {
 public:
  explicit LoadApp(const std::string& variant = "none") {
    require_node_modules();
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"node", repo_path("tests/apps/load/app.js"), "--port", "0"},
        std::vector<Env>{{"VARIANT", variant}});
    auto line = process_->wait_for_prefix("LISTENING ", 60000ms);
    if (!line) throw std::runtime_error("the load app did not start\n" + process_->tail());
    port_ = std::atoi(line->c_str() + 10);
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

struct LoadRun {
  CommandRun run;
  json report;
};

LoadRun replay_load(const TempDir& dir, const std::string& db, const std::string& target,
                    const std::string& name) {
  std::string report = dir.file(name + ".json");
  CommandRun run = run_command({WA_EXE, "replay", "--db", db, "--target", target, "--concurrency",
                                std::to_string(kConcurrency), "--repeat", std::to_string(kRepeat),
                                "--timeout", "20000", "--report-json", report},
                               {}, 240000ms);
  json parsed = json::parse(read_text(report), nullptr, false);
  return {run, parsed.is_discarded() ? json() : parsed};
}

std::string show(const LoadRun& r) {
  return "exit " + std::to_string(r.run.exit_code) + "\n--- stdout\n" + r.run.out + "--- stderr\n" +
         r.run.err;
}

bool varies(const json& d) {
  return d.value("noise", false) && d.value("noise_reason", "") == "varies between copies";
}

}  // namespace

TEST_CASE("load: 16 copies at once against one server, a shared counter in the acks") {
  TempDir dir;
  std::string db = dir.file("capture.sqlite");
  {
    LoadApp app;
    RecordingProxy proxy(db, {"--upstream", app.origin(), "--name", "load-chat"});
    ClientRun client = run_chat_client(
        {"--url", proxy.origin(), "--flavor", "v4", "--user", "alice", "--chats", "2"});
    INFO(client.out << client.err << proxy.process().tail());
    REQUIRE(client.exit_code == 0);
    REQUIRE(proxy.interrupt() == 0);
  }
  {
    store::RecordingData data = load_capture(db);
    INFO(describe(data));
    REQUIRE(data.sessions.size() == 1);
    CHECK(events_named(data, "chat", store::Direction::client).size() == 2);
    CHECK(events_named(data, "chat", store::Direction::server).size() == 2);
    size_t acks = 0;
    for (const auto& p : data.packets)
      if (p.direction == store::Direction::server && p.sio_type == 3) ++acks;
    CHECK(acks == 2);
  }

  SUBCASE("a correct server: the ids vary between copies, every event came") {
    LoadApp app;
    LoadRun r = replay_load(dir, db, app.origin(), "green");
    INFO(show(r));
    CHECK(r.run.exit_code == 0);
    REQUIRE(r.report.is_object());
    CHECK(r.report.value("exit_code", -1) == 0);
    const json& sessions = r.report["sessions"];
    REQUIRE(sessions.is_array());
    REQUIRE(sessions.size() == size_t(kCopies));
    size_t with_varying_id = 0, broadcasts = 0;
    for (const auto& s : sessions) {
      INFO(s.dump(1));
      CHECK(s.value("passed", false));
      CHECK(s.value("failures", -1) == 0);
      // welcome, CONNECT reply, two chats and two acks: all of them came and matched.
      CHECK(s.value("events_expected", 0) >= 5);
      CHECK(s.value("events_matched", -1) == s.value("events_expected", -2));
      bool id_varies = false;
      for (const auto& d : s["differences"]) {
        CHECK(d.value("noise", false));
        CHECK(d.value("kind", "") != "missing");
        if (varies(d) && d.value("path", "") == "/0/id") id_varies = true;
      }
      if (id_varies) ++with_varying_id;
      broadcasts += s.value("broadcasts_counted", size_t(0));
    }
    // At most two copies can have been handed the recorded ids (1 and 2) themselves.
    CHECK(with_varying_id >= size_t(kCopies - 2));
    // Other copies' chats reached this copy's socket, and were counted, not paired.
    CHECK(broadcasts > 0);
    CHECK(r.run.out.find("varied between copies") != std::string::npos);
    CHECK(r.run.out.find("/0/id") != std::string::npos);
  }

  SUBCASE("a real regression in another field of the ack fails, named, in every copy") {
    LoadApp app("changed");
    LoadRun r = replay_load(dir, db, app.origin(), "changed");
    INFO(show(r));
    CHECK(r.run.exit_code == 1);
    CHECK(r.run.out.find("/0/room") != std::string::npos);
    REQUIRE(r.report.is_object());
    const json& sessions = r.report["sessions"];
    REQUIRE(sessions.size() == size_t(kCopies));
    size_t failed = 0, room_failures = 0;
    for (const auto& s : sessions) {
      if (!s.value("passed", true)) ++failed;
      for (const auto& d : s["differences"]) {
        CHECK(d.value("kind", "") != "missing");
        if (d.value("path", "") == "/0/room") {
          CHECK_FALSE(d.value("noise", true));
          CHECK(d.value("actual", "") == "\"main\"");
          ++room_failures;
        }
        if (d.value("path", "") == "/0/id") CHECK(varies(d));
      }
    }
    CHECK(failed == size_t(kCopies));
    CHECK(room_failures == size_t(2 * kCopies));  // two acks in each copy
  }
}
