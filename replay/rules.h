// The rules file of `workalready replay --rules FILE`: what automatic correlation misses, and
// what may differ between a recording and its replay.
//
// A JSON object with three optional lists; unknown members are errors, so that a misspelt rule
// never silently does nothing:
//
//   {
//     "extract": [
//       {"name": "csrf",  "from": "body",   "regex": "name=\"csrf\" value=\"([^\"]+)\"",
//                         "url": "/form$"},
//       {"name": "token", "from": "header", "header": "X-Token"},
//       {"name": "room",  "from": "header", "header": "Location", "regex": "/room/([^/?]+)"},
//       {"name": "jwt",   "from": "json",   "pointer": "/auth/token"},
//       {"name": "sess",  "from": "cookie", "cookie": "JSESSIONID"},
//       {"name": "game",  "from": "event",  "event": "joined", "pointer": "/0/id", "nsp": "/play"}
//     ],
//     "substitute": [
//       {"name": "csrf",  "in": ["body", "header"]},
//       {"name": "token", "in": "header", "header": "Authorization"}
//     ],
//     "noise": [
//       {"header": "date"},
//       {"json": "/items/*/updatedAt", "scope": "GET /api/items"},
//       {"regex": "[0-9a-f]{32}", "scope": "event chat"}
//     ]
//   }
//
// extract: each rule names a value and where the server issues it. "from" is one of
//   body    a regex over the response body (decoded text, one line at a time; see
//           kMaxRegexSegment);
//   header  a response header, optionally narrowed by a regex over its value;
//   json    an RFC 6901 pointer into a JSON response body (the value must be a string or a
//           number);
//   cookie  a cookie the response sets;
//   event   a pointer into the arguments of a server event (optionally only on namespace "nsp").
//   With a regex, the value is its first capture group, or the whole match when it has none.
//   "url" (optional, HTTP sources only) is a regex that must match somewhere in the request's
//   absolute URL. The replayer applies each rule to the recording to learn the recorded
//   values, and to the corresponding live responses and events to learn the live ones; the
//   recorded value is then replaced by the live one in later requests, as automatic
//   correlations are (whole tokens, in the spelling found), whatever its length.
// substitute: limits where a named value is replaced: "in" is one of "url", "header", "body",
//   "frame" (a WebSocket message or Socket.IO packet) or a list of them, and "header" (optional)
//   one header name. A value without substitute rules is replaced everywhere.
// noise: each rule has exactly one of "header" (a header name, any case), "json" (a pointer whose
//   tokens may be "*": any one member or index; it covers everything below it) or "regex" (over
//   text: bodies, header values, JSON strings, one line at a time), and an optional "scope":
//   "*" (the default), an endpoint "GET /api/items" (method and path without query; '*' in the
//   path matches within one segment), "event NAME", "ws /path" (the messages of a plain
//   WebSocket opened on that path), "sse /path" (the events of a stream from that path), or one
//   of "ack", "connect", "disconnect", "error", "message" for those Socket.IO packets.
//
// Regexes are ECMAScript (std::regex). A parse error is one line naming the file and the
// JSON pointer of the bad element: `rules.json: /extract/1/from: must be one of body, header,
// json, cookie, event`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"
#include "replay/socket_event.h"
#include "storage/model.h"

namespace wa::replay {

// Where in an outgoing request or message a value may be substituted.
enum class Part : uint8_t { url = 1, header = 2, body = 4, frame = 8 };
using Parts = uint8_t;  // a set of Part bits
inline constexpr Parts kAllParts = 1 | 2 | 4 | 8;
const char* part_name(Part part);  // "url", "header", "body", "frame"

struct ExtractRule {
  enum class From : uint8_t { body, header, json, cookie, event };
  std::string name;
  From from = From::body;
  std::string header;   // header: the header name
  std::string cookie;   // cookie: the cookie name
  std::string event;    // event: the event name
  std::string nsp;      // event: the namespace, "" for any
  std::string pointer;  // json, event
  std::string regex;    // body (required), header (optional)
  std::string url;      // optional limit, HTTP sources
  // Compiled forms of regex and url, shared by copies of the rule (null when not given).
  std::shared_ptr<const std::regex> regex_re, url_re;
};
const char* from_name(ExtractRule::From from);

struct SubstituteRule {
  std::string name;
  Parts in = kAllParts;
  std::string header;  // "" for any header
};

struct NoiseRule {
  store::NoiseKind kind = store::NoiseKind::header;
  std::string pattern;
  std::string scope = "*";
  // Where it came from, for reports: "rules file", "calibration", "capture file".
  std::string origin = "rules file";
  // What calibration saw at that place, one value per pass (empty for rules written by hand).
  std::vector<std::string> evidence;
  // The same rule: what it hides and where, whatever its origin and evidence.
  bool operator==(const NoiseRule& o) const {
    return kind == o.kind && pattern == o.pattern && scope == o.scope;
  }
};

struct Rules {
  std::vector<ExtractRule> extract;
  std::vector<SubstituteRule> substitute;
  std::vector<NoiseRule> noise;

  // Whether the value named `name` may be replaced in `part` (and, for headers, in the header
  // named `header`).
  bool may_substitute(std::string_view name, Part part, std::string_view header = {}) const;
};

// Parses a rules file's text; `label` (the file name) starts every error message.
Result<Rules> parse_rules(std::string_view json, std::string_view label = "rules");

// Validates one noise rule (a pattern that compiles, a pointer, a known scope): the same checks
// as the file's, for rules that come from the capture file.
Result<void> check_noise_rule(const NoiseRule& rule);

// Whether a rule's scope covers a difference's scope ("GET /login", "event chat", "ack", …).
bool scope_covers(std::string_view rule_scope, std::string_view scope);

// ---- Applying extract rules ---------------------------------------------------------------

// The value an HTTP rule (body, header, json, cookie) extracts from an exchange's response,
// nullopt when its URL limit excludes the exchange (unless `check_url` is false: a live
// response the runner already paired with a recorded one) or nothing matches. The body is read
// after its content coding is removed.
std::optional<std::string> extract_value(const ExtractRule& rule, const store::Exchange& exchange,
                                         bool check_url = true);
// The value an event rule extracts from a server event.
std::optional<std::string> extract_value(const ExtractRule& rule, const SocketEvent& event);

// Regexes run over text one line at a time, and a long line in segments of at most
// kMaxRegexSegment bytes cut at a '>', ',', ';' or '}' where possible (a match cannot span a
// cut): libstdc++'s matcher recurses once per character it repeats over, and a pattern such as
// "(a|b)*" overflows an 8 MiB stack on a 16 KiB line (4 KiB under AddressSanitizer).
inline constexpr size_t kMaxRegexSegment = 1024;
// The first match's first capture group, or the whole match when there is no group.
std::optional<std::string> regex_first(const std::regex& re, std::string_view text);
// Every match replaced by `with`.
std::string regex_mask(const std::regex& re, std::string_view text, std::string_view with);

// ---- The capture file's noise_rules table (storage/noise_rules.h) ---------------------------

store::NoiseRule to_store(const NoiseRule& rule, store::RuleOrigin origin = store::RuleOrigin::user,
                          store::Micros created_us = 0);
NoiseRule from_store(const store::NoiseRule& rule);

}  // namespace wa::replay
