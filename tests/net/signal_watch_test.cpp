#include "net/signal_watch.h"

#include <doctest/doctest.h>

#include <csignal>
#include <vector>

#include "tests/net/support.h"

using namespace wa::net;
using wa::net::testing::run_until;

TEST_CASE("SignalWatch: a signal arrives as a loop callback, until the watch is dropped") {
  Loop loop;
  std::vector<int> seen;
  Owned<SignalWatch> watch = SignalWatch::watch(loop, SIGUSR1, [&](int signum) {
    seen.push_back(signum);
    if (seen.size() == 2) watch.reset();  // dropped from inside its own callback
  });
  std::raise(SIGUSR1);
  CHECK(run_until(loop, [&] { return seen.size() == 1; }));
  std::raise(SIGUSR1);
  CHECK(run_until(loop, [&] { return seen.size() == 2; }));
  CHECK(watch == nullptr);
  CHECK(seen == std::vector<int>{SIGUSR1, SIGUSR1});
  CHECK(loop.close() == 0);
}

TEST_CASE("SignalWatch: a watch that does not keep the loop alive lets run() return") {
  Loop loop;
  Owned<SignalWatch> watch = SignalWatch::watch(
      loop, SIGUSR2, [](int) {}, false);
  loop.run();  // returns at once: nothing else is active
  watch.reset();
  CHECK(loop.close() == 0);
}
