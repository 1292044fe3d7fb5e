#include "net/signal_watch.h"

#include <doctest/doctest.h>

#include <csignal>
#include <vector>

#include "tests/net/support.h"

using namespace wa::net;
using wa::net::testing::run_until;

TEST_CASE("SignalWatch: signals arrive as loop callbacks, until the watch is dropped") {
  Loop loop;
  std::vector<int> seen;
  Owned<SignalWatch> watch = SignalWatch::create(loop, {SIGUSR1, SIGUSR2}, [&](int signum) {
    seen.push_back(signum);
    if (seen.size() == 2) watch.reset();  // dropped from inside its own callback
  });
  std::raise(SIGUSR1);
  CHECK(run_until(loop, [&] { return seen.size() == 1; }));
  std::raise(SIGUSR2);
  CHECK(run_until(loop, [&] { return seen.size() == 2; }));
  CHECK(watch == nullptr);
  CHECK(seen == std::vector<int>{SIGUSR1, SIGUSR2});
  CHECK(loop.close() == 0);
}

TEST_CASE("SignalWatch: the watch does not keep the loop alive; an empty one is freed too") {
  Loop loop;
  Owned<SignalWatch> watch = SignalWatch::create(loop, {SIGUSR2}, [](int) {});
  loop.run();  // returns at once: nothing else is active
  bool freed = false;
  close(std::move(watch), [&] { freed = true; });
  Owned<SignalWatch> empty = SignalWatch::create(loop, {}, [](int) {});
  empty.reset();
  CHECK(loop.close() == 0);
  CHECK(freed);
}
