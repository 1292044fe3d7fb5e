// RFC 3986 parsing, reference resolution (§5.2), normalisation (§6.2) and serialisation (§5.3).
// Query strings, percent-encoding and value substitution live in url_query.cpp.
#include "protocol/url.h"

#include <array>

#include "protocol/text.h"

namespace wa::url {
namespace {

Failure malformed(std::string why) {
  return fail(Errc::url_malformed, std::move(why));
}

bool is_alpha(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
}
char to_upper(char c) {
  return (c >= 'a' && c <= 'z') ? char(c - 32) : c;
}
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = to_lower(c);
  return out;
}
bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7F;
}
bool is_unreserved(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_sub_delim(unsigned char c) {
  return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
         c == '+' || c == ',' || c == ';' || c == '=';
}
bool valid_escape_at(std::string_view s, size_t i) {
  return i + 2 < s.size() && s[i] == '%' && text::is_hex(s[i + 1]) && text::is_hex(s[i + 2]);
}

// The schemes whose URLs must carry a host, and whose default ports normalise() drops
// (RFC 9110 §4.2, RFC 6455 §3).
uint16_t default_port(std::string_view scheme) {
  if (text::iequals(scheme, "http") || text::iequals(scheme, "ws")) return 80;
  if (text::iequals(scheme, "https") || text::iequals(scheme, "wss")) return 443;
  return 0;
}
bool is_special(std::string_view scheme) {
  return default_port(scheme) != 0;
}

// RFC 3986 §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool valid_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return false;
  for (unsigned char c : s) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

// RFC 3986 §3.2.2 reg-name, plus raw non-ASCII bytes (internationalised names are kept as
// UTF-8, not converted to punycode).
Result<void> check_reg_name(std::string_view host) {
  for (size_t i = 0; i < host.size(); ++i) {
    unsigned char c = host[i];
    if (c == '%') {
      if (!valid_escape_at(host, i)) return malformed("bad percent-escape in host");
      i += 2;
    } else if (!is_unreserved(c) && !is_sub_delim(c) && c < 0x80) {
      return malformed("bad character in host");
    }
  }
  return {};
}

std::optional<uint32_t> parse_ipv4(std::string_view s) {
  uint32_t address = 0;
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t start = i;
    uint32_t v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3)
      v = v * 10 + (s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || v > 255 || (len > 1 && s[start] == '0')) return std::nullopt;
    address = (address << 8) | v;
    if (++parts == 4) break;
    if (i >= s.size() || s[i] != '.') return std::nullopt;
    ++i;
  }
  if (i != s.size()) return std::nullopt;
  return address;
}

// RFC 4291 §2.2: eight groups of up to four hex digits, one "::" for a run of zero groups,
// and optionally a dotted IPv4 address in the last 32 bits.
std::optional<std::array<uint16_t, 8>> parse_ipv6(std::string_view s) {
  std::array<uint16_t, 8> groups{};
  int n = 0;
  int compress = -1;
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compress = 0;
    i = 2;
  } else if (!s.empty() && s[0] == ':') {
    return std::nullopt;
  }
  while (i < s.size()) {
    if (n == 8) return std::nullopt;
    size_t start = i;
    uint32_t v = 0;
    while (i < s.size() && i - start < 4 && text::is_hex(s[i]))
      v = v * 16 + text::hex_value(s[i++]);
    if (i == start) return std::nullopt;
    if (i < s.size() && s[i] == '.') {
      auto v4 = parse_ipv4(s.substr(start));
      if (!v4 || n > 6) return std::nullopt;
      groups[n++] = uint16_t(*v4 >> 16);
      groups[n++] = uint16_t(*v4 & 0xFFFF);
      i = s.size();
      break;
    }
    if (i < s.size() && text::is_hex(s[i])) return std::nullopt;  // five hex digits
    groups[n++] = uint16_t(v);
    if (i == s.size()) break;
    if (s[i] != ':') return std::nullopt;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compress >= 0) return std::nullopt;
      compress = n;
      ++i;
    } else if (i == s.size()) {
      return std::nullopt;  // a single trailing ':'
    }
  }
  if (compress < 0) {
    if (n != 8) return std::nullopt;
    return groups;
  }
  if (n > 7) return std::nullopt;  // "::" stands for at least one group
  std::array<uint16_t, 8> out{};
  int tail = n - compress;
  for (int k = 0; k < compress; ++k)
    out[k] = groups[k];
  for (int k = 0; k < tail; ++k)
    out[8 - tail + k] = groups[compress + k];
  return out;
}

Result<void> parse_authority(std::string_view authority, Url& u) {
  u.has_authority = true;
  // The last '@' ends the userinfo, as browsers read it; RFC 3986 forbids a raw '@' in it.
  size_t at = authority.rfind('@');
  std::string_view hostport = authority;
  if (at != std::string_view::npos) {
    u.has_userinfo = true;
    u.userinfo = authority.substr(0, at);
    if (u.userinfo.find(' ') != std::string::npos) return malformed("space in userinfo");
    hostport = authority.substr(at + 1);
  }
  std::string_view port_text;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return malformed("unterminated IPv6 literal");
    std::string_view inner = hostport.substr(1, close - 1);
    if (!parse_ipv6(inner)) return malformed("bad IPv6 literal");
    u.host = inner;
    u.host_kind = HostKind::ipv6;
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return malformed("junk after IPv6 literal");
      port_text = after.substr(1);
    }
  } else {
    size_t colon = hostport.find(':');
    std::string_view host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
    if (auto ok = check_reg_name(host); !ok) return ok.error();
    u.host = host;
    u.host_kind = host.empty() ? HostKind::none : is_ipv4(host) ? HostKind::ipv4 : HostKind::name;
  }
  // RFC 3986 §3.2.3: port = *DIGIT, and an empty port is the same as none.
  if (!port_text.empty()) {
    uint32_t port = 0;
    for (unsigned char c : port_text) {
      if (!is_digit(c)) return malformed("bad port");
      port = port * 10 + (c - '0');
      if (port > 65535) return malformed("port out of range");
    }
    u.port = uint16_t(port);
  }
  return {};
}

Result<Url> parse_impl(std::string_view text, bool require_absolute) {
  for (unsigned char c : text) {
    if (is_control(c)) return malformed("control character in URL");
  }
  Url u;
  std::string_view rest = text;
  size_t delim = text.find_first_of(":/?#");
  if (delim != std::string_view::npos && text[delim] == ':') {
    std::string_view scheme = text.substr(0, delim);
    // RFC 3986 §4.2: a relative path's first segment may not hold a ':', so a ':' before any
    // '/', '?' or '#' must end a valid scheme.
    if (!valid_scheme(scheme)) return malformed("bad scheme");
    u.scheme = scheme;
    rest = text.substr(delim + 1);
  }
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    size_t end = rest.find_first_of("/?#");
    if (auto ok = parse_authority(rest.substr(0, end), u); !ok) return ok.error();
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  }
  size_t end = rest.find_first_of("?#");
  u.path = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (!rest.empty() && rest[0] == '?') {
    size_t hash = rest.find('#');
    u.has_query = true;
    u.query = rest.substr(1, hash == std::string_view::npos ? hash : hash - 1);
    rest = hash == std::string_view::npos ? std::string_view{} : rest.substr(hash);
  }
  if (!rest.empty()) {
    u.has_fragment = true;
    u.fragment = rest.substr(1);
  }
  if (require_absolute) {
    if (u.scheme.empty()) return malformed("no scheme");
    if (is_special(u.scheme) && u.host_kind == HostKind::none) return malformed("missing host");
  }
  return u;
}

// RFC 3986 §5.2.3.
std::string merge(const Url& base, std::string_view ref_path) {
  if (base.has_authority && base.path.empty()) return "/" + std::string(ref_path);
  size_t slash = base.path.rfind('/');
  if (slash == std::string::npos) return std::string(ref_path);
  return base.path.substr(0, slash + 1) + std::string(ref_path);
}

enum class Part { userinfo, path, query, fragment };

// Upper-cases escapes and encodes what RFC 3986 never allows in that part.
std::string normalise_part(std::string_view s, Part part) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c == '%' && valid_escape_at(s, i)) {
      out += '%';
      out += to_upper(s[i + 1]);
      out += to_upper(s[i + 2]);
      i += 2;
      continue;
    }
    bool encode = c <= 0x20 || c >= 0x7F || c == '%' || c == '"' || c == '<' || c == '>' ||
                  c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}' ||
                  c == '#' || (part == Part::path && c == '?') ||
                  (part == Part::userinfo && (c == '@' || c == '/' || c == '?'));
    if (encode) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out;
}

std::string canonical_text(const std::array<uint16_t, 8>& g) {
  // RFC 5952 §4.2: the longest run of two or more zero groups becomes "::", the first one
  // when runs tie; §4.3: lower-case hex without leading zeros.
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0)
      ++j;
    if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      int nibble = (g[i] >> shift) & 15;
      if (nibble || started || shift == 0) out += kHex[nibble], started = true;
    }
  }
  return out;
}

}  // namespace

bool Url::is_tls() const {
  return text::iequals(scheme, "https") || text::iequals(scheme, "wss");
}

uint16_t Url::effective_port() const {
  return port ? *port : default_port(scheme);
}

std::string Url::host_text() const {
  return host_kind == HostKind::ipv6 ? "[" + host + "]" : host;
}

std::string Url::host_header() const {
  std::string out = host_text();
  if (port && *port != default_port(scheme)) out += ":" + std::to_string(*port);
  return out;
}

std::string Url::target() const {
  std::string out = path.empty() ? "/" : path;
  if (has_query) out += "?" + query;
  return out;
}

std::string Url::str() const {
  return serialise(*this);
}

bool is_ipv4(std::string_view text) {
  return parse_ipv4(text).has_value();
}

std::optional<std::string> canonical_ipv6(std::string_view text) {
  auto groups = parse_ipv6(text);
  if (!groups) return std::nullopt;
  return canonical_text(*groups);
}

bool is_valid_host_field(std::string_view value) {
  std::string_view host = value;
  std::string_view port;
  if (!value.empty() && value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos) return false;
    if (!parse_ipv6(value.substr(1, close - 1))) return false;
    std::string_view after = value.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
    }
  } else {
    size_t colon = value.find(':');
    if (colon != std::string_view::npos) {
      host = value.substr(0, colon);
      port = value.substr(colon + 1);
      if (host.empty()) return false;  // a port without a host
    }
    // reg-name = *( unreserved / pct-encoded / sub-delims ); an IPv4 address is one too.
    for (size_t i = 0; i < host.size(); ++i) {
      char c = host[i];
      bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
      bool sub_delim = std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos;
      if (unreserved || sub_delim) continue;
      auto hex = [](char h) {
        return (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
      };
      if (c == '%' && i + 2 < host.size() && hex(host[i + 1]) && hex(host[i + 2])) {
        i += 2;
        continue;
      }
      return false;
    }
  }
  if (port.size() > 5) return false;
  uint32_t number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    number = number * 10 + uint32_t(c - '0');
  }
  return number <= 65535;
}

Result<Url> parse(std::string_view text) {
  return parse_impl(text, true);
}

Result<Url> parse_reference(std::string_view text) {
  return parse_impl(text, false);
}

Result<Url> parse_origin_form(std::string_view text) {
  if (text.empty() || text[0] != '/') return malformed("origin-form target must start with '/'");
  // "//x" would read as an authority; an origin-form target is only ever path and query.
  auto u = parse_impl("/." + std::string(text), false);
  if (!u) return u;
  if (u->has_fragment) return malformed("fragment in request target");
  u->path.erase(0, 2);
  return u;
}

Result<Url> parse_authority_form(std::string_view text) {
  if (text.find_first_of("/?#") != std::string_view::npos || text.find('@') != text.npos) {
    return malformed("authority-form target must be host:port");
  }
  auto u = parse_impl("//" + std::string(text), false);
  if (!u) return u;
  if (u->host_kind == HostKind::none) return malformed("missing host");
  if (!u->port) return malformed("missing port");
  return u;
}

std::string remove_dot_segments(std::string_view path) {
  std::string_view in = path;
  std::string out;
  out.reserve(path.size());
  auto drop_last_segment = [&out] {
    size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") {
      in.remove_prefix(3);  // A
    } else if (in.substr(0, 2) == "./") {
      in.remove_prefix(2);  // A
    } else if (in.substr(0, 3) == "/./") {
      in.remove_prefix(2);  // B
    } else if (in == "/.") {
      in = "/";  // B
    } else if (in.substr(0, 4) == "/../") {
      in.remove_prefix(3);  // C
      drop_last_segment();
    } else if (in == "/..") {
      in = "/";  // C
      drop_last_segment();
    } else if (in == "." || in == "..") {
      in = {};  // D
    } else {
      size_t next = in.find('/', 1);  // E
      out.append(in.substr(0, next));
      in = next == std::string_view::npos ? std::string_view{} : in.substr(next);
    }
  }
  return out;
}

Result<Url> resolve(const Url& base, const Url& r) {
  if (!base.is_absolute()) return malformed("base URL is not absolute");
  Url t;
  if (r.is_absolute()) {
    t = r;
    t.path = remove_dot_segments(r.path);
    return t;
  }
  if (r.has_authority) {
    t = r;
    t.path = remove_dot_segments(r.path);
  } else {
    if (r.path.empty()) {
      t.path = base.path;
      t.has_query = r.has_query || base.has_query;
      t.query = r.has_query ? r.query : base.query;
    } else {
      t.path = remove_dot_segments(r.path[0] == '/' ? r.path : merge(base, r.path));
      t.has_query = r.has_query;
      t.query = r.query;
    }
    t.has_authority = base.has_authority;
    t.has_userinfo = base.has_userinfo;
    t.userinfo = base.userinfo;
    t.host = base.host;
    t.host_kind = base.host_kind;
    t.port = base.port;
  }
  t.scheme = base.scheme;
  t.has_fragment = r.has_fragment;
  t.fragment = r.fragment;
  return t;
}

Result<Url> resolve(const Url& base, std::string_view reference) {
  auto r = parse_reference(reference);
  if (!r) return r;
  return resolve(base, *r);
}

Url normalise(const Url& u) {
  Url n = u;
  n.scheme = lower(u.scheme);
  if (n.has_userinfo) n.userinfo = normalise_part(u.userinfo, Part::userinfo);
  if (n.host_kind == HostKind::ipv6) {
    if (auto text = canonical_ipv6(u.host)) n.host = *text;
  } else {
    n.host = lower(u.host);
    for (size_t i = 0; i + 2 < n.host.size(); ++i) {
      if (n.host[i] == '%')
        n.host[i + 1] = to_upper(n.host[i + 1]), n.host[i + 2] = to_upper(n.host[i + 2]);
    }
  }
  if (n.port && *n.port == default_port(n.scheme)) n.port.reset();
  // Dot segments only mean something once a path is resolved: in an absolute URL or an
  // absolute path. "../x" on its own must stay as it is for a later resolve().
  if (n.is_absolute() || (!n.path.empty() && n.path[0] == '/')) {
    n.path = remove_dot_segments(n.path);
  }
  n.path = normalise_part(n.path, Part::path);
  if (n.has_authority && n.path.empty()) n.path = "/";  // RFC 3986 §6.2.3
  if (n.has_query) n.query = normalise_part(u.query, Part::query);
  if (n.has_fragment) n.fragment = normalise_part(u.fragment, Part::fragment);
  return n;
}

std::string serialise(const Url& u) {
  std::string out;
  if (!u.scheme.empty()) out += u.scheme + ":";
  if (u.has_authority) {
    out += "//";
    if (u.has_userinfo) out += u.userinfo + "@";
    out += u.host_text();
    if (u.port) out += ":" + std::to_string(*u.port);
    if (!u.path.empty() && u.path[0] != '/') out += '/';
  } else if (u.path.substr(0, 2) == "//") {
    out += "/.";  // RFC 3986 §5.3: keep the path from reading as an authority
  } else if (u.scheme.empty()) {
    size_t colon = u.path.find(':');
    if (colon != std::string::npos && colon < u.path.find('/')) out += "./";  // RFC 3986 §4.2
  }
  out += u.path;
  if (u.has_query) out += "?" + u.query;
  if (u.has_fragment) out += "#" + u.fragment;
  return out;
}

std::string origin(const Url& u) {
  if (!is_special(u.scheme) || u.host_kind == HostKind::none) return "null";
  Url n = normalise(u);
  std::string out = n.scheme + "://" + n.host_text();
  if (n.port) out += ":" + std::to_string(*n.port);
  return out;
}

bool same_origin(const Url& a, const Url& b) {
  std::string oa = origin(a);
  return oa != "null" && oa == origin(b);
}

Url with_origin(const Url& u, const Url& to) {
  Url out = u;
  out.scheme = to.scheme;
  out.has_authority = true;
  out.host = to.host;
  out.host_kind = to.host_kind;
  out.port = to.port;
  return out;
}

std::string map_origin(std::string_view text, const Url& from, const Url& to) {
  auto parsed = parse_reference(text);
  if (!parsed || !parsed->has_authority) return std::string(text);
  Url u = *parsed;
  bool network_path = u.scheme.empty();
  if (network_path) u.scheme = from.scheme;  // RFC 3986 §4.2: takes the current scheme
  if (!same_origin(u, from)) return std::string(text);
  Url mapped = with_origin(u, to);
  if (network_path) mapped.scheme.clear();
  return serialise(mapped);
}

std::string map_host(std::string_view host_header, const Url& from, const Url& to) {
  if (host_header.find_first_of("/?#@") != std::string_view::npos) return std::string(host_header);
  auto parsed = parse_reference("//" + std::string(host_header));
  if (!parsed || parsed->host_kind == HostKind::none) return std::string(host_header);
  parsed->scheme = from.scheme;
  if (!same_origin(*parsed, from)) return std::string(host_header);
  return to.host_header();
}

}  // namespace wa::url
