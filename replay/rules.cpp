#include "replay/rules.h"

#include <initializer_list>

#include "protocol/cookie.h"
#include "protocol/text.h"
#include "replay/body.h"
#include "replay/json_diff.h"

namespace wa::replay {
namespace {

constexpr const char* kKindScopes[] = {"ack", "connect", "disconnect", "error", "message"};

// Errors name the file and the JSON pointer of the bad element.
class Checker {
 public:
  explicit Checker(std::string_view label) : label_(label) {}

  Failure error(std::string_view path, std::string_view why) const {
    std::string line = label_ + ": ";
    if (!path.empty()) line += std::string(path) + ": ";
    return fail(Errc::setup, line + std::string(why));
  }

  // Every member must be one of `allowed`.
  std::optional<Failure> only(const Json& object, std::string_view path,
                              std::initializer_list<const char*> allowed) const {
    for (auto it = object.begin(); it != object.end(); ++it) {
      bool known = false;
      for (const char* name : allowed)
        known = known || it.key() == name;
      if (!known) return error(pointer_append(path, it.key()), "unknown member");
    }
    return std::nullopt;
  }

  // A string member: nullopt with `missing` set when absent; a Failure when not a string.
  Result<std::optional<std::string>> string(const Json& object, std::string_view path,
                                            const char* name) const {
    auto it = object.find(name);
    if (it == object.end()) return std::optional<std::string>();
    if (!it->is_string()) return error(pointer_append(path, name), "must be a string");
    return std::optional<std::string>(it->get<std::string>());
  }

 private:
  std::string label_;
};

Result<std::shared_ptr<const std::regex>> compile(const std::string& pattern) {
  try {
    return std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return fail(Errc::setup, std::string("invalid regex: ") + e.what());
  }
}

bool valid_scope(std::string_view scope) {
  if (scope == "*") return true;
  if (scope.starts_with("event ") && scope.size() > 6) return true;
  // A plain WebSocket's messages or an event stream's events, by the path they were opened on.
  if ((scope.starts_with("ws /") || scope.starts_with("sse /"))) return true;
  for (const char* kind : kKindScopes)
    if (scope == kind) return true;
  // An endpoint: an upper-case method token, one space, a path.
  size_t space = scope.find(' ');
  if (space == 0 || space == std::string_view::npos) return false;
  for (char c : scope.substr(0, space))
    if (c < 'A' || c > 'Z') return false;
  return scope.size() > space + 1 && scope[space + 1] == '/';
}

// '*' matches any run of characters except '/'.
bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p, ++t;
    } else if (star != std::string_view::npos && text[resume] != '/') {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

std::optional<std::string> scalar_text(const Json* value) {
  if (!value) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number()) return sio::dump_json(*value);
  return std::nullopt;
}

// Calls f(segment, offset) for the pieces of text std::regex is given, in order, until f returns
// true: each line (the '\n' between lines belongs to no piece), and a line longer than
// kMaxRegexSegment cut after the last '>', ',', ';' or '}' in its first kMaxRegexSegment bytes
// (else after a space or quote; else hard), so that tags, members and tokens mostly stay whole.
template <class F>
void each_segment(std::string_view text, F&& f) {
  size_t start = 0;
  while (true) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    size_t at = start;
    do {
      size_t len = end - at;
      if (len > kMaxRegexSegment) {
        std::string_view window = text.substr(at, kMaxRegexSegment);
        size_t cut = window.find_last_of(">,;}");
        if (cut == std::string_view::npos || cut < kMaxRegexSegment / 2)
          cut = window.find_last_of(" \t\"'&");
        len = cut == std::string_view::npos || cut < kMaxRegexSegment / 4 ? kMaxRegexSegment
                                                                          : cut + 1;
      }
      if (f(text.substr(at, len), at)) return;
      at += len;
    } while (at < end);
    if (end == text.size()) return;
    start = end + 1;
  }
}

bool bounded_search(const std::regex& re, std::string_view text) {
  bool found = false;
  each_segment(text, [&](std::string_view segment, size_t) {
    try {
      found = std::regex_search(segment.begin(), segment.end(), re);
    } catch (const std::regex_error&) {
      found = false;
    }
    return found;
  });
  return found;
}

Result<ExtractRule> parse_extract(const Checker& c, const Json& item, const std::string& path) {
  if (!item.is_object()) return c.error(path, "must be an object");
  if (auto bad =
          c.only(item, path,
                 {"name", "from", "header", "cookie", "event", "nsp", "pointer", "regex", "url"}))
    return *bad;
  ExtractRule rule;
  auto name = c.string(item, path, "name");
  if (!name) return name.error();
  if (!*name || (*name)->empty()) return c.error(path + "/name", "a non-empty name is required");
  rule.name = **name;
  auto from = c.string(item, path, "from");
  if (!from) return from.error();
  if (!*from) return c.error(path + "/from", "required (body, header, json, cookie or event)");
  static const std::pair<const char*, ExtractRule::From> froms[] = {
      {"body", ExtractRule::From::body},   {"header", ExtractRule::From::header},
      {"json", ExtractRule::From::json},   {"cookie", ExtractRule::From::cookie},
      {"event", ExtractRule::From::event},
  };
  bool known = false;
  for (const auto& [text, value] : froms) {
    if (**from == text) {
      rule.from = value;
      known = true;
    }
  }
  if (!known) return c.error(path + "/from", "must be one of body, header, json, cookie, event");

  // Which members each source takes (besides name and from); the others are errors.
  using F = ExtractRule::From;
  struct Member {
    const char* name;
    std::string ExtractRule::*field;
    bool required;
    std::initializer_list<F> used_by;
  };
  const Member members[] = {
      {"header", &ExtractRule::header, rule.from == F::header, {F::header}},
      {"cookie", &ExtractRule::cookie, rule.from == F::cookie, {F::cookie}},
      {"event", &ExtractRule::event, rule.from == F::event, {F::event}},
      {"nsp", &ExtractRule::nsp, false, {F::event}},
      {"pointer",
       &ExtractRule::pointer,
       rule.from == F::json || rule.from == F::event,
       {F::json, F::event}},
      {"regex", &ExtractRule::regex, rule.from == F::body, {F::body, F::header}},
      {"url", &ExtractRule::url, false, {F::body, F::header, F::json, F::cookie}},
  };
  for (const Member& m : members) {
    auto value = c.string(item, path, m.name);
    if (!value) return value.error();
    bool used = false;
    for (F f : m.used_by)
      used = used || f == rule.from;
    std::string at = path + "/" + m.name;
    if (*value && !used)
      return c.error(at, std::string("not used with \"from\": \"") + from_name(rule.from) + "\"");
    if (!*value && m.required) return c.error(at, "required with this \"from\"");
    if (*value) rule.*m.field = **value;
  }
  if (rule.from == F::header && rule.header.empty())
    return c.error(path + "/header", "must not be empty");
  if ((rule.from == F::json || rule.from == F::event) && !split_pointer(rule.pointer))
    return c.error(path + "/pointer", "not a JSON pointer (\"\" or \"/a/0\")");
  if (!rule.regex.empty() || rule.from == F::body) {
    auto re = compile(rule.regex);
    if (!re) return c.error(path + "/regex", re.error().why);
    rule.regex_re = *re;
  }
  if (!rule.url.empty()) {
    auto re = compile(rule.url);
    if (!re) return c.error(path + "/url", re.error().why);
    rule.url_re = *re;
  }
  return rule;
}

Result<SubstituteRule> parse_substitute(const Checker& c, const Json& item, const std::string& path,
                                        const std::vector<ExtractRule>& extract) {
  if (!item.is_object()) return c.error(path, "must be an object");
  if (auto bad = c.only(item, path, {"name", "in", "header"})) return *bad;
  SubstituteRule rule;
  auto name = c.string(item, path, "name");
  if (!name) return name.error();
  if (!*name || (*name)->empty()) return c.error(path + "/name", "a non-empty name is required");
  rule.name = **name;
  bool defined = false;
  for (const auto& e : extract)
    defined = defined || e.name == rule.name;
  if (!defined) return c.error(path + "/name", "no extract rule is named \"" + rule.name + "\"");

  auto part_of = [](std::string_view text) -> std::optional<Part> {
    for (Part p : {Part::url, Part::header, Part::body, Part::frame})
      if (text == part_name(p)) return p;
    return std::nullopt;
  };
  const char* parts_why = "must be url, header, body or frame, or a list of them";
  if (auto in = item.find("in"); in != item.end()) {
    rule.in = 0;
    if (in->is_string()) {
      auto p = part_of(in->get<std::string>());
      if (!p) return c.error(path + "/in", parts_why);
      rule.in = Parts(*p);
    } else if (in->is_array() && !in->empty()) {
      for (size_t i = 0; i < in->size(); ++i) {
        const Json& v = (*in)[i];
        auto p = v.is_string() ? part_of(v.get<std::string>()) : std::nullopt;
        if (!p) return c.error(pointer_append(path + "/in", i), parts_why);
        rule.in |= Parts(*p);
      }
    } else {
      return c.error(path + "/in", parts_why);
    }
  }
  auto header = c.string(item, path, "header");
  if (!header) return header.error();
  if (*header) {
    if (!(rule.in & Parts(Part::header)))
      return c.error(path + "/header", "only with \"in\" including \"header\"");
    rule.header = **header;
  }
  return rule;
}

Result<NoiseRule> parse_noise(const Checker& c, const Json& item, const std::string& path) {
  if (!item.is_object()) return c.error(path, "must be an object");
  if (auto bad = c.only(item, path, {"header", "json", "regex", "scope"})) return *bad;
  NoiseRule rule;
  int kinds = 0;
  static const std::pair<const char*, store::NoiseKind> members[] = {
      {"header", store::NoiseKind::header},
      {"json", store::NoiseKind::json_pointer},
      {"regex", store::NoiseKind::regex},
  };
  std::string at = path;
  for (const auto& [name, kind] : members) {
    auto value = c.string(item, path, name);
    if (!value) return value.error();
    if (!*value) continue;
    ++kinds;
    rule.kind = kind;
    rule.pattern = **value;
    at = path + "/" + name;
  }
  if (kinds != 1) return c.error(path, "needs exactly one of header, json, regex");
  auto scope = c.string(item, path, "scope");
  if (!scope) return scope.error();
  if (*scope) rule.scope = **scope;
  if (!valid_scope(rule.scope))
    return c.error(path + "/scope",
                   "must be \"*\", \"METHOD /path\", \"event NAME\", \"ws /path\", "
                   "\"sse /path\", or ack, connect, disconnect, error, message");
  if (auto ok = check_noise_rule(rule); !ok) return c.error(at, ok.error().why);
  return rule;
}

}  // namespace

const char* part_name(Part part) {
  switch (part) {
    case Part::url:
      return "url";
    case Part::header:
      return "header";
    case Part::body:
      return "body";
    case Part::frame:
      return "frame";
  }
  return "?";
}

const char* from_name(ExtractRule::From from) {
  switch (from) {
    case ExtractRule::From::body:
      return "body";
    case ExtractRule::From::header:
      return "header";
    case ExtractRule::From::json:
      return "json";
    case ExtractRule::From::cookie:
      return "cookie";
    case ExtractRule::From::event:
      return "event";
  }
  return "?";
}

bool Rules::may_substitute(std::string_view name, Part part, std::string_view header) const {
  bool limited = false;
  for (const auto& rule : substitute) {
    if (rule.name != name) continue;
    limited = true;
    if (!(rule.in & Parts(part))) continue;
    if (part == Part::header && !rule.header.empty() && !text::iequals(rule.header, header))
      continue;
    return true;
  }
  return !limited;
}

Result<Rules> parse_rules(std::string_view json, std::string_view label) {
  Checker c(label);
  auto doc = sio::parse_json(json, Errc::setup);
  if (!doc) return c.error("", "not JSON: " + doc.error().why);
  if (!doc->is_object()) return c.error("", "must be a JSON object");
  if (auto bad = c.only(*doc, "", {"extract", "substitute", "noise"})) return *bad;
  Rules rules;
  auto list = [&](const char* name) -> Result<const Json*> {
    auto it = doc->find(name);
    if (it == doc->end()) return static_cast<const Json*>(nullptr);
    if (!it->is_array()) return c.error(std::string("/") + name, "must be a list");
    return &*it;
  };
  auto extract = list("extract");
  if (!extract) return extract.error();
  if (*extract) {
    for (size_t i = 0; i < (*extract)->size(); ++i) {
      auto rule = parse_extract(c, (**extract)[i], pointer_append("/extract", i));
      if (!rule) return rule.error();
      rules.extract.push_back(std::move(*rule));
    }
  }
  auto substitute = list("substitute");
  if (!substitute) return substitute.error();
  if (*substitute) {
    for (size_t i = 0; i < (*substitute)->size(); ++i) {
      auto rule =
          parse_substitute(c, (**substitute)[i], pointer_append("/substitute", i), rules.extract);
      if (!rule) return rule.error();
      rules.substitute.push_back(std::move(*rule));
    }
  }
  auto noise = list("noise");
  if (!noise) return noise.error();
  if (*noise) {
    for (size_t i = 0; i < (*noise)->size(); ++i) {
      auto rule = parse_noise(c, (**noise)[i], pointer_append("/noise", i));
      if (!rule) return rule.error();
      rules.noise.push_back(std::move(*rule));
    }
  }
  return rules;
}

Result<void> check_noise_rule(const NoiseRule& rule) {
  if (!valid_scope(rule.scope)) return fail(Errc::setup, "bad scope \"" + rule.scope + "\"");
  switch (rule.kind) {
    case store::NoiseKind::header:
      if (rule.pattern.empty()) return fail(Errc::setup, "empty header name");
      break;
    case store::NoiseKind::json_pointer:
      if (!split_pointer(rule.pattern))
        return fail(Errc::setup, "not a JSON pointer (\"\" or \"/a/*/b\")");
      break;
    case store::NoiseKind::regex: {
      if (rule.pattern.empty()) return fail(Errc::setup, "empty regex");
      auto re = compile(rule.pattern);
      if (!re) return re.error();
      break;
    }
  }
  return {};
}

bool scope_covers(std::string_view rule_scope, std::string_view scope) {
  return rule_scope == "*" || rule_scope == scope || glob_match(rule_scope, scope);
}

std::optional<std::string> regex_first(const std::regex& re, std::string_view text) {
  std::optional<std::string> found;
  each_segment(text, [&](std::string_view segment, size_t) {
    if (!segment.empty() && segment.back() == '\r') segment.remove_suffix(1);
    try {
      std::match_results<std::string_view::const_iterator> m;
      if (!std::regex_search(segment.begin(), segment.end(), m, re)) return false;
      found = m.size() > 1 && m[1].matched ? m[1].str() : m[0].str();
      return true;
    } catch (const std::regex_error&) {
      return false;
    }
  });
  return found;
}

std::string regex_mask(const std::regex& re, std::string_view text, std::string_view with) {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;  // text before this offset is in `out`
  each_segment(text, [&](std::string_view segment, size_t offset) {
    out.append(text.substr(copied, offset - copied));
    copied = offset + segment.size();
    std::string masked;
    try {
      using It = std::regex_iterator<std::string_view::const_iterator>;
      size_t done = 0;
      for (It it(segment.begin(), segment.end(), re), stop; it != stop; ++it) {
        size_t pos = size_t(it->position(0)), len = size_t(it->length(0));
        if (len == 0) continue;
        masked.append(segment.substr(done, pos - done));
        masked.append(with);
        done = pos + len;
      }
      masked.append(segment.substr(done));
    } catch (const std::regex_error&) {
      masked = segment;
    }
    out.append(masked);
    return false;
  });
  out.append(text.substr(copied));
  return out;
}

std::optional<std::string> extract_value(const ExtractRule& rule, const store::Exchange& x,
                                         bool check_url) {
  if (rule.from == ExtractRule::From::event || !x.has_response()) return std::nullopt;
  if (check_url && rule.url_re && !bounded_search(*rule.url_re, x.url)) return std::nullopt;
  switch (rule.from) {
    case ExtractRule::From::body: {
      auto body = decode_content(x.response_body.bytes, x.response_encoding);
      if (!body || !rule.regex_re) return std::nullopt;
      return regex_first(*rule.regex_re, *body);
    }
    case ExtractRule::From::header:
      for (const auto& h : x.response_headers) {
        if (!text::iequals(h.name, rule.header)) continue;
        if (!rule.regex_re) return std::string(text::trim(h.value));
        if (auto v = regex_first(*rule.regex_re, h.value)) return v;
      }
      return std::nullopt;
    case ExtractRule::From::json: {
      auto body = decode_content(x.response_body.bytes, x.response_encoding);
      if (!body) return std::nullopt;
      auto doc = sio::parse_json(*body, Errc::bad_encoding);
      if (!doc) return std::nullopt;
      return scalar_text(resolve_pointer(*doc, rule.pointer));
    }
    case ExtractRule::From::cookie:
      for (const auto& h : x.response_headers) {
        if (!text::iequals(h.name, "set-cookie")) continue;
        auto cookie = cookie::parse_set_cookie(h.value);
        if (cookie && cookie->name == rule.cookie) return cookie->value;
      }
      return std::nullopt;
    case ExtractRule::From::event:
      break;
  }
  return std::nullopt;
}

std::optional<std::string> extract_value(const ExtractRule& rule, const SocketEvent& event) {
  if (rule.from != ExtractRule::From::event || event.kind != EventKind::event) return std::nullopt;
  if (event.name != rule.event || (!rule.nsp.empty() && event.nsp != rule.nsp)) return std::nullopt;
  return scalar_text(resolve_pointer(event.args, rule.pointer));
}

store::NoiseRule to_store(const NoiseRule& rule, store::RuleOrigin origin,
                          store::Micros created_us) {
  store::NoiseRule out;
  out.scope = rule.scope;
  out.kind = rule.kind;
  out.pattern = rule.pattern;
  out.origin = origin;
  out.created_us = created_us;
  out.evidence = rule.evidence;
  return out;
}

NoiseRule from_store(const store::NoiseRule& rule) {
  return NoiseRule{rule.kind, rule.pattern, rule.scope.empty() ? std::string("*") : rule.scope,
                   rule.origin == store::RuleOrigin::calibrate ? "calibration" : "capture file",
                   rule.evidence};
}

}  // namespace wa::replay
