#include "net/child_process.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace wa::net;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<ChildProcess> spawn(ChildOptions options) {
  auto child = ChildProcess::start(std::move(options));
  REQUIRE_MESSAGE(child.ok(), (child.ok() ? "" : child.error().why));
  return std::move(*child);
}

bool gone(pid_t pid) {
  return ::kill(pid, 0) == -1 && errno == ESRCH;
}

// The number after `prefix` in the first line that starts with it; -1 when none does.
pid_t pid_after(const std::vector<std::string>& lines, const std::string& prefix) {
  for (const std::string& line : lines)
    if (line.rfind(prefix, 0) == 0) return pid_t(std::atoi(line.c_str() + prefix.size()));
  return -1;
}

}  // namespace

TEST_CASE("ChildProcess: stdout and stderr lines are captured; the exit status is reported") {
  auto child = spawn({.command = "echo one; echo two >&2; printf three; exit 3"});
  CHECK(child->pid() > 0);
  std::optional<ChildExit> exit = child->wait_exit(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 3);
  CHECK(exit->signal == 0);
  CHECK(exit->describe() == "exited with status 3");
  std::vector<std::string> lines = child->last_lines(10);
  REQUIRE(lines.size() == 3);
  // stdout and stderr are two pipes: the order between them is not fixed.
  std::sort(lines.begin(), lines.end());
  CHECK(lines == std::vector<std::string>{"one", "three", "two"});
  CHECK(child->last_lines(1).size() == 1);
  child->stop();
  child->stop();  // idempotent
  CHECK(gone(child->pid()));
}

TEST_CASE("ChildProcess: the environment is extended, stdin is /dev/null") {
  auto child = spawn({.command = "echo \"port=$PORT home=${HOME:+set}\"; cat; echo after-cat",
                      .env = {{"PORT", "4321"}}});
  std::optional<ChildExit> exit = child->wait_exit(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 0);
  std::vector<std::string> lines = child->last_lines(10);
  std::vector<std::string> want = {std::string("port=4321 home=") + (getenv("HOME") ? "set" : ""),
                                   "after-cat"};
  CHECK(lines == want);
}

TEST_CASE("ChildProcess: only the last lines are kept; long lines are cut") {
  auto child = spawn({.command = "i=0; while [ $i -lt 500 ]; do echo line $i; i=$((i+1)); done; "
                                 "head -c 10000 /dev/zero | tr '\\0' x; echo",
                      .keep_lines = 50,
                      .max_line_bytes = 4096});
  REQUIRE(child->wait_exit(20s).has_value());
  std::vector<std::string> lines = child->last_lines(1000);
  REQUIRE(lines.size() == 50);
  // 10000 bytes make lines of 4096, 4096 and 1808.
  CHECK(lines[49].size() == 1808);
  CHECK(lines[48].size() == 4096);
  CHECK(lines[47].size() == 4096);
  CHECK(lines[46] == "line 499");
  CHECK(lines[0] == "line 453");
}

TEST_CASE("ChildProcess: a watched line wakes the waiter; stop ends the process with SIGTERM") {
  auto child =
      spawn({.command = "echo starting; echo READY 42; exec sleep 300",
             .watch_line = [](const std::string& line) { return line.rfind("READY ", 0) == 0; }});
  CHECK(child->wait_for_line(10s) == ChildProcess::Wait::matched);
  CHECK_FALSE(child->exit_status().has_value());
  auto t0 = std::chrono::steady_clock::now();
  child->stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);  // no grace period needed
  std::optional<ChildExit> exit = child->exit_status();
  REQUIRE(exit.has_value());
  CHECK(exit->signal == SIGTERM);
  CHECK(exit->code == 128 + SIGTERM);
  CHECK(gone(child->pid()));
}

TEST_CASE("ChildProcess: a process that exits before its line is seen wakes the waiter") {
  auto child = spawn({.command = "echo 'listen failed' >&2; exit 1",
                      .watch_line = [](const std::string& line) { return line == "READY"; }});
  CHECK(child->wait_for_line(10s) == ChildProcess::Wait::exited);
  REQUIRE(child->exit_status().has_value());
  CHECK(child->exit_status()->code == 1);
  // The output written before the exit is there when the exit is reported.
  CHECK(child->last_lines(5) == std::vector<std::string>{"listen failed"});
}

TEST_CASE("ChildProcess: wait_for_line times out while the process runs and prints nothing") {
  auto child =
      spawn({.command = "exec sleep 300", .watch_line = [](const std::string&) { return true; }});
  auto t0 = std::chrono::steady_clock::now();
  CHECK(child->wait_for_line(300ms) == ChildProcess::Wait::timeout);
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  child->stop();
  CHECK(gone(child->pid()));
}

TEST_CASE("ChildProcess: a group that ignores SIGTERM is killed after the grace period") {
  auto child = spawn({.command = "trap '' TERM; sleep 300 & echo child $!; echo ready; wait",
                      .watch_line = [](const std::string& line) { return line == "ready"; }});
  REQUIRE(child->wait_for_line(10s) == ChildProcess::Wait::matched);
  pid_t forked = pid_after(child->last_lines(10), "child ");
  REQUIRE(forked > 0);
  CHECK(::kill(forked, 0) == 0);
  auto t0 = std::chrono::steady_clock::now();
  child->stop(500ms);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 500ms);
  CHECK(took < 5s);
  REQUIRE(child->exit_status().has_value());
  CHECK(child->exit_status()->signal == SIGKILL);
  CHECK(gone(child->pid()));
  CHECK(gone(forked));
}

TEST_CASE("ChildProcess: children forked by the process are stopped with it") {
  auto child =
      spawn({.command = "sleep 300 & echo child $!; echo self $$; sleep 300",
             .watch_line = [](const std::string& line) { return line.rfind("self ", 0) == 0; }});
  REQUIRE(child->wait_for_line(10s) == ChildProcess::Wait::matched);
  std::vector<std::string> lines = child->last_lines(10);
  pid_t forked = pid_after(lines, "child ");
  pid_t self = pid_after(lines, "self ");
  CHECK(self == child->pid());
  REQUIRE(forked > 0);
  CHECK(::kill(forked, 0) == 0);
  child->stop();
  CHECK(gone(self));
  CHECK(gone(forked));
}

TEST_CASE("ChildProcess: a child left running by a leader that exited is stopped too") {
  // The background sleep keeps the pipes open: the exit is reported all the same.
  auto child = spawn({.command = "sleep 300 & echo child $!; exit 0"});
  std::optional<ChildExit> exit = child->wait_exit(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 0);
  pid_t forked = pid_after(child->last_lines(10), "child ");
  REQUIRE(forked > 0);
  CHECK(::kill(forked, 0) == 0);
  child->stop();
  CHECK(gone(forked));
}

TEST_CASE("ChildProcess: stop from two threads at once") {
  auto child = spawn({.command = "trap '' TERM; echo up; while :; do sleep 1; done",
                      .watch_line = [](const std::string& line) { return line == "up"; }});
  REQUIRE(child->wait_for_line(10s) == ChildProcess::Wait::matched);
  std::thread other([&] { child->stop(200ms); });
  child->stop(200ms);
  other.join();
  CHECK(gone(child->pid()));
  REQUIRE(child->exit_status().has_value());
  CHECK(child->exit_status()->signal == SIGKILL);
}

TEST_CASE("ChildProcess: a command that cannot run exits 127 with the shell's message") {
  auto child = spawn({.command = "exec /nonexistent/program"});
  std::optional<ChildExit> exit = child->wait_exit(10s);
  REQUIRE(exit.has_value());
  CHECK(exit->code == 127);
  std::vector<std::string> lines = child->last_lines(5);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("/nonexistent/program") != std::string::npos);
}
