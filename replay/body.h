// Bodies as the replayer reads them: content coding removed (RFC 9110 §8.4), told apart as JSON,
// HTML, other text or binary, and hashed like the capture store hashes a cut body.
#pragma once

#include <cstddef>
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

}  // namespace wa::replay
