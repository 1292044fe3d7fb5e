// Text helpers shared by the codecs: base64 (RFC 4648 §4), UTF-8 validation, and the UTF-16
// length of UTF-8 text, which Engine.IO v3 and Socket.IO 0.9 use as their length prefix
// (JavaScript's string.length: an emoji counts two).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/result.h"

namespace wa::text {

std::string base64_encode(std::string_view bytes);

// Strict: the standard alphabet, '=' padding optional at the end only, no whitespace.
Result<std::string> base64_decode(std::string_view text);

bool is_valid_utf8(std::string_view bytes);

// The value of a hex digit (0-9, a-f, A-F), or -1 for any other byte.
int hex_value(char c);
inline bool is_hex(char c) {
  return hex_value(c) >= 0;
}

// Appends a code point in UTF-8; a surrogate, zero or one beyond U+10FFFF is written as U+FFFD
// (the replacement character), as HTML and JSON decoders do.
void append_utf8(std::string& out, uint32_t code_point);

// The number of UTF-16 code units the UTF-8 text takes, or nullopt if it is not valid UTF-8.
std::optional<size_t> utf16_length(std::string_view utf8);

// The byte length of the longest prefix of `utf8` that holds exactly `units` UTF-16 code units,
// or nullopt when the text is shorter, invalid, or the count ends inside a surrogate pair.
std::optional<size_t> utf8_prefix_for_utf16_units(std::string_view utf8, size_t units);

// Lower-case hex of the bytes.
std::string hex(std::string_view bytes);

// ASCII case-insensitive comparison, for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

// Surrounding spaces and tabs removed (HTTP's OWS).
std::string_view trim(std::string_view s);

// ASCII letters lowered, the rest as it is (header and field names).
std::string to_lower(std::string_view s);

}  // namespace wa::text
