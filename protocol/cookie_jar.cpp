// The cookie jar: RFC 6265 §5.3 (storage model) and §5.4 (the Cookie header), with the
// rfc6265bis rules browsers enforce. See cookie_jar.h for the decisions taken.
#include "protocol/cookie_jar.h"

#include <algorithm>

#include "protocol/text.h"

namespace wa::cookie {
namespace {

Failure refused(std::string why) {
  return fail(Errc::cookie_malformed, std::move(why));
}

bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7F) return true;
  }
  return false;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && text::iequals(s.substr(0, prefix.size()), prefix);
}

bool is_ip(std::string_view host) {
  return (!host.empty() && host[0] == '[') || url::is_ipv4(host);
}

bool same_key(const Cookie& a, const Cookie& b) {
  return a.name == b.name && a.domain == b.domain && a.host_only == b.host_only && a.path == b.path;
}

}  // namespace

std::string canonical_host(const url::Url& u) {
  switch (u.host_kind) {
    case url::HostKind::none:
      return {};
    case url::HostKind::ipv6:
      return "[" + url::canonical_ipv6(u.host).value_or(u.host) + "]";
    case url::HostKind::name:
    case url::HostKind::ipv4:
      break;
  }
  std::string host = u.host;
  for (char& c : host) {
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  }
  return host;
}

bool is_secure_context(const url::Url& u) {
  if (u.is_tls()) return true;
  // Loopback is "potentially trustworthy" (W3C Secure Contexts §3.1), and browsers let
  // http://localhost set and receive Secure cookies.
  std::string host = canonical_host(u);
  if (host == "localhost" || (host.size() > 10 && host.ends_with(".localhost"))) return true;
  if (u.host_kind == url::HostKind::ipv4 && host.starts_with("127.")) return true;
  return host == "[::1]";
}

Result<Stored> CookieJar::set_from_response(const url::Url& request_url,
                                            std::string_view set_cookie, int64_t now_ms) {
  auto parsed = parse_set_cookie(set_cookie);
  if (!parsed) return parsed.error();
  return set_from_response(request_url, *parsed, now_ms);
}

Result<Stored> CookieJar::set_from_response(const url::Url& request_url, const SetCookie& sc,
                                            int64_t now_ms) {
  std::string host = canonical_host(request_url);
  if (host.empty()) return refused("request URL has no host");
  bool secure_context = is_secure_context(request_url);

  Cookie c;
  c.name = sc.name;
  c.value = sc.value;
  c.raw = sc.raw;
  c.expires_ms = sc.expiry_at(now_ms);
  c.created_ms = c.last_access_ms = now_ms;
  c.secure = sc.secure;
  c.http_only = sc.http_only;
  c.partitioned = sc.partitioned;
  c.same_site = sc.same_site;
  c.same_site_raw = sc.same_site_raw;

  // §5.3 steps 4-6. Without a public suffix list, a single-label domain stands for one.
  std::string domain = sc.domain ? *sc.domain : std::string();
  // An IP address, or a public suffix naming the request host itself, yields a host-only
  // cookie; any other Domain on them is refused.
  bool host_only_domain = is_ip(host) || domain.find('.') == std::string::npos;
  if (domain.empty() || (host_only_domain && domain == host)) {
    c.host_only = true;
    c.domain = host;
  } else if (is_ip(host)) {
    return refused("Domain=" + domain + " set by the IP address " + host);
  } else if (host_only_domain) {
    return refused("Domain=" + domain + " is a top-level domain");
  } else if (!domain_matches(host, domain)) {
    return refused("Domain=" + domain + " does not domain-match " + host);
  } else {
    c.host_only = false;
    c.domain = domain;
  }
  // §5.3 step 7 (rfc6265bis: a Path that is not absolute also means the default path).
  c.path = sc.path && !sc.path->empty() ? *sc.path : default_path(request_url.path);

  // rfc6265bis: Secure only from a secure origin; SameSite=None needs Secure.
  if (c.secure && !secure_context) return refused("Secure cookie set over an insecure origin");
  if (c.same_site == SameSite::none && !c.secure) return refused("SameSite=None without Secure");

  // Cookie prefixes (rfc6265bis §4.1.3), matched case-insensitively; a nameless cookie whose
  // value looks prefixed is refused so that it cannot pass for one.
  std::string_view prefixed = c.name.empty() ? std::string_view(c.value) : c.name;
  if (starts_with_ci(prefixed, "__Secure-") && (c.name.empty() || !c.secure)) {
    return refused("__Secure- cookie without Secure");
  }
  if (starts_with_ci(prefixed, "__Host-") &&
      (c.name.empty() || !c.secure || !c.host_only || sc.path != "/")) {
    return refused("__Host- cookie needs Secure, no Domain and Path=/");
  }

  // rfc6265bis "leave secure cookies alone": an insecure origin may not shadow a Secure cookie.
  if (!c.secure && !secure_context) {
    for (const Cookie& old : cookies_) {
      if (old.secure && old.name == c.name && !old.expired_at(now_ms) &&
          (domain_matches(old.domain, c.domain) || domain_matches(c.domain, old.domain)) &&
          path_matches(c.path, old.path)) {
        return refused("would overwrite a Secure cookie from an insecure origin");
      }
    }
  }
  return store(std::move(c), now_ms, true);
}

Result<Stored> CookieJar::store(Cookie c, int64_t now_ms, bool keep_old_creation) {
  remove_expired(now_ms);
  auto old = std::find_if(cookies_.begin(), cookies_.end(),
                          [&](const Cookie& o) { return same_key(o, c); });
  // §5.3 step 12: an already-expired cookie only removes the one it replaces.
  if (c.expired_at(now_ms)) {
    if (old == cookies_.end()) return Stored::expired;
    cookies_.erase(old);
    return Stored::deleted;
  }
  if (old != cookies_.end()) {
    // §5.3 step 11: the replacement keeps the old creation time (and so its place in order).
    if (keep_old_creation) c.created_ms = old->created_ms;
    c.sequence = old->sequence;
    *old = std::move(c);
    return Stored::replaced;
  }
  c.sequence = next_sequence_++;
  std::string domain = c.domain;
  cookies_.push_back(std::move(c));
  enforce_limits(domain);
  return Stored::added;
}

void CookieJar::enforce_limits(const std::string& domain) {
  // The least recently used go first; among equals, the oldest.
  auto evict_one = [this](auto&& eligible) {
    auto victim = cookies_.end();
    for (auto it = cookies_.begin(); it != cookies_.end(); ++it) {
      if (!eligible(*it)) continue;
      if (victim == cookies_.end() || it->last_access_ms < victim->last_access_ms ||
          (it->last_access_ms == victim->last_access_ms && it->sequence < victim->sequence)) {
        victim = it;
      }
    }
    if (victim != cookies_.end()) cookies_.erase(victim);
  };
  auto in_domain = [&](const Cookie& c) { return c.domain == domain; };
  size_t count = size_t(std::count_if(cookies_.begin(), cookies_.end(), in_domain));
  for (; count > std::max<size_t>(limits_.max_per_domain, 1); --count)
    evict_one(in_domain);
  while (cookies_.size() > std::max<size_t>(limits_.max_cookies, 1)) {
    evict_one([](const Cookie&) { return true; });
  }
}

std::vector<Cookie> CookieJar::cookies_for(const url::Url& u, int64_t now_ms) {
  remove_expired(now_ms);
  std::string host = canonical_host(u);
  if (host.empty()) return {};
  bool secure_context = is_secure_context(u);
  std::string_view path = u.path.empty() ? std::string_view("/") : std::string_view(u.path);
  std::vector<Cookie*> chosen;
  for (Cookie& c : cookies_) {
    bool host_ok = c.host_only ? host == c.domain : domain_matches(host, c.domain);
    if (host_ok && path_matches(path, c.path) && (!c.secure || secure_context)) {
      chosen.push_back(&c);
    }
  }
  // §5.4 step 2: longer paths first, then earlier creation; the sequence settles ties.
  std::sort(chosen.begin(), chosen.end(), [](const Cookie* a, const Cookie* b) {
    if (a->path.size() != b->path.size()) return a->path.size() > b->path.size();
    if (a->created_ms != b->created_ms) return a->created_ms < b->created_ms;
    return a->sequence < b->sequence;
  });
  std::vector<Cookie> out;
  out.reserve(chosen.size());
  for (Cookie* c : chosen) {
    c->last_access_ms = now_ms;  // §5.4 step 3
    out.push_back(*c);
  }
  return out;
}

std::string CookieJar::cookie_header_for(const url::Url& u, int64_t now_ms) {
  std::vector<CookiePair> pairs;
  for (Cookie& c : cookies_for(u, now_ms)) {
    pairs.push_back(CookiePair{std::move(c.name), std::move(c.value)});
  }
  return serialise_cookie_header(pairs);
}

Result<Stored> CookieJar::insert(Cookie c, int64_t now_ms) {
  if (has_control(c.name) || has_control(c.value) || has_control(c.domain) || has_control(c.path)) {
    return refused("control character in cookie");
  }
  if (c.name.empty() && c.value.empty()) return refused("empty cookie name and value");
  if (c.name.size() + c.value.size() > kMaxNameValueBytes) {
    return refused("cookie name and value over 4096 bytes");
  }
  if (c.name.find_first_of("=;") != std::string::npos || c.value.find(';') != std::string::npos) {
    return refused("'=' or ';' would break the Cookie header");
  }
  if (c.domain.empty()) return refused("cookie without a domain");
  if (c.path.empty() || c.path[0] != '/') return refused("cookie path must start with '/'");
  c.domain = text::trim(c.domain);
  for (char& ch : c.domain) {
    if (ch >= 'A' && ch <= 'Z') ch = char(ch + 32);
  }
  return store(std::move(c), now_ms, false);
}

Result<Stored> CookieJar::seed(const url::Url& u, std::string_view name, std::string_view value,
                               int64_t now_ms) {
  Cookie c;
  c.name = name;
  c.value = value;
  c.domain = canonical_host(u);
  c.path = "/";
  c.host_only = true;
  c.created_ms = c.last_access_ms = now_ms;
  return insert(std::move(c), now_ms);
}

std::vector<Cookie> CookieJar::list(int64_t now_ms) const {
  std::vector<Cookie> out;
  for (const Cookie& c : cookies_) {
    if (!c.expired_at(now_ms)) out.push_back(c);
  }
  std::sort(out.begin(), out.end(),
            [](const Cookie& a, const Cookie& b) { return a.sequence < b.sequence; });
  return out;
}

size_t CookieJar::remove(std::string_view name, std::string_view domain, std::string_view path) {
  return size_t(std::erase_if(cookies_, [&](const Cookie& c) {
    return c.name == name && c.domain == domain && c.path == path;
  }));
}

void CookieJar::remove_expired(int64_t now_ms) {
  std::erase_if(cookies_, [&](const Cookie& c) { return c.expired_at(now_ms); });
}

}  // namespace wa::cookie
