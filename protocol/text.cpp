#include "protocol/text.h"

#include <array>

namespace wa {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::http_malformed:
      return "http_malformed";
    case Errc::http_header_too_large:
      return "http_header_too_large";
    case Errc::http_too_many_headers:
      return "http_too_many_headers";
    case Errc::http_smuggling:
      return "http_smuggling";
    case Errc::http_body_too_large:
      return "http_body_too_large";
    case Errc::ws_protocol:
      return "ws_protocol";
    case Errc::ws_message_too_large:
      return "ws_message_too_large";
    case Errc::ws_deflate:
      return "ws_deflate";
    case Errc::ws_handshake:
      return "ws_handshake";
    case Errc::eio_malformed:
      return "eio_malformed";
    case Errc::sio_malformed:
      return "sio_malformed";
    case Errc::sio09_malformed:
      return "sio09_malformed";
    case Errc::cookie_malformed:
      return "cookie_malformed";
    case Errc::url_malformed:
      return "url_malformed";
    case Errc::bad_encoding:
      return "bad_encoding";
    case Errc::incomplete:
      return "incomplete";
    case Errc::limit:
      return "limit";
    case Errc::setup:
      return "setup";
  }
  return "unknown";
}

namespace text {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_reverse() {
  std::array<int8_t, 256> table{};
  for (auto& v : table)
    v = -1;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = int8_t(i);
  return table;
}
constexpr auto kReverse = make_reverse();

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when it is invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid, RFC 3629 §3).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=' && text.size() - end < 2)
    --end;
  std::string_view body = text.substr(0, end);
  if (body.size() % 4 == 1) return fail(Errc::bad_encoding, "base64 length is impossible");
  if (end != text.size() && text.size() % 4 != 0) {
    return fail(Errc::bad_encoding, "base64 padding is wrong");
  }
  std::string out;
  out.reserve(body.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : body) {
    int8_t v = kReverse[static_cast<unsigned char>(c)];
    if (v < 0) return fail(Errc::bad_encoding, "not a base64 character");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

bool is_valid_utf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t n = utf8_sequence(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::optional<size_t> utf16_length(std::string_view utf8) {
  size_t units = 0;
  for (size_t i = 0; i < utf8.size();) {
    size_t n = utf8_sequence(utf8, i);
    if (n == 0) return std::nullopt;
    units += n == 4 ? 2 : 1;
    i += n;
  }
  return units;
}

std::optional<size_t> utf8_prefix_for_utf16_units(std::string_view utf8, size_t units) {
  size_t i = 0;
  while (units > 0) {
    if (i >= utf8.size()) return std::nullopt;
    size_t n = utf8_sequence(utf8, i);
    if (n == 0) return std::nullopt;
    size_t u = n == 4 ? 2 : 1;
    if (u > units) return std::nullopt;  // the count ends inside a surrogate pair
    units -= u;
    i += n;
  }
  return i;
}

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

}  // namespace text
}  // namespace wa
