// What integration tests need to run real servers and clients on loopback: child processes
// whose output can be awaited, the test apps of tests/apps started on a free port, a blocking
// HTTP helper, and a TCP relay that records the raw bytes of every connection.
//
// Failures to set something up (a missing node_modules, an app that never prints its
// readiness line) throw std::runtime_error with a readable message: doctest reports the test
// case as failed with that message, so a missing feature never passes silently.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace wa::test {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// An absolute path inside the source tree (WA_SOURCE_DIR) or the build tree (WA_BINARY_DIR).
std::string repo_path(std::string_view relative);
std::string build_path(std::string_view relative);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). Prefer
// letting a server bind port 0 itself and report its port; this is for when it cannot.
int free_port();

// A listening TCP socket on 127.0.0.1 with a port the kernel chose, for the tests' own raw
// servers: its descriptor, and its port in `port`. Throws when it cannot listen.
int listen_loopback(int backlog, int& port);

// ---------------------------------------------------------------------------------------------
// Process: one child process with captured stdout and stderr.
//
// The child runs in its own process group, and gets SIGKILL if the thread that started it
// dies (PR_SET_PDEATHSIG), so a crashed or killed test leaves no server behind. The destructor
// stops it: SIGTERM to the group, SIGKILL after a grace period, then reaps it. Start processes
// from the test's own thread (the death signal follows the starting thread, not the process).
struct Env {
  std::string name;
  std::string value;
};

class Process {
 public:
  // argv[0] is looked up in PATH when it has no '/'. `env` adds to (or overrides) this
  // process's environment. Throws std::runtime_error when the program cannot be started.
  explicit Process(std::vector<std::string> argv, std::vector<Env> env = {}, std::string cwd = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // A short name for messages: the program and its first argument.
  const std::string& name() const { return name_; }

  // Waits for the next stdout line that `matches` (without its line end), looking only at lines
  // after the one the previous wait returned. nullopt on timeout or when the process closed its
  // stdout without printing such a line. The regex form uses std::regex_search; the prefix form
  // needs no regex (GCC 12 warns inside <regex> when a pattern is compiled under ASan).
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& matches,
                                           Millis timeout);
  std::optional<std::string> wait_for_line(const std::regex& pattern, Millis timeout) {
    return wait_for_line([&](const std::string& line) { return std::regex_search(line, pattern); },
                         timeout);
  }
  std::optional<std::string> wait_for_prefix(std::string_view prefix, Millis timeout);

  // Everything captured so far.
  std::string out() const;
  std::string err() const;
  // The last lines of stderr and stdout, for failure messages.
  std::string tail(size_t max_bytes = 2000) const;

  // Waits for the process to exit by itself. Returns its exit code (128 + signal number when a
  // signal ended it), or nullopt on timeout (the process keeps running).
  std::optional<int> wait_exit(Millis timeout);
  bool exited() const { return status_.has_value(); }

  // Sends `sig` to the whole process group.
  void signal(int sig);
  // SIGTERM, then SIGKILL after `grace`; reaps the child and joins the reader. Returns the
  // exit status as wait_exit does. Idempotent.
  int stop(Millis grace = 3000ms);

 private:
  void read_output();
  bool poll_exit();

  std::string name_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int wake_fd_[2] = {-1, -1};  // a self-pipe that ends the reader thread early
  std::optional<int> status_;
  std::thread reader_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string out_;
  std::string err_;
  bool out_closed_ = false;
  size_t next_line_ = 0;  // byte offset in out_ of the first line the next wait looks at
};

// ---------------------------------------------------------------------------------------------
// App: one of the test apps of tests/apps, started on a free port.
enum class AppKind {
  express_v4,  // tests/apps/express_v4/app.js: Express + Socket.IO 4.8 (Engine.IO v4)
  express_v2,  // tests/apps/express_v2/app.js: Express + Socket.IO 2.5.1 (Engine.IO v3)
  flask,       // tests/apps/flask/app.py: Flask-SocketIO 5 on eventlet (Engine.IO v4)
  sio09,       // tests/apps/sio09/app.js: Express + Socket.IO 0.9.19
};

const char* app_name(AppKind kind);

struct AppOptions {
  AppKind kind = AppKind::express_v4;
  std::string auth = "cookie";   // cookie | token | query (express_v2, sio09: cookie | query)
  std::string variant = "none";  // none | payload | status | noevent | extraevent | noise
  std::string tls_cert{};        // both set: serve HTTPS
  std::string tls_key{};
  int port = 0;  // 0: the app picks a free port
};

class App {
 public:
  // Starts the app and waits (up to `timeout`) for its `LISTENING <port>` line. Throws
  // std::runtime_error with the app's output when it does not come, and when the npm packages
  // are not installed (node_modules missing: run `npm ci` at the repository root).
  explicit App(AppOptions options, Millis timeout = 60000ms);

  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert.empty(); }
  // "http://127.0.0.1:PORT" (https with TLS).
  std::string origin() const;
  const AppOptions& options() const { return options_; }
  Process& process() { return *process_; }

  // Stops the app (SIGTERM) and starts a fresh process of it on the same port, as a server
  // restarted between recording and replay is.
  void restart(Millis timeout = 60000ms);
  void stop();

 private:
  void start(Millis timeout);

  AppOptions options_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

// Throws std::runtime_error unless the npm packages the Node apps and clients need are there.
void require_node_modules();

// tests/integration/echo_app.js serving on a free port (HTTP, and a WebSocket echo on /ws).
class EchoApp {
 public:
  EchoApp();
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A scripted Socket.IO user: tests/apps/clients/chat_client.js run to completion.
struct ClientRun {
  int exit_code = -1;  // 0 done, 1 failed, 3 refused; -1 timed out (the client was killed)
  std::vector<nlohmann::json> lines;  // one object per stdout line
  std::string out;
  std::string err;
};

// `args` are the script's options (e.g. {"--url", app.origin(), "--flavor", "v2"}).
ClientRun run_chat_client(const std::vector<std::string>& args, Millis timeout = 90000ms);

// ---------------------------------------------------------------------------------------------
// A blocking HTTP/1.1 request to 127.0.0.1 (plain TCP, `Connection: close`), for setting up
// and checking state. Not the codec under test: it only splits the head, and undoes chunked
// encoding and Content-Length framing the simple way.
struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpResponse {
  int status = 0;
  std::vector<HttpHeader> headers;
  std::string body;
  // The first header with this name (ASCII case-insensitive), or "".
  std::string header(std::string_view name) const;
  // Every Set-Cookie value.
  std::vector<std::string> set_cookies() const;
};

HttpResponse http_request(int port, std::string_view method, std::string_view target,
                          const std::vector<HttpHeader>& headers = {}, std::string_view body = {},
                          Millis timeout = 10000ms);

// ---------------------------------------------------------------------------------------------
// RawClient: a blocking client connection to 127.0.0.1 that the test controls byte by byte, for
// requests no HTTP client would send. Throws std::runtime_error when it cannot connect.
class RawClient {
 public:
  explicit RawClient(int port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // False once the peer has closed (or reset) the connection.
  bool send(std::string_view bytes);
  // Reads what arrives within `timeout`; stops early at `until` (when given) or at the end of
  // the stream. Everything read is appended to received().
  void read(Millis timeout, std::string_view until = {});
  void read_until_closed(Millis timeout) { read(timeout); }

  bool closed() const { return closed_; }
  const std::string& received() const { return received_; }
  // Forgets what was received so far (to read the next response on the same connection).
  void clear() { received_.clear(); }
  int fd() const { return fd_; }
  // Closes with a TCP reset instead of a FIN.
  void reset();

 private:
  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

// The status code of a raw "HTTP/1.1 NNN ..." response (0 when it is not one), and what follows
// its head.
int status_of(const std::string& response);
std::string body_of(const std::string& response);

// ---------------------------------------------------------------------------------------------
// TcpTap: a loopback TCP relay that records what passes.
//
// Listens on 127.0.0.1 (a free port), connects each accepted client to the target, forwards
// both ways from one poll() thread with bounded buffers, and records every chunk it relays,
// in order, with the connection and direction. Half-closes are forwarded. Tests then feed the
// recorded bytes to the codecs: real wire bytes, exactly as the peers wrote them.
enum class Direction { client_to_server, server_to_client };

struct TapChunk {
  uint64_t seq;       // order of arrival across all connections
  size_t connection;  // index into TcpTap::connections()
  Direction direction;
  std::string bytes;
};

struct TapConnection {
  size_t index = 0;
  std::string client_to_server;  // every byte the client sent, concatenated
  std::string server_to_client;  // every byte the server sent
  bool closed = false;           // both sides are done and the sockets are closed
  std::string error;             // e.g. the target refused the connection
};

class TcpTap {
 public:
  // Throws std::runtime_error when it cannot listen.
  explicit TcpTap(int target_port);
  ~TcpTap();
  TcpTap(const TcpTap&) = delete;
  TcpTap& operator=(const TcpTap&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" of the tap.
  std::string origin() const;

  // Snapshots (copies) of what has been recorded so far.
  std::vector<TapConnection> connections() const;
  std::vector<TapChunk> chunks() const;

  // Waits until every accepted connection has closed; false on timeout.
  bool wait_all_closed(Millis timeout);
  // Stops relaying: closes the listener and every connection, joins the thread. Idempotent.
  void stop();

 private:
  struct Link;
  void run();

  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<TapConnection> connections_;
  std::vector<TapChunk> chunks_;
  uint64_t next_seq_ = 0;
  bool stopped_ = false;
};

// Splits text into lines and parses each non-empty one as JSON (invalid lines are skipped).
std::vector<nlohmann::json> json_lines(std::string_view text);

}  // namespace wa::test
