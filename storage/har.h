// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) export and import, with WebSocket
// messages in the form Chromium's DevTools writes: an entry with `_resourceType: "websocket"`
// and `_webSocketMessages: [{type: "send"|"receive", time: <epoch seconds>, opcode, data}]`,
// `data` as text for opcode 1 and base64 otherwise.
//
// Import decodes cookies and Engine.IO / Socket.IO from the imported entries and messages like
// a live recording (storage/capture_assembler.h), so a session saved from DevTools or from
// Playwright's HAR recorder can be replayed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/result.h"
#include "storage/model.h"
#include "storage/reader.h"

namespace wa::store {

// What `har export --redact` hides. With `enabled`: every cookie value (Cookie and Set-Cookie
// headers, the cookies arrays), credential-like header values (protocol/secret_names.h; an
// auth scheme such as "Bearer" stays), credential-like URL query parameters (the URL and
// queryString), form and JSON fields by the same rule at any depth (Socket.IO and Engine.IO
// packets' JSON too), the whole data of Socket.IO CONNECT packets (the auth payload), and the
// fields of Server-Sent Events. `headers` and `json_fields` name more (without `enabled`, only
// those). Each distinct secret becomes one placeholder, "REDACTED-cookie-connect.sid-1",
// "REDACTED-header-authorization-1", "REDACTED-query-token-1", …, at its place whatever its
// length, and every later recurrence of a secret of 6 bytes or more in any header, URL, body or
// message — raw, percent-encoded or JSON-escaped — by value, so that the redacted HAR still
// imports and replays (correlation finds the placeholders where it found the values).
// Bodies the recording keeps content-coded (gzip, br) are written as they are (base64).
struct RedactOptions {
  bool enabled = false;
  std::vector<std::string> headers;      // more header names (case-insensitive)
  std::vector<std::string> json_fields;  // JSON member names, at any depth, in bodies and messages
};

// How every placeholder starts.
inline constexpr std::string_view kRedacted = "REDACTED";

// The recording as a HAR document.
nlohmann::ordered_json export_har(const RecordingData& recording, const RedactOptions& redact);

struct ImportResult {
  Id recording_id = 0;
  size_t entries = 0;
  size_t ws_messages = 0;
  uint64_t socket_events = 0;
};

// Imports a HAR document (its text) as a new recording named `name` into the capture file at
// `db_path` (created if missing). Fails with one line on anything that is not a HAR file.
Result<ImportResult> import_har(std::string_view har_text, const std::string& db_path,
                                const std::string& name);

// "2026-11-20T23:19:13.123Z" and back (microseconds since the Unix epoch).
std::string iso8601(Micros us);
std::optional<Micros> parse_iso8601(std::string_view text);

}  // namespace wa::store
