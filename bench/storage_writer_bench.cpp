// Capture writer throughput (DESIGN.md targets: >= 100k small WebSocket messages/s and >= 20k
// HTTP exchanges/s with 1 KiB bodies, sustained into SQLite).
//
// One producer thread pushes events as fast as the writer accepts them (the bounded queue
// applies backpressure, so the rate measured is the rate of committed writes, not of queueing),
// then flushes. Each scenario prints events/s over the whole run and the process CPU time per
// event (both threads). The capture file is written under the folder given as the first
// argument (default: $TMPDIR or /tmp) and deleted afterwards.
//
//   storage_writer_bench [FOLDER] [--scale F]     F multiplies the event counts (default 1)
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include "storage/writer.h"

using namespace wa::store;

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double thread_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

struct Figures {
  double per_second;           // wall clock, producer to committed
  double cpu_us_per_event;     // both threads
  double writer_us_per_event;  // the writer thread alone: its capacity on an idle core
};

// Runs one scenario into a fresh file: `produce(writer, i)` pushes event i.
Figures run(const std::string& folder, const char* name, long count, const char* unit,
            const std::function<void(CaptureWriter&, long)>& produce) {
  std::string path = folder + "/wa-writer-bench-" + std::to_string(::getpid()) + ".sqlite";
  std::filesystem::remove(path);
  Recording r;
  r.name = name;
  r.started_us = 1795213603000000;
  r.mode = "reverse";
  r.listen = "127.0.0.1:8080";
  r.tool_version = "bench";
  auto writer = CaptureWriter::open(path, r);
  if (!writer) {
    std::fprintf(stderr, "storage_writer_bench: %s\n", writer.error().why.c_str());
    std::exit(2);
  }
  double cpu0 = cpu_seconds();
  double producer0 = thread_cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < count; ++i)
    produce(**writer, i);
  if (auto f = (*writer)->flush(); !f) {
    std::fprintf(stderr, "storage_writer_bench: %s\n", f.error().why.c_str());
    std::exit(2);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  double writer_cpu = cpu - (thread_cpu_seconds() - producer0);
  WriterStats stats = (*writer)->stats();
  (void)(*writer)->close(r.started_us + 1);
  writer->reset();
  auto size = std::filesystem::file_size(path);
  std::filesystem::remove(path);

  Figures f{static_cast<double>(count) / seconds, cpu * 1e6 / static_cast<double>(count),
            writer_cpu * 1e6 / static_cast<double>(count)};
  std::printf(
      "%s: %ld %s\n  %.2f s wall: %.0f %s/s committed; CPU %.2f us each (writer thread "
      "%.2f us: %.0f %s/s per core); %llu batches; %.1f MiB file\n",
      name, count, unit, seconds, f.per_second, unit, f.cpu_us_per_event, f.writer_us_per_event,
      1e6 / f.writer_us_per_event, unit, static_cast<unsigned long long>(stats.batches),
      static_cast<double>(size) / (1 << 20));
  return f;
}

WsMessage small_message(Id exchange, long i) {
  WsMessage m;
  m.exchange_id = exchange;
  m.direction = i % 2 ? Direction::server : Direction::client;
  m.opcode = 1;
  m.payload = Payload::whole("42[\"chat\",{\"text\":\"hello " + std::to_string(i) + "\"}]");
  m.time_us = 1795213603000000 + i;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::string folder = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  double scale = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
      scale = std::atof(argv[++i]);
    } else {
      folder = argv[i];
    }
  }
  auto n = [&](long base) { return static_cast<long>(static_cast<double>(base) * scale); };
  const std::string kilobyte(1024, 'x');

  Figures ws = run(folder, "WebSocket messages (~40 B text)", n(1000000), "msgs",
                   [](CaptureWriter& w, long i) { (void)w.push(small_message(1, i)); });

  Figures sio = run(folder, "WebSocket messages + decoded Socket.IO packet", n(500000), "msgs",
                    [](CaptureWriter& w, long i) {
                      WsMessage m = small_message(1, i);
                      SocketPacket p;
                      p.ws_message_id = w.new_ws_message_id();
                      m.id = *p.ws_message_id;
                      p.session_id = 1;
                      p.direction = m.direction;
                      p.time_us = m.time_us;
                      p.eio_type = 4;
                      p.sio_type = 2;
                      p.namespace_ = "/";
                      p.event = "chat";
                      p.args = "[{\"text\":\"hello\"}]";
                      p.raw = m.payload.bytes;
                      (void)w.push(std::move(m));
                      (void)w.push(std::move(p));
                    });

  Figures http = run(folder, "HTTP exchanges (1 KiB response body)", n(200000), "exchanges",
                     [&](CaptureWriter& w, long i) {
                       Exchange e;
                       e.connection_id = 1 + i / 100;
                       e.seq = static_cast<int>(i % 100);
                       e.method = "GET";
                       e.url = "http://127.0.0.1:3000/api/items/" + std::to_string(i);
                       e.request_headers = {{"Host", "127.0.0.1:3000"},
                                            {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"},
                                            {"Accept", "application/json"},
                                            {"Accept-Encoding", "gzip, deflate, br"},
                                            {"Cookie", "connect.sid=s%3APpYFabcdef.sig"},
                                            {"Connection", "keep-alive"}};
                       e.status = 200;
                       e.reason = "OK";
                       e.response_version = "HTTP/1.1";
                       e.response_headers = {{"Content-Type", "application/json"},
                                             {"Content-Length", "1024"},
                                             {"ETag", "W/\"400-abcdef\""},
                                             {"Date", "Fri, 20 Nov 2026 22:35:29 GMT"},
                                             {"Connection", "keep-alive"}};
                       e.response_body = Payload::whole(kilobyte);
                       e.started_us = 1795213603000000 + i * 10;
                       e.first_byte_us = e.started_us + 5;
                       e.ended_us = e.started_us + 9;
                       (void)w.push(std::move(e));
                     });

  std::printf("max RSS %.1f MiB\n", static_cast<double>(max_rss_kib()) / 1024);
  double load[1] = {0};
  if (getloadavg(load, 1) == 1) std::printf("load average %.1f\n", load[0]);
  bool ok = ws.per_second >= 100000 && http.per_second >= 20000;
  std::printf("targets (>= 100000 msgs/s, >= 20000 exchanges/s, wall clock): %s\n",
              ok ? "met" : "NOT met");
  (void)sio;
  return ok ? 0 : 1;
}
