// `replay --calibrate` end to end against tests/apps/calibration/app.js, an app whose answers
// change per instance (a random asset version in its page, an instance id and start time in
// GET /api/info) and with state (a sign-up that answers 409 the second time, a document that
// keeps what was written):
//
// - without --server, calibration meets the first pass's state in the second pass: it stores
//   nothing, names the exchanges on stderr, and exits 2;
// - with --server, each pass gets a fresh instance: the per-instance values are learned (with
//   their evidence), the replay after it is green, and later replays against fresh instances
//   need nothing more;
// - a regression (VARIANT=changed relabels an item) is never learned: calibrating on the
//   changed build, with or without --server, does not make it green.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;

namespace {

constexpr Millis kReplayTimeout = 180000ms;

std::string app_command(const std::string& variant = "none") {
  return "VARIANT=" + variant + " node " + repo_path("tests/apps/calibration/app.js");
}

// The app on a port of its own, as a user starts it.
class CalibrationApp {
 public:
  explicit CalibrationApp(const std::string& variant = "none")
      : process_({"node", repo_path("tests/apps/calibration/app.js")},
                 {{"PORT", "0"}, {"VARIANT", variant}}) {
    auto line = process_.wait_for_prefix("LISTENING ", 60000ms);
    REQUIRE_MESSAGE(line, process_.tail());
    port_ = std::stoi(line->substr(10));
  }
  int port() const { return port_; }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  Process process_;
  int port_ = 0;
};

// page, info, doc read, doc written, sign-up, doc read again: recorded through the reverse
// proxy against a fresh instance.
void record_session(const std::string& db) {
  require_node_modules();
  CalibrationApp app;
  RecordingProxy proxy(db, {"--upstream", app.origin(), "--name", "calibration"});
  const std::vector<HttpHeader> json_body = {{"Content-Type", "application/json"}};
  REQUIRE(http_request(proxy.port(), "GET", "/").status == 200);
  REQUIRE(http_request(proxy.port(), "GET", "/api/info").status == 200);
  REQUIRE(parse_json(http_request(proxy.port(), "GET", "/api/doc").body)["text"] == "");
  REQUIRE(http_request(proxy.port(), "PUT", "/api/doc", json_body,
                       R"({"text":"notes written by the first visitor"})")
              .status == 200);
  REQUIRE(
      http_request(proxy.port(), "POST", "/api/signup", json_body, R"({"name":"alice"})").status ==
      201);
  REQUIRE(http_request(proxy.port(), "GET", "/api/doc").status == 200);
  REQUIRE(proxy.interrupt() == 0);
}

CommandRun replay(const std::string& db, std::vector<std::string> extra) {
  std::vector<std::string> argv = {WA_EXE, "replay", "--db", db};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv, {}, kReplayTimeout);
}

std::string show(const CommandRun& run) {
  return "exit " + std::to_string(run.exit_code) + "\n--- stdout\n" + run.out + "--- stderr\n" +
         run.err;
}

bool contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

// The JSON report's first session: how many exchanges were replayed and compared.
json first_session(const std::string& report_path) {
  json report = parse_json(read_text(report_path));
  REQUIRE(report.contains("sessions"));
  REQUIRE(!report["sessions"].empty());
  return report["sessions"][0];
}

}  // namespace

TEST_CASE("calibration against one running server meets its state: nothing stored, exit 2") {
  TempDir dir;
  std::string db = dir.file("state.sqlite");
  record_session(db);

  CalibrationApp app;
  CommandRun run = replay(db, {"--calibrate", "--target", app.origin()});
  INFO(show(run));
  CHECK(run.exit_code == 2);
  // It says why per-instance values are out of reach, names the exchanges that show state,
  // and ends with one line.
  CHECK(contains(run.out, "give --server CMD"));
  CHECK(contains(run.err, "POST /api/signup"));
  CHECK(contains(run.err, "status 201 in pass 1, 409 in pass 2"));
  CHECK(contains(run.err, "which the client sent"));
  CHECK(contains(run.err, "workalready: calibration stored nothing"));
  CHECK(count_rows(db, "SELECT count(*) FROM noise_rules") == 0);
}

TEST_CASE("calibration with --server learns per-instance values, never a regression") {
  TempDir dir;
  std::string db = dir.file("instance.sqlite");
  record_session(db);
  const std::string report = dir.file("report.json");

  {
    // A fresh instance has another asset version, instance id and start time: red.
    CommandRun run = replay(db, {"--server", app_command(), "--report-json", report});
    INFO(show(run));
    CHECK(run.exit_code == 1);
    CHECK(contains(run.out, "/instance"));
  }
  {
    CommandRun run =
        replay(db, {"--calibrate", "--server", app_command(), "--report-json", report});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    // The rules are printed with what each pass saw.
    CHECK(contains(run.out, "json_pointer /instance (scope GET /api/info): \""));
    CHECK(contains(run.out, "in pass 1, "));
    CHECK(contains(run.out, "json_pointer /started"));
    CHECK(contains(run.out, "regex "));
    json session = first_session(report);
    CHECK(session["exchanges"] == 6);  // the page and the five API calls
  }
  CHECK(count_rows(db, "SELECT count(*) FROM noise_rules WHERE origin = 'calibrate'") == 3);
  CHECK(count_rows(db, "SELECT count(*) FROM noise_rules WHERE evidence = '[]'") == 0);
  // Nothing broader than a leaf: no root pointer, no status, no item label.
  CHECK(count_rows(db,
                   "SELECT count(*) FROM noise_rules WHERE pattern = '' OR pattern LIKE "
                   "'%label%' OR pattern LIKE '/items%'") == 0);

  for (int i = 0; i < 3; ++i) {
    CommandRun run = replay(db, {"--server", app_command(), "--report-json", report});
    INFO(show(run));
    CHECK(run.exit_code == 0);
    json session = first_session(report);
    CHECK(session["exchanges"] == 6);
    // The two JSON leaves are reported, as noise (the regex masks its token before comparing).
    REQUIRE(session["differences"].size() == 2);
    for (const json& d : session["differences"])
      CHECK(d["noise"] == true);
  }

  // The regression is caught, and calibrating on the changed build does not learn it.
  CommandRun changed = replay(db, {"--server", app_command("changed")});
  INFO(show(changed));
  CHECK(changed.exit_code == 1);
  CHECK(contains(changed.out, "/items/0/label"));
  CommandRun calibrated = replay(db, {"--calibrate", "--server", app_command("changed")});
  INFO(show(calibrated));
  CHECK(calibrated.exit_code == 1);
  CHECK(contains(calibrated.out, "/items/0/label"));
  CHECK(count_rows(db, "SELECT count(*) FROM noise_rules WHERE pattern LIKE '%label%'") == 0);
  {
    CalibrationApp app("changed");
    CommandRun one = replay(db, {"--calibrate", "--target", app.origin()});
    INFO(show(one));
    CHECK(one.exit_code != 0);
  }
  CHECK(count_rows(db, "SELECT count(*) FROM noise_rules WHERE pattern LIKE '%label%'") == 0);
}
