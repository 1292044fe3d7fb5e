// Fuzzes content decoding: [0] picks the mode and the Content-Encoding value, [1] the output
// limit (hostile bodies) or the compression level (round trips); the rest is the body.
//
// Hostile bodies come as records [n][n bytes], one piece each, so the fuzzer chooses the chunk
// boundaries. Properties checked (a failure traps):
// - output never exceeds the limit; a failure has a reason and a data-path code, and repeats;
// - the pieces decode as the whole body does in one call (decode_all);
// - zlib's encoders' output (gzip, zlib-wrapped and raw deflate, stacked) decodes to the input
//   at any split the fuzzer picks.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/content_coding.h"

using namespace wa;
using namespace wa::coding;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr const char* kCodings[] = {
    "gzip", "x-gzip", "deflate", "br", "identity", "", "gzip, br", "br, deflate", "deflate, gzip",
};

void check_failure(const Failure& f) {
  check(!f.why.empty());
  check(f.code == Errc::bad_encoding || f.code == Errc::incomplete || f.code == Errc::limit);
}

void hostile(std::string_view coding, size_t max, std::string_view data) {
  auto decoder = Decoder::make(coding, max);
  check(decoder.ok());
  std::string whole, out;
  Result<void> r;
  while (!data.empty() && r) {
    size_t n = static_cast<uint8_t>(data[0]);
    data.remove_prefix(1);
    std::string_view piece = data.substr(0, n);
    data.remove_prefix(piece.size());
    whole.append(piece);
    r = decoder->feed(piece, out);
  }
  if (r) r = decoder->finish(out);
  check(out.size() <= max);
  if (!r) {
    check_failure(r.error());
    check(!decoder->feed("x", out).ok());
    check(!decoder->finish(out).ok());
    return;
  }
  auto again = decode_all(coding, whole, max);
  check(again.ok() && *again == out);
}

// window_bits as deflateInit2 takes them: 15 zlib, -15 raw deflate, 15 + 16 gzip.
std::string compress(std::string_view in, int window_bits, int level) {
  z_stream z{};
  check(deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, uLong(in.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  check(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

void round_trip(uint8_t mode, uint8_t setting, std::string_view data) {
  const int level = setting % 10;
  std::string body;
  std::string_view coding;
  switch (mode % 4) {
    case 0:
      body = compress(data, 15 + 16, level);
      coding = "gzip";
      break;
    case 1:
      body = compress(data, 15, level);
      coding = "deflate";
      break;
    case 2:
      body = compress(data, -15, level);
      coding = "deflate";
      break;
    default:
      // Two gzip members, then deflate over the whole: `gzip, deflate`.
      body = compress(compress(data.substr(0, data.size() / 2), 31, level) +
                          compress(data.substr(data.size() / 2), 31, level),
                      -15, level);
      coding = "gzip, deflate";
      break;
  }
  auto decoder = Decoder::make(coding, data.size());
  check(decoder.ok());
  const size_t cut = body.size() * (setting >> 4) / 16;
  std::string out;
  auto r = decoder->feed(std::string_view(body).substr(0, cut), out);
  if (r) r = decoder->feed(std::string_view(body).substr(cut), out);
  if (r) r = decoder->finish(out);
  check(r.ok() && out == data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  const uint8_t mode = data[0];
  if (mode & 0x80) {
    round_trip(mode, data[1], rest);
  } else {
    constexpr size_t kCount = sizeof kCodings / sizeof kCodings[0];
    hostile(kCodings[mode % kCount], size_t{1} << (data[1] % 21), rest);
  }
  return 0;
}
