// Where a value sits in server output that has no structure to locate it (HTML text, an
// inline script, CSS, JavaScript, plain text): learned from the recorded output by the text
// around it and by its shape, and read again from the live output at the same place.
//
// As the automatic correlation of load-testing tools does: the left boundary is the text just
// before the value (up to kLeftBytes, from the start of its line when the line gives enough),
// the right boundary the text just after it (up to kRightBytes, to the end of its line). In a
// live text the value is found after the same left boundary, taking the same occurrence of it
// (or, when the live text has another number of them, the one nearest the recorded position),
// and ends where the right boundary's first character comes. When the full left boundary is
// not in the live text (another value precedes the token, a nonce for instance), the part of
// it after its last token with a digit is tried, then ever shorter tails of it, down to
// kMinLeftBytes.
//
// The value's shape — its length and its alphabet (hex, base64, base64url, a UUID) — is
// learned too: a live value of another shape is not taken silently, since the place is then
// most likely wrong; the caller warns instead.
//
// Sans-I/O: pure functions over strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "replay/spelling.h"

namespace wa::replay {

struct TextPlace {
  static constexpr size_t kLeftBytes = 32;
  static constexpr size_t kMinLeftBytes = 4;
  static constexpr size_t kRightBytes = 16;

  std::string left;     // the text before the value
  std::string right;    // the text after it (may be empty at the end of the text)
  int occurrence = 0;   // which occurrence of `left` precedes the value (0: the first)
  int occurrences = 0;  // how many occurrences of `left` the recorded text has
  size_t offset = 0;    // of the spelled value in the recorded text
  size_t text_size = 0;
  Spelling spelling = Spelling::raw;  // how the text spells the value
  // The value's shape, decoded.
  size_t length = 0;
  uint32_t alphabet = 0;  // kShape* bits
};

// Shape bits: which kinds of bytes a value holds.
inline constexpr uint32_t kShapeDigit = 1u << 0;
inline constexpr uint32_t kShapeHexLower = 1u << 1;  // a-f
inline constexpr uint32_t kShapeLower = 1u << 2;     // g-z
inline constexpr uint32_t kShapeHexUpper = 1u << 3;  // A-F
inline constexpr uint32_t kShapeUpper = 1u << 4;     // G-Z
inline constexpr uint32_t kShapeDash = 1u << 5;      // -
inline constexpr uint32_t kShapeUnderscore = 1u << 6;
inline constexpr uint32_t kShapePlus = 1u << 7;
inline constexpr uint32_t kShapeSlash = 1u << 8;
inline constexpr uint32_t kShapeEquals = 1u << 9;
inline constexpr uint32_t kShapeDot = 1u << 10;
inline constexpr uint32_t kShapeOther = 1u << 11;  // any other byte

// The kinds of bytes in `value`.
uint32_t shape_of(std::string_view value);

// Whether `live` has the shape of `recorded_shape`/`recorded_length`: a length from half to
// twice the recorded one, and only kinds of bytes that a value of the recorded kind may hold
// (a hex value stays hex; a mixed-case token may also hold the base64url or base64 signs that
// it happened not to hold when recorded). Empty: never.
bool same_shape(uint32_t recorded_shape, size_t recorded_length, std::string_view live);

// The place of the spelled value at text[offset, offset + spelled_length), which spells
// `value` in `spelling`.
TextPlace learn_place(std::string_view text, size_t offset, size_t spelled_length,
                      Spelling spelling, std::string_view value);

struct PlacedValue {
  std::string value;       // decoded from the place's spelling
  bool same_shape = true;  // false: found, but not of the recorded shape (see above)
};

// The value at `place` in a live text; nullopt when the place is not there (no left boundary,
// no right boundary after it, an empty value or one that does not decode).
std::optional<PlacedValue> read_place(const TextPlace& place, std::string_view live_text);

}  // namespace wa::replay
