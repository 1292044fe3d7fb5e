// `replay --server CMD` and `diff --a-server/--b-server`, from the command line: workalready
// starts a fresh instance of the app for each run on a free port ({port} in the command, PORT in
// its environment), waits until it is ready, and stops its whole process group afterwards, on
// errors and on Ctrl-C too.
//
// One recording of the Express + Socket.IO 4 app (login, socket with the session cookie,
// welcome, two acked chats) is made once through `workalready record --upstream`; every replay
// here then starts its own app through --server.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;

namespace {

constexpr Millis kRunTimeout = 120000ms;

struct Recorded {
  std::unique_ptr<TempDir> dir;
  std::string db;
};

const Recorded& recorded() {
  static Recorded r;
  if (r.dir) return r;
  r.dir = std::make_unique<TempDir>();
  r.db = r.dir->file("capture.sqlite");
  App app({.kind = AppKind::express_v4, .auth = "cookie"});
  RecordingProxy proxy(r.db, {"--upstream", app.origin(), "--name", "express4"});
  ClientRun run = run_chat_client({"--url", proxy.origin(), "--flavor", "v4", "--user", "alice",
                                   "--auth", "cookie", "--chats", "2"});
  INFO(run.out << run.err << proxy.process().tail());
  REQUIRE(run.exit_code == 0);
  REQUIRE(proxy.interrupt() == 0);
  app.stop();
  return r;
}

std::string app_js() {
  return repo_path("tests/apps/express_v4/app.js");
}

// node tests/apps/express_v4/app.js --port {port} [--variant V]
std::string app_command(const std::string& variant = "none") {
  return "node " + app_js() + " --port {port} --variant " + variant;
}

CommandRun workalready(std::vector<std::string> args, Millis timeout = kRunTimeout) {
  args.insert(args.begin(), WA_EXE);
  return run_command(args, {}, timeout);
}

std::string show(const CommandRun& run) {
  return "exit " + std::to_string(run.exit_code) + "\n--- stdout\n" + run.out + "--- stderr\n" +
         run.err;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

json read_json(const std::string& path) {
  auto parsed = json::parse(read_text(path), nullptr, false);
  return parsed.is_discarded() ? json() : parsed;
}

bool gone(pid_t pid) {
  return ::kill(pid, 0) == -1 && errno == ESRCH;
}

// The numbers a server script wrote to `file`, one or more per line; waits until there are at
// least `count` of them.
std::vector<long long> wait_for_numbers(const std::string& file, size_t count,
                                        Millis timeout = 30000ms) {
  auto until = std::chrono::steady_clock::now() + timeout;
  std::vector<long long> n;
  while (std::chrono::steady_clock::now() < until) {
    std::string text = read_text(file);
    // Only whole lines: the script may be writing the last one.
    text = text.substr(0, text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    n = numbers_in(text);
    if (n.size() >= count) return n;
    std::this_thread::sleep_for(20ms);  // polling a file the server writes: no signal to wait on
  }
  return n;
}

// Whether the app on `port` answers GET /api/me within 30 s.
bool app_answers(int port) {
  auto until = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (http_request(port, "GET", "/api/me", {}, {}, 1000ms).status != 0) return true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(50ms);  // not listening yet
    }
  }
  return false;
}

// The counts of a passed replay's single session, from its JSON report.
struct Counts {
  long long exchanges = -1, events_expected = -1, events_matched = -1;
};

Counts counts_of(const json& report) {
  if (!report.is_object() || !report["sessions"].is_array() || report["sessions"].size() != 1)
    return {};
  const json& s = report["sessions"][0];
  return {s.value("exchanges", -1LL), s.value("events_expected", -1LL),
          s.value("events_matched", -1LL)};
}

// The reference: the recording replayed against an app the test started (--target).
const Counts& reference_counts() {
  static Counts counts;
  if (counts.exchanges >= 0) return counts;
  const Recorded& r = recorded();
  App app({.kind = AppKind::express_v4, .auth = "cookie"});
  std::string report = r.dir->file("reference.json");
  CommandRun run = workalready(
      {"replay", "--db", r.db, "--target", app.origin(), "--quiet", "--report-json", report});
  INFO(show(run));
  REQUIRE(run.exit_code == 0);
  counts = counts_of(read_json(report));
  REQUIRE(counts.exchanges >= 1);        // the login; the socket is compared by its events
  REQUIRE(counts.events_expected >= 3);  // the welcome and two chat broadcasts at least
  REQUIRE(counts.events_matched == counts.events_expected);
  return counts;
}

}  // namespace

TEST_CASE("--server: each replay gets its own app on a free port, and it passes") {
  const Recorded& r = recorded();
  const Counts& want = reference_counts();

  SUBCASE("{port} in the command, --target left out") {
    std::string report = r.dir->file("server-port.json");
    CommandRun run =
        workalready({"replay", "--db", r.db, "--server", app_command(), "--report-json", report});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    json j = read_json(report);
    Counts got = counts_of(j);
    CHECK(got.exchanges == want.exchanges);
    CHECK(got.events_expected == want.events_expected);
    CHECK(got.events_matched == want.events_expected);
    // The target is the instance's: 127.0.0.1 and a port of its own.
    CHECK(j.value("target", "").rfind("http://127.0.0.1:", 0) == 0);
    CHECK(j["server_output"].is_array());
    CHECK(j["server_output"].empty());  // kept for failed runs only
    CHECK(!contains(run.out, "server output"));
  }
  SUBCASE("PORT in the environment, {port} in --target, ready by a line of its output") {
    std::string report = r.dir->file("server-env.json");
    CommandRun run = workalready({"replay", "--db", r.db, "--server", "exec node " + app_js(),
                                  "--target", "http://localhost:{port}", "--server-ready-line",
                                  "^LISTENING [0-9]+$", "--report-json", report});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    json j = read_json(report);
    Counts got = counts_of(j);
    CHECK(got.exchanges == want.exchanges);
    CHECK(got.events_matched == want.events_expected);
    CHECK(j.value("target", "").rfind("http://localhost:", 0) == 0);
  }
  SUBCASE("--server-ready URL, and a load run with one instance for all its copies") {
    std::string report = r.dir->file("server-load.json");
    std::string pids = r.dir->file("load-pids");
    // Each start of the command appends a line: one instance for the whole run means one line.
    CommandRun run = workalready({"replay", "--db", r.db, "--server",
                                  "echo $$ >> " + pids + "; exec " + app_command(),
                                  "--server-ready", "http://127.0.0.1:{port}/api/me", "--repeat",
                                  "3", "--concurrency", "3", "--report-json", report, "--quiet"});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    json j = read_json(report);
    REQUIRE(j["sessions"].is_array());
    CHECK(j["sessions"].size() == 3);
    CHECK(lines_of(read_text(pids)).size() == 1);
  }
}

TEST_CASE("--server: a failing run shows the server's last lines on the console and in reports") {
  const Recorded& r = recorded();
  std::string json_file = r.dir->file("fail.json"), junit = r.dir->file("fail.xml"),
              html = r.dir->file("fail.html");
  // The payload variant adds welcome.role: exit 1. The script's own line shows in the output.
  CommandRun run =
      workalready({"replay", "--db", r.db, "--server",
                   "echo starting the payload build; exec " + app_command("payload"),
                   "--report-json", json_file, "--report-junit", junit, "--report-html", html});
  INFO(show(run));
  CHECK(run.exit_code == 1);
  CHECK(contains(run.out, "server output (last "));
  CHECK(contains(run.out, "  starting the payload build"));
  CHECK(contains(run.out, "  LISTENING "));
  json j = read_json(json_file);
  REQUIRE(j["server_output"].is_array());
  std::vector<std::string> output = j["server_output"].get<std::vector<std::string>>();
  REQUIRE(output.size() >= 2);
  CHECK(output[0] == "starting the payload build");
  CHECK(output[1].rfind("LISTENING ", 0) == 0);
  std::string xml = read_text(junit);
  CHECK(contains(xml, "<system-err>starting the payload build\nLISTENING "));
  std::string page = read_text(html);
  CHECK(contains(page, "Server output (last "));
  CHECK(contains(page, "starting the payload build"));
}

TEST_CASE("--server: a server that exits before it is ready is exit 2, with its output") {
  const Recorded& r = recorded();
  auto t0 = std::chrono::steady_clock::now();
  CommandRun run = workalready(
      {"replay", "--db", r.db, "--server", "echo cannot bind >&2; echo giving up; exit 3"});
  INFO(show(run));
  CHECK(run.exit_code == 2);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  std::vector<std::string> lines = lines_of(run.err);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] ==
        "workalready: server exited with status 3 before it was ready: echo cannot bind >&2; "
        "echo giving up; exit 3");
  // stdout and stderr are two pipes: their lines may come in either order.
  std::sort(lines.begin() + 1, lines.end());
  CHECK(lines[1] == "  cannot bind");
  CHECK(lines[2] == "  giving up");
  CHECK(run.out.empty());
}

TEST_CASE("--server: a server that never gets ready is stopped after --server-timeout, exit 2") {
  const Recorded& r = recorded();
  std::string pids = r.dir->file("never-ready-pids");
  SUBCASE("waiting for / to answer") {
    auto t0 = std::chrono::steady_clock::now();
    CommandRun run = workalready({"replay", "--db", r.db, "--server",
                                  "echo $$ > " + pids + "; echo still warming up; exec sleep 60",
                                  "--server-timeout", "1"});
    auto took = std::chrono::steady_clock::now() - t0;
    INFO(show(run));
    CHECK(run.exit_code == 2);
    CHECK(took >= 1s);
    CHECK(took < 8s);
    std::vector<std::string> lines = lines_of(run.err);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].rfind("workalready: server was not ready after 1 s (http://127.0.0.1:", 0) == 0);
    CHECK(contains(lines[0], "/ did not answer): echo $$"));
    CHECK(lines[1] == "  still warming up");
    std::vector<long long> pid = wait_for_numbers(pids, 1);
    REQUIRE(pid.size() == 1);
    CHECK(gone(pid_t(pid[0])));
  }
  SUBCASE("waiting for a line that never comes") {
    CommandRun run = workalready({"replay", "--db", r.db, "--server", "exec " + app_command(),
                                  "--server-ready-line", "^READY$", "--server-timeout", "2"});
    INFO(show(run));
    CHECK(run.exit_code == 2);
    std::vector<std::string> lines = lines_of(run.err);
    REQUIRE(lines.size() >= 2);
    CHECK(lines[0].rfind("workalready: server was not ready after 2 s (no line of its output "
                         "matched ^READY$): exec node ",
                         0) == 0);
    CHECK(lines[1].rfind("  LISTENING ", 0) == 0);
  }
}

TEST_CASE("--server: a server that ignores SIGTERM and forks children is gone afterwards") {
  const Recorded& r = recorded();
  const Counts& want = reference_counts();
  std::string pids = r.dir->file("stubborn-pids");
  std::string report = r.dir->file("stubborn.json");
  // The shell and a forked sleep ignore SIGTERM (the app exits on it): SIGKILL after the grace
  // period takes them.
  std::string cmd = "trap '' TERM; sleep 300 & echo $! > " + pids + "; " + app_command() +
                    " & echo $! >> " + pids + "; echo $$ >> " + pids +
                    "; while :; do sleep 1; done";
  auto t0 = std::chrono::steady_clock::now();
  CommandRun run =
      workalready({"replay", "--db", r.db, "--server", cmd, "--report-json", report, "--quiet"});
  auto took = std::chrono::steady_clock::now() - t0;
  INFO(show(run));
  CHECK(run.exit_code == 0);
  CHECK(counts_of(read_json(report)).events_matched == want.events_expected);
  CHECK(took >= 3s);  // the grace period before SIGKILL
  std::vector<long long> pid = wait_for_numbers(pids, 3);
  REQUIRE(pid.size() == 3);
  for (long long p : pid) {
    CAPTURE(p);
    CHECK(gone(pid_t(p)));
  }
}

TEST_CASE("--server: SIGINT or SIGTERM to workalready stops the server's group first") {
  const Recorded& r = recorded();
  std::string pids = r.dir->file("interrupted-pids");
  // The script writes its port, its pid, a forked child's pid and the app's pid.
  std::string cmd = "echo {port} > " + pids + "; echo $$ >> " + pids + "; sleep 300 & echo $! >> " +
                    pids + "; " + app_command() + " & echo $! >> " + pids + "; wait";

  SUBCASE("SIGINT in the middle of a long run: exit 130") {
    Process wa({WA_EXE, "replay", "--db", r.db, "--server", cmd, "--repeat", "100000", "--quiet"});
    std::vector<long long> n = wait_for_numbers(pids, 4);
    REQUIRE(n.size() == 4);
    // Ready: the app answers. The replay is under way right after.
    REQUIRE(app_answers(int(n[0])));
    // 100000 copies take far longer than this test: workalready is replaying now.
    CHECK(wa.wait_exit(0ms) == std::nullopt);
    ::kill(wa.pid(), SIGINT);
    std::optional<int> code = wa.wait_exit(30000ms);
    INFO(wa.tail());
    REQUIRE(code.has_value());
    CHECK(*code == 130);
    CHECK(contains(wa.err(), "workalready: interrupted\n"));
    for (size_t i = 1; i < n.size(); ++i) {
      CAPTURE(n[i]);
      CHECK(gone(pid_t(n[i])));
    }
  }
  SUBCASE("SIGTERM while waiting for the server to be ready: exit 143") {
    pids = r.dir->file("waiting-pids");  // not the other subcase's file, read before it is new
    std::string waiting = "echo 0 > " + pids + "; echo $$ >> " + pids +
                          "; sleep 300 & echo $! >> " + pids + "; echo 0 >> " + pids + "; wait";
    Process wa({WA_EXE, "replay", "--db", r.db, "--server", waiting, "--server-timeout", "60"});
    std::vector<long long> n = wait_for_numbers(pids, 4);
    REQUIRE(n.size() == 4);
    ::kill(wa.pid(), SIGTERM);
    std::optional<int> code = wa.wait_exit(30000ms);
    INFO(wa.tail());
    REQUIRE(code.has_value());
    CHECK(*code == 143);
    CHECK(lines_of(wa.err()) == std::vector<std::string>{"workalready: interrupted"});
    CHECK(gone(pid_t(n[1])));
    CHECK(gone(pid_t(n[2])));
  }
}

TEST_CASE("diff --a-server/--b-server: each side and A's second run get their own instance") {
  const Recorded& r = recorded();
  std::string starts = r.dir->file("diff-starts");
  auto side = [&](const std::string& name, const std::string& variant) {
    return "echo " + name + " >> " + starts + "; exec " + app_command(variant);
  };
  SUBCASE("the same build on both sides: exit 0") {
    CommandRun run = workalready(
        {"diff", "--db", r.db, "--a-server", side("A", "none"), "--b-server", side("B", "none")});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    // A, A again (noise), then B: three instances.
    CHECK(lines_of(read_text(starts)) == std::vector<std::string>{"A", "A", "B"});
  }
  SUBCASE("B adds welcome.role: exit 1, the change named, both servers' output shown") {
    std::string report = r.dir->file("diff.json");
    CommandRun run = workalready({"diff", "--db", r.db, "--a-server", side("A", "none"),
                                  "--b-server", side("B", "payload"), "--b",
                                  "http://localhost:{port}", "--report-json", report});
    INFO(show(run));
    CHECK(run.exit_code == 1);
    CHECK(contains(run.out, "/0/role"));
    CHECK(contains(run.out, "A server output (last "));
    CHECK(contains(run.out, "B server output (last "));
    json j = read_json(report);
    CHECK(contains(j.value("target", ""), " B=http://localhost:"));
    REQUIRE(j["server_output"].is_array());
    bool a_seen = false, b_seen = false;
    for (const auto& line : j["server_output"]) {
      a_seen = a_seen || line.get<std::string>().rfind("A: LISTENING ", 0) == 0;
      b_seen = b_seen || line.get<std::string>().rfind("B: LISTENING ", 0) == 0;
    }
    CHECK(a_seen);
    CHECK(b_seen);
  }
  SUBCASE("B's server exits at once: exit 2 naming B") {
    CommandRun run = workalready(
        {"diff", "--db", r.db, "--a-server", side("A", "none"), "--b-server", "exit 4"});
    INFO(show(run));
    CHECK(run.exit_code == 2);
    std::vector<std::string> lines = lines_of(run.err);
    REQUIRE(!lines.empty());
    CHECK(lines[0] == "workalready: B server exited with status 4 before it was ready: exit 4");
  }
}

TEST_CASE("--server: bad combinations are one-line usage errors") {
  const Recorded& r = recorded();
  auto one_line = [](const CommandRun& run, std::string_view what) {
    INFO(show(run));
    CHECK(run.exit_code == 2);
    std::vector<std::string> lines = lines_of(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(contains(lines[0], what));
  };
  one_line(workalready({"replay", "--db", r.db}), "workalready: --target is required");
  one_line(workalready({"replay", "--db", r.db, "--target", "http://127.0.0.1:{port}"}),
           "{port} needs --server");
  one_line(workalready({"replay", "--db", r.db, "--server", "true", "--server-ready",
                        "http://127.0.0.1:{port}/", "--server-ready-line", "x"}),
           "--server-ready and --server-ready-line cannot be used together");
  one_line(workalready({"replay", "--db", r.db, "--server", "true", "--server-ready-line", "(("}),
           "--server-ready-line ((: not a valid regular expression");
  one_line(workalready({"replay", "--db", r.db, "--target", "http://127.0.0.1:1",
                        "--server-ready-line", "x"}),
           "--server-ready-line needs --server");
  one_line(workalready({"diff", "--db", r.db, "--b", "http://127.0.0.1:1"}),
           "--a is required (or --a-server)");
}
