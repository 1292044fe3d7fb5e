#include "net/loop.h"

#include <cassert>
#include <csignal>
#include <cstdlib>

namespace wa::net {

void Deferred::schedule(Loop& loop) {
  if (scheduled()) return;
  loop.enqueue(this);
}

void Deferred::cancel() {
  unlink();
}

void Deferred::unlink() {
  if (next_ == nullptr) return;
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

Loop::Loop() : read_buffer_(new char[kReadBufferSize]) {
  // A write to a socket the peer has reset raises SIGPIPE, whose default action kills the
  // process; libuv writes with write(2)/writev(2), which have no MSG_NOSIGNAL, so the signal is
  // ignored process-wide and the write fails with EPIPE instead, reported on that stream.
  std::signal(SIGPIPE, SIG_IGN);
  // uv_loop_init fails only when the process is out of file descriptors or memory; nothing
  // useful can run then.
  if (uv_loop_init(&loop_) != 0) std::abort();
  uv_idle_init(&loop_, &idle_);
  idle_.data = this;
  queue_.prev_ = queue_.next_ = &queue_;
}

Loop::~Loop() {
  if (!closed_ && close() != 0) {
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void*) {
          if (!uv_is_closing(handle)) uv_close(handle, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }
  // Tasks still queued belong to objects that leaked with their handles; unlink them so their
  // destructors, if they ever run, do not touch this loop.
  while (queue_.next_ != &queue_)
    queue_.next_->unlink();
}

void Loop::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

bool Loop::run_once() {
  return uv_run(&loop_, UV_RUN_ONCE) != 0;
}

void Loop::run_nowait() {
  uv_run(&loop_, UV_RUN_NOWAIT);
}

void Loop::stop() {
  uv_stop(&loop_);
}

void Loop::enqueue(Deferred* task) {
  assert(!closed_);
  task->prev_ = queue_.prev_;
  task->next_ = &queue_;
  queue_.prev_->next_ = task;
  queue_.prev_ = task;
  if (!idle_closed_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(&idle_))) {
    uv_idle_start(&idle_, on_idle);
  }
}

void Loop::on_idle(uv_idle_t* idle) {
  static_cast<Loop*>(idle->data)->run_deferred();
}

void Loop::run_deferred() {
  // Only the tasks queued before this turn run now; a task that schedules more work (or itself)
  // waits for the next turn, so deferred work can never starve I/O.
  Deferred batch{nullptr, nullptr};
  if (queue_.next_ != &queue_) {
    batch.next_ = queue_.next_;
    batch.prev_ = queue_.prev_;
    batch.next_->prev_ = &batch;
    batch.prev_->next_ = &batch;
    queue_.next_ = queue_.prev_ = &queue_;
  }
  while (batch.next_ != nullptr && batch.next_ != &batch) {
    Deferred* task = batch.next_;
    task->unlink();
    Deferred::Fn fn = task->fn_;
    void* arg = task->arg_;
    fn(arg);  // may free `task`
  }
  batch.prev_ = batch.next_ = nullptr;
  if (queue_.next_ == &queue_) uv_idle_stop(&idle_);
}

namespace {

struct PostedTask {
  explicit PostedTask(std::function<void()> f) : fn(std::move(f)), node(&run, this) {}
  static void run(void* arg) {
    auto* self = static_cast<PostedTask*>(arg);
    std::function<void()> f = std::move(self->fn);
    delete self;
    f();
  }
  std::function<void()> fn;
  Deferred node;
};

}  // namespace

void Loop::post(std::function<void()> fn) {
  auto* task = new PostedTask(std::move(fn));
  task->node.schedule(*this);
}

bool Loop::has_closing_handles() {
  bool closing = false;
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void* arg) {
        if (uv_is_closing(handle)) *static_cast<bool*>(arg) = true;
      },
      &closing);
  return closing;
}

std::string Loop::open_handles() {
  struct Walk {
    uv_handle_t* skip;
    std::string text;
  } walk{reinterpret_cast<uv_handle_t*>(&idle_), {}};
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void* arg) {
        auto* w = static_cast<Walk*>(arg);
        if (handle == w->skip) return;
        if (!w->text.empty()) w->text += ", ";
        w->text += uv_handle_type_name(handle->type);
        if (uv_is_closing(handle)) w->text += " (closing)";
      },
      &walk);
  return walk.text;
}

int Loop::close() {
  if (closed_) return 0;
  // Objects free themselves from close callbacks and deferred tasks, and a cancelled DNS query
  // still reports back from the thread pool: give them the turns they need. Bounded, because a
  // leaked active handle would keep the loop alive for ever.
  for (int turn = 0; turn < 1000; ++turn) {
    bool queued = queue_.next_ != &queue_;
    bool requests = loop_.active_reqs.count > 0;
    if (!queued && !requests && !has_closing_handles()) break;
    uv_run(&loop_, requests && !queued ? UV_RUN_ONCE : UV_RUN_NOWAIT);
  }
  if (!idle_closed_) {
    idle_closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  int status = uv_loop_close(&loop_);
  if (status == 0) closed_ = true;
  return status;
}

}  // namespace wa::net
