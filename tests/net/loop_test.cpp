#include "net/loop.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using wa::net::Deferred;
using wa::net::Loop;

TEST_CASE("Loop: an empty loop runs and closes with nothing leaked") {
  Loop loop;
  loop.run();
  CHECK(loop.open_handles().empty());
  CHECK(loop.close() == 0);
}

TEST_CASE("Loop: posted work runs in order on a later turn, never inside post") {
  Loop loop;
  std::vector<int> order;
  loop.post([&] { order.push_back(1); });
  loop.post([&] {
    order.push_back(2);
    // Work posted from a task runs on the next turn, after the rest of this batch.
    loop.post([&] { order.push_back(4); });
  });
  loop.post([&] { order.push_back(3); });
  CHECK(order.empty());
  loop.run();
  CHECK(order == std::vector<int>{1, 2, 3, 4});
  CHECK(loop.close() == 0);
}

namespace {

struct Counter {
  int runs = 0;
  Deferred task{[](void* arg) { ++static_cast<Counter*>(arg)->runs; }, this};
};

}  // namespace

TEST_CASE("Loop: a deferred task scheduled twice runs once; a destroyed one never runs") {
  Loop loop;
  Counter kept;
  kept.task.schedule(loop);
  kept.task.schedule(loop);
  CHECK(kept.task.scheduled());
  {
    Counter dropped;
    dropped.task.schedule(loop);
  }
  Counter cancelled;
  cancelled.task.schedule(loop);
  cancelled.task.cancel();
  loop.run();
  CHECK(kept.runs == 1);
  CHECK_FALSE(kept.task.scheduled());
  CHECK(cancelled.runs == 0);
  CHECK(loop.close() == 0);
}

TEST_CASE("Loop: stop() ends run() after the current turn") {
  Loop loop;
  int turns = 0;
  std::function<void()> again = [&] {
    if (++turns == 3) {
      loop.stop();
      return;
    }
    loop.post(again);
  };
  loop.post(again);
  loop.run();
  CHECK(turns == 3);
  CHECK(loop.close() == 0);
}

TEST_CASE("Loop: close() reports a leaked handle and names it") {
  Loop loop;
  uv_timer_t timer;
  uv_timer_init(loop.uv(), &timer);
  uv_timer_start(
      &timer, [](uv_timer_t*) {}, 100000, 0);
  CHECK(loop.open_handles() == "timer");
  CHECK(loop.close() == UV_EBUSY);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  CHECK(loop.close() == 0);
}
