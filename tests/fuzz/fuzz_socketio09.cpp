// Socket.IO 0.9: frames, xhr-polling payloads, handshake bodies, refusals and transport paths.
// The first byte picks what the rest is read as (and small limits with bit 3).
// Properties checked (a failure traps):
// - a decoded frame encodes and decodes back to itself; its content, rebuilt into a frame by
//   make_frame, decodes to the same content;
// - a decoded payload encodes and decodes back to the same frames;
// - a parsed handshake, and a parsed path, write and read back as themselves.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/socketio09.h"

using namespace wa::sio09;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Contents compared through the frame make_frame writes for them.
std::string written(const Content& c) {
  auto text = encode_frame(make_frame(c, "/e", 7, true));
  check(text.ok());
  return *text;
}

void frame_round_trip(std::string_view text, const Limits& limits) {
  auto frame = decode_frame(text, limits);
  if (!frame) return;
  (void)type_name(frame->type);
  (void)automatic_ack(*frame);
  auto bytes = encode_frame(*frame);
  check(bytes.ok());
  Limits relaxed = limits;
  relaxed.max_frame_bytes = size_t(1) << 30;
  auto back = decode_frame(*bytes, relaxed);
  check(back.ok() && *back == *frame);

  auto c = content(*frame, limits);
  if (!c) return;
  if (const auto* e = std::get_if<Error>(&*c)) {
    (void)error_reason_name(e->reason);
    (void)error_advice_name(e->advice);
  }
  Frame rebuilt = make_frame(*c, frame->endpoint, frame->id, frame->user_ack);
  auto rebuilt_bytes = encode_frame(rebuilt);
  check(rebuilt_bytes.ok());
  auto again = decode(*rebuilt_bytes, relaxed);
  check(again.ok());
  check(again->content.index() == c->index());
  check(written(again->content) == written(*c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Limits limits;
  if (data[0] & 8) {
    limits.max_frame_bytes = 64;
    limits.max_payload_frames = 3;
    limits.max_json_depth = 4;
  }
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  switch (data[0] & 7) {
    case 0:
    case 1: {
      frame_round_trip(rest, limits);
      break;
    }
    case 2:
    case 3: {
      auto frames = decode_payload(rest, limits);
      if (!frames) break;
      check(frames->size() <= limits.max_payload_frames);
      for (const auto& f : *frames)
        frame_round_trip(f, limits);
      auto body = encode_payload(*frames);
      check(body.ok());
      Limits relaxed = limits;
      relaxed.max_frame_bytes = size_t(1) << 30;
      auto back = decode_payload(*body, relaxed);
      check(back.ok() && *back == *frames);
      break;
    }
    case 4:
    case 5: {
      auto hs = parse_handshake(rest);
      if (hs) {
        auto back = parse_handshake(encode_handshake(*hs));
        check(back.ok() && *back == *hs);
      }
      (void)parse_refusal(data[0] & 1 ? 200 : 500, rest);
      break;
    }
    default: {
      for (std::string_view resource : {"/socket.io", "/r", ""}) {
        auto path = parse_path(rest, resource);
        if (!path) continue;
        auto back = parse_path(make_path(*path, resource), resource);
        check(back && *back == *path);
      }
      break;
    }
  }
  return 0;
}
