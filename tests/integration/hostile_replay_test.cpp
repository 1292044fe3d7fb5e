// `workalready replay` against hostile servers (tests/apps/hostile/server.js, raw sockets):
// each recording is made through `workalready record --upstream` from the server in its
// polite mode, then replayed against it in its hostile mode, where it trickles a body a byte a
// second, sends its head a byte at a time, never answers, or stops after the head. What is
// asserted is what a CI job depends on: how many seconds the replay took, its exit code, and
// what the report says; and, for a 200 MiB body, the replayer's peak RSS.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;

#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
constexpr long long kRssBoundMiB = 400;
#else
constexpr long long kRssBoundMiB = 160;
#endif

namespace {

constexpr Millis kRunTimeout = 120000ms;

// tests/apps/hostile/server.js in one mode, on a free port it picks itself.
class HostileServer {
 public:
  explicit HostileServer(const std::string& mode, std::vector<std::string> more = {}) {
    require_node_modules();
    std::vector<std::string> argv = {
        "node", repo_path("tests/apps/hostile/server.js"), "--port", "0", "--mode", mode};
    argv.insert(argv.end(), more.begin(), more.end());
    process_ = std::make_unique<Process>(argv);
    auto line = process_->wait_for_prefix("LISTENING ", 30000ms);
    if (!line) throw std::runtime_error("the hostile server did not start\n" + process_->tail());
    port_ = std::atoi(line->c_str() + 10);
  }
  int port() const { return port_; }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// Records one recording named `name` of GETs of `paths` (each answered 200 by the polite
// server) into `db`.
void record(const std::string& db, const std::string& name, const std::vector<std::string>& paths,
            const std::vector<std::string>& server_options = {}) {
  HostileServer polite("polite", server_options);
  RecordingProxy proxy(db, {"--upstream", polite.origin(), "--name", name});
  for (const std::string& path : paths) {
    // curl, so that a large body goes to /dev/null rather than into this process.
    CommandRun got =
        run_command({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", proxy.origin() + path});
    REQUIRE_MESSAGE(got.out == "200", path << ": " << got.out << got.err);
  }
  REQUIRE(proxy.interrupt() == 0);
}

struct TimedRun {
  CommandRun run;
  double seconds = 0;
};

TimedRun workalready(std::vector<std::string> args, std::vector<std::string> prefix = {}) {
  args.insert(args.begin(), WA_EXE);
  args.insert(args.begin(), prefix.begin(), prefix.end());
  auto t0 = std::chrono::steady_clock::now();
  CommandRun run = run_command(args, {}, kRunTimeout);
  auto t1 = std::chrono::steady_clock::now();
  return {run, std::chrono::duration<double>(t1 - t0).count()};
}

std::string show(const TimedRun& t) {
  return "exit " + std::to_string(t.run.exit_code) + " after " + std::to_string(t.seconds) +
         " s\n--- stdout\n" + t.run.out + "--- stderr\n" + t.run.err;
}

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

// The differences of a report's first session whose `where` names `path`.
std::vector<json> differences_at(const json& report, const std::string& path) {
  std::vector<json> out;
  for (const json& d : report["sessions"][0]["differences"])
    if (d["where"].get<std::string>() == "GET " + path) out.push_back(d);
  return out;
}

// The timeline row of a report's first session for `path`.
json row_of(const json& report, const std::string& path) {
  for (const json& o : report["sessions"][0]["timeline"])
    if (o["where"].get<std::string>() == "GET " + path) return o;
  return json();
}

}  // namespace

TEST_CASE("--timeout bounds the whole wait for each response: trickled body and head, silence") {
  TempDir dir;
  std::string db = dir.file("capture.sqlite");
  record(db, "trickle", {"/a", "/trickle-body", "/b"});
  record(db, "faults", {"/a", "/trickle-head", "/silent", "/head-only", "/b"});
  HostileServer hostile("hostile");

  // A body of 20 bytes at one a second: each byte comes well inside --timeout, the whole body
  // does not.
  std::string json_file = dir.file("trickle.json");
  TimedRun t = workalready({"replay", "--db", db, "trickle", "--target", hostile.origin(),
                            "--timeout", "2000", "--report-json", json_file});
  INFO(show(t));
  CHECK(t.run.exit_code == 1);
  CHECK(t.seconds < 6.0);
  json report = parse_json(read_text(json_file));
  REQUIRE(report.is_object());
  CHECK(report["sessions"][0]["exchanges"] == 3);
  auto cut = differences_at(report, "/trickle-body");
  REQUIRE(cut.size() == 1);
  std::string actual = cut[0]["actual"];
  CHECK(contains(actual, "timed out after 2000 ms"));
  CHECK(contains(actual, " of 20 bytes of the body"));
  CHECK(contains(t.run.out, "timed out after 2000 ms"));
  // The run went on: the exchange after the cut one was replayed and matched.
  CHECK(differences_at(report, "/b").empty());
  CHECK(row_of(report, "/b")["ok"] == true);
  CHECK(row_of(report, "/a")["ok"] == true);

  // A head a byte every 200 ms, a server that never answers, one that stops after its head:
  // each ends after --timeout, and the run goes on to /b.
  json_file = dir.file("faults.json");
  t = workalready({"replay", "--db", db, "faults", "--target", hostile.origin(), "--timeout",
                   "1000", "--report-json", json_file});
  INFO(show(t));
  CHECK(t.run.exit_code == 1);
  CHECK(t.seconds < 3 * 1.0 + 4.0);
  report = parse_json(read_text(json_file));
  REQUIRE(report.is_object());
  CHECK(report["sessions"][0]["exchanges"] == 5);
  auto head = differences_at(report, "/trickle-head");
  auto silent = differences_at(report, "/silent");
  auto head_only = differences_at(report, "/head-only");
  REQUIRE(head.size() == 1);
  REQUIRE(silent.size() == 1);
  REQUIRE(head_only.size() == 1);
  CHECK(contains(head[0]["actual"].get<std::string>(), "waiting for the response head"));
  CHECK(contains(silent[0]["actual"].get<std::string>(), "within 1000 ms"));
  CHECK(contains(head_only[0]["actual"].get<std::string>(), "0 of 100 bytes of the body"));
  CHECK(report["sessions"][0]["failures"] == 3);
  CHECK(row_of(report, "/b")["ok"] == true);
}

TEST_CASE("--deadline stops the whole run: summary, reports marked, exit 1; bad values exit 2") {
  TempDir dir;
  std::string db = dir.file("capture.sqlite");
  record(db, "slow", {"/a", "/slow"});
  HostileServer hostile("hostile", {"--slow-ms", "3000"});

  // 20 copies, two at a time, each waiting 3 s for /slow: 30 s without the deadline.
  std::string json_file = dir.file("deadline.json"), junit_file = dir.file("deadline.xml");
  TimedRun t = workalready({"replay", "--db", db, "--target", hostile.origin(), "--timeout",
                            "10000", "--repeat", "20", "--concurrency", "2", "--deadline", "2s",
                            "--report-json", json_file, "--report-junit", junit_file});
  INFO(show(t));
  CHECK(t.run.exit_code == 1);
  CHECK(t.seconds < 2.0 + 2.5);
  CHECK(
      contains(t.run.out, "replay: deadline of 2000 ms passed: 2 sessions cut short, 18 not run"));
  CHECK(contains(t.run.out, "cut short by the deadline"));
  json report = parse_json(read_text(json_file));
  REQUIRE(report.is_object());
  CHECK(report["deadline"]["passed"] == true);
  CHECK(report["deadline"]["ms"] == 2000);
  CHECK(report["deadline"]["not_run"] == 18);
  REQUIRE(report["sessions"].size() == 2);
  for (const json& s : report["sessions"]) {
    CHECK(s["cut_short"] == true);
    CHECK(s["passed"] == false);
  }
  std::string junit = read_text(junit_file);
  CHECK(contains(junit, "cut short"));
  CHECK(contains(junit, "name=\"deadline_passed\" value=\"true\""));

  // diff: one deadline for A, A's second run and B together.
  t = workalready({"diff", "--db", db, "--a", hostile.origin(), "--b", hostile.origin(),
                   "--timeout", "10000", "--deadline", "1500"});
  INFO(show(t));
  CHECK(t.run.exit_code == 1);
  CHECK(t.seconds < 1.5 + 2.5);
  CHECK(contains(t.run.out, "diff: deadline of 1500 ms passed: 1 session cut short"));
  CHECK(contains(t.run.out, "the deadline passed during the run against A"));

  // A deadline that does not pass changes nothing.
  HostileServer polite("polite");
  std::string polite_json = dir.file("polite.json");
  t = workalready({"replay", "--db", db, "--target", polite.origin(), "--deadline", "1m",
                   "--report-json", polite_json});
  INFO(show(t));
  CHECK(t.run.exit_code == 0);
  CHECK(contains(t.run.out, "replay: 1 session, 1 passed, 0 failed"));
  CHECK_FALSE(contains(t.run.out, "deadline"));
  json polite_report = parse_json(read_text(polite_json));
  REQUIRE(polite_report["sessions"].size() == 1);
  CHECK(polite_report["sessions"][0]["exchanges"] == 2);  // /a and /slow, both compared

  for (std::string bad : {"0", "abc", "5x", "-1s", "1.5s", "s", "9999999h"}) {
    TimedRun b =
        workalready({"replay", "--db", db, "--target", polite.origin(), "--deadline", bad});
    INFO(bad << "\n" << show(b));
    CHECK(b.run.exit_code == 2);
    CHECK(count_lines(b.run.err) == 1);
    CHECK(contains(b.run.err, "--deadline " + bad + ": expected a duration"));
  }
}

TEST_CASE("a 200 MiB body: streamed and hashed, not held; peak RSS bounded at concurrency 4") {
  TempDir dir;
  std::string db = dir.file("capture.sqlite");
  record(db, "big", {"/big"}, {"--big-mb", "200"});
  HostileServer same("polite", {"--big-mb", "200"});

  // Four copies at once, each reading the whole 200 MiB body. The recorder kept its first
  // 4 MiB with its length and hash; the live bodies are hashed as they stream, and they match.
  std::string json_file = dir.file("big.json");
  TimedRun t = workalready({"replay", "--db", db, "--target", same.origin(), "--concurrency", "4",
                            "--repeat", "4", "--report-json", json_file},
                           {"/usr/bin/time", "-f", "maxrss_kb=%M"});
  INFO(show(t));
  CHECK(t.run.exit_code == 0);
  CHECK(contains(t.run.out, "replay: 4 sessions, 4 passed, 0 failed"));
  size_t at = t.run.err.rfind("maxrss_kb=");
  REQUIRE(at != std::string::npos);
  long long rss_kb = std::atoll(t.run.err.c_str() + at + 10);
  MESSAGE("replay of 4 x 200 MiB at concurrency 4: peak RSS " << rss_kb / 1024 << " MiB in "
                                                              << t.seconds << " s");
  // Each copy keeps at most the comparison cap (16 MiB) of its body. Under AddressSanitizer its
  // shadow memory and the quarantine of freed buffers come on top (283 MiB seen).
  CHECK(rss_kb > 0);
  CHECK(rss_kb < kRssBoundMiB * 1024);
  json report = parse_json(read_text(json_file));
  REQUIRE(report.is_object());
  CHECK(report["sessions"].size() == 4);
  CHECK(report["passed"] == true);
  for (const json& session : report["sessions"])
    CHECK(session["exchanges"] == 1);  // the 200 MiB response, compared by length and hash

  // A live body of another size (still over the cap): a difference by length and hash.
  HostileServer other("polite", {"--big-mb", "20"});
  t = workalready({"replay", "--db", db, "--target", other.origin(), "--report-json", json_file});
  INFO(show(t));
  CHECK(t.run.exit_code == 1);
  report = parse_json(read_text(json_file));
  REQUIRE(report.is_object());
  auto body = differences_at(report, "/big");
  REQUIRE(body.size() == 1);
  CHECK(contains(body[0]["expected"].get<std::string>(), "209715200"));
  CHECK(contains(body[0]["actual"].get<std::string>(), "20971520 bytes"));
}
