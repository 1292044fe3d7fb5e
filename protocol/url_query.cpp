// Percent-encoding (RFC 3986 §2.1), query strings as ordered parameter lists, and the
// substitution of correlated values inside a URL without re-encoding what it does not touch.
#include <algorithm>

#include "protocol/text.h"
#include "protocol/url.h"

namespace wa::url {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool is_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
// encodeURIComponent (ECMA-262 §19.2.6.5) leaves these; the form serialiser (WHATWG URL
// §5.2, application/x-www-form-urlencoded) leaves fewer.
bool keeps(unsigned char c, Flavour flavour) {
  if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '*') return true;
  if (flavour == Flavour::form) return false;
  return c == '!' || c == '~' || c == '\'' || c == '(' || c == ')';
}

// One byte of decoded text and where it came from in the raw text.
struct Unit {
  size_t raw_begin;
  size_t raw_size;
  char byte;
  bool raw_plus;  // a raw '+', decoded as a space in a query
};

std::vector<Unit> decode_units(std::string_view raw, bool plus_is_space) {
  std::vector<Unit> units;
  units.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size() && text::is_hex(raw[i + 1]) &&
        text::is_hex(raw[i + 2])) {
      units.push_back(
          {i, 3, char(text::hex_value(raw[i + 1]) * 16 + text::hex_value(raw[i + 2])), false});
      i += 2;
    } else if (raw[i] == '+' && plus_is_space) {
      units.push_back({i, 1, ' ', true});
    } else {
      units.push_back({i, 1, raw[i], false});
    }
  }
  return units;
}

// A raw '+' in a query is a space to the server, but a client that forgot to encode a token
// holding a '+' sent it raw too, so it matches either.
bool unit_matches(const Unit& u, char c) {
  return u.byte == c || (u.raw_plus && c == '+');
}

// Rewrites the matches of `from` in one piece (a path segment, a parameter name or value);
// returns how many.
size_t substitute_piece(std::string& raw, std::string_view from, std::string_view to,
                        bool plus_is_space) {
  std::vector<Unit> units = decode_units(raw, plus_is_space);
  if (units.size() < from.size()) return 0;
  std::string encoded_to = percent_encode(to, Flavour::component);
  std::string out;
  size_t count = 0;
  size_t copied = 0;  // units already copied to `out`
  for (size_t i = 0; i + from.size() <= units.size();) {
    size_t k = 0;
    while (k < from.size() && unit_matches(units[i + k], from[k]))
      ++k;
    if (k < from.size()) {
      ++i;
      continue;
    }
    if (count == 0) out.reserve(raw.size() + to.size());
    for (size_t j = copied; j < i; ++j)
      out.append(raw, units[j].raw_begin, units[j].raw_size);
    out += encoded_to;
    i += from.size();
    copied = i;
    ++count;
  }
  if (count == 0) return 0;
  for (size_t j = copied; j < units.size(); ++j) {
    out.append(raw, units[j].raw_begin, units[j].raw_size);
  }
  raw = std::move(out);
  return count;
}

}  // namespace

std::string percent_encode(std::string_view bytes, Flavour flavour) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (keeps(c, flavour)) {
      out += char(c);
    } else if (c == ' ' && flavour == Flavour::form) {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> percent_decode(std::string_view text, Flavour flavour) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (i + 2 >= text.size() || !text::is_hex(text[i + 1]) || !text::is_hex(text[i + 2])) {
      return fail(Errc::bad_encoding, "'%' not followed by two hex digits");
    }
    i += 2;
  }
  return percent_decode_lenient(text, flavour);
}

std::string percent_decode_lenient(std::string_view text, Flavour flavour) {
  std::string out;
  out.reserve(text.size());
  for (const Unit& u : decode_units(text, flavour == Flavour::form))
    out += u.byte;
  return out;
}

std::string Query::Param::name() const {
  return percent_decode_lenient(raw_name, Flavour::form);
}

std::string Query::Param::value() const {
  return percent_decode_lenient(raw_value, Flavour::form);
}

Query::Query(std::string_view raw) {
  if (raw.empty()) return;
  while (true) {
    size_t amp = raw.find('&');
    std::string_view piece = raw.substr(0, amp);
    Param p;
    size_t eq = piece.find('=');
    p.raw_name = piece.substr(0, eq);
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.raw_value = piece.substr(eq + 1);
    }
    params_.push_back(std::move(p));
    if (amp == std::string_view::npos) break;
    raw.remove_prefix(amp + 1);
  }
}

std::optional<std::string> Query::get(std::string_view name) const {
  for (const Param& p : params_) {
    if ((!p.raw_name.empty() || p.has_value) && p.name() == name) return p.value();
  }
  return std::nullopt;
}

std::vector<std::string> Query::get_all(std::string_view name) const {
  std::vector<std::string> out;
  for (const Param& p : params_) {
    if ((!p.raw_name.empty() || p.has_value) && p.name() == name) out.push_back(p.value());
  }
  return out;
}

void Query::set(std::string_view name, std::string_view value) {
  auto named = [&](const Param& p) {
    return (!p.raw_name.empty() || p.has_value) && p.name() == name;
  };
  auto first = std::find_if(params_.begin(), params_.end(), named);
  if (first == params_.end()) {
    add(name, value);
    return;
  }
  first->raw_value = percent_encode(value);
  first->has_value = true;
  params_.erase(std::remove_if(first + 1, params_.end(), named), params_.end());
}

void Query::add(std::string_view name, std::string_view value) {
  params_.push_back(Param{percent_encode(name), percent_encode(value), true});
}

size_t Query::remove(std::string_view name) {
  size_t before = params_.size();
  std::erase_if(params_, [&](const Param& p) {
    return (!p.raw_name.empty() || p.has_value) && p.name() == name;
  });
  return before - params_.size();
}

std::string Query::str() const {
  std::string out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (i) out += '&';
    out += params_[i].raw_name;
    if (params_[i].has_value) out += "=" + params_[i].raw_value;
  }
  return out;
}

size_t substitute(Url& u, std::string_view from, std::string_view to) {
  if (from.empty()) return 0;
  size_t count = 0;
  std::string path;
  std::string_view rest = u.path;
  while (true) {
    size_t slash = rest.find('/');
    std::string segment(rest.substr(0, slash));
    count += substitute_piece(segment, from, to, false);
    path += segment;
    if (slash == std::string_view::npos) break;
    path += '/';
    rest.remove_prefix(slash + 1);
  }
  u.path = std::move(path);
  if (u.has_query) {
    Query q(u.query);
    size_t in_query = 0;
    for (Query::Param& param : q.params()) {
      in_query += substitute_piece(param.raw_name, from, to, true);
      in_query += substitute_piece(param.raw_value, from, to, true);
    }
    if (in_query) u.query = q.str();
    count += in_query;
  }
  return count;
}

}  // namespace wa::url
