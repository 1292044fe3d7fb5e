// HTTP cookies: the Set-Cookie and Cookie headers as a user agent reads them (RFC 6265 §5.1,
// §5.2, with the updates of draft-ietf-httpbis-rfc6265bis that browsers ship), and the matching
// rules the cookie jar (cookie_jar.h) is built from.
//
// Parsing is lenient the way browsers are: an attribute that does not parse is ignored, not an
// error; only a header no browser would store at all is a Failure (Errc::cookie_malformed).
//
// Nameless cookies follow rfc6265bis §5.6 and current browsers rather than RFC 6265 (which drops
// them): "Set-Cookie: token" and "Set-Cookie: =token" both store a cookie with an empty name and
// the value "token", which goes back in the Cookie header as just "token".
//
// Times are Unix milliseconds (UTC), always passed in: nothing here reads a clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace wa::cookie {

// Size limits of rfc6265bis §5.6 steps 4 and 5, which browsers enforce.
inline constexpr size_t kMaxNameValueBytes = 4096;  // name and value together
inline constexpr size_t kMaxAttributeValueBytes = 1024;

enum class SameSite : uint8_t {
  unset,   // no SameSite attribute
  strict,  // "Strict"
  lax,     // "Lax"
  none,    // "None"
  other,   // a value browsers do not know; the text is in same_site_raw
};

// An attribute this parser does not interpret (kept so nothing the server sent is lost).
struct Attribute {
  std::string name;  // as given, trimmed
  std::string value;
  bool has_value = false;  // an '=' was present
  bool operator==(const Attribute&) const = default;
};

// One Set-Cookie header value, parsed by the algorithm of RFC 6265 §5.2. Where an attribute
// appears more than once the last one that parses wins (§5.3 step 3 and following).
struct SetCookie {
  std::string raw;  // the header value exactly as received
  std::string name;
  std::string value;
  std::optional<int64_t> expires_ms;  // Expires, by the §5.1.1 cookie-date algorithm
  std::optional<int64_t> max_age_s;   // Max-Age delta-seconds (§5.2.2); may be zero or negative
  // Domain (§5.2.3): lower-cased, one leading '.' removed. An empty string is kept (it was
  // "Domain=."): as the last Domain attribute it makes the cookie host-only again.
  std::optional<std::string> domain;
  // Path (§5.2.4): the value when it starts with '/'; an empty string when the last Path
  // attribute did not, which means "use the default path".
  std::optional<std::string> path;
  bool secure = false;
  bool http_only = false;
  bool partitioned = false;  // CHIPS
  SameSite same_site = SameSite::unset;
  std::string same_site_raw;  // the SameSite value as given
  std::vector<Attribute> other_attributes;

  // The expiry the cookie asks for when received at `now_ms` (§5.3 step 3): Max-Age wins over
  // Expires, a non-positive Max-Age means "already expired" (INT64_MIN); nullopt for a session
  // cookie.
  std::optional<int64_t> expiry_at(int64_t now_ms) const;
};

// Parses one Set-Cookie header value. Fails (cookie_malformed) when browsers ignore the header
// entirely: a control character other than HTAB, an empty name with an empty value, or name
// and value longer than kMaxNameValueBytes.
Result<SetCookie> parse_set_cookie(std::string_view header_value);

// RFC 6265 §5.1.1: the cookie-date algorithm, which accepts the many date formats servers send
// ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37
// 1994", ...). Returns Unix milliseconds, or nullopt when the text is not a date by its rules.
std::optional<int64_t> parse_cookie_date(std::string_view text);

// An IMF-fixdate (RFC 9110 §5.6.7) for an Expires attribute: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_cookie_date(int64_t unix_ms);

// One name=value pair of a Cookie request header (RFC 6265 §4.2, §5.4).
struct CookiePair {
  std::string name;  // empty for a nameless cookie
  std::string value;
  bool operator==(const CookiePair&) const = default;
};

// Parses a Cookie request header into its pairs, in order, as servers read it: pairs are
// separated by ';', surrounding spaces trimmed, empty pairs skipped, a pair without '=' is a
// nameless cookie. Values are kept as sent (quotes included). Fails on control characters.
Result<std::vector<CookiePair>> parse_cookie_header(std::string_view header_value);

// "a=1; b=2", with a nameless cookie written as its value alone (rfc6265bis §5.7.3).
std::string serialise_cookie_header(const std::vector<CookiePair>& pairs);

// RFC 6265 §5.1.3. `host` is a canonical (lower-case) host; an IP address only matches itself.
bool domain_matches(std::string_view host, std::string_view domain);
// RFC 6265 §5.1.4.
bool path_matches(std::string_view request_path, std::string_view cookie_path);
// RFC 6265 §5.1.4: the directory of the request path ("/a/b" gives "/a", "/a" gives "/").
std::string default_path(std::string_view request_path);

}  // namespace wa::cookie
