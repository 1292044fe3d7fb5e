// Engine.IO long-polling payloads: the packets of one HTTP body (a GET response or a POST
// request), decoded whole and encoded whole. Sans-I/O, stateless.
//
// Four spellings (PROTOCOLS.md §1 "Polling framing"):
//   v4 text    packets joined by \x1e; binary = `b<base64>`          `40\x1e42["a"]`, `bAQID/w==`
//   v3 text    `<len>:<packet>` repeated, len in UTF-16 code units    `11:430["é€😀"]` (16 bytes)
//              (JavaScript's string.length); binary = `b4<base64>`    `10:b4AQID/w==`
//   v3 binary  (XHR2 clients, application/octet-stream) per packet 00 (string) or 01 (binary),
//              the length as one byte per decimal digit, ff, then the packet; string lengths
//              count UTF-8 bytes, binary packets start with the raw type byte 04
//              `00 05 06 ff 451-[...]` `01 04 ff 04 01 02 03`
//   JSONP      `___eio[N]("<the text payload as a JavaScript string>");` (v3 `j=N` requests)
// An empty body is zero packets (python-engineio ends a pending GET that way).
//
// v3 length prefixes that count bytes instead of UTF-16 units (`23:42["noack","é€😀"]` for an
// 18-unit packet) are rejected, as engine.io 3 does ("parse error", the session dies): the
// decoder takes exactly <len> UTF-16 units, so a byte count either overruns the body or leaves
// a tail that does not start with another `<len>:`, and both fail with Errc::eio_malformed.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/engineio.h"
#include "protocol/result.h"

namespace wa::eio {

enum class PayloadFormat : uint8_t {
  text,    // v4 \x1e-joined, or v3 length-prefixed text
  binary,  // v3 only: the XHR2 binary payload
  jsonp,   // ___eio[N]("...");
};

const char* payload_format_name(PayloadFormat format);

// Which spelling a body uses. The first byte decides when it can (PROTOCOLS.md §1 gotcha 3: a
// v3 body is binary or text by content, not by session): 00/01 binary, a digit or `b` text,
// `_` JSONP. Otherwise (and for the empty body) the Content-Type hint decides:
// application/octet-stream binary, text/javascript or application/javascript JSONP, else text.
PayloadFormat sniff_payload(std::string_view body, std::string_view content_type = {});

// Decodes a whole body, sniffing its format. A truncated body fails; it never yields a prefix.
Result<std::vector<Packet>> decode_payload(Version version, std::string_view body,
                                           std::string_view content_type = {},
                                           const Limits& limits = {});

Result<std::vector<Packet>> decode_payload_as(Version version, PayloadFormat format,
                                              std::string_view body, const Limits& limits = {});

// Encodes packets as one body. v4 supports text (binary packets as `b<base64>`) and JSONP; v3
// text (binary as `b4<base64>`), binary and JSONP. Fails on a format the version lacks, on text
// that is not valid UTF-8, and on a v4 text packet holding \x1e (it would split the packet).
Result<std::string> encode_payload(Version version, std::span<const Packet> packets,
                                   PayloadFormat format = PayloadFormat::text,
                                   uint32_t jsonp_index = 0);

// The format an engine.io server answers a poll with: v3 uses the binary payload when the
// client supports binary (no b64=1, not JSONP) and a packet is binary; otherwise text.
PayloadFormat response_format(Version version, std::span<const Packet> packets,
                              bool supports_binary);

// The Content-Type a server sends with the format: `text/plain; charset=UTF-8`,
// `application/octet-stream`, `text/javascript; charset=UTF-8`.
const char* payload_content_type(PayloadFormat format);

}  // namespace wa::eio
