// Faults that used to make `workalready record` lose what it records without saying so: one
// test case each, asserting what the capture file holds afterwards (rows, marks, lengths and
// hashes), what the summary says, and the exit code.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <memory>

#include "protocol/digest.h"
#include "protocol/websocket.h"
#include "tests/integration/recording.h"

using namespace wa::test;
namespace store = wa::store;
namespace ws = wa::ws;

namespace {

std::string sha256_hex(std::string_view bytes) {
  wa::digest::Sha256 h;
  h.update(bytes);
  return h.hex_final();
}

// A masked client frame, as raw bytes (the first byte as on the wire: FIN, RSV, opcode).
std::string client_frame(uint8_t first, std::string_view payload) {
  static uint32_t n = 0x9e3779b9;
  ws::FrameWriter writer([] {
    n = n * 2654435761u + 1;
    return std::array<uint8_t, 4>{uint8_t(n), uint8_t(n >> 8), uint8_t(n >> 16), uint8_t(n >> 24)};
  });
  std::string out;
  REQUIRE(writer.write(
      ws::Frame{(first & 0x80) != 0, uint8_t((first >> 4) & 7), uint8_t(first & 0xf), payload},
      out));
  return out;
}

const store::Exchange* find_url(const store::RecordingData& data, std::string_view path) {
  for (const auto& x : data.exchanges) {
    if (x.url.size() >= path.size() &&
        x.url.compare(x.url.size() - path.size(), path.size(), path) == 0) {
      return &x;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE(
    "hostile record: out of descriptors, new connections are turned away and recording "
    "goes on") {
  // 600 connections at once under a hard limit of 256 descriptors: the proxy cannot hold them
  // all. It must close the ones it cannot afford at once, relay the others, and keep every
  // exchange it relayed in the capture (before, the journal could not be opened any more and
  // the capture silently stopped while the console went on).
  TempDir dir;
  EchoApp app;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", app.origin()}, {}, {"prlimit", "--nofile=256:256", "--"});

  // Each client sends a request head without its last line, so that the proxy holds every
  // connection it accepted; then the heads are finished.
  constexpr int kClients = 600;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(proxy.port()));
    clients.back()->send("GET /big?n=" + std::to_string(100 + i) + " HTTP/1.1\r\nHost: a\r\n");
  }
  for (auto& c : clients)
    c->send("Connection: close\r\n\r\n");
  int answered = 0, turned_away = 0;
  for (auto& c : clients) {
    c->read_until_closed(30s);
    CHECK(c->closed());
    if (status_of(c->received()) != 0) {
      ++answered;
    } else if (c->received().empty()) {
      ++turned_away;
    }
  }
  clients.clear();
  INFO("answered " << answered << ", turned away " << turned_away);
  CHECK(answered + turned_away == kClients);
  CHECK(turned_away > 0);  // 256 descriptors cannot hold 600 connections
  CHECK(answered > 50);

  // After the flood, recording goes on.
  RawClient after(proxy.port());
  after.send("GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  after.read_until_closed(10s);
  CHECK(status_of(after.received()) == 404);

  CHECK(proxy.interrupt() == 0);
  std::string out = proxy.process().out() + proxy.process().err();
  CHECK(out.find("out of file descriptors: new connections are closed at once") !=
        std::string::npos);
  CHECK(out.find("closed at once for lack of file descriptors") != std::string::npos);
  auto data = load_capture(db);
  // Every client that was answered is in the file, and the request after the flood too; the
  // summary counts the file.
  CHECK(int(data.exchanges.size()) == answered + 1);
  CHECK(find_url(data, "/after") != nullptr);
  CHECK(proxy.summary().find("recorded " + std::to_string(data.exchanges.size()) + " exchanges") !=
        std::string::npos);
}

TEST_CASE(
    "hostile record: WebSocket frames a peer refuses, and a message over the cap, are "
    "recorded marked and recording goes on") {
  TempDir dir;
  EchoApp app;
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--upstream", app.origin(), "--max-body", "4096"});

  RawClient client(proxy.port());
  client.send(
      "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  client.read(10s, "\r\n\r\n");
  REQUIRE(status_of(client.received()) == 101);
  client.clear();

  // A message over 16 MiB (the decoder's own limit), echoed: both directions over the cap.
  const std::string big(17u << 20, 'b');
  client.send(client_frame(0x82, big) + client_frame(0x81, "after big"));
  client.read(30s, "after big");
  REQUIRE(client.received().find("after big") != std::string::npos);
  client.clear();

  // Then frames the server refuses: it closes with 1007 after the bad UTF-8, but the frames
  // that went by are recorded, each marked, and the ones after them too.
  client.send(client_frame(0x81, "\xff\xfe") + client_frame(0x83, "reserved") +
              client_frame(0x81, "last"));
  client.read_until_closed(10s);
  CHECK(client.closed());

  CHECK(proxy.interrupt() == 0);
  auto data = load_capture(db);
  std::vector<const store::WsMessage*> from_client, from_server;
  for (const auto& m : data.ws_messages) {
    (m.direction == store::Direction::client ? from_client : from_server).push_back(&m);
  }
  REQUIRE(from_client.size() >= 5);
  // The big one: kept to --max-body, with the whole's length and hash, not marked as refused.
  CHECK(from_client[0]->opcode == 2);
  CHECK(from_client[0]->payload.bytes == big.substr(0, 4096));
  CHECK(from_client[0]->payload.full_length == int64_t(big.size()));
  CHECK(from_client[0]->payload.sha256 == sha256_hex(big));
  CHECK(from_client[0]->error.empty());
  CHECK(from_client[1]->payload.bytes == "after big");
  CHECK(from_client[2]->error == "text message is not valid UTF-8");
  CHECK(from_client[2]->payload.bytes == "\xff\xfe");
  CHECK(from_client[3]->opcode == 3);
  CHECK(from_client[3]->error == "reserved opcode 3");
  CHECK(from_client[4]->payload.bytes == "last");
  CHECK(from_client[4]->error.empty());
  // The echo of the big one, cut the same way, and the server's Close (1007).
  REQUIRE(from_server.size() >= 3);
  CHECK(from_server[0]->payload.full_length == int64_t(big.size()));
  CHECK(from_server[0]->payload.sha256 == sha256_hex(big));
  CHECK(from_server[1]->payload.bytes == "after big");
  CHECK(from_server.back()->opcode == 8);
  std::string out = proxy.process().out() + proxy.process().err();
  CHECK(out.find("a client frame a peer would refuse, recorded as it came and marked") !=
        std::string::npos);
  CHECK(out.find("2 WebSocket frames that a peer would refuse") != std::string::npos);
  CHECK(out.find("2 WebSocket messages over --max-body") != std::string::npos);
  CHECK(proxy.summary().find(std::to_string(data.ws_messages.size()) + " WebSocket messages") !=
        std::string::npos);

  // `show` lists the marked frames.
  CommandRun show = run_command({WA_EXE, "show", "--db", db});
  CHECK(show.exit_code == 0);
  CHECK(show.out.find("[reserved opcode 3]") != std::string::npos);
  CHECK(show.out.find("[text message is not valid UTF-8]") != std::string::npos);
}
