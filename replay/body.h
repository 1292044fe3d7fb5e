// Bodies as the replayer reads them: content coding removed (RFC 9110 §8.4), told apart as JSON,
// HTML, other text or binary, and hashed like the capture store hashes a cut body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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
  explicit CappedBody(size_t cap);
  ~CappedBody();
  CappedBody(CappedBody&&) noexcept;
  CappedBody& operator=(CappedBody&&) noexcept;

  void append(std::string_view piece);
  // Room for `bytes` more (a declared Content-Length), never beyond the cap.
  void reserve(uint64_t bytes);

  uint64_t length() const { return length_; }  // bytes appended so far
  bool cut() const { return length_ > kept_.size(); }
  const std::string& kept() const { return kept_; }
  // The kept bytes, the whole length, and (when cut) the hash of the whole body. Leaves the
  // object empty.
  store::Payload take();

 private:
  struct Hasher;
  size_t cap_;
  std::string kept_;
  uint64_t length_ = 0;
  std::unique_ptr<Hasher> hash_;  // set once the body went past the cap
};

}  // namespace wa::replay
