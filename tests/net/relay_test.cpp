#include "net/relay.h"

#include <doctest/doctest.h>

#include <fstream>
#include <optional>
#include <string>

#include "net/connect.h"
#include "net/tcp_listener.h"
#include "tests/net/support.h"

using namespace wa::net;
using namespace wa::net::testing;

namespace {

// client ⇄ [front listener → Relay → upstream connection] ⇄ upstream server
struct RelaySetup {
  explicit RelaySetup(Loop& loop_, RelayOptions options_ = {}) : loop(loop_), options(options_) {
    auto up = TcpListener::listen(loop, "127.0.0.1", 0, [this](Owned<TcpConnection> c) {
      upstream = std::move(c);
      if (on_upstream) on_upstream(*upstream);
    });
    REQUIRE(up);
    upstream_listener = std::move(up).value();
    auto front = TcpListener::listen(loop, "127.0.0.1", 0, [this](Owned<TcpConnection> c) {
      front_side = std::move(c);
      dialing = connect(loop, "127.0.0.1", upstream_listener->port(), {},
                        [this](Outcome<Owned<TcpConnection>> r) {
                          REQUIRE(r);
                          relay = Relay::start(
                              std::move(front_side), std::move(r).value(),
                              [this](const Error* e) {
                                done = true;
                                if (e) error = *e;
                              },
                              options);
                        });
    });
    REQUIRE(front);
    front_listener = std::move(front).value();
  }

  void connect_client() {
    client_request = connect(loop, "127.0.0.1", front_listener->port(), {},
                             [this](Outcome<Owned<TcpConnection>> r) {
                               REQUIRE(r);
                               client = std::move(r).value();
                             });
    REQUIRE(run_until(loop, [&] { return client && relay && upstream; }));
  }

  void close_all() {
    relay.reset();
    client.reset();
    upstream.reset();
    upstream_listener.reset();
    front_listener.reset();
    dialing.reset();
    client_request.reset();
  }

  Loop& loop;
  RelayOptions options;
  std::function<void(TcpConnection&)> on_upstream;
  Owned<TcpListener> upstream_listener, front_listener;
  Owned<TcpConnection> front_side, upstream, client;
  Owned<ConnectRequest> dialing, client_request;
  Owned<Relay> relay;
  bool done = false;
  std::optional<Error> error;
};

size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

}  // namespace

TEST_CASE("Relay: bytes both ways, ends passed on as shutdowns, done without error") {
  Loop loop;
  RelaySetup setup(loop);
  setup.on_upstream = [](TcpConnection& up) {
    up.start({.on_data = [&up](std::string_view b) { up.write("echo:" + std::string(b)); },
              .on_end = [&up] { up.shutdown(); }});
  };
  setup.connect_client();
  std::string got;
  bool ended = false;
  setup.client->start(
      {.on_data = [&](std::string_view b) { got.append(b); }, .on_end = [&] { ended = true; }});
  setup.client->write("hi");
  REQUIRE(run_until(loop, [&] { return got == "echo:hi"; }));
  setup.client->shutdown();
  CHECK(run_until(loop, [&] { return ended && setup.done; }));
  CHECK_FALSE(setup.error);
  CHECK(setup.relay->bytes_a_to_b() == 2);
  CHECK(setup.relay->bytes_b_to_a() == 7);
  setup.close_all();
  CHECK(loop.close() == 0);
}

TEST_CASE("Relay: a fast upstream and a slow client: the relay's queue stays bounded") {
  Loop loop;
  RelayOptions options{.high_water = 128 * 1024, .low_water = 32 * 1024};
  RelaySetup setup(loop, options);
  constexpr uint64_t kTotal = 256ull << 20;
  uint64_t produced = 0;
  // The upstream writes as fast as the relay takes it (its own queue bounded the same way).
  std::function<void()> produce;
  setup.on_upstream = [&](TcpConnection& up) {
    produce = [&] {
      while (produced < kTotal && up.queued_bytes() < 512 * 1024) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(256 * 1024, kTotal - produced));
        up.write(pattern(produced, n), [&] { produce(); });
        produced += n;
      }
      if (produced == kTotal) up.shutdown();
    };
    up.start({.on_end = [] {}});
    produce();
  };
  setup.connect_client();
  size_t rss_before = rss_bytes();
  uint64_t received = 0;
  bool intact = true, ended = false;
  int pauses = 0;
  Owned<Timer> nap = Timer::create(loop);
  TcpConnection& client = *setup.client;
  client.start({.on_data =
                    [&](std::string_view bytes) {
                      for (size_t i = 0; i < bytes.size() && intact; i += 8191) {
                        intact = bytes[i] == pattern_byte(received + i);
                      }
                      uint64_t before = received;
                      received += bytes.size();
                      if (before / (4 << 20) != received / (4 << 20)) {
                        client.pause();
                        ++pauses;
                        nap->start(10, [&] { client.resume(); });
                      }
                    },
                .on_end = [&] { ended = true; }});
  CHECK(run_until(
      loop, [&] { return ended; }, 120000));
  CHECK(received == kTotal);
  CHECK(intact);
  CHECK(pauses > 10);
  size_t max_queued = setup.relay ? setup.relay->max_queued() : 0;
  MESSAGE("relay max queued " << max_queued << ", RSS growth "
                              << static_cast<long long>(rss_bytes() - rss_before));
  CHECK(max_queued > 0);  // the client was slow enough for the relay to queue, and pause
  CHECK(max_queued <= options.high_water + Loop::kReadBufferSize);
#if !WA_TEST_ASAN
  CHECK(rss_bytes() < rss_before + (32u << 20));
#endif
  client.shutdown();
  CHECK(run_until(loop, [&] { return setup.done; }));
  nap.reset();
  setup.close_all();
  CHECK(loop.close() == 0);
}

TEST_CASE("Relay: an upstream reset ends the relay with an io error and closes the client") {
  Loop loop;
  RelaySetup setup(loop);
  setup.on_upstream = [&](TcpConnection& up) {
    up.start({.on_data = [&](std::string_view) {
      // Drop the connection with the client's bytes unread: the kernel sends RST.
      setup.upstream.reset();
    }});
  };
  setup.connect_client();
  bool client_finished = false;
  setup.client->start({.on_end = [&] { client_finished = true; },
                       .on_error = [&](const Error&) { client_finished = true; }});
  setup.client->write(std::string(100000, 'x'));
  CHECK(run_until(loop, [&] { return setup.done && client_finished; }));
  REQUIRE(setup.error);
  CHECK(setup.error->kind == ErrorKind::io);
  setup.close_all();
  CHECK(loop.close() == 0);
}

TEST_CASE("Relay: idle timeout ends a silent relay; dropping a live relay closes both sides") {
  Loop loop;
  {
    RelaySetup setup(loop, {.idle_timeout_ms = 40});
    setup.on_upstream = [](TcpConnection& up) { up.start({}); };
    setup.connect_client();
    setup.client->start({});
    CHECK(run_until(loop, [&] { return setup.done; }));
    REQUIRE(setup.error);
    CHECK(setup.error->kind == ErrorKind::timeout);
    setup.close_all();
  }
  {
    RelaySetup setup(loop);
    bool upstream_ended = false;
    setup.on_upstream = [&](TcpConnection& up) {
      up.start({.on_end = [&] { upstream_ended = true; },
                .on_error = [&](const Error&) { upstream_ended = true; }});
    };
    setup.connect_client();
    setup.client->start({});
    setup.relay.reset();
    CHECK(run_until(loop, [&] { return upstream_ended; }));
    CHECK_FALSE(setup.done);
    setup.close_all();
  }
  CHECK(loop.close() == 0);
}
