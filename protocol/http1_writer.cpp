#include "protocol/http1_writer.h"

#include <algorithm>
#include <array>

namespace wa::http {

namespace {

// RFC 9110 §5.6.2: tchar, as a table (every request head of a replay goes through here).
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c)
    t[size_t(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c)
    t[size_t(c)] = t[size_t(c - 'a' + 'A')] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~"))
    t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool is_tchar(unsigned char c) {
  return kTchar[c];
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// Field values and reason phrases may hold anything a response may carry except the bytes
// that end a line (and NUL, which no recipient reads the same way).
bool is_line_safe(std::string_view s) {
  // One pass, not find_first_of (which looks each byte up in the set with memchr).
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// The request target is one word: no whitespace, no control bytes (RFC 9112 §3.2).
bool is_target(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
  });
}

void append_version(std::string& out, const Version& v) {
  out += "HTTP/";
  out += std::to_string(v.major);
  out += '.';
  out += std::to_string(v.minor);
}

bool valid_version(const Version& v) {
  return v.major >= 0 && v.major <= 9 && v.minor >= 0 && v.minor <= 9;
}

Result<void> append_fields(std::string& out, const Headers& headers) {
  for (const auto& h : headers) {
    if (!is_token(h.name)) return fail(Errc::http_malformed, "field name is not a token");
    if (!is_line_safe(h.value)) {
      return fail(Errc::http_malformed, "CR, LF or NUL in the value of " + h.name);
    }
    out += h.name;
    out += ": ";
    out += h.value;
    out += kCrlf;
  }
  return {};
}

size_t fields_size(const Headers& headers) {
  size_t n = 2;
  for (const auto& h : headers)
    n += h.name.size() + h.value.size() + 4;
  return n;
}

}  // namespace

Result<std::string> serialize_request_head(const Head& head) {
  if (!is_token(head.method)) return fail(Errc::http_malformed, "method is not a token");
  if (!is_target(head.target)) {
    return fail(Errc::http_malformed, "request target is empty or holds whitespace");
  }
  if (!valid_version(head.version)) return fail(Errc::http_malformed, "bad HTTP version");
  std::string out;
  out.reserve(head.method.size() + head.target.size() + 12 + fields_size(head.headers));
  out += head.method;
  out += ' ';
  out += head.target;
  out += ' ';
  append_version(out, head.version);
  out += kCrlf;
  if (auto r = append_fields(out, head.headers); !r) return r.error();
  out += kCrlf;
  return out;
}

Result<std::string> serialize_response_head(const Head& head) {
  if (head.status < 100 || head.status > 999) {
    return fail(Errc::http_malformed, "status code is not three digits");
  }
  if (!is_line_safe(head.reason)) return fail(Errc::http_malformed, "CR, LF or NUL in reason");
  if (!valid_version(head.version)) return fail(Errc::http_malformed, "bad HTTP version");
  std::string out;
  out.reserve(head.reason.size() + 16 + fields_size(head.headers));
  append_version(out, head.version);
  out += ' ';
  out += std::to_string(head.status);
  out += ' ';
  out += head.reason;
  out += kCrlf;
  if (auto r = append_fields(out, head.headers); !r) return r.error();
  out += kCrlf;
  return out;
}

std::string chunk_header(size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[2 * sizeof(size_t)];
  size_t n = 0;
  do {
    digits[n++] = kHex[size & 0xf];
    size >>= 4;
  } while (size != 0);
  std::string out;
  out.reserve(n + 2);
  while (n > 0)
    out += digits[--n];
  out += kCrlf;
  return out;
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  out += chunk_header(data.size());
  out += data;
  out += kCrlf;
}

void append_last_chunk(std::string& out) {
  out += "0\r\n\r\n";
}

Result<void> append_last_chunk(std::string& out, const Headers& trailers) {
  std::string tail = "0\r\n";
  if (auto r = append_fields(tail, trailers); !r) return r;
  tail += kCrlf;
  out += tail;
  return {};
}

}  // namespace wa::http
