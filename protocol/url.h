// URLs as RFC 3986 defines them, with the leniency browsers and servers show in practice.
//
// A Url keeps every component as it was written (percent-encoding untouched), so that serialising
// a parsed URL gives back the same bytes and a rewrite of one part never re-encodes another:
// the replayer substitutes live values into recorded URLs and the server must see the rest
// exactly as the browser sent it. normalise() is the separate, explicit step that makes
// equivalent URLs compare equal (RFC 3986 §6.2.2 and the http/ws scheme rules of §6.2.3).
//
// Deliberate limits, documented rather than guessed at:
// - no IDNA: a non-ASCII host is kept as raw UTF-8, never converted to punycode;
// - IPv6 literals are accepted, IPvFuture literals and zone identifiers are not;
// - normalise() does not decode percent-encoded unreserved characters ("%7E" stays "%7E"), and
//   so does not treat "%2E" as a dot segment, because the replayer must send what was recorded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace wa::url {

enum class HostKind : uint8_t {
  none,  // no authority, or an empty host ("file:///x")
  name,  // a registered name ("example.com", "localhost")
  ipv4,  // a dotted-decimal IPv4 address ("127.0.0.1")
  ipv6,  // an IPv6 literal; `host` holds it without the brackets ("::1")
};

struct Url {
  std::string scheme;  // as written (normalise() lower-cases); empty for a relative reference
  bool has_authority = false;  // "//" was present
  bool has_userinfo = false;
  std::string userinfo;  // before '@', still percent-encoded
  std::string host;      // as written; IPv6 without brackets
  HostKind host_kind = HostKind::none;
  std::optional<uint16_t> port;  // explicit port; nullopt when absent or empty ("host:")
  std::string path;              // percent-encoded as written; may be empty
  bool has_query = false;
  std::string query;  // after '?', raw
  bool has_fragment = false;
  std::string fragment;  // after '#', raw

  bool is_absolute() const { return !scheme.empty(); }
  // https and wss: the schemes whose connections are TLS.
  bool is_tls() const;
  // The explicit port, or the scheme's default (80 for http/ws, 443 for https/wss), or 0.
  uint16_t effective_port() const;
  // The host as it appears in a URL or a Host header: IPv6 in brackets.
  std::string host_text() const;
  // host[:port] for the Host header (RFC 9110 §7.2): the port is left out when it is the
  // scheme's default.
  std::string host_header() const;
  // path?query as sent in an origin-form request line (RFC 9112 §3.2.1); "/" when the path
  // is empty.
  std::string target() const;
  // The whole URL (or reference) as text; same as serialise(*this).
  std::string str() const;

  bool operator==(const Url&) const = default;
};

// An absolute URL: a scheme is required; http, https, ws and wss also need a non-empty host.
Result<Url> parse(std::string_view text);

// Any URI reference (RFC 3986 §4.1): absolute, network-path ("//host/p"), absolute-path or
// relative-path. This is what Location, Referer and Content-Location may carry.
Result<Url> parse_reference(std::string_view text);

// The origin-form request target of RFC 9112 §3.2.1: "/path?query". Returns a Url with only
// path and query set.
Result<Url> parse_origin_form(std::string_view text);

// The authority-form request target of CONNECT (RFC 9112 §3.2.3): "host:port", port required.
// Returns a Url with only the authority (host, host_kind, port) set.
Result<Url> parse_authority_form(std::string_view text);

// Reference resolution, RFC 3986 §5.2.2 (strict: "http:g" against an http base stays
// "http:g"). The base must be absolute.
Result<Url> resolve(const Url& base, const Url& reference);
Result<Url> resolve(const Url& base, std::string_view reference);

// RFC 3986 §5.2.4.
std::string remove_dot_segments(std::string_view path);

// Syntax- and scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3): lower-case scheme and host,
// canonical IPv6 text (RFC 5952), default port dropped (80 for http/ws, 443 for https/wss),
// dot segments removed (for absolute URLs and absolute paths), upper-case percent-escapes,
// characters RFC 3986 never allows (space, '"', '<', '>', '\', '^', '`', '{', '|', '}', bytes
// above 0x7F, a '%' that starts no escape, '#' inside a fragment) percent-encoded, and an empty
// path with an authority becomes "/". Idempotent: normalise(normalise(u)) == normalise(u).
Url normalise(const Url& u);

// Text of a Url. Writes "/." before a path that starts with "//" when there is no authority,
// and "./" before a relative path whose first segment holds a ':', so that the text parses back
// to the same Url (RFC 3986 §4.2, §5.3).
std::string serialise(const Url& u);

// The ASCII serialisation of the URL's origin (RFC 6454 §6.2): "scheme://host[:port]" with
// scheme and host normalised and the default port left out; "null" when the URL has no host.
std::string origin(const Url& u);
bool same_origin(const Url& a, const Url& b);

// A copy of `u` talking to `to`'s scheme, host and port; path, query and fragment untouched.
Url with_origin(const Url& u, const Url& to);

// For the replayer's origin map: if `text` is an absolute URL (or a network-path reference)
// whose origin is `from`'s, the same text with `to`'s scheme, host and port; any other URL,
// a relative reference or text that does not parse comes back unchanged.
std::string map_origin(std::string_view text, const Url& from, const Url& to);
// The same for a Host header value ("localhost:3000"): `to`'s host[:port] when it names `from`'s
// host and port (under `from`'s scheme), the text unchanged otherwise.
std::string map_host(std::string_view host_header, const Url& from, const Url& to);

// RFC 5952 text of an IPv6 address given in any RFC 4291 §2.2 form (without brackets), or
// nullopt when it is not one.
std::optional<std::string> canonical_ipv6(std::string_view text);
// Dotted-decimal IPv4, four parts of 0-255 without leading zeros.
bool is_ipv4(std::string_view text);

// A Host field value as RFC 9110 §7.2 allows it: uri-host [":" port], where uri-host is an
// IP-literal ("[::1]"; IPvFuture is not accepted), an IPv4 address or a reg-name of unreserved
// characters, sub-delims and percent-escapes (RFC 3986 §3.2.2), and port is up to 65535 (empty
// allowed, §3.2.3). The empty value is valid too (RFC 9112 §3.2: a target without an authority).
// Strict on purpose: userinfo ("a@b"), whitespace, control bytes and non-ASCII are refused,
// because a proxy that records or routes by this value must read it as the server does.
bool is_valid_host_field(std::string_view value);

// ---- Percent-encoding ---------------------------------------------------------------------

enum class Flavour {
  component,  // encodeURIComponent: keeps A-Z a-z 0-9 - _ . ! ~ * ' ( ); '+' is a plus
  form,       // application/x-www-form-urlencoded: keeps A-Z a-z 0-9 * - . _; space is '+'
};

std::string percent_encode(std::string_view bytes, Flavour flavour = Flavour::component);
// Strict: a '%' must start a two-hex-digit escape (Errc::bad_encoding otherwise). In the form
// flavour '+' decodes to a space.
Result<std::string> percent_decode(std::string_view text, Flavour flavour = Flavour::component);
// What servers do with sloppy input: a '%' that starts no escape is kept as it is.
std::string percent_decode_lenient(std::string_view text, Flavour flavour = Flavour::component);

// ---- Query strings ----------------------------------------------------------------------

// A query string as an ordered list of parameters, each kept as its raw (encoded) text, so
// that changing one leaves the bytes of all the others as they were. Parameters are separated
// by '&' only (as URLSearchParams and Node's querystring do); names and values are decoded in
// the form flavour ('+' is a space), which is how servers read them.
class Query {
 public:
  struct Param {
    std::string raw_name;
    std::string raw_value;
    bool has_value = false;  // an '=' was present

    std::string name() const;
    std::string value() const;
    bool operator==(const Param&) const = default;
  };

  Query() = default;
  explicit Query(std::string_view raw);  // the text after '?'; never fails

  // The decoded value of the first parameter with this decoded name.
  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> get_all(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }

  // Gives the first parameter named `name` the (encoded) value in place and drops the later
  // ones of that name; appends it when there is none. Other parameters are untouched.
  void set(std::string_view name, std::string_view value);
  // Appends a parameter.
  void add(std::string_view name, std::string_view value);
  // Removes every parameter of that name; returns how many.
  size_t remove(std::string_view name);

  const std::vector<Param>& params() const { return params_; }
  // Raw access, for a caller that rewrites parameters' text itself.
  std::vector<Param>& params() { return params_; }
  bool empty() const { return params_.empty(); }
  // The query text, without '?'.
  std::string str() const;

 private:
  std::vector<Param> params_;
};

// ---- Correlated values ------------------------------------------------------------------

// Replaces every occurrence of `from` by `to` inside the decoded text of each path segment and
// of each query parameter's name and value, and returns how many it replaced. Only the bytes
// of a match are rewritten (`to` is percent-encoded as that part needs, escapes in upper case),
// so the encoding of everything around it, and the order of parameters, are kept. A match never
// spans a '/', '&' or '='. Does nothing when `from` is empty.
size_t substitute(Url& u, std::string_view from, std::string_view to);

}  // namespace wa::url
