// A HAR that Playwright's recordHar wrote (playwright-core driving Debian's Chromium) imports
// and replays green against fresh instances of the app it was recorded on.
//
// The inline_state app (tests/apps/inline_state) hands its values to the page where no
// structure locates them (see browser_inline_state_test.cpp); its Socket.IO traffic is left out
// of the HAR (Playwright keeps no WebSocket frames). What the HAR holds that a recording made
// by the proxy does not:
// - the sign-in's 303 has no body in the HAR (size -1, no text): imported as unknown, it is not
//   compared (the app answers "See Other. Redirecting to /board");
// - the logo's revalidation, answered 304 and served from the browser's cache, is written as a
//   200 with the 304's header fields and the cached body: imported as the 304 it was.
#include <doctest/doctest.h>

#include <chrono>

#include "tests/integration/browser.h"
#include "tests/integration/replay_run.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

const std::string kApp = "tests/apps/inline_state/app.js";

std::string server_command(const std::string& variant = "none") {
  return "VARIANT=" + variant + " node " + repo_path(kApp);
}

}  // namespace

TEST_CASE("browser playwright HAR: imported and replayed green against fresh instances") {
  require_node_modules();
  TempDir dir;
  std::string har = dir.file("playwright.har");
  std::string db = dir.file("playwright.sqlite");
  {
    Process app({"node", repo_path(kApp)}, {{"PORT", "0"}});
    const std::string_view ready = "LISTENING ";
    auto line = app.wait_for_prefix(ready, 60000ms);
    REQUIRE_MESSAGE(line, "the inline_state app did not start\n" << app.tail());
    std::string origin = "http://127.0.0.1:" + line->substr(ready.size());
    CommandRun run =
        run_command({"node", repo_path("tests/integration/playwright_har.js"), "--url", origin,
                     "--har", har, "--exclude", "/socket\\.io/", "--timeout-ms", "60000"},
                    {}, 90s);
    INFO(run.out << run.err);
    REQUIRE(run.exit_code == 0);
    CHECK(app.stop() == 0);
  }
  CommandRun imported = run_command({WA_EXE, "har", "import", har, "--db", db, "--name", "pw"});
  INFO(imported.out << imported.err);
  REQUIRE(imported.exit_code == 0);
  store::RecordingData data = load_capture(db);
  INFO(describe(data));

  // What the HAR did not hold is unknown; what it disguised is what was on the wire.
  const store::Exchange* login = find_exchange(data, "POST", "/login");
  REQUIRE(login);
  CHECK(login->status == 303);
  CHECK(login->response_body.is_unknown());
  std::vector<const store::Exchange*> logos;
  for (const auto& x : data.exchanges)
    if (path_of(x.url) == "/static/logo.svg") logos.push_back(&x);
  REQUIRE(logos.size() == 2);
  CHECK(logos[0]->status == 200);
  CHECK(logos[1]->status == 304);
  CHECK(logos[1]->response_body.bytes.empty());
  size_t exchanges = data.exchanges.size();
  CHECK(exchanges == 10);

  for (int attempt = 1; attempt <= 3; ++attempt) {
    ReplayRun run = run_replay(dir, db, {"--timeout", "30000", "--server", server_command()}, 120s);
    INFO("replay " << attempt << " of 3");
    INFO(wa::test::describe(run));
    CHECK(run.exit_code == 0);
    REQUIRE(run.report.is_object());
    const json& session = run.report["sessions"][0];
    CHECK(session.value("exchanges", size_t(0)) == exchanges);
    CHECK(real_differences(run).empty());
    if (run.exit_code != 0) break;
  }

  ReplayRun changed =
      run_replay(dir, db, {"--timeout", "30000", "--server", server_command("changed")}, 120s);
  INFO(wa::test::describe(changed));
  CHECK(changed.exit_code == 1);
  std::vector<json> real = real_differences(changed);
  REQUIRE(real.size() == 1);
  CHECK(real[0].value("where", "") == "GET /api/profile");
  CHECK(real[0].value("path", "") == "/role");
}
