// JSON compared as structure, with differences named by JSON pointer (RFC 6901), and the pointer
// helpers that noise rules and extract rules use.
//
// Structure, not text: object members are matched by key whatever their order (RFC 8259 §4
// leaves the order unspecified, and servers do reorder), array elements in order, numbers by
// value (1 and 1.0 are the same number), strings exactly (after decoding: "\u00e9" and "é" are
// the same string, PROTOCOLS.md §2 gotcha 1).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/socketio_json.h"

namespace wa::replay {

using Json = sio::Json;

// ---- Pointers (RFC 6901) ------------------------------------------------------------------

// `base` followed by one reference token, '~' and '/' escaped as "~0" and "~1" (§4).
std::string pointer_append(std::string_view base, std::string_view key);
std::string pointer_append(std::string_view base, size_t index);

// The unescaped reference tokens of a pointer; nullopt when it is not one ("" is the whole
// document; otherwise it starts with '/', and every '~' is followed by '0' or '1').
std::optional<std::vector<std::string>> split_pointer(std::string_view pointer);

// The value a pointer refers to, nullptr when there is none. Array indices are decimal without
// leading zeros (§4); "-" refers to nothing.
const Json* resolve_pointer(const Json& document, std::string_view pointer);

// Whether a noise pattern covers a difference at `path`: the pattern is a pointer whose tokens
// may be "*" (any one member name or array index), and it covers its own path and everything
// below it ("/meta" covers "/meta/ts").
bool pointer_covers(std::string_view pattern, std::string_view path);

// ---- Structural comparison ----------------------------------------------------------------

struct JsonDifference {
  std::string path;      // pointer to the differing value; "" for the whole document
  std::string expected;  // compact JSON, or "(absent)" when only the actual value has it
  std::string actual;    // compact JSON, or "(absent)"
};

// Appends the differences between two values, at most `max` of them in total in `out`. A value
// of another type (a string where a number was) is one difference at that path; an array of
// another length reports each missing or extra element.
void json_diff(const Json& expected, const Json& actual, std::vector<JsonDifference>& out,
               std::string_view base = "", size_t max = 1000);

// Whether two values are the same structure (no difference json_diff would report).
bool json_equal(const Json& a, const Json& b);

// Compact JSON of a value cut to about `limit` bytes at a UTF-8 boundary, "…" marking a cut.
std::string json_excerpt(const Json& value, size_t limit = 512);
// The same for any text.
std::string text_excerpt(std::string_view text, size_t limit = 512);

}  // namespace wa::replay
