// Header lists as the exchanges table stores them: a JSON array of [name, value] pairs in wire
// order, so that they stay ordered, keep duplicates, and can be queried from the sqlite3 shell:
//
//   SELECT h.value->>1 FROM exchanges, json_each(request_headers) AS h
//   WHERE lower(h.value->>0) = 'cookie';
//
// JSON strings must be UTF-8 while HTTP field values may carry any octet (RFC 9110 §5.5
// obs-text), so a pair whose name or value is not valid UTF-8 is stored as
// [base64(name), base64(value), "base64"] instead. Nothing is lost either way.
#pragma once

#include <string>
#include <string_view>

#include "protocol/result.h"
#include "storage/model.h"

namespace wa::store {

std::string encode_headers(const Headers& headers);

// Fails with Errc::bad_encoding on anything encode_headers cannot have written.
Result<Headers> decode_headers(std::string_view json);

}  // namespace wa::store
