// Fuzzes permessage-deflate: the extension header grammar and negotiation (with the opening
// handshake checks that use them), the decompressor on hostile payloads, and the compressor and
// decompressor against each other. [0] picks the mode, [1] and [2] its settings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/ws_deflate.h"
#include "protocol/ws_handshake.h"

using namespace wa::ws;

namespace {

bool same(const DeflateParams& a, const DeflateParams& b) {
  return a.server_no_context_takeover == b.server_no_context_takeover &&
         a.client_no_context_takeover == b.client_no_context_takeover &&
         a.server_max_window_bits == b.server_max_window_bits &&
         a.client_max_window_bits == b.client_max_window_bits;
}

bool same(const Extension& a, const Extension& b) {
  if (a.name != b.name || a.params.size() != b.params.size()) return false;
  for (size_t i = 0; i < a.params.size(); ++i) {
    if (a.params[i].name != b.params[i].name || a.params[i].value != b.params[i].value)
      return false;
  }
  return true;
}

// Line 1: an offer; line 2: a response; every line "name: value" also makes a header list.
void negotiation(uint8_t setting, std::string_view text) {
  size_t nl = text.find('\n');
  std::string_view offer = text.substr(0, nl);
  std::string_view response =
      nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  response = response.substr(0, response.find('\n'));

  auto offers = parse_extensions(offer);
  if (offers) {
    for (const Extension& e : *offers) {
      auto again = parse_extensions(format_extension(e));
      if (!again || again->size() != 1 || !same(again->front(), e)) abort();
    }
  }
  DeflatePolicy policy;
  policy.server_no_context_takeover = setting & 1;
  policy.client_no_context_takeover = setting & 2;
  policy.server_max_window_bits = 8 + ((setting >> 2) & 7);
  policy.client_max_window_bits = 15 - ((setting >> 5) & 7);
  auto agreement = negotiate_deflate(offer, policy);
  if (agreement) {
    // The server's answer must satisfy the client that made the offer it accepted.
    std::optional<DeflateOffer> accepted;
    if (!offers) abort();
    for (const Extension& e : *offers) {
      if (auto o = parse_deflate_offer(e)) {
        accepted = *o;
        break;
      }
    }
    if (!accepted) abort();
    auto reparsed = parse_extensions(format_extension(agreement->response));
    if (!reparsed || reparsed->size() != 1) abort();
    auto p = accept_deflate_response(reparsed->front(), *accepted);
    if (!p || !same(*p, agreement->params)) abort();
  }
  if (auto answered = parse_extensions(response)) {
    for (const Extension& e : *answered) {
      (void)read_deflate_response(e);
      if (offers) {
        for (const Extension& o : *offers) {
          if (auto parsed = parse_deflate_offer(o)) (void)accept_deflate_response(e, *parsed);
        }
      }
    }
  }
  HeaderList headers;
  for (std::string_view rest = text; !rest.empty();) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  (void)check_request("GET", headers);
  (void)check_response(headers, 101, headers);
  (void)read_agreement(headers);
}

// Records of [n][n & 0x7f bytes]: the bytes are the next piece of a message; n & 0x80 ends it.
void inflate_hostile(uint8_t setting, uint8_t limit, std::string_view data) {
  const size_t max = size_t{1} << (limit % 21);
  Inflater in(8 + (setting & 7), (setting & 8) != 0);
  std::string out;
  while (!data.empty()) {
    const uint8_t head = static_cast<uint8_t>(data[0]);
    data.remove_prefix(1);
    std::string_view piece = data.substr(0, head & 0x7f);
    data.remove_prefix(piece.size());
    auto r = in.feed(piece, out, max);
    if (r && (head & 0x80)) r = in.finish(out, max);
    if (out.size() > max) abort();
    if (!r) return;
    if (head & 0x80) out.clear();
  }
}

void round_trip(uint8_t setting, uint8_t level, std::string_view data) {
  const int bits = 9 + (setting % 7);
  const bool no_takeover = (setting & 0x80) != 0;
  Deflater d(bits, no_takeover, level % 10, 1 + (level >> 4) % 9);
  Inflater in(bits, no_takeover);
  const size_t half = data.size() / 2;
  for (std::string_view message : {data.substr(0, half), data.substr(half), data}) {
    std::string z;
    if (!d.compress(message, z)) abort();
    std::string out;
    const size_t cut = z.size() / 3;
    auto r = in.feed(std::string_view(z).substr(0, cut), out, data.size());
    if (r) r = in.feed(std::string_view(z).substr(cut), out, data.size());
    if (r) r = in.finish(out, data.size());
    if (!r || out != message) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  switch (data[0] % 3) {
    case 0:
      negotiation(data[1], rest);
      break;
    case 1:
      inflate_hostile(data[1], data[2], rest);
      break;
    default:
      round_trip(data[1], data[2], rest);
      break;
  }
  return 0;
}
