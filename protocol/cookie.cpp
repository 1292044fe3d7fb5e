// Set-Cookie parsing (RFC 6265 §5.2), the cookie-date algorithm (§5.1.1), the Cookie request
// header, and the domain and path matching rules (§5.1.3, §5.1.4).
#include "protocol/cookie.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "protocol/text.h"
#include "protocol/url.h"

namespace wa::cookie {
namespace {

Failure malformed(std::string why) {
  return fail(Errc::cookie_malformed, std::move(why));
}

bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

// rfc6265bis §5.6 step 1: CTL characters other than HTAB make the whole header ignored.
bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7F) return true;
  }
  return false;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  }
  return out;
}

// ---- §5.1.1 cookie-date -------------------------------------------------------------------

// delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E
bool is_date_delimiter(unsigned char c) {
  return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) ||
         (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

// Leading digits of a token: 1*N DIGIT ( non-digit *OCTET ) holds when their count is in
// [min, max] (whatever follows is a non-digit by construction).
std::optional<int> leading_number(std::string_view token, size_t min, size_t max) {
  size_t n = 0;
  int value = 0;
  while (n < token.size() && is_digit(token[n])) {
    if (n == max) return std::nullopt;
    value = value * 10 + (token[n++] - '0');
  }
  if (n < min) return std::nullopt;
  return value;
}

// hms-time = time-field ":" time-field ":" time-field, time-field = 1*2DIGIT,
// then ( non-digit *OCTET ).
bool parse_time(std::string_view token, int& h, int& m, int& s) {
  int* fields[3] = {&h, &m, &s};
  size_t i = 0;
  for (int f = 0; f < 3; ++f) {
    size_t start = i;
    int v = 0;
    while (i < token.size() && is_digit(token[i]) && i - start < 2)
      v = v * 10 + (token[i++] - '0');
    if (i == start) return false;
    if (i < token.size() && is_digit(token[i])) return false;  // a third digit
    *fields[f] = v;
    if (f < 2) {
      if (i >= token.size() || token[i] != ':') return false;
      ++i;
    }
  }
  return true;
}

std::optional<int> parse_month(std::string_view token) {
  static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
  if (token.size() < 3) return std::nullopt;
  for (int m = 0; m < 12; ++m) {
    if (text::iequals(token.substr(0, 3), kMonths[m])) return m + 1;
  }
  return std::nullopt;
}

// Days since 1970-01-01 of a proleptic Gregorian date (the usual era-based computation).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// ---- Set-Cookie attributes --------------------------------------------------------------

void apply_attribute(SetCookie& c, std::string_view name, std::string_view value, bool has_value) {
  // rfc6265bis §5.6 step 6: over-long attribute values are ignored.
  if (value.size() > kMaxAttributeValueBytes) return;
  if (text::iequals(name, "Expires")) {
    // §5.2.1: a value that is not a cookie-date is ignored.
    if (auto t = parse_cookie_date(value)) c.expires_ms = *t;
  } else if (text::iequals(name, "Max-Age")) {
    // §5.2.2: optional '-' then digits only; anything else is ignored.
    bool negative = !value.empty() && value[0] == '-';
    std::string_view digits = value.substr(negative ? 1 : 0);
    if (digits.empty()) return;
    int64_t seconds = 0;
    for (unsigned char ch : digits) {
      if (!is_digit(ch)) return;
      // Saturate far beyond any real date rather than overflow.
      if (seconds < 1'000'000'000'000) seconds = seconds * 10 + (ch - '0');
    }
    c.max_age_s = negative ? -seconds : seconds;
  } else if (text::iequals(name, "Domain")) {
    // §5.2.3: an empty value is ignored (the RFC leaves it undefined; browsers ignore it).
    if (value.empty()) return;
    if (value[0] == '.') value.remove_prefix(1);
    c.domain = lower(value);
  } else if (text::iequals(name, "Path")) {
    // §5.2.4: a value that is not an absolute path means the default path.
    c.path = (!value.empty() && value[0] == '/') ? std::string(value) : std::string();
  } else if (text::iequals(name, "Secure")) {
    c.secure = true;
  } else if (text::iequals(name, "HttpOnly")) {
    c.http_only = true;
  } else if (text::iequals(name, "SameSite")) {
    c.same_site_raw = value;
    c.same_site = text::iequals(value, "Strict") ? SameSite::strict
                  : text::iequals(value, "Lax")  ? SameSite::lax
                  : text::iequals(value, "None") ? SameSite::none
                                                 : SameSite::other;
  } else if (text::iequals(name, "Partitioned")) {
    c.partitioned = true;
  } else if (!name.empty() || has_value) {
    c.other_attributes.push_back(Attribute{std::string(name), std::string(value), has_value});
  }
}

}  // namespace

std::optional<int64_t> parse_cookie_date(std::string_view text) {
  bool found_time = false, found_day = false, found_month = false, found_year = false;
  int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_date_delimiter(text[i]))
      ++i;
    size_t start = i;
    while (i < text.size() && !is_date_delimiter(text[i]))
      ++i;
    std::string_view token = text.substr(start, i - start);
    if (token.empty()) continue;
    if (!found_time && parse_time(token, hour, minute, second)) {
      found_time = true;
    } else if (auto d = found_day ? std::nullopt : leading_number(token, 1, 2)) {
      day = *d, found_day = true;
    } else if (auto m = found_month ? std::nullopt : parse_month(token)) {
      month = *m, found_month = true;
    } else if (auto y = found_year ? std::nullopt : leading_number(token, 2, 4)) {
      year = *y, found_year = true;
    }
  }
  // Two-digit years: 70-99 are 19xx, 00-69 are 20xx.
  if (found_year && year >= 70 && year <= 99) year += 1900;
  if (found_year && year >= 0 && year <= 69) year += 2000;
  if (!found_time || !found_day || !found_month || !found_year) return std::nullopt;
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  if (day > days_in_month(year, month)) return std::nullopt;  // "a date that does not exist"
  int64_t days = days_from_civil(year, month, day);
  return ((days * 24 + hour) * 60 + minute) * 60'000 + int64_t(second) * 1000;
}

std::string format_cookie_date(int64_t unix_ms) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // Cookie dates run from 1601 (§5.1.1) to 9999; clamping also keeps the arithmetic in range.
  unix_ms = std::clamp<int64_t>(unix_ms, -11'644'473'600'000, 253'402'300'799'999);
  // Floor division, so that instants before 1970 land on the right day.
  int64_t seconds = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  int64_t rem = seconds - days * 86400;
  // The inverse of days_from_civil.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int d = int(doy - (153 * mp + 2) / 5 + 1);
  int m = int(mp < 10 ? mp + 3 : mp - 9);
  int64_t y = yoe + era * 400 + (m <= 2);
  int weekday = int(((days % 7) + 7) % 7);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04lld %02d:%02d:%02d GMT", kDays[weekday], d,
                kMonths[m - 1], static_cast<long long>(y), int(rem / 3600), int(rem / 60 % 60),
                int(rem % 60));
  return buf;
}

std::optional<int64_t> SetCookie::expiry_at(int64_t now_ms) const {
  if (max_age_s) {
    if (*max_age_s <= 0) return std::numeric_limits<int64_t>::min();
    int64_t delta = *max_age_s * 1000;  // at most about 1e16: the parser saturates
    if (now_ms > std::numeric_limits<int64_t>::max() - delta) {
      return std::numeric_limits<int64_t>::max();
    }
    return now_ms + delta;
  }
  return expires_ms;
}

Result<SetCookie> parse_set_cookie(std::string_view header) {
  if (has_control(header)) return malformed("control character in Set-Cookie");
  SetCookie c;
  c.raw = header;
  size_t semi = header.find(';');
  std::string_view pair = header.substr(0, semi);
  size_t eq = pair.find('=');
  if (eq == std::string_view::npos) {
    c.value = text::trim(pair);  // rfc6265bis: a nameless cookie
  } else {
    c.name = text::trim(pair.substr(0, eq));
    c.value = text::trim(pair.substr(eq + 1));
  }
  if (c.name.empty() && c.value.empty()) return malformed("empty cookie name and value");
  if (c.name.size() + c.value.size() > kMaxNameValueBytes) {
    return malformed("cookie name and value over 4096 bytes");
  }
  std::string_view rest =
      semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
  while (!rest.empty()) {
    size_t next = rest.find(';');
    std::string_view av = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    size_t av_eq = av.find('=');
    std::string_view name = text::trim(av.substr(0, av_eq));
    std::string_view value =
        av_eq == std::string_view::npos ? std::string_view{} : text::trim(av.substr(av_eq + 1));
    apply_attribute(c, name, value, av_eq != std::string_view::npos);
  }
  return c;
}

Result<std::vector<CookiePair>> parse_cookie_header(std::string_view header) {
  if (has_control(header)) return malformed("control character in Cookie header");
  std::vector<CookiePair> pairs;
  while (true) {
    size_t semi = header.find(';');
    std::string_view piece = text::trim(header.substr(0, semi));
    if (!piece.empty()) {
      size_t eq = piece.find('=');
      if (eq == std::string_view::npos) {
        pairs.push_back(CookiePair{{}, std::string(piece)});
      } else {
        pairs.push_back(CookiePair{std::string(text::trim(piece.substr(0, eq))),
                                   std::string(text::trim(piece.substr(eq + 1)))});
      }
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return pairs;
}

std::string serialise_cookie_header(const std::vector<CookiePair>& pairs) {
  std::string out;
  for (const CookiePair& p : pairs) {
    if (!out.empty()) out += "; ";
    if (!p.name.empty()) out += p.name + "=";
    out += p.value;
  }
  return out;
}

bool domain_matches(std::string_view host, std::string_view domain) {
  if (host == domain) return true;
  // §5.1.3: a suffix match only for host names, on a label boundary.
  if (domain.empty() || host.size() <= domain.size()) return false;
  if (!host.empty() && (host[0] == '[' || url::is_ipv4(host))) return false;
  return host.substr(host.size() - domain.size()) == domain &&
         host[host.size() - domain.size() - 1] == '.';
}

bool path_matches(std::string_view request_path, std::string_view cookie_path) {
  if (request_path == cookie_path) return true;
  if (request_path.size() <= cookie_path.size() || cookie_path.empty()) return false;
  if (request_path.substr(0, cookie_path.size()) != cookie_path) return false;
  return cookie_path.back() == '/' || request_path[cookie_path.size()] == '/';
}

std::string default_path(std::string_view request_path) {
  if (request_path.empty() || request_path[0] != '/') return "/";
  size_t last = request_path.rfind('/');
  if (last == 0) return "/";
  return std::string(request_path.substr(0, last));
}

}  // namespace wa::cookie
