// Fuzzes the socket traffic observer with a sequence of exchanges and WebSocket messages on a
// few targets: the fuzzer chooses the kind of each step, its target, and the bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/socket_traffic.h"

namespace {

constexpr const char* kTargets[] = {
    "/socket.io/?EIO=4&transport=polling",
    "/socket.io/?EIO=4&transport=polling&sid=s",
    "/socket.io/?EIO=3&transport=polling&sid=s",
    "/socket.io/?EIO=4&transport=websocket&sid=s",
    "/socket.io/?EIO=3&transport=websocket",
    "/socket.io/1/?t=1",
    "/socket.io/1/xhr-polling/s?t=1",
    "/socket.io/1/websocket/s",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  wa::traffic::Observer obs;
  int64_t id = 0;
  while (in.size() >= 3) {
    uint8_t op = uint8_t(in[0]);
    const char* target = kTargets[(op >> 4) % 8];
    size_t len = std::min<size_t>(uint8_t(in[1]) | (size_t(uint8_t(in[2])) << 8), in.size() - 3);
    std::string_view body = in.substr(3, len);
    in.remove_prefix(3 + len);
    switch (op & 7) {
      case 0:
      case 1: {
        wa::traffic::HttpExchange x;
        x.method = (op & 1) ? "POST" : "GET";
        x.target = target;
        x.status = (op & 8) ? 400 : 200;
        x.request_body = body;
        x.response_body = body;
        x.response_content_type = (op & 8) ? "application/octet-stream" : "text/plain";
        obs.on_exchange(x, ++id);
        break;
      }
      case 2:
        obs.on_websocket_open(op >> 4, target);
        break;
      case 3:
      case 4:
        obs.on_websocket_message(
            op >> 4, (op & 1) ? wa::traffic::Direction::client : wa::traffic::Direction::server,
            (op & 8) != 0, body, {wa::traffic::Source::Kind::ws_message, ++id, id});
        break;
      case 5:
        obs.on_websocket_close(op >> 4);
        break;
      default:
        break;
    }
  }
  obs.finish();
  return 0;
}
