// Fuzzes the WebSocket decoder and endpoints. The first bytes choose the setup, the rest is the
// stream:
//   [0] mode (decode, endpoint, round trip) and flags: sender role, permessage-deflate and its
//       context takeover, masking rules
//   [1] maximum message size, 2^(n % 21) bytes
//   [2] chunking: 0 feeds everything at once, n splits the input into pieces of 1..n bytes
//   [3] window bits and fragment size for what the endpoints send
// Properties checked beyond "no crash": the decoded log does not depend on the chunking, every
// text message is UTF-8, no message exceeds the maximum, and what an endpoint writes decodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/text.h"
#include "protocol/websocket.h"

#include "tests/fuzz/chunks.h"

using namespace wa::ws;

namespace {

struct Setup {
  int mode = 0;
  Role sender = Role::client;
  std::optional<DeflateParams> deflate;
  bool require_masking = true;
  size_t max_size = 1024;
  uint8_t chunking = 0;
  int window_bits = 15;
  size_t fragment = 0;
};

Setup read_setup(std::string_view& in) {
  Setup s;
  uint8_t b[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4 && !in.empty(); ++i) {
    b[i] = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
  }
  s.mode = b[0] % 3;
  s.sender = (b[0] & 0x04) ? Role::server : Role::client;
  if (b[0] & 0x08) {
    DeflateParams p;
    p.server_no_context_takeover = (b[0] & 0x10) != 0;
    p.client_no_context_takeover = (b[0] & 0x20) != 0;
    p.server_max_window_bits = 8 + (b[3] & 7);
    p.client_max_window_bits = 8 + ((b[3] >> 3) & 7);
    s.deflate = p;
  }
  s.require_masking = (b[0] & 0x40) == 0;
  s.max_size = size_t{1} << (b[1] % 21);
  s.chunking = b[2];
  s.fragment = (b[3] >> 6) == 0 ? 0 : size_t{1} << (b[3] >> 6) * 3;
  return s;
}

using wa::fuzz::chunks;

void check_message(const Message& m, size_t max_size) {
  if (m.opcode == Opcode::continuation) abort();
  if ((m.opcode == Opcode::text || m.opcode == Opcode::close) &&
      !wa::text::is_valid_utf8(m.payload)) {
    abort();
  }
  if (m.payload.size() > max_size && !is_control(m.opcode)) abort();
  if (is_control(m.opcode) && m.payload.size() > 125) abort();
  if (m.opcode == Opcode::close && m.close_code != close_code::no_status &&
      !is_valid_close_code(m.close_code)) {
    abort();
  }
}

struct Log {
  std::vector<Message> messages;
  bool failed = false;
  wa::Errc code{};
};

Log decode(const DecoderOptions& options, const std::vector<std::string_view>& pieces) {
  Decoder d(options);
  Log log;
  for (std::string_view piece : pieces) {
    auto r = d.feed(piece, log.messages);
    if (!r) {
      log.failed = true;
      log.code = r.error().code;
      // Sticky: the same failure again.
      auto again = d.feed("x", log.messages);
      if (again || again.error().code != log.code) abort();
      break;
    }
  }
  return log;
}

bool same(const Log& a, const Log& b) {
  if (a.failed != b.failed || a.code != b.code || a.messages.size() != b.messages.size()) {
    return false;
  }
  for (size_t i = 0; i < a.messages.size(); ++i) {
    const Message& x = a.messages[i];
    const Message& y = b.messages[i];
    if (x.opcode != y.opcode || x.payload != y.payload || x.compressed != y.compressed ||
        x.close_code != y.close_code || x.frames != y.frames || x.wire_size != y.wire_size) {
      return false;
    }
  }
  return true;
}

MaskSource mask_from(uint32_t seed) {
  return [seed]() mutable {
    seed = seed * 2654435761u + 1;
    return std::array<uint8_t, 4>{uint8_t(seed), uint8_t(seed >> 8), uint8_t(seed >> 16),
                                  uint8_t(seed >> 24)};
  };
}

EndpointOptions endpoint(Role role, const Setup& s) {
  EndpointOptions o;
  o.role = role;
  o.max_message_size = s.max_size;
  o.deflate = s.deflate;
  if (role == Role::client) o.mask = mask_from(s.chunking);
  o.deflate_level = 1;
  return o;
}

// Whatever an endpoint writes must decode cleanly on the other side.
void check_output(Endpoint& e, Role role, const Setup& s) {
  DecoderOptions o;
  o.sender = role;
  o.max_message_size = s.max_size * 2 + 1024;
  o.deflate = s.deflate;
  Decoder d(o);
  std::vector<Message> out;
  if (!d.feed(e.take_output(), out)) abort();
}

void run_decoder(const Setup& s, std::string_view stream) {
  DecoderOptions o;
  o.sender = s.sender;
  o.max_message_size = s.max_size;
  o.deflate = s.deflate;
  o.require_masking = s.require_masking;
  Log whole = decode(o, {stream});
  for (const Message& m : whole.messages)
    check_message(m, s.max_size);
  if (s.chunking != 0 && !same(whole, decode(o, chunks(stream, s.chunking)))) abort();

  // An observer reads the same stream: where the peer's decoder accepted everything, it sees
  // the same messages with nothing marked; it keeps at most max_size bytes of any payload, says
  // why and how much it dropped, and fails only with a last message saying the frames are lost
  // (whatever the split).
  DecoderOptions seen = o;
  seen.observe = true;
  Log observed = decode(seen, {stream});
  for (const Message& m : observed.messages) {
    if (m.payload.size() > std::max<size_t>(s.max_size, 125)) abort();
    if ((m.dropped > 0) != !m.sha256.empty()) abort();
  }
  if (observed.failed &&
      (observed.messages.empty() ||
       observed.messages.back().invalid.find("nothing after it") == std::string::npos)) {
    abort();
  }
  if (!whole.failed) {
    if (!same(whole, observed)) abort();
    for (const Message& m : observed.messages) {
      if (!m.invalid.empty() || m.dropped != 0) abort();
    }
  }
  if (s.chunking != 0 && !same(observed, decode(seen, chunks(stream, s.chunking)))) abort();
}

void run_endpoint(const Setup& s, std::string_view stream) {
  // The endpoint receives what `sender` wrote, so it plays the other role.
  const Role role = peer_of(s.sender);
  Endpoint e(endpoint(role, s));
  std::vector<Message> out;
  for (std::string_view piece : chunks(stream, s.chunking)) {
    if (!e.feed(piece, out)) break;
  }
  for (const Message& m : out)
    check_message(m, s.max_size);
  (void)e.send_binary(stream.substr(0, 300), {s.fragment, true});
  (void)e.ping(stream.substr(0, 125));
  (void)e.close(close_code::normal, "done");
  check_output(e, role, s);
}

void run_round_trip(const Setup& s, std::string_view payload) {
  Endpoint client(endpoint(Role::client, s));
  Endpoint server(endpoint(Role::server, s));
  const bool is_text = wa::text::is_valid_utf8(payload);
  const SendOptions send{s.fragment, (s.chunking & 1) == 0};
  std::vector<Message> at_server, at_client;
  for (int i = 0; i < 2; ++i) {
    auto r = is_text ? client.send_text(payload, send) : client.send_binary(payload, send);
    if (!r) abort();
  }
  std::string wire = client.take_output();
  for (std::string_view piece : chunks(wire, s.chunking)) {
    auto r = server.feed(piece, at_server);
    if (!r) {
      if (payload.size() <= s.max_size) abort();
      return;
    }
  }
  if (payload.size() > s.max_size) abort();
  if (at_server.size() != 2) abort();
  for (const Message& m : at_server) {
    if (m.payload != payload) abort();
    if (m.opcode != (is_text ? Opcode::text : Opcode::binary)) abort();
  }
  if (!server.send_binary(payload, send) || !server.close(4000, "bye")) abort();
  if (!client.feed(server.take_output(), at_client)) abort();
  if (at_client.size() != 2 || at_client[0].payload != payload || at_client[1].close_code != 4000) {
    abort();
  }
  // The client echoed the close (§5.5.1) and the handshake is complete on its side.
  if (client.state() != Endpoint::State::closed || !client.has_output()) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const Setup s = read_setup(in);
  switch (s.mode) {
    case 0:
      run_decoder(s, in);
      break;
    case 1:
      run_endpoint(s, in);
      break;
    default:
      run_round_trip(s, in);
      break;
  }
  return 0;
}
