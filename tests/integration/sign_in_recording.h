// What the corpus tests that record a sign-in with Chromium share (browser_sign_in.js drives
// the browser; see its header for what an app must offer): recording the session through the
// forward proxy, and finding things in the capture.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/browser.h"

namespace wa::test {

struct SignInRecording {
  std::string db;
  std::string origin;
  nlohmann::json result;  // what the page's window.done resolved with
  store::RecordingData data;
};

// Starts the Node app `app` (a path under the repository) on a port of its choosing (PORT=0,
// plus `env`), ready once it printed `LISTENING <port>`; records browser_sign_in.js's session
// through `workalready record` as a forward proxy into DIR/NAME.sqlite; every connection the
// browser opened has closed once the driver left the page and the browser exited.
inline SignInRecording record_sign_in(const TempDir& dir, const std::string& app,
                                      const std::string& name, std::vector<Env> env = {}) {
  SignInRecording r;
  r.db = dir.file(name + ".sqlite");
  require_node_modules();
  env.insert(env.begin(), {"PORT", "0"});
  Process server({"node", repo_path(app)}, env);
  const std::string_view ready = "LISTENING ";
  auto line = server.wait_for_prefix(ready, std::chrono::milliseconds(60000));
  REQUIRE_MESSAGE(line, app << " did not start\n" << server.tail());
  r.origin = "http://127.0.0.1:" + line->substr(ready.size());
  {
    RecordingProxy proxy(r.db, {"--ca-dir", dir.file("ca")});
    INFO(proxy.process().tail(4000));
    {
      Chromium browser(dir.file("profile-" + name),
                       {"--proxy-server=" + proxy.origin(), "--proxy-bypass-list=<-loopback>"});
      CommandRun run =
          run_command({"node", repo_path("tests/integration/browser_sign_in.js"), "--devtools",
                       browser.devtools(), "--url", r.origin, "--timeout-ms", "60000"},
                      {}, std::chrono::seconds(90));
      browser.process().wait_exit(std::chrono::seconds(10));
      INFO(run.out << run.err);
      REQUIRE(run.exit_code == 0);
      for (const nlohmann::json& l : json_lines(run.out)) {
        if (l.value("type", "") == "result") r.result = l.value("value", nlohmann::json());
      }
      REQUIRE(r.result.is_object());
    }
    REQUIRE(proxy.interrupt() == 0);
  }
  CHECK(server.stop() == 0);
  r.data = load_capture(r.db);
  return r;
}

// Runs checks whose failure must not end the test case (the SUBCASEs that follow still run).
template <class Checks>
void isolated(Checks&& checks) {
  try {
    checks();
  } catch (const doctest::detail::TestFailureException&) {
  }
}

inline bool of_app(const store::Exchange& x, const std::string& origin) {
  return x.url.rfind(origin + "/", 0) == 0;
}

inline bool is_engineio(const store::Exchange& x) {
  return x.url.find("EIO=") != std::string::npos;
}

// The app's first exchange `method path` (the path without its query), or null.
inline const store::Exchange* app_exchange(const SignInRecording& r, const std::string& method,
                                           const std::string& path) {
  for (const auto& x : r.data.exchanges) {
    std::string p = path_of(x.url);
    if (x.method == method && of_app(x, r.origin) && p.substr(0, p.find('?')) == path) return &x;
  }
  return nullptr;
}

// The HTTP requests a replay sends itself and compares: the app's own that were answered,
// except Engine.IO's (the live socket client makes those).
inline size_t replayable_exchanges(const SignInRecording& r) {
  size_t n = 0;
  for (const auto& x : r.data.exchanges) {
    if (of_app(x, r.origin) && x.status != 0 && x.status != 101 && !is_engineio(x)) ++n;
  }
  return n;
}

// The first Socket.IO packet of that direction, type and event name, or null.
inline const store::SocketPacket* packet_of(const SignInRecording& r, store::Direction direction,
                                            int sio_type, const std::string& event = {}) {
  for (const auto& p : r.data.packets) {
    if (p.direction == direction && p.sio_type == sio_type && p.event == event) return &p;
  }
  return nullptr;
}

}  // namespace wa::test
