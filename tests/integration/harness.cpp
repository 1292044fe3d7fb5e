// Child processes, the test apps, a blocking HTTP helper and the recording TCP relay: see
// harness.h. Everything here is POSIX (Linux: prctl for the parent-death signal).
#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace wa::test {
namespace {

std::runtime_error error(const std::string& what) {
  return std::runtime_error(what);
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// A program name without '/' is looked up in PATH, before fork(), so the child only execs.
std::string resolve_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw error("cannot find " + program + " in PATH");
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string repo_path(std::string_view relative) {
  return std::string(WA_SOURCE_DIR) + "/" + std::string(relative);
}

std::string build_path(std::string_view relative) {
  return std::string(WA_BINARY_DIR) + "/" + std::string(relative);
}

int listen_loopback(int backlog, int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw error(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = errno_text("listen");
    ::close(fd);
    throw error(why);
  }
  port = ntohs(addr.sin_port);
  return fd;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw error(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = errno_text("bind");
    ::close(fd);
    throw error(why);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---------------------------------------------------------------------------------------------
// Process

Process::Process(std::vector<std::string> argv, std::vector<Env> env, std::string cwd) {
  if (argv.empty()) throw error("Process: empty argv");
  name_ = argv[0].substr(argv[0].rfind('/') + 1);
  if (argv.size() > 1) name_ += " " + argv[1].substr(argv[1].rfind('/') + 1);

  // Everything the child needs is built before fork(): after it, only async-signal-safe calls.
  std::string program = resolve_program(argv[0]);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    std::string_view key = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& add : env)
      overridden = overridden || add.name == key;
    if (!overridden) env_strings.emplace_back(entry);
  }
  for (const auto& add : env)
    env_strings.push_back(add.name + "=" + add.value);
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw error(errno_text("pipe"));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw error(errno_text("pipe"));
  // Closed by a successful exec; otherwise the child writes its errno into it.
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) throw error(errno_text("pipe"));
  if (::pipe2(wake_fd_, O_CLOEXEC) != 0) throw error(errno_text("pipe"));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) {
    std::string why = errno_text("fork");
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1],
                   null_fd}) {
      if (fd >= 0) ::close(fd);
    }
    close_fd(wake_fd_[0]);
    close_fd(wake_fd_[1]);
    throw error(why);
  }
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(null_fd, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(exec_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    ::execve(program.c_str(), args.data(), envp.data());
    int e = errno;
    (void)!::write(exec_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // also from here, so kill(-pid) works whichever runs first
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(exec_pipe[1]);
  if (null_fd >= 0) ::close(null_fd);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];

  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = exit_code_of(status);
    close_fd(out_fd_);
    close_fd(err_fd_);
    close_fd(wake_fd_[0]);
    close_fd(wake_fd_[1]);
    throw error("cannot start " + program + ": " + std::strerror(child_errno));
  }
  reader_ = std::thread([this] { read_output(); });
}

Process::~Process() {
  try {
    stop();
  } catch (...) {
  }
  close_fd(wake_fd_[0]);
  close_fd(wake_fd_[1]);
}

void Process::read_output() {
  char buf[16384];
  int out = out_fd_, err = err_fd_;
  while (out >= 0 || err >= 0) {
    pollfd fds[3] = {{out, POLLIN, 0}, {err, POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents) break;
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      int& fd = i == 0 ? out : err;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard lock(mutex_);
      if (n > 0) {
        (i == 0 ? out_ : err_).append(buf, size_t(n));
      } else {
        ::close(fd);
        fd = -1;
      }
      changed_.notify_all();
    }
  }
  if (out >= 0) ::close(out);
  if (err >= 0) ::close(err);
  std::lock_guard lock(mutex_);
  out_closed_ = true;
  out_fd_ = err_fd_ = -1;
  changed_.notify_all();
}

std::optional<std::string> Process::wait_for_line(
    const std::function<bool(const std::string&)>& matches, Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    for (size_t start = next_line_; start < out_.size();) {
      size_t end = out_.find('\n', start);
      if (end == std::string::npos && !out_closed_) break;  // a line still being written
      if (end == std::string::npos) end = out_.size();
      std::string line = out_.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (matches(line)) {
        next_line_ = end + 1;
        return line;
      }
      start = end + 1;
    }
    if (out_closed_ || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    changed_.wait_until(lock, deadline);
  }
}

std::optional<std::string> Process::wait_for_prefix(std::string_view prefix, Millis timeout) {
  return wait_for_line([&](const std::string& line) { return line.starts_with(prefix); }, timeout);
}

std::string Process::out() const {
  std::lock_guard lock(mutex_);
  return out_;
}

std::string Process::err() const {
  std::lock_guard lock(mutex_);
  return err_;
}

std::string Process::tail(size_t max_bytes) const {
  std::lock_guard lock(mutex_);
  auto last = [&](const std::string& s) {
    return s.size() <= max_bytes ? s : "…" + s.substr(s.size() - max_bytes);
  };
  std::string text =
      "[" + name_ + " stdout]\n" + last(out_) + "\n[" + name_ + " stderr]\n" + last(err_);
  if (status_) text += "\n[exit " + std::to_string(*status_) + "]";
  return text;
}

// Reaps the child if it has exited. The group's leftovers (anything the child started) are
// killed while the leader is still a zombie, so its pid cannot have been reused yet.
bool Process::poll_exit() {
  if (status_) return true;
  siginfo_t info{};
  if (::waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  if (info.si_pid == 0) return false;
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mutex_);
  status_ = exit_code_of(status);
  changed_.notify_all();
  return true;
}

std::optional<int> Process::wait_exit(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // A child exit is not an event a condition variable sees; a short poll is the simple way
  // and costs nothing next to process start-up times.
  while (!poll_exit()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  return status_;
}

void Process::signal(int sig) {
  if (!status_) ::kill(-pid_, sig);
}

int Process::stop(Millis grace) {
  if (pid_ > 0 && !status_) {
    ::kill(-pid_, SIGTERM);
    if (!wait_exit(grace)) {
      ::kill(-pid_, SIGKILL);
      wait_exit(Millis(10000));
    }
  }
  if (reader_.joinable()) {
    {
      // The pipes reach EOF once the group is gone; wait briefly so no output is lost, then
      // stop the reader anyway (a detached grandchild could hold a pipe open).
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, 2000ms, [this] { return out_closed_; });
    }
    if (wake_fd_[1] >= 0) (void)!::write(wake_fd_[1], "x", 1);
    reader_.join();
  }
  return status_.value_or(-1);
}

// ---------------------------------------------------------------------------------------------
// App

const char* app_name(AppKind kind) {
  switch (kind) {
    case AppKind::express_v4:
      return "express_v4";
    case AppKind::express_v2:
      return "express_v2";
    case AppKind::flask:
      return "flask";
    case AppKind::sio09:
      return "sio09";
  }
  return "?";
}

EchoApp::EchoApp() {
  require_node_modules();
  process_ = std::make_unique<Process>(
      std::vector<std::string>{"node", repo_path("tests/integration/echo_app.js"), "serve"});
  auto line = process_->wait_for_prefix("LISTENING ", 60s);
  if (!line) throw std::runtime_error("echo_app.js did not start\n" + process_->tail());
  port_ = std::stoi(line->substr(10));
}

void require_node_modules() {
  static const char* const packages[] = {
      "compression",          "express",
      "express-session",      "graphql",
      "graphql-ws",           "socket.io",
      "socket.io-v2",         "socket.io-v09",
      "socket.io-client",     "socket.io-client-v2",
      "socket.io-client-v09", "ws",
  };
  std::string missing;
  for (const char* package : packages) {
    if (!file_exists(repo_path(std::string("node_modules/") + package + "/package.json"))) {
      missing += std::string(missing.empty() ? "" : ", ") + package;
    }
  }
  if (!missing.empty()) {
    throw error("npm packages missing in " + repo_path("node_modules") + " (" + missing +
                "): run `npm ci` in " + std::string(WA_SOURCE_DIR));
  }
}

App::App(AppOptions options, Millis timeout) : options_(std::move(options)) {
  port_ = options_.port;
  start(timeout);
}

std::string App::origin() const {
  return std::string(tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

void App::start(Millis timeout) {
  std::vector<std::string> argv;
  if (options_.kind == AppKind::flask) {
    // Debian's interpreter: the python3 first on PATH may be another one without Debian's
    // python3-flask-socketio.
    argv = {"/usr/bin/python3", repo_path("tests/apps/flask/app.py")};
  } else {
    require_node_modules();
    argv = {"node", repo_path(std::string("tests/apps/") + app_name(options_.kind) + "/app.js")};
  }
  argv.insert(argv.end(), {"--port", std::to_string(port_), "--auth", options_.auth, "--variant",
                           options_.variant});
  if (tls())
    argv.insert(argv.end(), {"--tls-cert", options_.tls_cert, "--tls-key", options_.tls_key});
  process_ = std::make_unique<Process>(argv);
  auto ready = [](const std::string& line) {
    return line.size() > 10 && line.starts_with("LISTENING ") &&
           line.find_first_not_of("0123456789", 10) == std::string::npos;
  };
  auto line = process_->wait_for_line(ready, timeout);
  if (!line) {
    process_->stop();
    throw error(std::string("the ") + app_name(options_.kind) +
                " app did not print `LISTENING <port>`\n" + process_->tail());
  }
  port_ = std::stoi(line->substr(std::strlen("LISTENING ")));
}

void App::restart(Millis timeout) {
  stop();
  start(timeout);
}

void App::stop() {
  if (process_) process_->stop();
}

ClientRun run_chat_client(const std::vector<std::string>& args, Millis timeout) {
  require_node_modules();
  std::vector<std::string> argv = {"node", repo_path("tests/apps/clients/chat_client.js")};
  argv.insert(argv.end(), args.begin(), args.end());
  Process client(argv);
  ClientRun run;
  auto code = client.wait_exit(timeout);
  client.stop();
  run.exit_code = code.value_or(-1);
  run.out = client.out();
  run.err = client.err();
  run.lines = json_lines(run.out);
  return run;
}

std::vector<nlohmann::json> json_lines(std::string_view text) {
  std::vector<nlohmann::json> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.empty()) continue;
    auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) lines.push_back(std::move(parsed));
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// http_request

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

std::vector<std::string> HttpResponse::set_cookies() const {
  std::vector<std::string> values;
  for (const auto& h : headers) {
    if (iequals(h.name, "set-cookie")) values.push_back(h.value);
  }
  return values;
}

namespace {

// Connects to 127.0.0.1:port with send/receive timeouts set; throws on failure.
int connect_loopback(int port, Millis timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw error(errno_text("socket"));
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::string why = errno_text(("connect to port " + std::to_string(port)).c_str());
    ::close(fd);
    throw error(why);
  }
  return fd;
}

std::string dechunk(std::string_view body) {
  std::string out;
  while (!body.empty()) {
    size_t line_end = body.find("\r\n");
    if (line_end == std::string_view::npos) break;
    size_t size = std::strtoul(std::string(body.substr(0, line_end)).c_str(), nullptr, 16);
    body.remove_prefix(line_end + 2);
    if (size == 0 || size > body.size()) break;
    out.append(body.substr(0, size));
    body.remove_prefix(std::min(body.size(), size + 2));
  }
  return out;
}

}  // namespace

RawClient::RawClient(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw error(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::string why = errno_text("connect");
    ::close(fd_);
    throw error(why);
  }
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

void RawClient::read(Millis timeout, std::string_view until) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (!closed_) {
    if (!until.empty() && received_.find(until) != std::string::npos) return;
    auto left =
        std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, int(left)) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      return;
    }
    received_.append(buf, size_t(n));
  }
}

void RawClient::reset() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd_);
  fd_ = -1;
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

std::string body_of(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

HttpResponse http_request(int port, std::string_view method, std::string_view target,
                          const std::vector<HttpHeader>& headers, std::string_view body,
                          Millis timeout) {
  int fd = connect_loopback(port, timeout);
  std::string request = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
  request += "Host: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n";
  for (const auto& h : headers)
    request += h.name + ": " + h.value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = errno_text("send");
      ::close(fd);
      throw error(why);
    }
    sent += size_t(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = errno_text("recv");
      ::close(fd);
      throw error(why);
    }
    if (n == 0) break;
    raw.append(buf, size_t(n));
  }
  ::close(fd);

  HttpResponse response;
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) {
    throw error("not an HTTP response: " + raw.substr(0, 200));
  }
  std::string_view head(raw.data(), head_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  size_t space = status_line.find(' ');
  if (space != std::string_view::npos) {
    response.status = std::atoi(std::string(status_line.substr(space + 1, 3)).c_str());
  }
  head = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
  while (!head.empty()) {
    size_t end = head.find("\r\n");
    std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view{} : head.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
      value.remove_suffix(1);
    response.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  std::string_view rest = std::string_view(raw).substr(head_end + 4);
  if (response.header("transfer-encoding").find("chunked") != std::string::npos) {
    response.body = dechunk(rest);
  } else if (std::string length = response.header("content-length"); !length.empty()) {
    response.body = std::string(rest.substr(0, std::strtoul(length.c_str(), nullptr, 10)));
  } else {
    response.body = std::string(rest);
  }
  return response;
}

// ---------------------------------------------------------------------------------------------
// TcpTap

namespace {

// Reading stops on a side whose bytes the other side has not taken yet beyond this, so a slow
// peer makes the tap slow instead of making it grow.
constexpr size_t kMaxPending = 1 << 20;

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

// One relayed connection: `from[d]` is read and its bytes are written to `to[d]`.
struct TcpTap::Link {
  struct Way {
    int from = -1;
    int to = -1;
    std::string pending;  // read but not yet written
    size_t written = 0;   // bytes of `pending` already written
    bool eof = false;     // `from` sent its FIN
    bool shut = false;    // the FIN has been passed on to `to`
  };
  size_t index = 0;
  int client = -1;
  int server = -1;
  Way ways[2];  // [0] client to server, [1] server to client
  bool dead = false;
};

TcpTap::TcpTap(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw error(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = errno_text("tap listen");
    close_fd(listen_fd_);
    throw error(why);
  }
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_fd_, O_CLOEXEC | O_NONBLOCK) != 0) {
    close_fd(listen_fd_);
    throw error(errno_text("pipe"));
  }
  thread_ = std::thread([this] { run(); });
}

TcpTap::~TcpTap() {
  stop();
  close_fd(wake_fd_[0]);
  close_fd(wake_fd_[1]);
}

std::string TcpTap::origin() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::vector<TapConnection> TcpTap::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

std::vector<TapChunk> TcpTap::chunks() const {
  std::lock_guard lock(mutex_);
  return chunks_;
}

bool TcpTap::wait_all_closed(Millis timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] {
    for (const auto& c : connections_) {
      if (!c.closed) return false;
    }
    return true;
  });
}

void TcpTap::stop() {
  if (thread_.joinable()) {
    (void)!::write(wake_fd_[1], "x", 1);
    thread_.join();
  }
  close_fd(listen_fd_);
}

void TcpTap::run() {
  std::vector<std::unique_ptr<Link>> links;
  char buf[65536];

  auto finish = [&](Link& link, const std::string& why) {
    if (link.dead) return;
    link.dead = true;
    close_fd(link.client);
    close_fd(link.server);
    std::lock_guard lock(mutex_);
    connections_[link.index].closed = true;
    if (!why.empty() && connections_[link.index].error.empty()) {
      connections_[link.index].error = why;
    }
    changed_.notify_all();
  };

  // Writes what is pending on one way; passes the FIN on once everything is written.
  auto flush = [&](Link& link, Link::Way& way) {
    while (way.written < way.pending.size()) {
      ssize_t n = ::send(way.to, way.pending.data() + way.written, way.pending.size() - way.written,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0) return finish(link, errno_text("send"));
      way.written += size_t(n);
    }
    way.pending.clear();
    way.written = 0;
    if (way.eof && !way.shut) {
      ::shutdown(way.to, SHUT_WR);
      way.shut = true;
    }
    if (link.ways[0].shut && link.ways[1].shut) finish(link, {});
  };

  auto accept_one = [&] {
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) return;
    auto link = std::make_unique<Link>();
    link->client = client;
    {
      std::lock_guard lock(mutex_);
      link->index = connections_.size();
      connections_.push_back(TapConnection{});
      connections_.back().index = link->index;
    }
    // A blocking connect: the target is on loopback, so it is answered at once.
    link->server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(uint16_t(target_port_));
    if (link->server < 0 ||
        ::connect(link->server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      finish(*link, errno_text("connect to the target"));
      return;
    }
    set_nonblocking(link->server);
    link->ways[0].from = link->client;
    link->ways[0].to = link->server;
    link->ways[1].from = link->server;
    link->ways[1].to = link->client;
    links.push_back(std::move(link));
  };

  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::pair<Link*, int>> owners;  // per fd after the first two: link, way read
    fds.push_back({wake_fd_[0], POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (auto& link : links) {
      for (int w = 0; w < 2; ++w) {
        Link::Way& way = link->ways[w];
        Link::Way& back = link->ways[1 - w];
        short events = 0;
        if (!way.eof && way.pending.size() < kMaxPending) events |= POLLIN;
        if (!back.pending.empty()) events |= POLLOUT;  // `from` of this way is `to` of the other
        // Nothing more to read and nothing to write: leave the socket out, or a hung-up
        // socket would wake poll() at once, again and again.
        int fd = events == 0 && way.eof ? -1 : way.from;
        fds.push_back({fd, events, 0});
        owners.emplace_back(link.get(), w);
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) accept_one();
    for (size_t i = 2; i < fds.size(); ++i) {
      auto [link, w] = owners[i - 2];
      if (link->dead || !fds[i].revents) continue;
      Link::Way& way = link->ways[w];
      if (fds[i].revents & POLLOUT) flush(*link, link->ways[1 - w]);
      if (link->dead) continue;
      if (!way.eof && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::recv(way.from, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n < 0) {
          // A reset: what was read before it is kept; the other side gets its FIN.
          way.eof = true;
          link->ways[1 - w].eof = true;
          std::string why = errno_text("recv");
          flush(*link, way);
          if (!link->dead) finish(*link, why);
          continue;
        }
        if (n == 0) {
          way.eof = true;
        } else {
          std::lock_guard lock(mutex_);
          TapConnection& c = connections_[link->index];
          auto direction = w == 0 ? Direction::client_to_server : Direction::server_to_client;
          (w == 0 ? c.client_to_server : c.server_to_client).append(buf, size_t(n));
          chunks_.push_back({next_seq_++, link->index, direction, std::string(buf, size_t(n))});
          way.pending.append(buf, size_t(n));
          changed_.notify_all();
        }
        flush(*link, way);
      }
    }
    std::erase_if(links, [](const auto& link) { return link->dead; });
  }
  for (auto& link : links)
    finish(*link, {});
  std::lock_guard lock(mutex_);
  stopped_ = true;
  changed_.notify_all();
}

}  // namespace wa::test
