// Every error case of the recording proxy, on real sockets: a malformed request gets 400,
// oversized headers 431, an unreachable upstream 502, a silent one 504 — each with a short text
// body naming the cause, and recorded with its error; a client that rejects the minted
// certificate is reported on exactly one console line naming `workalready ca`; idle and slow
// clients are closed after --client-timeout; bad clients never disturb a good one; and a
// non-loopback --listen needs --allow-remote.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "tests/integration/recording.h"

using namespace wa::test;
namespace store = wa::store;
using Clock = std::chrono::steady_clock;

namespace {

// A listening socket on 127.0.0.1 whose connections are never accepted: the kernel completes
// the handshake (the backlog), and then nothing is ever answered.
class SilentUpstream {
 public:
  SilentUpstream() { fd_ = listen_loopback(16, port_); }
  ~SilentUpstream() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A small HTTP/1.1 upstream on a thread per connection, answering by path:
// /delay/MS answers "ok" after MS milliseconds; /garbage answers bytes that are not HTTP;
// /big/N answers N bytes; /keepalive answers "ok" and keeps the connection for the next
// request; anything else answers "ok" at once and closes.
class FakeUpstream {
 public:
  FakeUpstream() {
    fd_ = listen_loopback(64, port_);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& t : workers_)
      t.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      workers_.emplace_back([this, c] { serve(c); });
    }
  }

  void serve(int c) {
    std::string request;
    char buf[4096];
    bool keep = true;
    while (keep && !stop_) {
      size_t head_end;
      while ((head_end = request.find("\r\n\r\n")) == std::string::npos && !stop_) {
        pollfd p{c, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) {
          ::close(c);
          return;
        }
        request.append(buf, size_t(n));
      }
      if (stop_) break;
      std::string path = request.substr(request.find(' ') + 1);
      path = path.substr(0, path.find(' '));
      request.erase(0, head_end + 4);
      keep = path == "/keepalive";
      std::string ok = std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n") +
                       (keep ? "" : "Connection: close\r\n") + "\r\nok";
      std::string answer = ok;
      if (path.rfind("/delay/", 0) == 0) {
        // Slow on purpose: the point of this path is an upstream that takes its time.
        auto until = Clock::now() + Millis(std::atoi(path.c_str() + 7));
        while (Clock::now() < until && !stop_)
          std::this_thread::sleep_for(10ms);
      } else if (path == "/garbage") {
        answer = "SPDY/9 whatever\r\n\r\n";
      } else if (path.rfind("/big/", 0) == 0) {
        size_t n = std::strtoull(path.c_str() + 5, nullptr, 10);
        answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) +
                 "\r\nConnection: close\r\n\r\n" + std::string(n, 'x');
      }
      std::string_view rest = answer;
      while (!rest.empty() && !stop_) {
        pollfd p{c, POLLOUT, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        ssize_t n = ::send(c, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        rest.remove_prefix(size_t(n));
      }
    }
    ::close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;  // only the acceptor thread adds to it
};

// The recorded exchange with this status, or null.
const store::Exchange* with_status(const store::RecordingData& data, int status) {
  for (const auto& x : data.exchanges) {
    if (x.status == status) return &x;
  }
  return nullptr;
}

// Checks an error answer: the status, a short text body naming the cause, the connection
// closed after it; returns the body.
std::string check_error_answer(RawClient& client, int status, std::string_view cause) {
  client.read_until_closed(20s);
  const std::string& r = client.received();
  INFO(r);
  CHECK(status_of(r) == status);
  CHECK(r.find("\r\nContent-Type: text/plain; charset=utf-8\r\n") != std::string::npos);
  CHECK(r.find("\r\nConnection: close\r\n") != std::string::npos);
  std::string body = body_of(r);
  CHECK(body.rfind("workalready: ", 0) == 0);
  CHECK(body.find(cause) != std::string::npos);
  CHECK(body.size() < 400);
  CHECK(client.closed());
  return body;
}

// Checks the recorded exchange of an error answer: the status and the error it names.
void check_recorded(const store::RecordingData& data, int status, const std::string& body) {
  INFO(describe(data));
  const store::Exchange* x = with_status(data, status);
  REQUIRE(x != nullptr);
  CHECK(!x->error_code.empty());
  CHECK(!x->error.empty());
  CHECK(body.find(x->error) != std::string::npos);
  CHECK(x->response_body.bytes == body);
}

}  // namespace

TEST_CASE("errors: a malformed request is answered 400 and recorded") {
  TempDir dir;
  FakeUpstream upstream;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", upstream.origin()});
  std::string body;
  {
    RawClient client(proxy.port());
    client.send("GET / HTTP/1.1\r\nHost: a\r\nthis line has no colon\r\n\r\n");
    body = check_error_answer(client, 400, "");
  }
  {
    // Both framings at once is how requests are smuggled (RFC 9112 §6.3): refused, not guessed.
    RawClient client(proxy.port());
    client.send(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n");
    check_error_answer(client, 400, "");
  }
  // The proxy still serves.
  HttpResponse ok = http_request(proxy.port(), "GET", "/");
  CHECK(ok.status == 200);
  REQUIRE(proxy.interrupt() == 0);
  CHECK(count_lines(proxy.process().out(), " 400 ") == 2);
  store::RecordingData data = load_capture(db);
  check_recorded(data, 400, body);
}

TEST_CASE("errors: headers too large are answered 431 and recorded") {
  TempDir dir;
  FakeUpstream upstream;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", upstream.origin()});
  std::string body;
  {
    RawClient client(proxy.port());
    client.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(70 * 1024, 'b') + "\r\n\r\n");
    body = check_error_answer(client, 431, "");
  }
  {
    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 150; ++i)
      many += "X-Field-" + std::to_string(i) + ": v\r\n";
    RawClient client(proxy.port());
    client.send(many + "\r\n");
    check_error_answer(client, 431, "");
  }
  REQUIRE(proxy.interrupt() == 0);
  CHECK(count_lines(proxy.process().out(), " 431 ") == 2);
  store::RecordingData data = load_capture(db);
  check_recorded(data, 431, body);
}

TEST_CASE("errors: an unreachable or broken upstream is answered 502 and recorded") {
  TempDir dir;
  SUBCASE("nothing listens on the upstream's port") {
    int port = free_port();
    std::string db = dir.file("capture.sqlite");
    RecordingProxy proxy(db, {"--upstream", "http://127.0.0.1:" + std::to_string(port)});
    RawClient client(proxy.port());
    client.send("GET /api/me HTTP/1.1\r\nHost: a\r\n\r\n");
    std::string body =
        check_error_answer(client, 502, "cannot reach http://127.0.0.1:" + std::to_string(port));
    REQUIRE(proxy.interrupt() == 0);
    store::RecordingData data = load_capture(db);
    check_recorded(data, 502, body);
    CHECK(data.exchanges[0].url == "http://a/api/me");  // as the client's Host named it
  }
  SUBCASE("a host that does not resolve (forward proxy)") {
    std::string db = dir.file("capture.sqlite");
    RecordingProxy proxy(db, {"--ca-dir", dir.file("ca")});
    RawClient client(proxy.port());
    client.send("GET http://no-such-host.invalid/x HTTP/1.1\r\nHost: no-such-host.invalid\r\n\r\n");
    std::string body = check_error_answer(client, 502, "cannot reach http://no-such-host.invalid");
    REQUIRE(proxy.interrupt() == 0);
    store::RecordingData data = load_capture(db);
    check_recorded(data, 502, body);
    CHECK(data.exchanges[0].error_code == "resolve");
  }
  SUBCASE("the upstream answers something that is not HTTP") {
    FakeUpstream upstream;
    std::string db = dir.file("capture.sqlite");
    RecordingProxy proxy(db, {"--upstream", upstream.origin()});
    RawClient client(proxy.port());
    client.send("GET /garbage HTTP/1.1\r\nHost: a\r\n\r\n");
    std::string body = check_error_answer(client, 502, "upstream sent a malformed response");
    REQUIRE(proxy.interrupt() == 0);
    store::RecordingData data = load_capture(db);
    check_recorded(data, 502, body);
  }
}

TEST_CASE("errors: an upstream that never answers is answered 504 after --response-timeout") {
  TempDir dir;
  SilentUpstream upstream;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", "http://127.0.0.1:" + std::to_string(upstream.port()),
                            "--response-timeout", "1"});
  RawClient client(proxy.port());
  auto start = Clock::now();
  client.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string body = check_error_answer(client, 504, "sent nothing for 1 s");
  auto took = Clock::now() - start;
  CHECK(took >= 900ms);
  CHECK(took < 10s);
  REQUIRE(proxy.interrupt() == 0);
  CHECK(count_lines(proxy.process().out(), "GET http://a/slow 504") == 1);
  store::RecordingData data = load_capture(db);
  check_recorded(data, 504, body);
  CHECK(data.exchanges[0].error_code == "timeout");
}

TEST_CASE("errors: a client that rejects the minted certificate is reported on one line") {
  TempDir dir;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--ca-dir", dir.file("ca")});
  // curl trusts an unrelated CA file, so it rejects every certificate the proxy mints; two
  // hosts, twice each.
  TestPki pki = make_test_pki(dir);
  for (const char* url : {"https://app.example.test/", "https://app.example.test/again",
                          "https://other.example.test/", "https://127.0.0.1:9/"}) {
    CommandRun r = run_command({"curl", "-sS", "--max-time", "20", "--noproxy", "", "-x",
                                proxy.origin(), "--cacert", pki.ca_cert, url},
                               {{"NO_PROXY", ""}, {"no_proxy", ""}});
    CAPTURE(url);
    CHECK(r.exit_code == 60);  // the peer certificate cannot be authenticated
  }
  REQUIRE(proxy.interrupt() == 0);
  std::string err = proxy.process().err();
  INFO(proxy.process().tail());
  CHECK(count_lines(err, "workalready ca") == 1);
  CHECK(count_lines(err, "rejected the certificate minted for app.example.test") == 1);
  // The proxy itself went on: it stopped cleanly with its summary.
  CHECK(!proxy.summary().empty());
}

TEST_CASE("errors: idle and slow clients are closed after --client-timeout") {
  TempDir dir;
  FakeUpstream upstream;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", upstream.origin(), "--client-timeout", "1"});

  SUBCASE("a client that sends nothing") {
    RawClient client(proxy.port());
    auto start = Clock::now();
    client.read_until_closed(10s);
    CHECK(client.closed());
    CHECK(client.received().empty());
    CHECK(Clock::now() - start >= 900ms);
  }
  SUBCASE("a client that trickles its request head: 408, recorded") {
    RawClient client(proxy.port());
    auto start = Clock::now();
    REQUIRE(client.send("GET / HTTP/1.1\r\n"));
    // One header line every 200 ms: never idle for a second, but never done either.
    for (int i = 0; i < 50 && !client.closed(); ++i) {
      client.read(200ms);
      if (!client.closed() && !client.send("X-Slow-" + std::to_string(i) + ": 1\r\n")) break;
    }
    client.read_until_closed(5s);
    CHECK(client.closed());
    auto took = Clock::now() - start;
    CHECK(took >= 900ms);
    CHECK(took < 5s);
    CHECK(status_of(client.received()) == 408);
    CHECK(body_of(client.received()).rfind("workalready: ", 0) == 0);
    REQUIRE(proxy.interrupt() == 0);
    store::RecordingData data = load_capture(db);
    INFO(describe(data));
    const store::Exchange* x = with_status(data, 408);
    REQUIRE(x != nullptr);
    CHECK(x->error_code == "timeout");
  }
  SUBCASE("a kept-alive client that goes quiet after its response") {
    RawClient client(proxy.port());
    REQUIRE(client.send("GET /keepalive HTTP/1.1\r\nHost: a\r\n\r\n"));
    client.read(10s, "\r\n\r\nok");
    CHECK(status_of(client.received()) == 200);
    auto start = Clock::now();
    client.read_until_closed(10s);
    CHECK(client.closed());
    CHECK(Clock::now() - start >= 900ms);
  }
  SUBCASE("a client waiting for a response slower than the timeout is not idle") {
    RawClient client(proxy.port());
    REQUIRE(client.send("GET /delay/2500 HTTP/1.1\r\nHost: a\r\n\r\n"));
    client.read_until_closed(15s);
    CHECK(status_of(client.received()) == 200);
    CHECK(body_of(client.received()) == "ok");
  }
  // Whatever happened, the proxy stops cleanly (a second interrupt only collects the status).
  CHECK(proxy.interrupt() == 0);
}

TEST_CASE("errors: bad clients do not disturb a good one") {
  TempDir dir;
  App app({.kind = AppKind::express_v4});
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", app.origin()});

  RawClient idle(proxy.port());
  RawClient half_head(proxy.port());
  REQUIRE(half_head.send("GET / HTTP/1.1\r\nHost: a\r\nX-Never-End"));
  RawClient garbage(proxy.port());
  REQUIRE(garbage.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\0\0\0", 14)));
  RawClient huge(proxy.port());
  huge.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(100 * 1024, 'b') + "\r\n\r\n");
  // Pipelined requests for the 40 kB client script, never read: the proxy's writes to it
  // back up and its upstream is paused, for this connection only.
  RawClient deaf(proxy.port());
  std::string pipelined;
  for (int i = 0; i < 200; ++i)
    pipelined += "GET /socket.io/socket.io.js HTTP/1.1\r\nHost: a\r\n\r\n";
  REQUIRE(deaf.send(pipelined));
  // A request body cut by a reset.
  {
    RawClient cut(proxy.port());
    cut.send("POST /login HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nusername=");
    cut.reset();
  }

  ClientRun run = run_chat_client({"--url", proxy.origin(), "--user", "grace", "--chats", "2"});
  INFO(run.out << run.err << proxy.process().tail());
  CHECK(run.exit_code == 0);
  HttpResponse me = http_request(proxy.port(), "GET", "/api/me");
  CHECK(me.status == 401);

  garbage.read_until_closed(10s);
  CHECK(status_of(garbage.received()) == 400);
  huge.read_until_closed(10s);
  CHECK(status_of(huge.received()) == 431);
  idle.read(10ms);
  CHECK(!idle.closed());  // the default client timeout is far away
  REQUIRE(proxy.interrupt() == 0);
  store::RecordingData data = load_capture(db);
  CHECK(events_named(data, "welcome", store::Direction::server).size() == 1);
  CHECK(events_named(data, "chat", store::Direction::client).size() == 2);
}

TEST_CASE("errors: a non-loopback --listen needs --allow-remote") {
  TempDir dir;
  for (const char* listen : {"0.0.0.0:0", "[::]:0", "192.0.2.1:8080"}) {
    CAPTURE(listen);
    CommandRun r =
        run_command({WA_EXE, "record", "--listen", listen, "--db", dir.file("capture.sqlite")});
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.rfind("workalready: ", 0) == 0);
    CHECK(r.err.find("--allow-remote") != std::string::npos);
    CHECK(r.out.empty());
  }
  // Nothing was created: the refusal comes before the capture file.
  CHECK(!std::filesystem::exists(dir.file("capture.sqlite")));
}

TEST_CASE("errors: a recorder killed with SIGKILL leaves a sound capture of what completed") {
  TempDir dir;
  FakeUpstream upstream;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", upstream.origin()});
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = http_request(proxy.port(), "GET", "/n/" + std::to_string(i));
    CHECK(r.status == 200);
  }
  // DESIGN.md: every exchange completed more than a second before the kill is in the file.
  std::this_thread::sleep_for(1100ms);
  CHECK(proxy.interrupt(SIGKILL) == 128 + SIGKILL);
  CommandRun check = run_command({"sqlite3", db, "PRAGMA integrity_check"});
  CHECK(check.exit_code == 0);
  CHECK(check.out == "ok\n");
  store::RecordingData data = load_capture(db);
  INFO(describe(data));
  CHECK(!data.recording.ended_us.has_value());
  REQUIRE(data.exchanges.size() == 5);
  for (int i = 0; i < 5; ++i)
    CHECK(path_of(data.exchanges[size_t(i)].url) == "/n/" + std::to_string(i));
}
