// Writing HTTP/1.1 messages: request and response heads (RFC 9112 §3, §4, §5) and the chunked
// transfer coding (§7.1). Field order and the case of names are kept exactly, so a head parsed by
// protocol/http1.h and written again carries the same fields in the same order.
//
// The writers refuse what would change the framing of the message they write (header injection):
// CR, LF or NUL in a value or reason, a name that is not a token, a method that is not a token,
// whitespace or control bytes in the target. They fail with Errc::http_malformed; nothing throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/http1.h"
#include "protocol/result.h"

namespace wa::http {

// "METHOD target HTTP/x.y" CRLF, then "name: value" CRLF for each field, then CRLF.
Result<std::string> serialize_request_head(const Head& head);

// "HTTP/x.y status reason" CRLF (the space before an empty reason is kept, RFC 9112 §4), then the
// fields and CRLF as above.
Result<std::string> serialize_response_head(const Head& head);

// The line that starts a chunk of `size` bytes: lower-case hex size and CRLF. With kCrlf after
// the data, it lets a caller write a chunk without copying the data.
std::string chunk_header(size_t size);
inline constexpr std::string_view kCrlf = "\r\n";

// Appends one chunk: size line, data, CRLF. Empty data appends nothing, because a chunk of size
// zero would end the body.
void append_chunk(std::string& out, std::string_view data);

// Appends the last chunk ("0" CRLF) and the final CRLF that end a chunked body.
void append_last_chunk(std::string& out);

// The same with trailer fields between them (RFC 9112 §7.1.2).
Result<void> append_last_chunk(std::string& out, const Headers& trailers);

}  // namespace wa::http
