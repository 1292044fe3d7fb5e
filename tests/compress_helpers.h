// Test helpers that encode bodies with zlib's and brotli's own encoders, for the tests of
// what decodes them (content codings, polling bodies, replayed responses).
#pragma once

#include <brotli/encode.h>
#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace wa::test {

// window_bits as deflateInit2 takes them: 15 zlib, -15 raw deflate, 15 + 16 gzip; level 0..9.
inline std::string zlib_compress(std::string_view in, int window_bits, int level = 6) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, uLong(in.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

inline std::string brotli(std::string_view in) {
  size_t size = BrotliEncoderMaxCompressedSize(in.size()) + 16;
  std::string out(size, '\0');
  REQUIRE(BrotliEncoderCompress(BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT,
                                in.size(), reinterpret_cast<const uint8_t*>(in.data()), &size,
                                reinterpret_cast<uint8_t*>(out.data())) == BROTLI_TRUE);
  out.resize(size);
  return out;
}

}  // namespace wa::test
