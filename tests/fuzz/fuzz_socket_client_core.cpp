// The replayer's live socket client logic (replay/socket_client_core.h) fed a server that
// answers anything in any order: handshake and poll bodies, WebSocket messages, failures,
// deadlines, and the caller's sends and close in between. Nothing may crash, and the machine
// must keep its promises: at most one poll and one POST out at a time, one Ended, nothing after
// it.
//
// The fuzz targets link the protocol library only; the core needs nothing else (it is sans-I/O,
// and replay/'s headers it includes are declarations), so its source is compiled in here.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "replay/socket_client_core.cpp"

namespace {

struct Input {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;

  bool done() const { return pos >= size; }
  uint8_t byte() { return pos < size ? data[pos++] : 0; }
  std::string chunk() {
    size_t n = byte();
    if (n > size - pos) n = size - pos;
    std::string out(reinterpret_cast<const char*>(data + pos), n);
    pos += n;
    return out;
  }
};

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wa;
  using namespace wa::replay;
  Input in{data, size};
  uint8_t setup = in.byte();
  static const traffic::Family kFamilies[] = {traffic::Family::eio3, traffic::Family::eio4,
                                              traffic::Family::sio09};
  static const Plan kPlans[] = {Plan::polling, Plan::upgrade, Plan::websocket_only};
  int busters = 0;
  SocketClientCore core(SocketCoreConfig{
      .family = kFamilies[setup % 3],
      .plan = kPlans[(setup / 3) % 3],
      .url = (setup % 3) == 2 ? "http://h/socket.io/1/?t=1&q=é" : "http://h/socket.io/?q=1&EIO=4",
      .cache_buster = [&busters] { return std::to_string(++busters); },
      .request_timeout_ms = 1000,
      .close_timeout_ms = 1000,
      .sio_limits = {.max_packet_bytes = 4096, .max_attachments = 4, .max_attachment_bytes = 4096},
      .eio_limits = {.max_payload = 4096, .max_packet = 4096, .max_packets = 64},
  });
  uint64_t now = 0;
  std::vector<HttpCommand> out;  // requests not answered yet
  bool ended = false;
  auto collect = [&] {
    for (auto& command : core.take()) {
      check(!ended);
      if (auto* http = std::get_if<HttpCommand>(&command)) out.push_back(std::move(*http));
      if (std::holds_alternative<EndedCommand>(command)) ended = true;
    }
    int polls = 0;
    int posts = 0;
    for (const auto& c : out) {
      polls += c.purpose == HttpPurpose::poll;
      posts += c.purpose == HttpPurpose::post;
    }
    check(polls <= 1 && posts <= 1);
  };
  core.start(now);
  collect();
  while (!in.done()) {
    uint8_t op = in.byte();
    switch (op % 10) {
      case 0:
      case 1: {  // the answer to a request still out
        if (out.empty()) break;
        size_t which = in.byte() % out.size();
        HttpCommand c = out[which];
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(which));
        int status = (op & 0x10) ? 400 : 200;
        std::string type = (op & 0x20) ? "application/octet-stream" : "text/plain";
        core.http_response(c.id, status, type, in.chunk(), now);
        break;
      }
      case 2: {
        if (out.empty()) break;
        size_t which = in.byte() % out.size();
        uint64_t id = out[which].id;
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(which));
        core.http_failed(id, ClientFailure{FailureKind::closed, "gone"}, now);
        break;
      }
      case 3:
        core.ws_opened(now);
        break;
      case 4: {
        bool binary = (op & 0x10) != 0;
        core.ws_message(in.chunk(), binary, now);
        break;
      }
      case 5:
        core.ws_closed("closed", now);
        break;
      case 6:
        now += in.byte() * 16;
        if (auto d = core.deadline(); d && *d <= now) core.tick(now);
        break;
      case 7: {
        std::string text = in.chunk();
        std::vector<std::string> attachments;
        if (op & 0x10) attachments.push_back(in.chunk());
        (void)core.send(text, attachments, now);
        break;
      }
      case 8:
        core.close(now);
        break;
      case 9:
        core.ws_failed(ClientFailure{FailureKind::refused, "no"}, now);
        break;
    }
    collect();
  }
  // Running the clock out ends every session: heartbeats or the close timeout.
  core.close(now);
  collect();
  for (int i = 0; i < 8 && !ended; ++i) {
    auto d = core.deadline();
    if (!d) break;
    now = *d;
    core.tick(now);
    collect();
  }
  return 0;
}
