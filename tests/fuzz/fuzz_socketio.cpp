// Socket.IO v4/v5 packets and attachment reassembly. The first byte picks the protocol version
// (bit 0) and small limits (bit 1); the rest is a sequence of Engine.IO messages, each
// `<kind><length><bytes>`: kind bit 0 set = a binary message (an attachment), clear = a text
// packet; length is one byte. So the fuzzer decides how a binary packet and its attachments are
// split into messages, and what comes between them.
// Properties checked (a failure traps):
// - every complete packet encodes, and the encoding decodes to the same packet (JSON compared
//   as written, so 1e400 and null agree as in JavaScript);
// - a complete binary packet has exactly the attachments it announced, and every placeholder
//   names one of them; the decoder never holds more attachment bytes than its limit;
// - the helpers answer for any packet without trapping.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/socketio.h"

using namespace wa::sio;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same(const Packet& a, const Packet& b) {
  return a.type == b.type && a.nsp == b.nsp && a.query == b.query && a.id == b.id &&
         a.data.has_value() == b.data.has_value() &&
         (!a.data || dump_json(*a.data) == dump_json(*b.data)) && a.attachments == b.attachments;
}

void exercise(const Packet& p, int version, const Limits& limits) {
  (void)type_name(p.type, version);
  (void)event_name(p);
  (void)event_args(p);
  (void)connect_reply(p);
  (void)connect_error(p, version);
  if (p.type == PacketType::binary_event || p.type == PacketType::binary_ack) {
    check(!p.attachments.empty() && p.attachments.size() <= limits.max_attachments);
    if (p.data) check(count_placeholders(*p.data) <= 1'000'000);
  } else {
    check(p.attachments.empty());
  }

  auto encoded = encode(p);
  check(encoded.ok());
  check(encoded->attachments == p.attachments);
  // Re-encoding may lengthen the text ("1E2" is written 100.0), so the size limit is lifted.
  Limits relaxed = limits;
  relaxed.max_packet_bytes = size_t(1) << 30;
  Decoder again(version, relaxed);
  auto r = again.feed_text(encoded->text);
  check(r.ok());
  for (const auto& blob : encoded->attachments) {
    check(r->has_value() == false);
    r = again.feed_binary(blob);
    check(r.ok());
  }
  check(r->has_value());
  check(same(**r, p));
  check(!again.awaiting());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int version = (data[0] & 1) ? 4 : 5;
  Limits limits;
  if (data[0] & 2) {
    limits.max_attachments = 3;
    limits.max_attachment_bytes = 64;
    limits.max_packet_bytes = 200;
    limits.max_json_depth = 5;
  }
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  // The whole input as one text packet, in both versions.
  for (int v : {4, 5}) {
    auto p = decode(rest, v, limits);
    if (p && p->type != PacketType::binary_event && p->type != PacketType::binary_ack) {
      exercise(*p, v, limits);
    }
  }

  Decoder decoder(version, limits);
  while (rest.size() >= 2) {
    const bool binary = static_cast<uint8_t>(rest[0]) & 1;
    size_t length = static_cast<uint8_t>(rest[1]);
    rest.remove_prefix(2);
    std::string_view message = rest.substr(0, length);
    rest.remove_prefix(message.size());
    auto out = binary ? decoder.feed_binary(message) : decoder.feed_text(message);
    if (!out.ok()) {
      check(!out.error().why.empty());
      check(!decoder.awaiting());  // a failure never leaves a half-built packet behind
      continue;
    }
    if (out->has_value()) exercise(**out, version, limits);
    check(decoder.attachments_missing() <= limits.max_attachments);
  }
  return 0;
}
