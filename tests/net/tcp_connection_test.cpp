#include "net/tcp_connection.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/connect.h"
#include "net/tcp_listener.h"
#include "tests/net/support.h"

using namespace wa::net;
using wa::net::testing::pattern;
using wa::net::testing::pattern_byte;
using wa::net::testing::run_until;

namespace {

// A listener on 127.0.0.1:0 that keeps what it accepts, plus a client connected to it.
struct Pair {
  explicit Pair(Loop& loop_) : loop(loop_) {
    auto listening = TcpListener::listen(
        loop, "127.0.0.1", 0, [this](Owned<TcpConnection> c) { accepted = std::move(c); });
    REQUIRE(listening);
    listener = std::move(listening).value();
    auto request =
        connect(loop, "127.0.0.1", listener->port(), {}, [this](Outcome<Owned<TcpConnection>> r) {
          REQUIRE(r);
          client = std::move(r).value();
        });
    REQUIRE(run_until(loop, [&] { return client && accepted; }));
    listener.reset();
  }
  Loop& loop;
  Owned<TcpListener> listener;
  Owned<TcpConnection> accepted;
  Owned<TcpConnection> client;
};

}  // namespace

TEST_CASE("TCP: echo server and client, half-close, byte counts and addresses") {
  Loop loop;
  Pair pair(loop);
  TcpConnection& server = *pair.accepted;
  server.start({.on_data = [&](std::string_view bytes) { server.write(std::string(bytes)); },
                .on_end = [&] { server.shutdown(); },
                .on_error = [](const Error& e) { FAIL(e.why); }});

  std::string echoed;
  bool ended = false;
  int written = 0;
  TcpConnection& client = *pair.client;
  client.start({.on_data = [&](std::string_view bytes) { echoed.append(bytes); },
                .on_end = [&] { ended = true; },
                .on_error = [](const Error& e) { FAIL(e.why); }});
  client.write("hello ", [&] { ++written; });
  std::string kept = "world";
  client.write_ref(kept, [&] { ++written; });
  client.write(std::string(100000, 'x'), [&] { ++written; });
  client.shutdown();

  CHECK(run_until(loop, [&] { return ended; }));
  CHECK(written == 3);
  CHECK(echoed.size() == 100011);
  CHECK(echoed.substr(0, 11) == "hello world");
  CHECK(client.bytes_written() == 100011);
  CHECK(client.bytes_read() == 100011);
  CHECK(server.bytes_read() == 100011);
  REQUIRE(client.peer_address());
  CHECK(client.peer_address()->port() == server.local_address()->port());
  CHECK(server.peer_address()->port() == client.local_address()->port());
  CHECK(client.queued_bytes() == 0);

  pair.client.reset();
  pair.accepted.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: a slow reader bounds the writer's queue; every byte arrives in order") {
  Loop loop;
  Pair pair(loop);
  constexpr uint64_t kTotal = 48ull << 20;
  constexpr size_t kChunk = 64 * 1024;
  constexpr size_t kHighWater = 256 * 1024;

  // The writer follows the rule the proxy follows: stop producing above the high-water mark,
  // produce again from the write callback once the queue has drained below it.
  TcpConnection& writer = *pair.accepted;
  uint64_t produced = 0;
  size_t max_queued = 0;
  std::function<void()> produce = [&] {
    while (produced < kTotal && writer.queued_bytes() < kHighWater) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, kTotal - produced));
      writer.write(pattern(produced, n), [&] { produce(); });
      produced += n;
      max_queued = std::max(max_queued, writer.queued_bytes());
    }
    if (produced == kTotal) writer.shutdown();
  };
  writer.start({.on_error = [](const Error& e) { FAIL(e.why); }});
  produce();

  // The reader pauses for a few milliseconds after every 4 MiB.
  TcpConnection& reader = *pair.client;
  uint64_t received = 0;
  bool intact = true, ended = false;
  int pauses = 0;
  Owned<Timer> nap = Timer::create(loop);
  reader.start({.on_data =
                    [&](std::string_view bytes) {
                      for (size_t i = 0; i < bytes.size() && intact; i += 4093) {
                        intact = bytes[i] == pattern_byte(received + i);
                      }
                      uint64_t before = received;
                      received += bytes.size();
                      if (before / (4 << 20) != received / (4 << 20)) {
                        reader.pause();
                        ++pauses;
                        nap->start(3, [&] { reader.resume(); });
                      }
                    },
                .on_end = [&] { ended = true; },
                .on_error = [](const Error& e) { FAIL(e.why); }});

  CHECK(run_until(
      loop, [&] { return ended; }, 60000));
  CHECK(received == kTotal);
  CHECK(intact);
  MESSAGE("pauses " << pauses << " max_queued " << max_queued << " received " << received);
  CHECK(pauses >= 10);
  // One chunk over the mark at most: memory is bounded by the mark, not by the transfer size.
  CHECK(max_queued > 0);
  CHECK(max_queued <= kHighWater + kChunk);
  nap.reset();
  pair.client.reset();
  pair.accepted.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: closing from inside on_data stops every later callback") {
  Loop loop;
  Pair pair(loop);
  int data_calls = 0;
  bool closed = false;
  pair.accepted->start({.on_data =
                            [&](std::string_view) {
                              ++data_calls;
                              close(std::move(pair.accepted), [&] { closed = true; });
                            },
                        .on_end = [] { FAIL("on_end after close"); },
                        .on_error = [](const Error&) { FAIL("on_error after close"); }});
  // Several writes arrive in one read or in several; only the first is delivered.
  for (int i = 0; i < 50; ++i)
    pair.client->write(std::string(10000, 'a'));
  pair.client->shutdown();
  bool client_done = false;
  pair.client->start({.on_end = [&] { client_done = true; },
                      .on_error = [&](const Error&) { client_done = true; }});
  CHECK(run_until(loop, [&] { return closed && client_done; }));
  CHECK(data_calls == 1);
  pair.client.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: a peer that resets mid-write gives one io error, and nothing leaks") {
  Loop loop;
  Pair pair(loop);
  std::optional<Error> error;
  int errors = 0;
  bool write_done = false;
  TcpConnection& server = *pair.accepted;
  server.start({.on_error = [&](const Error& e) {
    ++errors;
    error = e;
    // The owner closes from inside the error callback.
    pair.accepted.reset();
  }});
  // 32 MiB cannot fit in the socket buffers: most of it is still queued when the reset comes.
  server.write(std::string(32 << 20, 'z'), [&] { write_done = true; });
  CHECK(server.queued_bytes() > 0);

  // The client receives a little, then closes with unread data: the kernel answers with RST.
  bool got_some = false;
  pair.client->start({.on_data = [&](std::string_view) { got_some = true; }});
  REQUIRE(run_until(loop, [&] { return got_some; }));
  pair.client.reset();

  CHECK(run_until(loop, [&] { return error.has_value(); }));
  CHECK(errors == 1);
  CHECK_FALSE(write_done);
  REQUIRE(error);
  CHECK(error->kind == ErrorKind::io);
  CHECK((error->code == UV_ECONNRESET || error->code == UV_EPIPE));
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: closing with writes queued drops their callbacks and releases their bytes") {
  Loop loop;
  Pair pair(loop);
  auto bytes = std::make_shared<std::string>(16 << 20, 'q');
  std::weak_ptr<std::string> watch = bytes;
  bool called = false;
  pair.accepted->write_ref(*bytes, [&, bytes] { called = true; });
  bytes.reset();
  pair.accepted->write(std::string(1 << 20, 'r'), [&] { called = true; });
  CHECK_FALSE(watch.expired());  // the pending write keeps its bytes alive
  pair.accepted.reset();
  pair.client.reset();
  CHECK(loop.close() == 0);
  CHECK_FALSE(called);
  CHECK(watch.expired());
}

TEST_CASE("TCP: idle timeout fires on a silent peer, not on an owner-paused stream") {
  Loop loop;
  Pair pair(loop);
  std::optional<Error> error;
  pair.accepted->start({.on_error = [&](const Error& e) { error = e; }});
  pair.accepted->set_idle_timeout(50);
  uint64_t started = loop.now();
  CHECK(run_until(loop, [&] { return error.has_value(); }));
  CHECK(loop.now() - started >= 50);
  CHECK(error->kind == ErrorKind::timeout);
  CHECK(error->why.find("50 ms") != std::string::npos);

  // The client, paused by its owner with nothing to write, is not waiting for anything.
  bool client_error = false;
  pair.client->start({.on_end = [] {}, .on_error = [&](const Error&) { client_error = true; }});
  pair.client->pause();
  pair.client->set_idle_timeout(20);
  bool slept = false;
  Owned<Timer> sleep = Timer::create(loop);
  sleep->start(120, [&] { slept = true; });
  CHECK(run_until(loop, [&] { return slept; }));
  CHECK_FALSE(client_error);
  pair.client->resume();
  pair.client->set_idle_timeout(0);

  sleep.reset();
  pair.accepted.reset();
  pair.client.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: activity keeps the idle timer from firing") {
  Loop loop;
  Pair pair(loop);
  bool failed = false;
  int received = 0;
  pair.accepted->start({.on_data = [&](std::string_view) { ++received; },
                        .on_error = [&](const Error&) { failed = true; }});
  pair.accepted->set_idle_timeout(250);
  int sent = 0;
  Owned<Timer> ticker = Timer::create(loop);
  ticker->start_repeating(10, 10, [&] {
    pair.client->write("tick");
    if (++sent == 40) ticker->stop();
  });
  CHECK(run_until(loop, [&] { return sent == 40 && received >= 1; }));
  CHECK_FALSE(failed);
  ticker.reset();
  pair.accepted.reset();
  pair.client.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: the handler can be replaced from inside its own callback") {
  Loop loop;
  Pair pair(loop);
  std::string first, second;
  TcpConnection& server = *pair.accepted;
  server.start({.on_data = [&, tag = std::string("one")](std::string_view bytes) {
    first.append(bytes);
    server.start({.on_data = [&](std::string_view more) { second.append(more); }});
    CHECK(tag == "one");  // the running handler is intact
  }});
  pair.client->write("abc");
  REQUIRE(run_until(loop, [&] { return !first.empty(); }));
  pair.client->write("def");
  CHECK(run_until(loop, [&] { return second == "def"; }));
  CHECK(first == "abc");
  pair.accepted.reset();
  pair.client.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: write after the peer's reset is reported once, later, not inside write") {
  Loop loop;
  Pair pair(loop);
  int errors = 0;
  bool in_write = false;
  TcpConnection& server = *pair.accepted;
  server.start({.on_end = [] {},
                .on_error =
                    [&](const Error&) {
                      CHECK_FALSE(in_write);
                      ++errors;
                    }});
  // The client closes; the first write after that draws a RST, the next ones fail.
  pair.client.reset();
  loop.run_nowait();
  for (int i = 0; i < 20 && errors == 0; ++i) {
    in_write = true;
    server.write(std::string(1000, 'w'));
    in_write = false;
    loop.run_nowait();
  }
  CHECK(run_until(loop, [&] { return errors > 0; }));
  CHECK(errors == 1);
  pair.accepted.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: a handler installed after the peer's FIN still hears of the end") {
  Loop loop;
  Pair pair(loop);
  std::string first;
  bool first_ended = false;
  TcpConnection& server = *pair.accepted;
  server.start({.on_data = [&](std::string_view b) { first.append(b); },
                .on_end = [&] { first_ended = true; }});
  pair.client->write("hello");
  pair.client->shutdown();
  REQUIRE(run_until(loop, [&] { return first_ended; }));
  CHECK(first == "hello");
  int second_ends = 0;
  server.start({.on_end = [&] { ++second_ends; }});
  CHECK(second_ends == 0);  // never inside start()
  CHECK(run_until(loop, [&] { return second_ends == 1; }));
  loop.run_nowait();
  CHECK(second_ends == 1);
  pair.accepted.reset();
  pair.client.reset();
  CHECK(loop.close() == 0);
}

TEST_CASE("TCP: write_copy sends its parts in order and keeps a copy of what the kernel left") {
  Loop loop;
  Pair pair(loop);
  TcpConnection& writer = *pair.accepted;
  writer.start({.on_error = [](const Error& e) { FAIL(e.why); }});
  constexpr size_t kBig = 6u << 20;  // more than a socket buffer takes at once
  std::string head = "HEAD\r\n", body = pattern(0, kBig), tail = "\r\n", small = "small";

  // Small: the kernel takes it all, nothing is queued.
  writer.write_copy({small, {}, tail});
  CHECK(writer.queued_bytes() == 0);
  // Large: part goes now, the rest is queued as a copy; the caller's bytes may change at once.
  writer.write_copy({head, body, tail});
  CHECK(writer.queued_bytes() > 0);
  CHECK(writer.queued_bytes() < head.size() + kBig + tail.size());
  std::fill(body.begin(), body.end(), '!');
  head.assign("XXXXXX");
  writer.shutdown();

  std::string received;
  bool ended = false;
  TcpConnection& reader = *pair.client;
  reader.start({.on_data = [&](std::string_view bytes) { received.append(bytes); },
                .on_end = [&] { ended = true; },
                .on_error = [](const Error& e) { FAIL(e.why); }});
  CHECK(run_until(
      loop, [&] { return ended; }, 30000));
  REQUIRE(received.size() == 5 + 2 + 6 + kBig + 2);
  CHECK(received.substr(0, 13) == "small\r\nHEAD\r\n");
  CHECK(received.compare(13, kBig, pattern(0, kBig)) == 0);
  CHECK(received.substr(13 + kBig) == "\r\n");
  CHECK(writer.bytes_written() == received.size());
  pair.client.reset();
  pair.accepted.reset();
  CHECK(loop.close() == 0);
}
