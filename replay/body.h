// Bodies as the replayer reads them: content coding removed (RFC 9110 §8.4), told apart as JSON,
// HTML, other text or binary, and hashed like the capture store hashes a cut body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/digest.h"
#include "storage/model.h"

namespace wa::replay {

// Bodies larger than this (after decoding) are not decoded, parsed or scanned: they are
// compared by length and hash only. A bound on the work hostile or huge bodies can cause.
inline constexpr size_t kMaxDecodedBody = 16u << 20;

// The first value of a header (names compared case-insensitively), "" when absent.
std::string_view header_value(const store::Headers& headers, std::string_view name);

// The body without its content coding (protocol/content_coding.h): "" and "identity" give the
// bytes back; gzip, x-gzip, deflate (zlib-wrapped or raw) and br are decoded, stacked codings
// ("gzip, br") in reverse order. nullopt for an unknown coding, corrupt or cut data, or more
// than `limit` bytes.
std::optional<std::string> decode_content(std::string_view bytes, std::string_view coding,
                                          size_t limit = kMaxDecodedBody);

enum class BodyKind : uint8_t { empty, json, html, text, binary };

// What a body is, from its Content-Type (media type, RFC 9110 §8.3.1) and, failing that, its
// bytes: JSON for application/json and any +json type (RFC 6839 §3.1); HTML for text/html and
// XHTML; text for other text/*, XML, JavaScript, form bodies, or an unlabelled body that is
// valid UTF-8 without NUL bytes; binary otherwise. A labelled text body that is not valid
// UTF-8 is binary (nothing textual can be said about it).
BodyKind body_kind(std::string_view content_type, std::string_view bytes);

// Lower-case hex SHA-256, as store::Payload::sha256.
std::string sha256_hex(std::string_view bytes);

// A body collected as it streams in, with bounded memory: the first `cap` bytes are kept; once
// the body goes past them, the kept bytes are hashed (SHA-256) and every later piece is hashed
// and counted as it passes, never held. The result is what the capture store keeps of a cut
// body (store::Payload: the prefix, the whole length, the hash of the whole), so a live body
// over the cap compares with a recorded one by length and hash, and one under it whole. Bodies
// that stay under the cap cost no hashing at all.
class CappedBody {
 public:
  explicit CappedBody(size_t cap) : bytes_(cap) {}

  void append(std::string_view piece) { bytes_.append(piece); }
  // Room for `bytes` more (a declared Content-Length), never beyond the cap.
  void reserve(uint64_t bytes) { bytes_.reserve(bytes_.kept().size() + bytes); }

  uint64_t length() const { return bytes_.size(); }  // bytes appended so far
  bool cut() const { return bytes_.truncated(); }
  const std::string& kept() const { return bytes_.kept(); }
  // The kept bytes, the whole length, and (when cut) the hash of the whole body. Leaves the
  // object empty.
  store::Payload take();

 private:
  digest::CappedBytes bytes_;
};

}  // namespace wa::replay
