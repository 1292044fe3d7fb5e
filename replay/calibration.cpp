// Calibration (replay/matcher.h, "Calibration"): noise rules from the differences between two
// runs against the same target.
#include <algorithm>

#include "protocol/text.h"
#include "replay/matcher.h"
#include "replay/spelling.h"

namespace wa::replay {
namespace {

std::string regex_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (std::string_view("\\^$.|?*+()[]{}/").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// Characters a differing value may span when calibration widens it to whole tokens: token
// bytes, and the ':' and '.' of times, dates and versions.
bool widens(char c) {
  return is_token_byte(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

// The narrowest class that holds every character of both runs.
std::string run_class(std::string_view a, std::string_view b) {
  bool digits = true, lower_hex = true, upper_hex = true, dash = false;
  for (std::string_view run : {a, b}) {
    for (char c : run) {
      bool d = c >= '0' && c <= '9';
      dash = dash || c == '-';
      digits = digits && d;
      lower_hex = lower_hex && (d || (c >= 'a' && c <= 'f') || c == '-');
      upper_hex = upper_hex && (d || (c >= 'A' && c <= 'F') || c == '-');
    }
  }
  if (digits) return "[0-9]+";
  if (lower_hex) return dash ? "[0-9a-f-]+" : "[0-9a-f]+";
  if (upper_hex) return dash ? "[0-9A-F-]+" : "[0-9A-F]+";
  return "[A-Za-z0-9_-]+";
}

// Runs of token bytes and the separators between them: "12:00:01" → 12 : 00 : 01.
std::vector<std::string_view> runs_of(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    bool token = is_token_byte(static_cast<unsigned char>(s[i]));
    while (i < s.size() && is_token_byte(static_cast<unsigned char>(s[i])) == token)
      ++i;
    parts.push_back(s.substr(start, i - start));
  }
  return parts;
}

// A regex for the differing part of two lines: the differing tokens' shape (runs of digits,
// hex or word characters, separators kept) after the literal context before it (the word
// before, up to 16 bytes), or before the context after it. nullopt when the two differ in
// structure, not only in values.
std::optional<std::string> token_regex(std::string_view e, std::string_view a) {
  size_t p = 0;
  while (p < e.size() && p < a.size() && e[p] == a[p])
    ++p;
  size_t s = 0;
  while (s < e.size() - p && s < a.size() - p && e[e.size() - 1 - s] == a[a.size() - 1 - s])
    ++s;
  while (p > 0 && widens(e[p - 1]))
    --p;
  while (s > 0 && widens(e[e.size() - s]))
    --s;
  std::string_view em = e.substr(p, e.size() - s - p), am = a.substr(p, a.size() - s - p);
  auto er = runs_of(em), ar = runs_of(am);
  if (er.empty() || er.size() != ar.size()) return std::nullopt;
  std::string shape;
  for (size_t i = 0; i < er.size(); ++i) {
    bool token = is_token_byte(static_cast<unsigned char>(er[i][0]));
    if (token != is_token_byte(static_cast<unsigned char>(ar[i][0]))) return std::nullopt;
    if (!token && er[i] != ar[i]) return std::nullopt;
    shape += token ? run_class(er[i], ar[i]) : regex_escape(er[i]);
  }
  std::string_view left = e.substr(p >= 16 ? p - 16 : 0, p >= 16 ? 16 : p);
  if (left.size() > 1) {
    if (auto space = left.find_last_of(" \t", left.size() - 2); space != std::string_view::npos)
      left = left.substr(space + 1);
  }
  if (!left.empty()) return regex_escape(left) + shape;
  std::string_view right = e.substr(e.size() - s, std::min<size_t>(s, 16));
  if (right.size() > 1) {
    if (auto space = right.find_first_of(" \t", 1); space != std::string_view::npos)
      right = right.substr(0, space);
  }
  if (!right.empty()) return shape + regex_escape(right);
  return "^" + shape + "$";
}

}  // namespace

// ---- Calibration ----------------------------------------------------------------------------

std::vector<NoiseRule> calibration_rules(const std::vector<Difference>& differences) {
  std::vector<NoiseRule> out;
  auto add = [&](NoiseRule rule) {
    if (std::find(out.begin(), out.end(), rule) == out.end()) out.push_back(std::move(rule));
  };
  for (const Difference& d : differences) {
    if (d.noise) continue;
    switch (d.kind) {
      case DiffKind::header:
        if (d.path.size() > 7) add({store::NoiseKind::header, d.path.substr(7), d.scope});
        break;
      case DiffKind::json:
        add({store::NoiseKind::json_pointer, d.path, d.scope});
        break;
      case DiffKind::missing:
      case DiffKind::extra:
        if (d.scope.starts_with("event ")) add({store::NoiseKind::json_pointer, "", d.scope});
        break;
      case DiffKind::body:
        if (d.path.starts_with("body line ")) {
          if (auto re = token_regex(d.expected, d.actual))
            add({store::NoiseKind::regex, *re, d.scope});
        }
        break;
      default:
        break;
    }
  }
  return out;
}
}  // namespace wa::replay
