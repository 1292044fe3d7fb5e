#include "cli/server_setup.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <regex>
#include <thread>

#include "net/child_process.h"
#include "net/loop.h"
#include "replay/http_client.h"

namespace wa::cli {
namespace {

using namespace std::chrono_literals;

constexpr auto kPollInterval = 75ms;  // between readiness probes
constexpr auto kStopGrace = 3000ms;   // SIGTERM → SIGKILL
constexpr size_t kKeepLines = 200;
constexpr size_t kStartFailureLines = 20;

// ---- Ctrl-C while a server runs ---------------------------------------------------------------
//
// SIGINT and SIGTERM are turned into a byte on a pipe by an async-signal-safe handler; a thread
// reading the pipe stops every live instance's process group, then ends workalready with
// 128 + the signal. Installed when the first instance starts, kept for the rest of the run.

std::mutex live_mutex;
std::vector<std::shared_ptr<net::ChildProcess>> live;
int signal_pipe[2] = {-1, -1};
// Set once SIGINT or SIGTERM came: the servers are being stopped and workalready ends soon.
std::atomic<bool> interrupting{false};

void on_signal(int signum) {
  int saved = errno;
  unsigned char byte = static_cast<unsigned char>(signum);
  ssize_t written = ::write(signal_pipe[1], &byte, 1);
  (void)written;
  errno = saved;
}

void watch_interrupts() {
  unsigned char signum = 0;
  while (true) {
    ssize_t n = ::read(signal_pipe[0], &signum, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR) continue;
    return;  // the pipe is gone: nothing to watch
  }
  interrupting = true;
  std::vector<std::shared_ptr<net::ChildProcess>> running;
  {
    std::lock_guard lock(live_mutex);
    running = live;
  }
  for (const auto& child : running)
    child->stop(kStopGrace);
  std::fflush(stdout);
  std::fputs("workalready: interrupted\n", stderr);
  std::fflush(stderr);
  ::_exit(signum == SIGINT ? 130 : 143);
}

void install_interrupt_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(signal_pipe, O_CLOEXEC) != 0) return;
    std::thread(watch_interrupts).detach();
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  });
}

void forget(const std::shared_ptr<net::ChildProcess>& child) {
  std::lock_guard lock(live_mutex);
  std::erase(live, child);
}

// ---- Ports and URLs ---------------------------------------------------------------------------

Result<int> pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Errc::setup, "cannot pick a free port: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  if (port == 0) return fail(Errc::setup, "cannot pick a free port on 127.0.0.1");
  return port;
}

bool is_http_url(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

// "http://host:port/app?x" -> "http://host:port/".
std::string root_of(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  return url.substr(0, end) + "/";
}

// Whether `url` answers at all (any status), within about a second.
bool answers(const std::string& url) {
  net::Loop loop;
  bool answered = false;
  {
    replay::HttpClientOptions options;
    options.connect_timeout_ms = 500;
    options.response_timeout_ms = 1000;
    options.insecure = true;  // our own server, on loopback: only whether it answers counts
    options.max_idle_per_origin = 0;
    replay::HttpClient client(loop, options);
    replay::HttpRequest request;
    request.url = url;
    replay::HttpCall call = client.send(request, [&](replay::ClientResult<replay::HttpResponse> r) {
      answered = r.ok();
      loop.stop();
    });
    loop.run();
  }
  (void)loop.close();
  return answered;
}

std::string indented(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines)
    out += "\n  " + line;
  return out;
}

}  // namespace

Result<void> ServerSpec::check() const {
  const std::string flag = "--" + prefix + "server";
  if (!given()) {
    if (!ready_url.empty()) return fail(Errc::setup, flag + "-ready needs " + flag);
    if (!ready_line.empty()) return fail(Errc::setup, flag + "-ready-line needs " + flag);
    return {};
  }
  if (!ready_url.empty() && !ready_line.empty())
    return fail(Errc::setup, flag + "-ready and " + flag + "-ready-line cannot be used together");
  if (!ready_url.empty() && !is_http_url(ready_url))
    return fail(Errc::setup, flag + "-ready " + ready_url + ": must be an http:// or https:// URL");
  if (!ready_line.empty()) {
    try {
      std::regex re(ready_line, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return fail(Errc::setup, flag + "-ready-line " + ready_line +
                                   ": not a valid regular expression (" + e.what() + ")");
    }
  }
  return {};
}

void add_server_options(CLI::App* sub, ServerSpec& spec, const std::string& prefix,
                        const std::string& which) {
  spec.prefix = prefix;
  const std::string flag = "--" + prefix + "server";
  sub->add_option(flag, spec.cmd,
                  "Start " + which +
                      " with this shell command for each run, on a free port given as {port} in "
                      "the command and as PORT in its environment; its process group is stopped "
                      "afterwards");
  sub->add_option(flag + "-ready", spec.ready_url,
                  "With " + flag +
                      ": ready when this URL (may hold {port}) answers, with any status "
                      "(default: the target's /)");
  sub->add_option(flag + "-ready-line", spec.ready_line,
                  "With " + flag +
                      ": ready when a line of the server's output matches this regular "
                      "expression (ECMAScript)");
  sub->add_option(flag + "-timeout", spec.timeout_s,
                  "With " + flag + ": seconds to wait for the server to be ready")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
}

std::string substitute_port(const std::string& text, int port) {
  std::string out = text.empty() ? std::string("http://127.0.0.1:{port}") : text;
  const std::string key = "{port}", value = std::to_string(port);
  for (size_t at = out.find(key); at != std::string::npos; at = out.find(key, at + value.size()))
    out.replace(at, key.size(), value);
  return out;
}

Result<ServerInstance> ServerInstance::start(const ServerSpec& spec,
                                             const std::string& target_template) {
  if (auto checked = spec.check(); !checked) return checked.error();
  install_interrupt_handler();
  auto port = pick_free_port();
  if (!port) return port.error();
  ServerInstance instance;
  instance.port_ = *port;
  instance.target_ = substitute_port(target_template, *port);
  const std::string who = spec.label.empty() ? "server" : spec.label;

  net::ChildOptions options;
  options.command = substitute_port(spec.cmd, *port);
  options.env = {{"PORT", std::to_string(*port)}};
  options.keep_lines = kKeepLines;
  if (!spec.ready_line.empty()) {
    auto re = std::make_shared<std::regex>(spec.ready_line, std::regex::ECMAScript);
    options.watch_line = [re](const std::string& line) { return std::regex_search(line, *re); };
  }
  auto started = net::ChildProcess::start(std::move(options));
  if (!started) return fail(Errc::setup, who + ": " + started.error().why + ": " + spec.cmd);
  instance.child_ = std::shared_ptr<net::ChildProcess>(std::move(*started));
  {
    std::lock_guard lock(live_mutex);
    live.push_back(instance.child_);
  }

  // Ready, or why not.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(spec.timeout_s);
  const std::string probe =
      spec.ready_url.empty() ? root_of(instance.target_) : substitute_port(spec.ready_url, *port);
  bool ready = false;
  if (!spec.ready_line.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    ready = instance.child_->wait_for_line(left) == net::ChildProcess::Wait::matched;
  } else {
    while (!instance.child_->exit_status()) {
      if (answers(probe)) {
        ready = true;
        break;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      (void)instance.child_->wait_exit(
          std::min(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                   std::chrono::milliseconds(kPollInterval)));
    }
  }
  if (ready) return instance;
  // Stopped by the interrupt, not failed: the interrupt's one line is all there is to say.
  wait_if_interrupted();

  std::optional<net::ChildExit> exited = instance.child_->exit_status();
  instance.stop();
  std::string why;
  if (exited) {
    why = who + " " + exited->describe() + " before it was ready: " + spec.cmd;
  } else {
    why = who + " was not ready after " + std::to_string(spec.timeout_s) + " s (" +
          (spec.ready_line.empty() ? probe + " did not answer"
                                   : "no line of its output matched " + spec.ready_line) +
          "): " + spec.cmd;
  }
  return fail(Errc::setup, why + indented(instance.last_lines(kStartFailureLines)));
}

ServerInstance::ServerInstance(ServerInstance&&) noexcept = default;

ServerInstance& ServerInstance::operator=(ServerInstance&& other) noexcept {
  if (this != &other) {
    stop();
    child_ = std::move(other.child_);
    target_ = std::move(other.target_);
    port_ = other.port_;
  }
  return *this;
}

ServerInstance::~ServerInstance() {
  stop();
}

std::vector<std::string> ServerInstance::last_lines(size_t n) const {
  if (!child_) return {};
  return child_->last_lines(n);
}

void ServerInstance::stop() {
  if (!child_) return;
  child_->stop(kStopGrace);
  forget(child_);
}

void wait_if_interrupted() {
  if (!interrupting) return;
  // The thread that watches for the signal ends the process once the servers are stopped.
  for (;;)
    std::this_thread::sleep_for(std::chrono::hours(1));
}

void print_server_output(std::FILE* to, const std::vector<std::string>& lines,
                         const std::string& label) {
  if (lines.empty()) return;
  std::fprintf(to, "%s output (last %zu line%s):\n", label.c_str(), lines.size(),
               lines.size() == 1 ? "" : "s");
  for (const std::string& line : lines)
    std::fprintf(to, "  %s\n", line.c_str());
  std::fflush(to);
}

}  // namespace wa::cli
