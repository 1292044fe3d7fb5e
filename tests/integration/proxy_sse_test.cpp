// Server-Sent Events through the reverse proxy, from a real Express app (tests/apps/sse): the
// events of a text/event-stream response are recorded one row each as they arrive, with their
// ids, types and data, although the stream never ends (the reader closes it, as a browser does
// when its page goes), and `workalready show` lists them on the timeline.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/recording.h"

using namespace wa::test;
namespace store = wa::store;

namespace {

// `node tests/apps/sse/app.js` on a free port, ready once it printed `LISTENING <port>`.
struct SseApp {
  SseApp() {
    require_node_modules();
    process = std::make_unique<Process>(
        std::vector<std::string>{"node", repo_path("tests/apps/sse/app.js")},
        std::vector<Env>{{"PORT", "0"}, {"NODE_PATH", repo_path("node_modules")}}, repo_path(""));
    auto line = process->wait_for_prefix("LISTENING ", 30000ms);
    if (!line) throw std::runtime_error("the SSE app did not start\n" + process->tail());
    port = std::atoi(line->c_str() + 10);
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port); }
  std::unique_ptr<Process> process;
  int port = 0;
};

// A reader of one event stream over a plain socket, as an EventSource holds it open.
class StreamReader {
 public:
  StreamReader(int port, const std::string& target) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";
    REQUIRE(::write(fd_, request.data(), request.size()) == ssize_t(request.size()));
  }
  ~StreamReader() { close(); }

  // Reads until what came holds `text`; false on timeout.
  bool wait_for(std::string_view text, Millis timeout = 10000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(text) == std::string::npos) {
      auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, int(left.count())) <= 0) continue;
      char buffer[4096];
      ssize_t n = ::read(fd_, buffer, sizeof buffer);
      if (n <= 0) return false;
      received_.append(buffer, size_t(n));
    }
    return true;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
};

}  // namespace

TEST_CASE("an event stream is recorded event by event, and the reader closing it ends it") {
  TempDir dir;
  SseApp app;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", app.origin(), "--name", "sse"});

  StreamReader reader(proxy.port(), "/events");
  REQUIRE_MESSAGE(reader.wait_for("data: {\"n\":3}\n\n"), reader.received());
  // The proxy relays the events as they come (chunked, since the app sets no length).
  CHECK(reader.received().find("Transfer-Encoding: chunked") != std::string::npos);
  HttpResponse notify = http_request(proxy.port(), "POST", "/notify");
  CHECK(notify.status == 204);
  REQUIRE_MESSAGE(reader.wait_for("id: 4\ndata: {\"n\":4}\n\n"), reader.received());
  reader.close();  // the page goes away; the app's stream would go on forever

  // The exchange is written once the proxy sees the reader go; then the recording ends.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool written = false;
  while (!written && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    auto r = store::CaptureReader::open(db);
    if (!r) continue;
    auto n = r->database().query_int("SELECT count(*) FROM exchanges WHERE url LIKE '%/events'");
    written = n && *n == 1;
  }
  CHECK(written);
  REQUIRE(proxy.interrupt() == 0);

  store::RecordingData data = load_capture(db);
  INFO(describe(data));
  const store::Exchange* stream = find_exchange(data, "GET", "/events");
  REQUIRE(stream != nullptr);
  CHECK(stream->status == 200);
  CHECK(header_of(stream->response_headers, "content-type") == "text/event-stream");
  CHECK(stream->error_code == "client_closed");
  CHECK(stream->response_body.bytes.find(": keep-alive") != std::string::npos);

  REQUIRE(data.sse_events.size() == 4);
  const std::vector<std::string> ids = {"1", "2", "3", "4"};
  const std::vector<std::string> types = {"update", "message", "update", "message"};
  const std::vector<std::string> payloads = {"{\"n\":1}", "two\nlines", "{\"n\":3}", "{\"n\":4}"};
  const store::Exchange* post = find_exchange(data, "POST", "/notify");
  REQUIRE(post != nullptr);
  for (size_t i = 0; i < 4; ++i) {
    const store::SseEvent& e = data.sse_events[i];
    CAPTURE(i);
    CHECK(e.exchange_id == stream->id);
    CHECK(e.seq == int(i));
    CHECK(e.event_id == ids[i]);
    CHECK(e.event == types[i]);
    CHECK(e.data == payloads[i]);
    CHECK_FALSE(e.retry_ms);
    CHECK(e.time_us >= stream->started_us);
    if (i > 0) CHECK(e.time_us > data.sse_events[i - 1].time_us);
  }
  // The fourth event came because of the POST, long before the stream's row was written.
  CHECK(data.sse_events[3].time_us > post->started_us);
  REQUIRE(stream->ended_us);
  CHECK(data.sse_events[3].time_us <= *stream->ended_us);

  auto reader_counts = store::CaptureReader::open(db);
  REQUIRE(reader_counts);
  CHECK(reader_counts->recordings()->back().sse_events == 4);

  CommandRun show = run_command({WA_EXE, "show", "--db", db});
  INFO(show.out << show.err);
  CHECK(show.exit_code == 0);
  CHECK(count_lines(show.out, "S> sse GET /events") == 4);
  CHECK(show.out.find("S> sse GET /events  event=update id=3 {\"n\":3}") != std::string::npos);
  CHECK(show.out.find("S> sse GET /events  id=2 two\\x0alines") != std::string::npos);
  CommandRun ls = run_command({WA_EXE, "ls", "--db", db});
  CHECK(ls.out.find("SSE EVENTS") != std::string::npos);
}
