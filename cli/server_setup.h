// `--server CMD`: the replayer starts a fresh instance of the application for each run, as
// Playwright's `webServer` does, and stops it afterwards.
//
// How an instance runs:
//  - a free port is picked (127.0.0.1:0 bound, then released); every `{port}` in the command,
//    the target template and the readiness URL becomes that port, and the command gets it as
//    PORT in its environment;
//  - the command runs as `/bin/sh -c CMD` in its own session and process group, stdin from
//    /dev/null; its stdout and stderr are read continuously, the last 200 lines kept;
//  - ready: by default when the target's `/` answers anything (any HTTP status); with
//    `ready_url` when that URL does; with `ready_line` when a line of its output matches that
//    ECMAScript regular expression; polled every 75 ms, for at most `timeout_s` seconds;
//  - stopped: SIGTERM to the whole group, SIGKILL after 3 s when a member is still alive, also
//    when workalready gets SIGINT or SIGTERM (it then prints "workalready: interrupted" and
//    exits 130 or 143) and whenever the ServerInstance goes away.
//
// Use (one instance per run; the recordings are prepared with the instance's target):
//
//   auto server = ServerInstance::start(spec, args.in.target);   // blocks until ready
//   if (!server) return usage_error(server.error().why);        // one line + its output
//   in.target = server->target();
//   ... load_recordings(in, options); replay::run(...) ...
//   server->stop();                                             // or let it go out of scope
//   if (failed) report.server_output = server->last_lines(kServerOutputLines);
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "protocol/result.h"

namespace CLI {
class App;
}

namespace wa::net {
class ChildProcess;
}

namespace wa::cli {

struct ServerSpec {
  std::string cmd;         // --server; "" when not given
  std::string ready_url;   // --server-ready (may hold {port})
  std::string ready_line;  // --server-ready-line (ECMAScript regex)
  int timeout_s = 30;      // --server-timeout
  // Set by add_server_options: "" for replay's --server, "a-" / "b-" for diff's sides; and how
  // messages name the server ("server", "A server").
  std::string prefix = {};
  std::string label = "server";

  bool given() const { return !cmd.empty(); }
  // One line when the options do not go together (both readiness options, a regex that does
  // not compile, readiness options without a command).
  Result<void> check() const;
};

// Adds --server, --server-ready, --server-ready-line and --server-timeout to `sub`, filling
// `spec`. `prefix` names them for diff's two sides ("a-" gives --a-server, --a-server-ready...).
void add_server_options(CLI::App* sub, ServerSpec& spec, const std::string& prefix = "",
                        const std::string& which = "the application");

// "http://127.0.0.1:{port}" when `target` is empty, else `target`; then every {port} replaced.
std::string substitute_port(const std::string& text, int port);

class ServerInstance {
 public:
  // Starts an instance and waits until it is ready. `target_template` is the --target value
  // ("" for http://127.0.0.1:{port}). The error is one line ("server exited with status 1
  // before it was ready: node app.js", "server was not ready after 30 s: node app.js"),
  // followed by the server's last 20 lines of output, each indented by two spaces.
  static Result<ServerInstance> start(const ServerSpec& spec, const std::string& target_template);

  ServerInstance(ServerInstance&&) noexcept;
  ServerInstance& operator=(ServerInstance&&) noexcept;
  ~ServerInstance();  // stop()

  // The target URL with the instance's port, e.g. "http://127.0.0.1:41234".
  const std::string& target() const { return target_; }
  int port() const { return port_; }
  // The last `n` lines the server wrote (stdout and stderr), oldest first; still there after
  // stop(), with what the server wrote while stopping.
  std::vector<std::string> last_lines(size_t n) const;
  // Stops the whole process group (SIGTERM, SIGKILL after 3 s). Idempotent.
  void stop();

 private:
  ServerInstance() = default;

  std::shared_ptr<net::ChildProcess> child_;
  std::string target_;
  int port_ = 0;
};

// After SIGINT or SIGTERM (once a server was started): never returns, so that nothing but
// "workalready: interrupted" is printed while the servers are stopped and the process ends.
// Otherwise returns at once.
void wait_if_interrupted();

// The lines kept for a failed run's report and console.
inline constexpr size_t kServerOutputLines = 40;

// Prints "server output (last N lines):" and the lines, indented, on `to` (nothing when there
// are none).
void print_server_output(std::FILE* to, const std::vector<std::string>& lines,
                         const std::string& label = "server");

}  // namespace wa::cli
