// Engine.IO: the first byte picks the version and what the rest is (a polling body sniffed or
// in a given format, a WebSocket message, an open packet, a URL query, or a sequence of packets
// for the session tracker); the second byte picks tight or default limits.
// Properties checked (a failure traps):
// - whatever decodes encodes again (same version, same format) and decodes to the same packets;
// - an open packet that parses encodes to JSON that parses to the same handshake;
// - decoded packets respect the limits; failures carry a reason.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/engineio.h"
#include "protocol/engineio_payload.h"
#include "protocol/engineio_session.h"

using namespace wa;
using namespace wa::eio;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

template <class T>
void check_failure(const Result<T>& r) {
  if (!r.ok()) check(!r.error().why.empty());
}

void check_within(const std::vector<Packet>& packets, const Limits& limits) {
  check(packets.size() <= limits.max_packets);
  for (const auto& p : packets)
    check(p.data.size() <= limits.max_packet);
}

void payload_round_trip(Version v, PayloadFormat format, std::string_view body,
                        const Limits& limits) {
  auto packets = decode_payload_as(v, format, body, limits);
  check_failure(packets);
  if (!packets) return;
  check_within(*packets, limits);
  auto again = encode_payload(v, *packets, format, 3);
  check(again.ok());
  auto back = decode_payload_as(v, format, *again);
  check(back.ok() && *back == *packets);
  // Whatever a server may choose for these packets must carry them too.
  PayloadFormat other = response_format(v, *packets, true);
  auto alt = encode_payload(v, *packets, other);
  check(alt.ok());
  auto alt_back = decode_payload(v, *alt);
  check(alt_back.ok() && *alt_back == *packets);
}

void ws_round_trip(Version v, std::string_view message, bool binary, const Limits& limits) {
  auto packet = decode_ws_message(v, message, binary, limits);
  check_failure(packet);
  if (!packet) return;
  check(packet->data.size() <= limits.max_packet);
  auto frame = encode_ws_message(v, *packet);
  check(frame.ok());
  auto back = decode_ws_message(v, frame->payload, frame->binary);
  check(back.ok() && *back == *packet);
}

void handshake_round_trip(std::string_view json) {
  auto h = parse_handshake(json);
  check_failure(h);
  if (!h) return;
  auto back = parse_handshake(encode_handshake(*h));
  check(back.ok() && *back == *h);
}

// Each record: a control byte (transport, direction, polling or WebSocket spelling), a length
// byte, then that many bytes.
void session(Version v, std::string_view input, const Limits& limits) {
  SessionTracker tracker(v);
  while (input.size() >= 2) {
    auto control = static_cast<unsigned char>(input[0]);
    size_t length = static_cast<unsigned char>(input[1]);
    input.remove_prefix(2);
    std::string_view record = input.substr(0, length);
    input.remove_prefix(record.size());
    Transport transport = (control & 1) ? Transport::websocket : Transport::polling;
    Direction direction = (control & 2) ? Direction::to_client : Direction::to_server;
    if (control & 4) {
      tracker.transport_closed(transport);
      continue;
    }
    std::vector<Packet> packets;
    if (transport == Transport::polling) {
      auto decoded = decode_payload(v, record, {}, limits);
      if (!decoded) continue;
      packets = std::move(decoded).value();
    } else {
      auto decoded = decode_ws_message(v, record, (control & 8) != 0, limits);
      if (!decoded) continue;
      packets.push_back(std::move(decoded).value());
    }
    for (const auto& p : packets) {
      auto seen = tracker.observe(transport, direction, p);
      check(seen.phase == tracker.phase());
      check(seen.traffic == classify(p));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const unsigned mode = data[0];
  const Version v = (mode & 1) ? Version::v4 : Version::v3;
  Limits limits;
  if (data[1] & 1) {
    limits.max_packet = data[1] >> 1;
    limits.max_packets = (data[1] >> 4) + 1;
    limits.max_payload = size_t{data[1]} * 4;
  }
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);

  switch ((mode >> 1) % 9) {
    case 0: {
      auto sniffed = sniff_payload(rest, (mode & 0x80) ? "application/octet-stream" : "");
      payload_round_trip(v, sniffed, rest, limits);
      check_failure(decode_payload(v, rest, "text/javascript", limits));
      break;
    }
    case 1:
      payload_round_trip(v, PayloadFormat::text, rest, limits);
      break;
    case 2:
      payload_round_trip(v, PayloadFormat::binary, rest, limits);
      break;
    case 3:
      payload_round_trip(v, PayloadFormat::jsonp, rest, limits);
      break;
    case 4:
      ws_round_trip(v, rest, false, limits);
      break;
    case 5:
      ws_round_trip(v, rest, true, limits);
      break;
    case 6:
      handshake_round_trip(rest);
      break;
    case 7: {
      Query q = parse_query(rest);
      check(q.sid.size() <= rest.size());
      break;
    }
    case 8:
      session(v, rest, limits);
      break;
  }
  return 0;
}
