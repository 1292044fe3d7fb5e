#include "replay/calibration.h"

#include <algorithm>
#include <string>

#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/body.h"
#include "replay/json_diff.h"
#include "replay/socket_event.h"
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

// The fields that name a message's kind (socket_event.h, event_from_ws): a difference there is
// another message, not another value.
bool names_kind(std::string_view pointer) {
  std::string_view last = pointer.substr(pointer.rfind('/') + 1);
  for (std::string_view field : kMessageNameFields)
    if (last == field) return true;
  return false;
}

// What a compact JSON excerpt is: 's'tring, 'n'umber, 'b'oolean, 'z' null, 'c'ontainer, or
// 'a'bsent.
char json_type(std::string_view v) {
  if (v == "(absent)") return 'a';
  if (v.empty()) return '?';
  switch (v.front()) {
    case '"':
      return 's';
    case '{':
    case '[':
      return 'c';
    case 't':
    case 'f':
      return 'b';
    case 'n':
      return 'z';
    default:
      return 'n';
  }
}

const char* type_name(char t) {
  switch (t) {
    case 's':
      return "a string";
    case 'n':
      return "a number";
    case 'b':
      return "a boolean";
    case 'z':
      return "null";
    case 'c':
      return "an object or array";
    case 'a':
      return "absent";
    default:
      return "something else";
  }
}

std::string passes(std::string_view first, std::string_view second) {
  return std::string(first) + " in pass 1, " + std::string(second) + " in pass 2";
}

// A client text that one pass holds and the other does not.
const std::string* read_back(const Difference& d, const std::vector<std::string>& client_sent) {
  for (const std::string& t : client_sent) {
    bool in_first = d.expected.find(t) != std::string::npos;
    bool in_second = d.actual.find(t) != std::string::npos;
    if (in_first != in_second) return &t;
  }
  return nullptr;
}

void add_rule(std::vector<NoiseRule>& rules, NoiseRule rule, const Difference& d) {
  rule.origin = "calibration";
  auto same = std::find_if(rules.begin(), rules.end(), [&](const NoiseRule& r) {
    return r.kind == rule.kind && r.pattern == rule.pattern && r.scope == rule.scope;
  });
  if (same == rules.end()) {
    rule.evidence = {d.expected, d.actual};
    rules.push_back(std::move(rule));
    return;
  }
  // The evidence of a rule that several differences share: the first few distinct values.
  constexpr size_t kEvidence = 6;
  for (const std::string* v : {&d.expected, &d.actual}) {
    if (same->evidence.size() < kEvidence &&
        std::find(same->evidence.begin(), same->evidence.end(), *v) == same->evidence.end())
      same->evidence.push_back(*v);
  }
}

void add_strings(const Json& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array() || v.is_object()) {
    for (const auto& e : v)
      add_strings(e, out);
  }
}

// Form-style "a=1&b=two" values, percent- and '+'-decoded.
void add_form_values(std::string_view text, std::vector<std::string>& out) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('&', start);
    std::string_view pair = text.substr(start, end == std::string_view::npos ? end : end - start);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos)
      out.push_back(url::percent_decode_lenient(pair.substr(eq + 1), url::Flavour::form));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

void add_text(std::string_view text, std::vector<std::string>& out) {
  if (text.empty()) return;
  if (auto doc = sio::parse_json(text, Errc::bad_encoding)) {
    add_strings(*doc, out);
  } else if (text.find('=') != std::string_view::npos &&
             text.find('\n') == std::string_view::npos) {
    add_form_values(text, out);
  } else {
    out.emplace_back(text);
  }
}

}  // namespace

// ---- Calibration ----------------------------------------------------------------------------

Learned learn_noise(const std::vector<Difference>& differences,
                    const std::vector<std::string>& client_sent) {
  Learned out;
  auto state = [&](const Difference& d, std::string what) {
    out.state.push_back({d.where, std::move(what)});
  };
  auto unlearnable = [&](const Difference& d, std::string what) {
    out.unlearnable.push_back({d.where, std::move(what)});
  };
  for (const Difference& d : differences) {
    if (d.noise) continue;
    if (const std::string* t = read_back(d, client_sent); t && d.kind != DiffKind::status &&
                                                          d.kind != DiffKind::missing &&
                                                          d.kind != DiffKind::extra) {
      state(d, (d.path.empty() ? std::string("the value") : d.path) + " holds \"" +
                   text_excerpt(*t, 60) + "\", which the client sent, in pass " +
                   (d.actual.find(*t) != std::string::npos ? "2" : "1") + " only");
      continue;
    }
    switch (d.kind) {
      case DiffKind::status:
        state(d, "status " + passes(d.expected, d.actual));
        break;
      case DiffKind::missing:
        state(d, "came in pass 1, not in pass 2");
        break;
      case DiffKind::extra:
        state(d, "came in pass 2, not in pass 1");
        break;
      case DiffKind::order:
        break;  // not a failure unless --strict-order, and then not noise either
      case DiffKind::header:
        if (d.path == "header content-type") {
          state(d, "content type " + passes(d.expected, d.actual));
        } else if (d.expected == "(absent)" || d.actual == "(absent)") {
          state(d, d.path + " " + passes(d.expected, d.actual));
        } else if (d.path.size() > 7) {
          add_rule(out.rules, {store::NoiseKind::header, d.path.substr(7), d.scope}, d);
        }
        break;
      case DiffKind::json: {
        char te = json_type(d.expected), ta = json_type(d.actual);
        if (te != ta) {
          state(d, (d.path.empty() ? std::string("the value") : d.path) + " is " +
                       passes(type_name(te), type_name(ta)));
        } else if (te == 'c') {
          state(d, (d.path.empty() ? std::string("the value") : d.path) +
                       " differs in structure (" + passes(d.expected, d.actual) + ")");
        } else if (d.path.empty()) {
          unlearnable(d, "the whole value differs (" + passes(d.expected, d.actual) +
                             "); a rule may not cover a whole message");
        } else if (names_kind(d.path)) {
          state(d, d.path + ", which names the kind of message, " + passes(d.expected, d.actual));
        } else if (te == 'b') {
          state(d, d.path + " " + passes(d.expected, d.actual));
        } else {
          add_rule(out.rules, {store::NoiseKind::json_pointer, d.path, d.scope}, d);
        }
        break;
      }
      case DiffKind::body:
        if (d.path.starts_with("body line ")) {
          if (auto re = token_regex(d.expected, d.actual)) {
            add_rule(out.rules, {store::NoiseKind::regex, *re, d.scope}, d);
          } else {
            state(d,
                  d.path + " differs in more than a value (" + passes(d.expected, d.actual) + ")");
          }
        } else {
          unlearnable(d, "the body " + passes(d.expected, d.actual));
        }
        break;
      case DiffKind::attachment:
        unlearnable(d, d.path + " " + passes(d.expected, d.actual));
        break;
    }
  }
  return out;
}

Learned learn_between(const Prepared& recording, const LiveOutputs& first,
                      const LiveOutputs& second,
                      const std::function<std::string(std::string_view)>& map_url) {
  const std::vector<std::string> sent = client_texts(*recording.script);
  Learned all;
  for (int round = 0; round < 16; ++round) {
    auto noise = NoiseSet::make(all.rules);
    if (!noise) break;  // calibration's own rules always compile
    Learned more = learn_noise(compare_runs(recording, first, second, &*noise, map_url), sent);
    all.state = std::move(more.state);
    all.unlearnable = std::move(more.unlearnable);
    size_t before = all.rules.size();
    for (NoiseRule& rule : more.rules) {
      if (std::none_of(all.rules.begin(), all.rules.end(), [&](const NoiseRule& r) {
            return r.kind == rule.kind && r.pattern == rule.pattern && r.scope == rule.scope;
          }))
        all.rules.push_back(std::move(rule));
    }
    if (!all.state.empty() || all.rules.size() == before) break;
  }
  return all;
}

namespace {

// A clock reading as a number to order by: seconds (or milliseconds) since the epoch, or the
// text itself for dates written out (ISO 8601 orders as text; HTTP dates only by equality).
struct Reading {
  bool ok = false;
  long double number = 0;  // epoch seconds, for numeric readings
  size_t digits = 0;       // 10 (seconds) or 13 (milliseconds)
  std::string text;        // a written-out date
};

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Reading read_clock(std::string_view v) {
  Reading r;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::string_view digits = v.substr(0, v.find('.'));
  if (all_digits(digits) && (digits.size() == 10 || digits.size() == 13)) {
    // 10 digits: seconds (2001–2286); 13: milliseconds in the same span.
    long double n = std::stold(std::string(v.substr(0, v.find_first_not_of("0123456789."))));
    r.ok = true;
    r.number = digits.size() == 13 ? n / 1000 : n;
    r.digits = digits.size();
    return r;
  }
  auto digit = [&](size_t i) { return i < v.size() && v[i] >= '0' && v[i] <= '9'; };
  // 2026-12-07T12:00:01[.123][Z|+01:00], or with a space for the T.
  if (v.size() >= 19 && digit(0) && digit(1) && digit(2) && digit(3) && v[4] == '-' && digit(5) &&
      digit(6) && v[7] == '-' && digit(8) && digit(9) && (v[10] == 'T' || v[10] == ' ') &&
      digit(11) && digit(12) && v[13] == ':' && digit(14) && digit(15) && v[16] == ':' &&
      digit(17) && digit(18)) {
    r.ok = true;
    r.text = std::string(v);
    return r;
  }
  // Mon, 07 Dec 2026 12:00:01 GMT
  if (v.size() == 29 && v[3] == ',' && v.ends_with(" GMT") && v[19] == ':' && v[22] == ':') {
    r.ok = true;
    r.text = std::string(v);
  }
  return r;
}

// Whether `live` may be a later reading of the clock that gave `recorded`: both readings of the
// same form (seconds, milliseconds, the same layout of date), the live one not earlier (a second of
// skew allowed), within ten years.
bool later_reading(std::string_view recorded, std::string_view live) {
  Reading a = read_clock(recorded), b = read_clock(live);
  if (!a.ok || !b.ok) return false;
  if (a.text.empty() != b.text.empty()) return false;
  if (a.digits != b.digits) return false;
  if (a.text.empty()) return b.number >= a.number - 1 && b.number - a.number < 10 * 366 * 86400.0L;
  if (a.text.size() != b.text.size()) return false;
  return a.text[3] == ',' || b.text >= a.text;  // HTTP dates: any two
}

}  // namespace

bool is_clock_reading(std::string_view value) {
  return read_clock(value).ok;
}

void learn_clock_readings(const std::vector<Difference>& first,
                          const std::vector<Difference>& second, Learned& into) {
  for (const Difference& d : second) {
    if (d.noise || (d.kind != DiffKind::json && d.kind != DiffKind::header)) continue;
    if (d.path.empty() || names_kind(d.path) || !later_reading(d.expected, d.actual)) continue;
    if (d.kind == DiffKind::header && d.path.size() <= 7) continue;
    // The same place in pass 1, also a later reading.
    auto in_first = std::find_if(first.begin(), first.end(), [&](const Difference& f) {
      return f.where == d.where && f.kind == d.kind && f.path == d.path;
    });
    if (in_first == first.end() || !later_reading(in_first->expected, in_first->actual)) continue;
    NoiseRule rule = d.kind == DiffKind::json
                         ? NoiseRule{store::NoiseKind::json_pointer, d.path, d.scope}
                         : NoiseRule{store::NoiseKind::header, d.path.substr(7), d.scope};
    rule.origin = "calibration";
    if (std::find(into.rules.begin(), into.rules.end(), rule) != into.rules.end()) continue;
    rule.evidence = {d.expected, in_first->actual, d.actual};
    into.rules.push_back(std::move(rule));
  }
}

std::vector<std::string> client_texts(const Script& script) {
  std::vector<std::string> raw;
  for (const Action& a : script.actions) {
    if (a.kind == ActionKind::http && a.exchange) {
      if (auto u = url::parse(a.exchange->url); u && u->has_query) add_form_values(u->query, raw);
      if (auto body = decode_content(a.exchange->request_body.bytes,
                                     header_value(a.exchange->request_headers, "content-encoding")))
        add_text(*body, raw);
    } else if (a.kind == ActionKind::socket_send && a.packet) {
      if (auto e = event_from_recorded(*a.packet)) add_strings(e->args, raw);
    } else if (a.kind == ActionKind::socket_send && a.message && a.message->opcode == 1) {
      add_text(a.message->payload.bytes, raw);
    }
  }
  std::vector<std::string> out;
  for (std::string& t : raw) {
    bool digits = std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (t.size() < 4 || digits || std::find(out.begin(), out.end(), t) != out.end()) continue;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<NoiseRule> calibration_rules(const std::vector<Difference>& differences) {
  return learn_noise(differences).rules;
}

}  // namespace wa::replay
