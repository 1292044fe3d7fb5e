#include "net/child_process.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <uv.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "net/loop.h"

extern char** environ;

namespace wa::net {

namespace {

constexpr uint64_t kGroupPollMs = 20;  // how often a stopping group is looked at
constexpr uint64_t kSettleMs = 200;    // output still read after the leader exited

// Orphaned members of the group come to us, to be reaped (see the header).
void become_subreaper() {
  static const bool done = [] {
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    return true;
  }();
  (void)done;
}

bool group_alive(pid_t pgid) {
  return ::kill(-pgid, 0) == 0 || errno == EPERM;
}

}  // namespace

std::string ChildExit::describe() const {
  if (signal != 0)
    return "was killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exited with status " + std::to_string(code);
}

// Everything the loop thread touches. Handles are members: they are freed with the State, after
// the thread has ended and every close callback has run.
struct ChildProcess::State {
  ChildOptions options;
  std::unique_ptr<Loop> loop;
  uv_process_t process{};
  uv_pipe_t pipes[2]{};
  uv_async_t wake{};
  uv_timer_t grace_timer{};
  uv_timer_t poll_timer{};
  uv_timer_t settle_timer{};
  std::string partial[2];
  bool eof[2] = {false, false};
  bool leader_exited = false;
  bool stopping = false;
  bool finished = false;
  ChildExit exit;

  // Shared with other threads.
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::string> lines;
  bool matched = false;
  std::optional<ChildExit> published_exit;
  bool stop_requested = false;
  uint64_t grace_ms = 3000;
  bool done = false;

  void add_line(std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    bool match = !matched_seen && options.watch_line && options.watch_line(line);
    std::lock_guard lock(mutex);
    lines.push_back(std::move(line));
    while (lines.size() > options.keep_lines)
      lines.pop_front();
    if (match) {
      matched_seen = true;
      matched = true;
      changed.notify_all();
    }
  }
  bool matched_seen = false;  // loop thread's copy of `matched`

  void on_data(int which, const char* data, size_t size) {
    std::string& buf = partial[which];
    for (size_t i = 0; i < size; ++i) {
      if (data[i] == '\n') {
        add_line(std::move(buf));
        buf.clear();
      } else {
        buf.push_back(data[i]);
        if (buf.size() >= options.max_line_bytes) {
          add_line(std::move(buf));
          buf.clear();
        }
      }
    }
  }

  void on_eof(int which) {
    if (eof[which]) return;
    eof[which] = true;
    if (!partial[which].empty()) add_line(std::move(partial[which]));
    partial[which].clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&pipes[which]), nullptr);
    maybe_publish_exit();
  }

  void maybe_publish_exit() {
    if (!leader_exited) return;
    std::lock_guard lock(mutex);
    if (published_exit) return;
    published_exit = exit;
    changed.notify_all();
  }

  void begin_stop() {
    if (stopping) return;
    stopping = true;
    uint64_t grace;
    {
      std::lock_guard lock(mutex);
      grace = grace_ms;
    }
    (void)::kill(-process.pid, SIGTERM);
    uv_timer_start(&grace_timer, on_grace, grace, 0);
    uv_timer_start(&poll_timer, on_poll, 0, kGroupPollMs);
  }

  // Reaps the group's members that were re-parented to us. Only once the leader is reaped by
  // libuv: waiting on the group before would take the leader's status from under it.
  void reap_orphans() const {
    if (!leader_exited) return;
    while (::waitpid(-process.pid, nullptr, WNOHANG) > 0) {
    }
  }

  void finish() {
    if (finished) return;
    finished = true;
    for (int i = 0; i < 2; ++i)
      if (!eof[i]) on_eof(i);
    maybe_publish_exit();
    for (uv_handle_t* h :
         {reinterpret_cast<uv_handle_t*>(&wake), reinterpret_cast<uv_handle_t*>(&grace_timer),
          reinterpret_cast<uv_handle_t*>(&poll_timer),
          reinterpret_cast<uv_handle_t*>(&settle_timer), reinterpret_cast<uv_handle_t*>(&process)})
      if (!uv_is_closing(h)) uv_close(h, nullptr);
  }

  static State* of(void* data) { return static_cast<State*>(data); }

  static void on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    Loop& loop = *of(handle->data)->loop;
    *buf = uv_buf_init(loop.read_buffer(), Loop::kReadBufferSize);
  }
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    State* self = of(stream->data);
    int which = stream == reinterpret_cast<uv_stream_t*>(&self->pipes[0]) ? 0 : 1;
    if (nread > 0) {
      self->on_data(which, buf->base, size_t(nread));
    } else if (nread < 0) {
      self->on_eof(which);
    }
  }
  static void on_exit(uv_process_t* process, int64_t status, int term_signal) {
    State* self = of(process->data);
    self->leader_exited = true;
    self->exit.signal = term_signal;
    self->exit.code = term_signal != 0 ? 128 + term_signal : int(status);
    if (self->eof[0] && self->eof[1]) {
      self->maybe_publish_exit();
    } else {
      uv_timer_start(&self->settle_timer, on_settle, kSettleMs, 0);
    }
  }
  static void on_settle(uv_timer_t* timer) { of(timer->data)->maybe_publish_exit(); }
  static void on_wake(uv_async_t* async) {
    State* self = of(async->data);
    bool stop;
    {
      std::lock_guard lock(self->mutex);
      stop = self->stop_requested;
    }
    if (stop) self->begin_stop();
  }
  static void on_grace(uv_timer_t* timer) {
    State* self = of(timer->data);
    if (group_alive(self->process.pid)) (void)::kill(-self->process.pid, SIGKILL);
  }
  static void on_poll(uv_timer_t* timer) {
    State* self = of(timer->data);
    self->reap_orphans();
    if (self->leader_exited && !group_alive(self->process.pid)) self->finish();
  }
};

Outcome<std::unique_ptr<ChildProcess>> ChildProcess::start(ChildOptions options) {
  become_subreaper();
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->state_ = std::make_unique<State>();
  State& s = *child->state_;
  s.options = std::move(options);
  if (s.options.keep_lines == 0) s.options.keep_lines = 1;
  if (s.options.max_line_bytes == 0) s.options.max_line_bytes = 4096;
  s.loop = std::make_unique<Loop>();
  uv_loop_t* loop = s.loop->uv();

  // The environment: ours, with the given names replaced or added.
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [n, v] : s.options.env)
      if (n == name) replaced = true;
    if (!replaced) env.push_back(std::move(entry));
  }
  for (const auto& [n, v] : s.options.env)
    env.push_back(n + "=" + v);
  std::vector<char*> envp;
  for (std::string& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  std::string shell = "/bin/sh", dash_c = "-c";
  char* args[] = {shell.data(), dash_c.data(), s.options.command.data(), nullptr};

  for (uv_pipe_t& p : s.pipes) {
    uv_pipe_init(loop, &p, 0);
    p.data = &s;
  }
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;  // libuv opens /dev/null for an ignored 0, 1 or 2
  stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&s.pipes[0]);
  stdio[2].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
  stdio[2].data.stream = reinterpret_cast<uv_stream_t*>(&s.pipes[1]);

  uv_process_options_t po{};
  po.exit_cb = State::on_exit;
  po.file = shell.c_str();
  po.args = args;
  po.env = envp.data();
  po.flags = UV_PROCESS_DETACHED;  // setsid(): its own session and process group
  po.stdio_count = 3;
  po.stdio = stdio;
  s.process.data = &s;
  if (int rc = uv_spawn(loop, &s.process, &po); rc != 0) {
    for (uv_pipe_t& p : s.pipes)
      uv_close(reinterpret_cast<uv_handle_t*>(&p), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&s.process), nullptr);
    s.loop->run();
    (void)s.loop->close();
    return uv_error(ErrorKind::setup, rc, "cannot start /bin/sh");
  }
  child->pid_ = s.process.pid;
  for (uv_pipe_t& p : s.pipes)
    uv_read_start(reinterpret_cast<uv_stream_t*>(&p), State::on_alloc, State::on_read);
  uv_async_init(loop, &s.wake, State::on_wake);
  s.wake.data = &s;
  for (uv_timer_t* t : {&s.grace_timer, &s.poll_timer, &s.settle_timer}) {
    uv_timer_init(loop, t);
    t->data = &s;
  }
  child->thread_ = std::thread([state = child->state_.get()] {
    state->loop->run();
    (void)state->loop->close();
    std::lock_guard lock(state->mutex);
    state->done = true;
    state->changed.notify_all();
  });
  return child;
}

ChildProcess::~ChildProcess() {
  if (state_) stop();
}

std::optional<ChildExit> ChildProcess::exit_status() const {
  std::lock_guard lock(state_->mutex);
  return state_->published_exit;
}

ChildProcess::Wait ChildProcess::wait_for_line(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait_for(lock, timeout,
                           [&] { return state_->matched || state_->published_exit.has_value(); });
  if (state_->matched) return Wait::matched;
  if (state_->published_exit) return Wait::exited;
  return Wait::timeout;
}

std::optional<ChildExit> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait_for(lock, timeout, [&] { return state_->published_exit.has_value(); });
  return state_->published_exit;
}

std::vector<std::string> ChildProcess::last_lines(size_t n) const {
  std::lock_guard lock(state_->mutex);
  const auto& lines = state_->lines;
  size_t from = lines.size() > n ? lines.size() - n : 0;
  return {lines.begin() + std::ptrdiff_t(from), lines.end()};
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(state_->mutex);
    if (!state_->stop_requested) {
      state_->stop_requested = true;
      state_->grace_ms = uint64_t(grace.count());
      if (!state_->done) uv_async_send(&state_->wake);
    }
    state_->changed.wait(lock, [&] { return state_->done; });
  }
  std::lock_guard join(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

}  // namespace wa::net
