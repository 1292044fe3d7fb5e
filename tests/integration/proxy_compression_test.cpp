// Compressed long-polling through the recording proxy (PROTOCOLS.md §5): a real Socket.IO 2
// server (tests/apps/channels/sio2_gzip) emits `state`, about 2.5 KiB, on connect; Engine.IO 3's
// default httpCompression gzips the polling response that carries it because the client's
// request says `Accept-Encoding: gzip, deflate, br`, as a browser's does. The capture must hold
// the exchange as sent (gzip bytes, Content-Encoding gzip), the `state` event with its
// arguments decoded, no packet that failed to decode, and a summary whose event count is what
// `ls` counts.
#include <doctest/doctest.h>

#include "protocol/content_coding.h"
#include "storage/capture_assembler.h"
#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

constexpr std::string_view kAcceptEncoding = "gzip, deflate, br";

// The app of tests/apps/channels/<name>, on a port of its choosing.
struct ChannelApp {
  std::unique_ptr<Process> process;
  int port = 0;

  explicit ChannelApp(const std::string& name) {
    require_node_modules();
    process = std::make_unique<Process>(std::vector<std::string>{
        "node", repo_path("tests/apps/channels/" + name + "/app.js"), "--port", "0"});
    auto line = process->wait_for_prefix("LISTENING ", 60000ms);
    if (!line) throw std::runtime_error(name + " did not start\n" + process->tail());
    port = std::atoi(line->c_str() + 10);
  }
};

// The `name=value` of the first Set-Cookie.
std::string cookie_of(const HttpResponse& r) {
  auto all = r.set_cookies();
  return all.empty() ? std::string() : all.front().substr(0, all.front().find(';'));
}

// The body as the client reads it: without its content coding.
std::string readable(const HttpResponse& r) {
  auto decoded = wa::coding::decode_all(r.header("content-encoding"), r.body, 1 << 20);
  REQUIRE_MESSAGE(decoded.ok(), decoded.error().why);
  return *decoded;
}

}  // namespace

TEST_CASE("a gzip'd polling response is recorded as sent and decoded into its events") {
  TempDir dir;
  ChannelApp app("sio2_gzip");
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(
      db, {"--upstream", "http://127.0.0.1:" + std::to_string(app.port), "--name", "gzip-poll"});
  INFO(proxy.process().tail() << app.process->tail());

  HttpResponse login =
      http_request(proxy.port(), "POST", "/login", {{"Content-Type", "application/json"}},
                   R"({"username":"ada"})");
  REQUIRE(login.status == 200);
  const std::string cookie = cookie_of(login);
  REQUIRE(!cookie.empty());
  const std::vector<HttpHeader> headers = {{"Cookie", cookie},
                                           {"Accept-Encoding", std::string(kAcceptEncoding)}};

  // The handshake (`0{"sid":…}` is below the threshold), then polls until `state` has come.
  HttpResponse open =
      http_request(proxy.port(), "GET", "/socket.io/?EIO=3&transport=polling&t=a1", headers);
  REQUIRE(open.status == 200);
  std::string handshake = readable(open);
  size_t sid_at = handshake.find("\"sid\":\"");
  REQUIRE(sid_at != std::string::npos);
  sid_at += 7;
  const std::string sid = handshake.substr(sid_at, handshake.find('"', sid_at) - sid_at);
  std::string compressed_with;
  std::string polled = handshake;
  for (int i = 0; i < 5 && polled.find("\"state\"") == std::string::npos; ++i) {
    HttpResponse poll = http_request(
        proxy.port(), "GET",
        "/socket.io/?EIO=3&transport=polling&t=a" + std::to_string(i + 2) + "&sid=" + sid, headers,
        {}, 40000ms);
    REQUIRE(poll.status == 200);
    if (!poll.header("content-encoding").empty()) compressed_with = poll.header("content-encoding");
    polled += readable(poll);
  }
  REQUIRE(polled.find("\"state\"") != std::string::npos);
  // The server did compress: otherwise this test proves nothing.
  REQUIRE(compressed_with == "gzip");

  REQUIRE(proxy.interrupt() == 0);
  const std::string summary = proxy.summary();
  INFO("summary: " << summary);
  CHECK(proxy.process().out().find("could not be decoded") == std::string::npos);
  CHECK(proxy.process().out().find("[not decoded") == std::string::npos);

  store::RecordingData data = load_capture(db);
  INFO(describe(data));
  // The exchange row keeps the body as the server sent it.
  const store::Exchange* gzipped = nullptr;
  for (const auto& x : data.exchanges) {
    if (x.response_encoding == "gzip") gzipped = &x;
  }
  REQUIRE(gzipped != nullptr);
  CHECK(path_of(gzipped->url).find("sid=" + sid) != std::string::npos);
  REQUIRE(gzipped->response_body.bytes.size() >= 2);
  CHECK(gzipped->response_body.bytes.substr(0, 2) == "\x1f\x8b");

  auto states = events_named(data, "state", store::Direction::server);
  REQUIRE(states.size() == 1);
  CHECK(states[0]->exchange_id == gzipped->id);
  CHECK(states[0]->transport == store::Transport::polling);
  json args = json::parse(states[0]->args, nullptr, false);
  REQUIRE(args.is_array());
  CHECK(args[0]["owner"] == "ada");
  CHECK(args[0]["items"].size() == 24);
  CHECK(args[0]["items"][7]["price"] == 79);

  for (const auto& p : data.packets) {
    INFO("packet " << p.id << " raw " << p.raw);
    CHECK(store::undecodable_reason(p).empty());
  }

  // The summary counts the events `ls` counts, and `ls` reports nothing undecodable.
  auto reader = store::CaptureReader::open(db);
  REQUIRE(reader.ok());
  auto list = reader->recordings();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  CHECK((*list)[0].undecodable_packets == 0);
  auto counts = numbers_in(summary.substr(0, summary.find(" cookies set into ")));
  REQUIRE(counts.size() == 4);
  CHECK(counts[2] == (*list)[0].socket_events);
  CHECK(counts[2] >= 1);
}
