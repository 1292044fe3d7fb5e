// HTTP content codings (RFC 9110 §8.4): reading a Content-Encoding value and removing the
// codings from a body, whole or as it streams.
//
// Everything that reads a body's content (the Engine.IO decoder of a recorded polling exchange,
// the replayer's comparison of bodies) reads it through here first: engine.io compresses
// polling responses of 1 KiB or more by default, and Express's compression middleware does the
// same to any response (PROTOCOLS.md §5).
//
// Supported: gzip and x-gzip (RFC 1952, several members in a row allowed, §2.2), deflate (the
// zlib format of RFC 1950, as RFC 9110 §8.4.1.2 says, or raw RFC 1951 deflate, as some servers
// send it anyway; told apart by the first two bytes), br (RFC 7932) and identity. Sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace wa::coding {

enum class Coding : uint8_t { gzip, deflate, br };
const char* coding_name(Coding coding);  // "gzip", "deflate", "br"

// The codings of a Content-Encoding value in the order the sender applied them (the order
// listed, RFC 9110 §8.4). Names are case-insensitive; x-gzip is gzip (§8.4.1.3); identity and
// empty list elements add nothing. An unknown coding is a Failure (Errc::bad_encoding): its
// body cannot be read.
Result<std::vector<Coding>> parse_content_encoding(std::string_view value);

// Removes the codings of one body, fed in pieces of any size. Output is appended to `out` by
// feed() and finish(); more than `max_output` bytes in all is Errc::limit, found before the
// excess is allocated, so a deflate bomb costs at most that. Inner layers of stacked codings
// are bounded too, at twice `max_output` and 64 KiB (compressed data may be a little larger
// than what it holds). Corrupt input is Errc::bad_encoding; a body that ends inside its coding
// is Errc::incomplete at finish(). After a Failure every later call returns it again.
//
// An empty body decodes to nothing whatever its coding: HEAD responses, 204 and 304 carry the
// header without a body. Movable; owns its zlib and brotli state.
class Decoder {
 public:
  static Result<Decoder> make(std::string_view content_encoding, size_t max_output);

  Decoder(Decoder&&) noexcept;
  Decoder& operator=(Decoder&&) noexcept;
  ~Decoder();

  Result<void> feed(std::string_view bytes, std::string& out);
  Result<void> finish(std::string& out);

  // No coding to remove (identity, or an empty value): bytes pass through unchanged, still
  // counted against the limit.
  bool identity() const { return stages_.empty(); }

  // One coding's decompressor; public only so that the implementation file can define them.
  class Stage;

 private:
  Decoder(std::vector<std::unique_ptr<Stage>> stages, size_t max_output);
  Result<void> run(std::string_view bytes, bool last, std::string& out);
  Result<void> fail_with(Failure failure);

  std::vector<std::unique_ptr<Stage>> stages_;  // in decoding order: the last coding listed first
  std::vector<std::string> between_;            // output of stage i, input of stage i + 1
  size_t max_output_;
  size_t produced_ = 0;  // bytes appended to callers' `out` so far
  bool finished_ = false;
  std::unique_ptr<Failure> failure_;
};

// The whole body at once: Decoder::make, feed, finish.
Result<std::string> decode_all(std::string_view content_encoding, std::string_view body,
                               size_t max_output);

}  // namespace wa::coding
