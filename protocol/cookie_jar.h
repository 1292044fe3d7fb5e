// A cookie jar: the storage model of RFC 6265 §5.3 and the Cookie header of §5.4, with the
// rules of draft-ietf-httpbis-rfc6265bis that browsers enforce (cookie prefixes, "leave secure
// cookies alone", SameSite=None needs Secure, size limits).
//
// The recording side rebuilds the browser's jar at any point of a capture by feeding it the
// recorded Set-Cookie headers with their recorded times; the replayer keeps one live jar per
// replayed browser. The jar is plain data: no clock (every call takes `now_ms`, Unix
// milliseconds), no I/O, not thread-safe.
//
// Decisions where the RFC is silent or browsers differ from it:
// - No public suffix list is available. A Domain attribute with a single label ("com",
//   "localhost") is treated as a public suffix (§5.3 step 5): accepted as a host-only cookie
//   when it equals the request host, refused otherwise. Multi-label suffixes ("co.uk") are not
//   known and would be accepted.
// - A host that is an IP address takes a Domain attribute only when it equals the host (then
//   the cookie is host-only, as browsers store it); any other Domain is refused.
// - "Secure" origins are https and wss, and also loopback hosts (localhost, *.localhost,
//   127.0.0.0/8, [::1]), which browsers treat as potentially trustworthy, so that an app under
//   test on http://localhost behaves as it does in the browser.
// - A host-only cookie and a domain cookie of the same name, domain and path are distinct (as
//   in browsers, which key a domain cookie by ".domain", and in rfc6265bis's storage model), so
//   one never replaces the other.
// - SameSite is stored but not enforced: the jar does not know the site a request comes from;
//   the replayer acts as a same-site, top-level browser.
// - Expiry is not capped at 400 days (rfc6265bis): a replay sees the dates the server sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/cookie.h"
#include "protocol/result.h"
#include "protocol/url.h"

namespace wa::cookie {

// A stored cookie (§5.3's fields).
struct Cookie {
  std::string name;  // may be empty (a nameless cookie)
  std::string value;
  std::string domain;  // lower-case, no leading '.'; the request host when host_only; IPv6 in []
  std::string path;    // starts with '/'
  std::optional<int64_t> expires_ms;  // nullopt: a session cookie (persistent-flag false)
  int64_t created_ms = 0;
  int64_t last_access_ms = 0;
  uint64_t sequence = 0;  // creation order in this jar: the last tie-break of §5.4 step 2
  bool host_only = true;
  bool secure = false;
  bool http_only = false;
  bool partitioned = false;
  SameSite same_site = SameSite::unset;
  std::string same_site_raw;
  std::string raw;  // the Set-Cookie value it came from; empty when inserted directly

  bool expired_at(int64_t now_ms) const { return expires_ms && *expires_ms <= now_ms; }
  bool operator==(const Cookie&) const = default;
};

// What a Set-Cookie (or an insert) did to the jar.
enum class Stored : uint8_t {
  added,     // a new cookie
  replaced,  // took the place of one with the same name, domain and path (its creation kept)
  deleted,   // it was already expired and removed the one it matched
  expired,   // it was already expired and matched nothing: no change
};

class CookieJar {
 public:
  // Browsers keep about 180 cookies per domain and a few thousand in all; past these limits
  // the least recently used go first (§5.3 step 12 leaves the policy to the agent).
  struct Limits {
    size_t max_cookies = 3000;
    size_t max_per_domain = 180;
  };

  CookieJar() = default;
  explicit CookieJar(Limits limits) : limits_(limits) {}

  // §5.3: stores the cookie that `set_cookie` (a Set-Cookie header value) sets on a response to
  // `request_url`. A refusal (a Domain that does not cover the host, a Secure cookie over
  // plain http, a broken prefix, ...) is a cookie_malformed Failure with the reason; the jar is
  // then unchanged.
  Result<Stored> set_from_response(const url::Url& request_url, std::string_view set_cookie,
                                   int64_t now_ms);
  Result<Stored> set_from_response(const url::Url& request_url, const SetCookie& set_cookie,
                                   int64_t now_ms);

  // §5.4: the cookies to send with a request to `url`, in the RFC's order (longer paths first,
  // then earlier creation), and their last-access times set to now. Expired cookies are
  // evicted first.
  std::vector<Cookie> cookies_for(const url::Url& url, int64_t now_ms);
  // The Cookie header value for `url`; empty when no cookie applies.
  std::string cookie_header_for(const url::Url& url, int64_t now_ms);

  // Puts a cookie in as it is (restoring a stored jar): replaces the one with the same name,
  // domain, host-only flag and path. Its created_ms is kept; its sequence is assigned here.
  // Fails when the cookie could never have been stored (no domain, a path not starting with
  // '/', control characters, oversize).
  Result<Stored> insert(Cookie cookie, int64_t now_ms);
  // A cookie the browser already held, known only from a Cookie request header to `url`:
  // host-only for the URL's host, path "/", a session cookie, not Secure.
  Result<Stored> seed(const url::Url& url, std::string_view name, std::string_view value,
                      int64_t now_ms);

  // Every cookie not expired at `now_ms`, in creation order (for storing; insert() them back in
  // this order to restore the jar).
  std::vector<Cookie> list(int64_t now_ms) const;
  // Removes the cookies with this name, domain and path (either host-only flag); returns how
  // many.
  size_t remove(std::string_view name, std::string_view domain, std::string_view path);
  void remove_expired(int64_t now_ms);
  void clear() { cookies_.clear(); }
  size_t size() const { return cookies_.size(); }

 private:
  Result<Stored> store(Cookie cookie, int64_t now_ms, bool keep_old_creation);
  void enforce_limits(const std::string& domain);

  Limits limits_;
  std::vector<Cookie> cookies_;  // in no particular order
  uint64_t next_sequence_ = 1;
};

// The cookie domain for a URL's host: lower-case, IPv6 in brackets in RFC 5952 form; empty when
// the URL has no host.
std::string canonical_host(const url::Url& url);
// Whether cookies marked Secure may be set by and sent to this URL (see the header comment).
bool is_secure_context(const url::Url& url);

}  // namespace wa::cookie
