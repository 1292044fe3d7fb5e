#include "replay/spelling.h"

#include <algorithm>
#include <cstring>

#include "protocol/socketio_json.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/html_fields.h"

namespace wa::replay {
namespace {

// RFC 8259 §7 escaping as JSON.stringify and Python's json.dumps write it; non-ASCII stays.
std::string json_escape(std::string_view value) {
  // Most values (ids, tokens) need no escape: the serializer only for those that do.
  bool plain = std::none_of(value.begin(), value.end(), [](char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
  if (plain && text::is_valid_utf8(value)) return std::string(value);
  std::string s = sio::dump_json(sio::Json(std::string(value)));
  return s.size() >= 2 ? s.substr(1, s.size() - 2) : std::string();
}

void append_u_escape(std::string& out, uint32_t unit) {
  static const char digits[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4)
    out += digits[(unit >> shift) & 0xF];
}

// The code points of valid UTF-8 text, one at a time.
uint32_t next_code_point(std::string_view text, size_t& i) {
  auto c = static_cast<unsigned char>(text[i]);
  int extra = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
  uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
  for (int k = 1; k <= extra && i + size_t(k) < text.size(); ++k)
    cp = (cp << 6) | (static_cast<unsigned char>(text[i + size_t(k)]) & 0x3F);
  i += size_t(extra) + 1;
  return cp;
}

// Python's json.dumps(ensure_ascii=True): every non-ASCII character as \uXXXX, lower-case hex,
// surrogate pairs above U+FFFF (PROTOCOLS.md §2: Flask-SocketIO writes "h\u00e9llo").
std::string json_ascii_escape(std::string_view value) {
  std::string escaped = json_escape(value);
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size();) {
    unsigned char c = static_cast<unsigned char>(escaped[i]);
    if (c < 0x80) {
      out += char(c);
      ++i;
      continue;
    }
    uint32_t cp = next_code_point(escaped, i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      append_u_escape(out, 0xD800 + (cp >> 10));
      append_u_escape(out, 0xDC00 + (cp & 0x3FF));
    } else {
      append_u_escape(out, cp);
    }
  }
  return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// HTML character references for the characters that escapers replace (escape-html, Jinja,
// Django: & < > " '; Handlebars and lodash also ` and =, in hex).
std::string html_escape(std::string_view value, bool hex) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += hex ? "&#x27;" : "&#39;";
        break;
      case '`':
        out += hex ? "&#x60;" : "`";
        break;
      case '=':
        out += hex ? "&#x3D;" : "=";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// JavaScript's escape() (ECMA-262 §B.2.1.1), over UTF-16 code units.
std::string js_escape(std::string_view value) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  auto unit = [&](uint32_t u) {
    if (u < 0x100) {
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 0xF];
    } else {
      out += "%u";
      for (int shift = 12; shift >= 0; shift -= 4)
        out += digits[(u >> shift) & 0xF];
    }
  };
  for (size_t i = 0; i < value.size();) {
    uint32_t cp = next_code_point(value, i);
    bool plain = (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') ||
                 (cp < 0x80 && std::strchr("@*_+-./", int(cp)) != nullptr && cp != 0);
    if (plain) {
      out += char(cp);
    } else if (cp >= 0x10000) {
      unit(0xD800 + ((cp - 0x10000) >> 10));
      unit(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      unit(cp);
    }
  }
  return out;
}

// `digits` hex digits at text[i]; -1 when they are not all there.
long read_hex(std::string_view text, size_t i, size_t digits) {
  if (i + digits > text.size()) return -1;
  long v = 0;
  for (size_t k = 0; k < digits; ++k) {
    int d = text::hex_value(text[i + k]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// UTF-16 code units back to UTF-8, pairing surrogates; a lone surrogate is an error.
bool append_units(std::string& out, const std::vector<uint32_t>& units) {
  for (size_t k = 0; k < units.size(); ++k) {
    uint32_t u = units[k];
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (k + 1 >= units.size() || units[k + 1] < 0xDC00 || units[k + 1] > 0xDFFF) return false;
      u = 0x10000 + ((u - 0xD800) << 10) + (units[++k] - 0xDC00);
    } else if (u >= 0xDC00 && u <= 0xDFFF) {
      return false;
    }
    if (u == 0) {
      out += '\0';  // escape() wrote a NUL as %00; it is no error here
    } else {
      text::append_utf8(out, u);
    }
  }
  return true;
}

std::optional<std::string> js_unescape(std::string_view text) {
  std::string out;
  std::vector<uint32_t> units;  // a run of escapes, for surrogate pairs
  for (size_t i = 0; i < text.size();) {
    long v = -1;
    size_t len = 0;
    if (text[i] == '%' && i + 1 < text.size() && text[i + 1] == 'u') {
      v = read_hex(text, i + 2, 4);
      len = 6;
    } else if (text[i] == '%') {
      v = read_hex(text, i + 1, 2);
      len = 3;
    }
    if (v < 0 && text[i] == '%') return std::nullopt;
    if (v >= 0) {
      units.push_back(uint32_t(v));
      i += len;
      continue;
    }
    if (!append_units(out, units)) return std::nullopt;
    units.clear();
    out += text[i++];
  }
  if (!append_units(out, units)) return std::nullopt;
  return out;
}

// RFC 4648 §5: '-' and '_' for '+' and '/', no padding.
std::string to_base64url(std::string s) {
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=')
    s.pop_back();
  return s;
}

uint64_t pack_key(const char* p) {
  uint64_t key = 0;
  std::memcpy(&key, p, NeedleSet::kKeyBytes);
  return key;
}

size_t pair_of(const char* p) {
  return (size_t(static_cast<unsigned char>(p[0])) << 8) | static_cast<unsigned char>(p[1]);
}

}  // namespace

const char* spelling_name(Spelling s) {
  switch (s) {
    case Spelling::raw:
      return "raw";
    case Spelling::url:
      return "URL-encoded";
    case Spelling::form:
      return "form-encoded";
    case Spelling::json:
      return "in a JSON string";
    case Spelling::json_slash:
      return "in a JSON string, \\/ escaped";
    case Spelling::json_ascii:
      return "in a JSON string, \\u escaped";
    case Spelling::html:
      return "HTML-escaped";
    case Spelling::html_hex:
      return "HTML-escaped, hex references";
    case Spelling::js_escape:
      return "JavaScript escape()";
    case Spelling::base64:
      return "base64";
    case Spelling::base64url:
      return "base64url";
  }
  return "?";
}

std::string spell(std::string_view value, Spelling s) {
  switch (s) {
    case Spelling::raw:
      return std::string(value);
    case Spelling::url:
      return url::percent_encode(value, url::Flavour::component);
    case Spelling::form:
      return url::percent_encode(value, url::Flavour::form);
    case Spelling::json:
      return json_escape(value);
    case Spelling::json_slash:
      return replace_all(json_escape(value), "/", "\\/");
    case Spelling::json_ascii:
      return json_ascii_escape(value);
    case Spelling::html:
      return html_escape(value, false);
    case Spelling::html_hex:
      return html_escape(value, true);
    case Spelling::js_escape:
      return text::is_valid_utf8(value) ? js_escape(value) : std::string(value);
    case Spelling::base64:
      return text::base64_encode(value);
    case Spelling::base64url:
      return to_base64url(text::base64_encode(value));
  }
  return std::string(value);
}

std::optional<std::string> unspell(std::string_view text, Spelling s) {
  switch (s) {
    case Spelling::raw:
      return std::string(text);
    case Spelling::url:
    case Spelling::form: {
      auto decoded = url::percent_decode(
          text, s == Spelling::url ? url::Flavour::component : url::Flavour::form);
      if (!decoded) return std::nullopt;
      return std::move(*decoded);
    }
    case Spelling::json:
    case Spelling::json_slash:
    case Spelling::json_ascii: {
      if (text.find('\\') == std::string_view::npos && text.find('"') == std::string_view::npos)
        return std::string(text);
      auto parsed = sio::parse_json("\"" + std::string(text) + "\"", Errc::bad_encoding);
      if (!parsed || !parsed->is_string()) return std::nullopt;
      return parsed->get<std::string>();
    }
    case Spelling::html:
    case Spelling::html_hex:
      return decode_html_entities(text);
    case Spelling::js_escape:
      return js_unescape(text);
    case Spelling::base64:
    case Spelling::base64url: {
      std::string standard(text);
      for (char& c : standard) {
        if (c == '-') c = '+';
        if (c == '_') c = '/';
      }
      while (standard.size() % 4 != 0)
        standard += '=';
      auto decoded = text::base64_decode(standard);
      if (!decoded) return std::nullopt;
      return std::move(*decoded);
    }
  }
  return std::nullopt;
}

std::vector<SpelledValue> spellings(std::string_view value) {
  std::vector<SpelledValue> out;
  auto add = [&](Spelling s) {
    std::string text = spell(value, s);
    for (const auto& known : out)
      if (known.text == text) return;
    out.push_back({s, std::move(text)});
  };
  add(Spelling::raw);
  add(Spelling::url);
  add(Spelling::form);
  // JSON strings are UTF-8 (RFC 8259 §8.1); a value that is not cannot sit inside one as is.
  if (text::is_valid_utf8(value)) {
    add(Spelling::json);
    add(Spelling::json_slash);
    add(Spelling::json_ascii);
  }
  add(Spelling::html);
  add(Spelling::html_hex);
  if (text::is_valid_utf8(value)) add(Spelling::js_escape);
  add(Spelling::base64);
  add(Spelling::base64url);
  return out;
}

bool is_token_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '_' || c >= 0x80;
}

bool whole_token_at(std::string_view text, size_t pos, size_t len) {
  if (len == 0 || pos > text.size() || len > text.size() - pos) return false;
  auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  if (pos > 0 && is_token_byte(at(pos)) && is_token_byte(at(pos - 1))) {
    // An escape right before the value stands for a separator: "%3A", "\n", "\u00e9".
    bool percent =
        pos >= 3 && text[pos - 3] == '%' && text::is_hex(at(pos - 2)) && text::is_hex(at(pos - 1));
    bool short_escape = pos >= 2 && text[pos - 2] == '\\' &&
                        std::strchr("nrtbf", text[pos - 1]) != nullptr && text[pos - 1] != 0;
    bool u_escape = pos >= 6 && text[pos - 6] == '\\' && text[pos - 5] == 'u' &&
                    text::is_hex(at(pos - 4)) && text::is_hex(at(pos - 3)) &&
                    text::is_hex(at(pos - 2)) && text::is_hex(at(pos - 1));
    if (!percent && !short_escape && !u_escape) return false;
  }
  size_t end = pos + len;
  if (end < text.size() && is_token_byte(at(end - 1)) && is_token_byte(at(end))) return false;
  return true;
}

std::vector<size_t> find_whole(std::string_view text, std::string_view needle) {
  std::vector<size_t> out;
  if (needle.empty()) return out;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at)) {
    if (whole_token_at(text, at, needle.size())) {
      out.push_back(at);
      at += needle.size();
    } else {
      ++at;
    }
  }
  return out;
}

std::string replace_whole(std::string_view text, std::span<const Replacement> replacements,
                          size_t* count) {
  struct Match {
    size_t pos, len, index;
  };
  std::vector<Match> matches;
  for (size_t r = 0; r < replacements.size(); ++r) {
    for (size_t pos : find_whole(text, replacements[r].from))
      matches.push_back({pos, replacements[r].from.size(), r});
  }
  if (count) *count = 0;
  if (matches.empty()) return std::string(text);
  std::sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
    return a.pos != b.pos ? a.pos < b.pos : a.len > b.len;
  });
  std::string out;
  out.reserve(text.size());
  size_t done = 0;
  for (const Match& m : matches) {
    if (m.pos < done) continue;  // overlaps one already replaced
    out.append(text.substr(done, m.pos - done));
    out.append(replacements[m.index].to);
    done = m.pos + m.len;
    if (count) ++*count;
  }
  out.append(text.substr(done));
  return out;
}

bool NeedleSet::add(std::string needle, uint32_t tag) {
  if (needle.empty()) return false;
  auto index = static_cast<uint32_t>(needles_.size());
  if (needle.size() >= kKeyBytes) {
    by_key_[pack_key(needle.data())].push_back(index);
    size_t pair = pair_of(needle.data());
    first_pairs_[pair / 64] |= uint64_t(1) << (pair % 64);
  } else {
    short_.push_back(index);
  }
  needles_.push_back({std::move(needle), tag});
  return true;
}

void NeedleSet::scan(
    std::string_view text,
    const std::function<void(uint32_t tag, size_t offset, size_t length)>& hit) const {
  if (!by_key_.empty() && text.size() >= kKeyBytes) {
    const char* p = text.data();
    for (size_t i = 0; i + kKeyBytes <= text.size(); ++i) {
      size_t pair = pair_of(p + i);
      if (!(first_pairs_[pair / 64] & (uint64_t(1) << (pair % 64)))) continue;
      auto found = by_key_.find(pack_key(p + i));
      if (found == by_key_.end()) continue;
      for (uint32_t index : found->second) {
        const Needle& n = needles_[index];
        if (text.substr(i, n.text.size()) == n.text && whole_token_at(text, i, n.text.size()))
          hit(n.tag, i, n.text.size());
      }
    }
  }
  for (uint32_t index : short_) {
    const Needle& n = needles_[index];
    for (size_t at : find_whole(text, n.text))
      hit(n.tag, at, n.text.size());
  }
}

}  // namespace wa::replay
