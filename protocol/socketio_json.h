// JSON for the Socket.IO codecs (v4/v5 and 0.9): a parser that is safe on hostile input and a
// writer that never throws.
//
// Values are nlohmann::ordered_json so that object members keep their wire order: a packet
// decoded and encoded again gives back the bytes the server sent (`{"message":…,"data":…}`,
// not sorted keys), which keeps recorded and replayed frames comparable by eye and by byte.
//
// Why not nlohmann's own parse(): ordered_json inserts each member with a linear search for a
// duplicate key, so one 1 MB object with 100k members costs ~10^10 comparisons; its DOM is
// built recursively on dump; and it throws. This parser builds the value through the SAX
// interface with a per-object key index (linear time), a nesting limit, and duplicate keys
// resolved as JavaScript's JSON.parse and Python's json do (the last value wins, at the
// position of the first), since those are the parsers on the other end of the wire.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "protocol/result.h"

namespace wa::sio {

using Json = nlohmann::ordered_json;

// Nesting beyond this fails with Errc::limit. Socket.IO payloads are app data a few levels
// deep; the limit keeps recursive walks (placeholders, dump) off the edge of the stack.
inline constexpr size_t kDefaultMaxJsonDepth = 128;

// Parses one JSON text (RFC 8259; surrounding whitespace allowed, nothing after it). Strings
// must be valid UTF-8 and \u escapes well-formed (a lone surrogate escape is rejected, unlike
// JavaScript), and a number too large for a double is refused (JavaScript would read Infinity
// and write it back as null). On failure the code is `malformed` (or Errc::limit for the depth) and
// the reason names the byte offset.
Result<Json> parse_json(std::string_view text, Errc malformed,
                        size_t max_depth = kDefaultMaxJsonDepth);

// Compact JSON with non-ASCII kept as UTF-8 (what Node's JSON.stringify writes). Invalid UTF-8
// in a caller-built string is replaced by U+FFFD rather than thrown; non-finite numbers become
// null, as in JavaScript.
std::string dump_json(const Json& value);

}  // namespace wa::sio
