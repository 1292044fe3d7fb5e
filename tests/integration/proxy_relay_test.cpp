// The relay itself, against a plain Node server (echo_app.js): bodies stream through both ways
// (chunked, with 100-continue) while only the first --max-body bytes are recorded, with the
// whole length and SHA-256 kept; WebSocket messages under permessage-deflate are recorded
// inflated, and the close handshake is relayed both ways; SIGTERM stops the recorder as
// SIGINT does.
#include <doctest/doctest.h>
#include <signal.h>

#include <fstream>
#include <random>

#include "protocol/digest.h"
#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

std::string sha256_hex(std::string_view bytes) {
  wa::digest::Sha256 h;
  h.update(bytes);
  return h.hex_final();
}

// A recorded payload that was cut at `cap` bytes of `whole`.
void check_capped(const store::Payload& p, std::string_view whole, size_t cap) {
  CHECK(p.bytes.size() == cap);
  CHECK(p.bytes == whole.substr(0, cap));
  CHECK(p.full_length == int64_t(whole.size()));
  CHECK(p.truncated());
  CHECK(p.sha256 == sha256_hex(whole));
}

}  // namespace

TEST_CASE(
    "relay: an 8 MB response streams through; the recorded body is capped, length and "
    "hash kept") {
  TempDir dir;
  EchoApp app;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", app.origin(), "--max-body", "1000"});
  const size_t n = 8'000'000;
  HttpResponse r = http_request(proxy.port(), "GET", "/big?n=" + std::to_string(n), {}, {}, 60s);
  CHECK(r.status == 200);
  CHECK(r.header("transfer-encoding") == "chunked");
  REQUIRE(r.body.size() == n);
  CHECK(r.body == std::string(n, 'x'));
  REQUIRE(proxy.interrupt() == 0);
  CHECK(count_lines(proxy.process().out(), "/big?n=8000000 200 ") == 1);
  store::RecordingData data = load_capture(db);
  REQUIRE(data.exchanges.size() == 1);
  check_capped(data.exchanges[0].response_body, r.body, 1000);
}

TEST_CASE("relay: a chunked upload with Expect: 100-continue streams through and back") {
  TempDir dir;
  EchoApp app;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", app.origin(), "--max-body", "1000"});
  std::string upload(2'000'000, '\0');
  std::mt19937 random(42);
  for (auto& c : upload)
    c = char(random());
  std::string in = dir.file("upload.bin"), out = dir.file("echoed.bin");
  write_text(in, upload);
  CommandRun run = run_command({"curl", "-sS", "-v", "--max-time", "60", "-H",
                                "Expect: 100-continue", "-H", "Transfer-Encoding: chunked",
                                "--data-binary", "@" + in, "-o", out, proxy.origin() + "/echo"});
  INFO(run.err << proxy.process().tail());
  REQUIRE(run.exit_code == 0);
  // The interim answer came through before the body went out.
  CHECK(run.err.find("< HTTP/1.1 100 Continue") != std::string::npos);
  CHECK(run.err.find("< HTTP/1.1 200 OK") != std::string::npos);
  CHECK(read_text(out) == upload);
  REQUIRE(proxy.interrupt() == 0);
  store::RecordingData data = load_capture(db);
  REQUIRE(data.exchanges.size() == 1);
  const store::Exchange& x = data.exchanges[0];
  CHECK(x.status == 200);
  CHECK(header_of(x.request_headers, "expect") == "100-continue");
  check_capped(x.request_body, upload, 1000);
  check_capped(x.response_body, upload, 1000);
}

TEST_CASE(
    "relay: permessage-deflate messages are recorded inflated; the close handshake "
    "passes; SIGTERM stops the recorder") {
  TempDir dir;
  EchoApp app;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", app.origin()});
  std::string big(3000, 'z');
  CommandRun run = run_command({"node", repo_path("tests/integration/echo_app.js"), "ws-client",
                                "ws://" + proxy.address() + "/ws", "hello compressed", big},
                               {}, 30s);
  INFO(run.out << run.err << proxy.process().tail());
  REQUIRE(run.exit_code == 0);
  auto lines = json_lines(run.out);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0]["extensions"].get<std::string>().find("permessage-deflate") != std::string::npos);
  CHECK(lines[3] == json({{"type", "close"}, {"code", 1000}}));

  REQUIRE(proxy.interrupt(SIGTERM) == 0);
  CHECK(!proxy.summary().empty());
  store::RecordingData data = load_capture(db);
  INFO(describe(data));
  REQUIRE(data.exchanges.size() == 1);
  CHECK(data.exchanges[0].status == 101);
  CHECK(header_of(data.exchanges[0].response_headers, "sec-websocket-extensions")
            .find("permessage-deflate") != std::string::npos);
  REQUIRE(data.ws_messages.size() == 6);
  const std::string texts[] = {"hello compressed", big};
  for (size_t i = 0; i < 4; ++i) {
    const store::WsMessage& m = data.ws_messages[i];
    CAPTURE(i);
    CHECK(m.exchange_id == data.exchanges[0].id);
    CHECK(m.direction == (i % 2 == 0 ? store::Direction::client : store::Direction::server));
    CHECK(m.opcode == 1);
    CHECK(m.compressed);
    CHECK(m.payload.bytes == texts[i / 2]);
  }
  // Close frames both ways: code 1000 and the reason.
  for (size_t i = 4; i < 6; ++i) {
    CAPTURE(i);
    CHECK(data.ws_messages[i].opcode == 8);
    CHECK(data.ws_messages[i].payload.bytes.substr(0, 2) == std::string("\x03\xe8", 2));
  }
  CHECK(data.ws_messages[4].direction == store::Direction::client);
  CHECK(data.ws_messages[4].payload.bytes.substr(2) == "done");
  CHECK(data.ws_messages[5].direction == store::Direction::server);
}
