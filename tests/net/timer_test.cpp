#include "net/timer.h"

#include <doctest/doctest.h>

#include "tests/net/support.h"

using wa::net::Loop;
using wa::net::Owned;
using wa::net::Timer;
using wa::net::testing::run_until;

TEST_CASE("Timer: one-shot fires once after its timeout") {
  Loop loop;
  int fired = 0;
  uint64_t started = loop.now();
  uint64_t at = 0;
  Owned<Timer> timer = Timer::create(loop);
  timer->start(20, [&] {
    ++fired;
    at = loop.now();
  });
  CHECK(timer->active());
  loop.run();
  CHECK(fired == 1);
  CHECK(at - started >= 20);
  CHECK_FALSE(timer->active());
  timer.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("Timer: repeating fires until stopped from its own callback") {
  Loop loop;
  int fired = 0;
  Owned<Timer> timer = Timer::create(loop);
  timer->start_repeating(1, 1, [&] {
    if (++fired == 5) timer->stop();
  });
  loop.run();
  CHECK(fired == 5);
  timer.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("Timer: cancel before it fires; restart re-arms the same callback") {
  Loop loop;
  int fired = 0;
  Owned<Timer> timer = Timer::create(loop);
  timer->start(5, [&] { ++fired; });
  timer->stop();
  loop.run();
  CHECK(fired == 0);
  timer->restart(1);
  loop.run();
  CHECK(fired == 1);
  timer.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("Timer: a new callback set from inside the callback replaces it safely") {
  Loop loop;
  std::string log;
  Owned<Timer> timer = Timer::create(loop);
  timer->start(1, [&, tag = std::string("first")] {
    log += tag;
    timer->start(1, [&] { log += "+second"; });
    log += "/" + tag;  // the running callback's captures are still alive
  });
  loop.run();
  CHECK(log == "first/first+second");
  timer.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("Timer: dropped from inside its own callback, freed after, close callback runs") {
  Loop loop;
  bool closed = false;
  Owned<Timer> timer = Timer::create(loop);
  timer->start(1, [&] { wa::net::close(std::move(timer), [&] { closed = true; }); });
  CHECK(run_until(loop, [&] { return closed; }));
  CHECK(timer == nullptr);
  CHECK(loop.close() == 0);
}

TEST_CASE("Timer: an owner dropped while armed never sees the callback") {
  Loop loop;
  bool fired = false;
  {
    Owned<Timer> timer = Timer::create(loop);
    timer->start(1, [&] { fired = true; });
  }
  loop.run();
  CHECK_FALSE(fired);
  CHECK(loop.close() == 0);
}
