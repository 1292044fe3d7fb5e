// A child process run through `/bin/sh -c`, in its own session and process group, with its
// output read continuously into a bounded ring of lines, and a stop that takes its whole
// process group down (SIGTERM, then SIGKILL after a grace period), forked children included.
//
// It is what `replay --server` starts the application under test with. The process and its
// pipes live on a private libuv loop on a thread of their own, so a caller's loop (the replay
// runner runs its loop until nothing is left to do) never sees them; every public method is
// thread-safe.
//
// Reaping: the calling process becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
// that members of the group orphaned by the death of their parent are re-parented to it and
// reaped here, rather than left as zombies under an init that may never reap them. A stopped
// group is therefore gone from the process table when stop() returns.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/error.h"

namespace wa::net {

class Loop;

struct ChildOptions {
  std::string command;  // run as `/bin/sh -c COMMAND`; stdin is /dev/null
  // Added to this process's environment (a name given here replaces the inherited value).
  std::vector<std::pair<std::string, std::string>> env = {};
  size_t keep_lines = 200;       // lines of stdout and stderr kept (the last ones)
  size_t max_line_bytes = 4096;  // a longer line is cut into pieces of this size
  // Called on the child's thread with each line (stdout and stderr alike, without its line
  // end). The first time it returns true, wait_for_line() returns `matched`.
  std::function<bool(const std::string& line)> watch_line = {};
};

// How the process ended: an exit code, or the signal that killed it.
struct ChildExit {
  int code = 0;
  int signal = 0;  // non-zero: killed by this signal (code is then 128 + signal)
  // "exited with status 1", "was killed by signal 9 (Killed)".
  std::string describe() const;
};

class ChildProcess {
 public:
  // Spawns the command. The error is one line ("cannot start /bin/sh: ...").
  static Outcome<std::unique_ptr<ChildProcess>> start(ChildOptions options);
  // Stops the process group (stop()) if that was not done.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The shell's pid, which is also the process group id and the session id.
  pid_t pid() const { return pid_; }

  // Set once the shell (the group leader) has exited and its output has been read to the end
  // (or 200 ms have passed, when a forked child keeps the pipes open).
  std::optional<ChildExit> exit_status() const;

  enum class Wait { matched, exited, timeout };
  // Waits until ChildOptions::watch_line has matched a line (at any time since the start),
  // the process has exited, or `timeout` has passed. `matched` wins over `exited`.
  Wait wait_for_line(std::chrono::milliseconds timeout);
  // Waits until the process has exited (exit_status()); nullopt on timeout.
  std::optional<ChildExit> wait_exit(std::chrono::milliseconds timeout);

  // The last `n` lines of output (stdout and stderr interleaved as they were read), oldest
  // first.
  std::vector<std::string> last_lines(size_t n) const;

  // SIGTERM to the whole process group, SIGKILL after `grace` if any member is still alive;
  // returns once the leader has been reaped and no member of the group is left. Idempotent
  // and thread-safe: a second call (from any thread) waits for the first to finish.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

  struct State;  // the loop-thread side (child_process.cpp)

 private:
  ChildProcess() = default;

  pid_t pid_ = -1;
  std::unique_ptr<State> state_;
  std::thread thread_;
  std::mutex join_mutex_;
};

}  // namespace wa::net
