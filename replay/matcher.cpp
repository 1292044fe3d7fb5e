#include "replay/matcher.h"

#include <algorithm>
#include <deque>
#include <map>

#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/body.h"
#include "replay/json_diff.h"
#include "replay/spelling.h"

namespace wa::replay {

std::shared_ptr<const SpelledValues> spell_values(std::span<const ValuePair> values) {
  auto out = std::make_shared<SpelledValues>();
  for (const ValuePair& pair : values) {
    if (pair.recorded == pair.live || pair.recorded.empty() || pair.live.empty()) continue;
    const std::string& label =
        out->texts.emplace_back("⟨value " + std::to_string(pair.correlation + 1) + "⟩");
    for (auto& s : spellings(pair.recorded))
      out->recorded.push_back({out->texts.emplace_back(std::move(s.text)), label});
    for (auto& s : spellings(pair.live))
      out->live.push_back({out->texts.emplace_back(std::move(s.text)), label});
  }
  return out;
}

// Correlated values as placeholders, regex noise masked: what both sides look like before they
// are compared. Internal to this file (EventMatcher names it in its header).
class MatchNormaliser {
 public:
  MatchNormaliser(const MatchContext& ctx, std::string_view scope)
      : ctx_(ctx), scope_(scope), spelled_(ctx.spelled ? ctx.spelled : spell_values(ctx.values)) {
    masking_ = ctx.noise && ctx.noise->masks(scope);
  }

  std::string text(std::string_view t, bool live_side) const {
    const auto& replacements = live_side ? spelled_->live : spelled_->recorded;
    std::string out = replacements.empty() ? std::string(t) : replace_whole(t, replacements);
    if (masking_) out = ctx_.noise->mask(scope_, out);
    return out;
  }

  // Whether normalising can change anything at all.
  bool active() const { return !spelled_->recorded.empty() || masking_; }

  Json json(const Json& v, bool live_side) const {
    Json out = v;
    if (active()) normalise(out, live_side);
    return out;
  }

 private:
  // In place, so that a wide document is copied once; an object is rebuilt only when one of
  // its member names holds a value (ordered_json inserts by linear search).
  void normalise(Json& v, bool live_side) const {
    if (v.is_string()) {
      v = text(v.get_ref<const std::string&>(), live_side);
    } else if (v.is_array()) {
      for (auto& e : v)
        normalise(e, live_side);
    } else if (v.is_object()) {
      bool renamed = false;
      for (auto it = v.begin(); it != v.end(); ++it) {
        normalise(it.value(), live_side);
        renamed = renamed || text(it.key(), live_side) != it.key();
      }
      if (!renamed) return;
      Json out = Json::object();
      for (auto it = v.begin(); it != v.end(); ++it)
        out[text(it.key(), live_side)] = std::move(it.value());
      v = std::move(out);
    }
  }

  const MatchContext& ctx_;
  std::string scope_;  // owned: callers pass temporaries
  std::shared_ptr<const SpelledValues> spelled_;
  bool masking_ = false;
};

namespace {

constexpr std::string_view kAbsent = "(absent)";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

void mark_noise(std::vector<Difference>& diffs, const MatchContext& ctx) {
  if (!ctx.noise) return;
  for (auto& d : diffs)
    d.noise = ctx.noise->covers(d);
}

std::string path_of(const store::Exchange& x) {
  auto u = url::parse(x.url);
  if (!u) return x.url;
  return u->path.empty() ? "/" : u->path;
}

std::string where_of(const store::Exchange& x) {
  std::string target = x.url;
  if (auto u = url::parse(x.url)) target = u->target();
  return x.method + " " + text_excerpt(target, 80);
}

// Content-Type compared as media type and parameters without case or spaces: RFC 9110 §8.3.1
// makes type, subtype, parameter names and the charset value case-insensitive.
std::string media_type_key(std::string_view v) {
  std::string out;
  for (char c : lower(v))
    if (c != ' ' && c != '\t') out += c;
  return out;
}

// A Location resolved against its request's URL (RFC 9110 §10.2.2), so that "/a" and
// "http://host/a" compare equal.
std::string absolute_location(std::string_view location, std::string_view request_url) {
  auto base = url::parse(request_url);
  if (!base) return std::string(location);
  auto resolved = url::resolve(*base, location);
  return resolved ? url::serialise(*resolved) : std::string(location);
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (true) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

void compare_text(std::string_view expected, std::string_view actual, Difference base,
                  std::vector<Difference>& out) {
  if (expected == actual) return;
  auto e = lines_of(expected), a = lines_of(actual);
  for (size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    std::string_view el = i < e.size() ? e[i] : kAbsent;
    std::string_view al = i < a.size() ? a[i] : kAbsent;
    if (i < e.size() && i < a.size() && e[i] == a[i]) continue;
    base.path = "body line " + std::to_string(i + 1);
    base.expected = text_excerpt(el);
    base.actual = text_excerpt(al);
    out.push_back(std::move(base));
    return;
  }
  // Only line endings differ.
  base.path = "body";
  base.expected = text_excerpt(expected);
  base.actual = text_excerpt(actual);
  out.push_back(std::move(base));
}

std::string size_and_hash(std::int64_t length, std::string_view sha256) {
  return std::to_string(length) + " bytes, sha256 " + std::string(sha256.substr(0, 16)) + "…";
}

// Arguments as compared: a CONNECT reply without its per-run sid and pid; an event without the
// offset that connection state recovery appends (PROTOCOLS.md §2 gotcha 6).
Json comparable_args(const SocketEvent& e, bool recovery) {
  if (e.kind == EventKind::connect && e.args.is_object()) {
    Json out = Json::object();
    for (auto it = e.args.begin(); it != e.args.end(); ++it)
      if (it.key() != "sid" && it.key() != "pid") out[it.key()] = it.value();
    return out;
  }
  if (e.kind == EventKind::event && recovery && e.args.is_array() && !e.args.empty() &&
      e.args.back().is_string()) {
    Json out = e.args;
    out.erase(out.size() - 1);
    return out;
  }
  return e.args;
}

std::string event_scope(const SocketEvent& e) {
  if (e.kind == EventKind::event) return "event " + e.name;
  if (e.kind == EventKind::ws) return "ws " + e.nsp;
  if (e.kind == EventKind::sse) return "sse " + e.nsp;
  return event_kind_name(e.kind);
}

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

const char* diff_kind_name(DiffKind kind) {
  switch (kind) {
    case DiffKind::status:
      return "status";
    case DiffKind::header:
      return "header";
    case DiffKind::body:
      return "body";
    case DiffKind::json:
      return "json";
    case DiffKind::missing:
      return "missing";
    case DiffKind::extra:
      return "extra";
    case DiffKind::order:
      return "order";
    case DiffKind::attachment:
      return "attachment";
  }
  return "?";
}

size_t failure_count(const std::vector<Difference>& differences) {
  return size_t(std::count_if(differences.begin(), differences.end(),
                              [](const Difference& d) { return !d.noise; }));
}

std::string format_differences(const std::vector<Difference>& differences, size_t max) {
  std::string out;
  size_t shown = 0, failures = failure_count(differences);
  for (const Difference& d : differences) {
    if (d.noise) continue;
    if (shown == max) break;
    ++shown;
    std::string what;
    switch (d.kind) {
      case DiffKind::missing:
        what = "never came";
        break;
      case DiffKind::extra:
        what = "not expected";
        break;
      case DiffKind::order:
        what = "out of order";
        break;
      case DiffKind::json:
        what = d.path.empty() ? "the whole value" : d.path;
        break;
      default:
        what = d.path;
    }
    out += d.where + ": " + what + "\n";
    if (d.kind != DiffKind::extra) out += "  - " + d.expected + "\n";
    if (d.kind != DiffKind::missing) out += "  + " + d.actual + "\n";
  }
  if (failures > shown) out += "… and " + std::to_string(failures - shown) + " more\n";
  return out;
}

// ---- NoiseSet -------------------------------------------------------------------------------

Result<NoiseSet> NoiseSet::make(std::vector<NoiseRule> rules) {
  NoiseSet set;
  for (const NoiseRule& rule : rules) {
    if (auto ok = check_noise_rule(rule); !ok) {
      return fail(Errc::setup, "noise rule " + std::string(to_string(rule.kind)) + " \"" +
                                   rule.pattern + "\": " + ok.error().why);
    }
    std::shared_ptr<const std::regex> re;
    if (rule.kind == store::NoiseKind::regex)
      re = std::make_shared<const std::regex>(rule.pattern, std::regex::ECMAScript);
    set.regexes_.push_back(std::move(re));
  }
  set.rules_ = std::move(rules);
  return set;
}

bool NoiseSet::covers_header(std::string_view scope, std::string_view header) const {
  for (const NoiseRule& r : rules_) {
    if (r.kind == store::NoiseKind::header && text::iequals(r.pattern, header) &&
        scope_covers(r.scope, scope))
      return true;
  }
  return false;
}

bool NoiseSet::covers(const Difference& d) const {
  for (const NoiseRule& r : rules_) {
    if (!scope_covers(r.scope, d.scope)) continue;
    if (r.kind == store::NoiseKind::header && d.kind == DiffKind::header && d.path.size() > 7 &&
        text::iequals(r.pattern, std::string_view(d.path).substr(7)))
      return true;
    if (r.kind == store::NoiseKind::json_pointer &&
        (d.kind == DiffKind::json || d.kind == DiffKind::missing || d.kind == DiffKind::extra ||
         d.kind == DiffKind::order) &&
        pointer_covers(r.pattern, d.path))
      return true;
  }
  return false;
}

bool NoiseSet::masks(std::string_view scope) const {
  for (size_t i = 0; i < rules_.size(); ++i)
    if (regexes_[i] && scope_covers(rules_[i].scope, scope)) return true;
  return false;
}

std::string NoiseSet::mask(std::string_view scope, std::string_view text) const {
  std::string out(text);
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (regexes_[i] && scope_covers(rules_[i].scope, scope))
      out = regex_mask(*regexes_[i], out, kMask);
  }
  return out;
}

// ---- HTTP -----------------------------------------------------------------------------------

std::string endpoint_of(const store::Exchange& x) {
  return x.method + " " + path_of(x);
}

std::vector<Difference> compare_response(const store::Exchange& recorded,
                                         const store::Exchange& live, const MatchContext& ctx,
                                         const HttpMatchOptions& options) {
  std::vector<Difference> out;
  Difference base;
  base.where = where_of(recorded);
  base.scope = endpoint_of(recorded);

  if (recorded.status != live.status) {
    Difference d = base;
    d.kind = DiffKind::status;
    d.path = "status";
    d.expected = recorded.status ? std::to_string(recorded.status) : "no response";
    d.actual = live.status ? std::to_string(live.status)
                           : "no response" + (live.error.empty() ? "" : " (" + live.error + ")");
    out.push_back(std::move(d));
    mark_noise(out, ctx);
    return out;
  }
  if (!recorded.has_response()) return out;

  MatchNormaliser n(ctx, base.scope);
  for (const std::string& name : options.headers) {
    if (ctx.noise && ctx.noise->covers_header(base.scope, name)) continue;
    std::string e(header_value(recorded.response_headers, name));
    std::string a(header_value(live.response_headers, name));
    bool e_has = false, a_has = false;
    for (const auto& h : recorded.response_headers)
      e_has = e_has || text::iequals(h.name, name);
    for (const auto& h : live.response_headers)
      a_has = a_has || text::iequals(h.name, name);
    if (!e_has && !a_has) continue;
    std::string lname = lower(name);
    if (lname == "content-type") {
      e = media_type_key(e);
      a = media_type_key(a);
    } else if (lname == "location") {
      e = absolute_location(e, recorded.url);
      if (options.map_url) e = options.map_url(e);
      if (!live.url.empty()) a = absolute_location(a, live.url);
    }
    e = n.text(e, false);
    a = n.text(a, true);
    if (e_has == a_has && e == a) continue;
    Difference d = base;
    d.kind = DiffKind::header;
    d.path = "header " + lname;
    d.expected = e_has ? text_excerpt(e) : std::string(kAbsent);
    d.actual = a_has ? text_excerpt(a) : std::string(kAbsent);
    out.push_back(std::move(d));
  }

  Difference body = base;
  body.kind = DiffKind::body;
  body.path = "body";
  const store::Payload& rp = recorded.response_body;
  const store::Payload& lp = live.response_body;
  if (rp.truncated()) {
    // The recorder kept the length and hash of the whole body as received.
    auto length = static_cast<std::int64_t>(lp.bytes.size());
    std::string hash = sha256_hex(lp.bytes);
    if (length != rp.full_length || hash != rp.sha256) {
      body.expected = size_and_hash(rp.full_length, rp.sha256);
      body.actual = size_and_hash(length, hash);
      out.push_back(std::move(body));
    }
    mark_noise(out, ctx);
    return out;
  }
  auto e_body = decode_content(rp.bytes, recorded.response_encoding);
  auto a_body = decode_content(lp.bytes, live.response_encoding);
  if (e_body && a_body && *e_body == *a_body) {
    mark_noise(out, ctx);
    return out;
  }
  std::string_view content_type = header_value(recorded.response_headers, "content-type");
  BodyKind kind = e_body ? body_kind(content_type, *e_body) : BodyKind::binary;
  if (!a_body) kind = BodyKind::binary;
  if (kind == BodyKind::empty && a_body && !a_body->empty())
    kind = body_kind(header_value(live.response_headers, "content-type"), *a_body);

  std::optional<Json> e_doc, a_doc;
  if (kind == BodyKind::json) {
    auto e_parsed = sio::parse_json(*e_body, Errc::bad_encoding);
    auto a_parsed = sio::parse_json(*a_body, Errc::bad_encoding);
    if (e_parsed && a_parsed) {
      e_doc = std::move(*e_parsed);
      a_doc = std::move(*a_parsed);
    } else if (e_parsed || a_parsed) {
      body.expected = e_parsed ? text_excerpt(*e_body) : "(not JSON) " + text_excerpt(*e_body);
      body.actual = a_parsed ? text_excerpt(*a_body) : "(not JSON) " + text_excerpt(*a_body);
      out.push_back(std::move(body));
      mark_noise(out, ctx);
      return out;
    } else {
      kind = BodyKind::text;  // labelled JSON, neither is: compare as text
    }
  }
  switch (kind) {
    case BodyKind::empty:
      break;
    case BodyKind::json: {
      std::vector<JsonDifference> diffs;
      json_diff(n.json(*e_doc, false), n.json(*a_doc, true), diffs);
      for (auto& jd : diffs) {
        Difference d = base;
        d.kind = DiffKind::json;
        d.path = std::move(jd.path);
        d.expected = std::move(jd.expected);
        d.actual = std::move(jd.actual);
        out.push_back(std::move(d));
      }
      break;
    }
    case BodyKind::html:
    case BodyKind::text:
      compare_text(n.text(*e_body, false), n.text(*a_body, true), body, out);
      break;
    case BodyKind::binary:
      if (rp.bytes != lp.bytes && (!e_body || !a_body || *e_body != *a_body)) {
        body.expected = size_and_hash(std::int64_t(rp.bytes.size()), sha256_hex(rp.bytes));
        body.actual = size_and_hash(std::int64_t(lp.bytes.size()), sha256_hex(lp.bytes));
        out.push_back(std::move(body));
      }
      break;
  }
  mark_noise(out, ctx);
  return out;
}

// ---- Socket.IO ------------------------------------------------------------------------------

std::set<std::string> broadcast_kinds(const store::RecordingData& data) {
  std::set<std::string> kinds;
  std::map<std::pair<std::string, std::string>, std::set<store::Id>> receivers;
  std::map<std::string, int64_t> first_client_emit;  // identity → time
  for (const auto& p : data.packets) {
    auto e = event_from_recorded(p);
    if (!e || e->kind != EventKind::event) continue;
    std::string id = identity(*e);
    if (p.direction == store::Direction::client) {
      first_client_emit.emplace(id, p.time_us);
      continue;
    }
    receivers[{id, sio::dump_json(e->args)}].insert(p.session_id.value_or(0));
    auto emitted = first_client_emit.find(id);
    if (emitted != first_client_emit.end() && emitted->second <= p.time_us) kinds.insert(id);
  }
  for (const auto& [key, sessions] : receivers)
    if (sessions.size() >= 2) kinds.insert(key.first);
  return kinds;
}

EventMatcher::EventMatcher(const std::vector<const store::SocketPacket*>& expected, Options options)
    : options_(std::move(options)) {
  for (const store::SocketPacket* p : expected) {
    if (!p) continue;
    auto e = event_from_recorded(*p);
    if (!e) continue;
    expected_.push_back({std::move(*e), p, {}, {}, {}, -1, false});
  }
  prepare();
}

EventMatcher EventMatcher::of_events(std::vector<SocketEvent> expected, Options options) {
  EventMatcher m;
  m.options_ = std::move(options);
  for (auto& e : expected)
    m.expected_.push_back({std::move(e), nullptr, {}, {}, {}, -1, false});
  m.prepare();
  return m;
}

void EventMatcher::prepare() {
  std::map<std::string, int> ordinal;
  for (auto& x : expected_) {
    x.key = identity(x.event);
    int n = ++ordinal[x.key];
    x.scope = event_scope(x.event);
    std::string what = describe(x.event);
    // "event welcome on /" → "event welcome #1 on /"
    size_t on = what.rfind(" on ");
    x.where = what.substr(0, on) + " #" + std::to_string(n) + what.substr(on);
    if (x.event.kind == EventKind::connect && x.event.args.is_object() &&
        x.event.args.contains("pid"))
      recovery_.insert(x.event.nsp);
  }
}

bool EventMatcher::equal(const SocketEvent& e, const SocketEvent& a,
                         const MatchNormaliser& n) const {
  if (e.attachments != a.attachments) return false;
  bool recovery = recovery_.count(e.nsp) != 0;
  Json ea = comparable_args(e, recovery), aa = comparable_args(a, recovery);
  // Most events are equal as they come; normalising is for those that are not.
  if (json_equal(ea, aa)) return true;
  return n.active() && json_equal(n.json(ea, false), n.json(aa, true));
}

void EventMatcher::pair_provisionally(int k) {
  std::string id = identity(live_[size_t(k)]);
  for (size_t i = 0; i < expected_.size(); ++i) {
    Expected& x = expected_[i];
    if (x.live >= 0 || x.key != id) continue;
    x.live = k;
    x.exact = false;
    live_pair_[size_t(k)] = int(i);
    return;
  }
}

EventMatcher::Arrival EventMatcher::on_event(const SocketEvent& live, const MatchContext& ctx) {
  int k = int(live_.size());
  live_.push_back(live);
  live_pair_.push_back(-1);
  std::string id = identity(live);
  MatchNormaliser n(ctx, event_scope(live));
  for (size_t i = 0; i < expected_.size(); ++i) {
    Expected& x = expected_[i];
    if (x.exact || x.key != id || !equal(x.event, live, n)) continue;
    int displaced = x.live;
    x.live = k;
    x.exact = true;
    live_pair_[size_t(k)] = int(i);
    if (displaced >= 0) {
      live_pair_[size_t(displaced)] = -1;
      pair_provisionally(displaced);
    }
    if (options_.strict_order) {
      for (size_t j = 0; j < i; ++j) {
        const Expected& before = expected_[j];
        if (before.live >= 0 || before.event.kind == EventKind::connect) continue;
        Difference d;
        d.where = x.where;
        d.scope = x.scope;
        d.kind = DiffKind::order;
        d.path = "";
        d.expected = "after " + before.where;
        d.actual = "before it";
        order_.push_back(std::move(d));
        break;
      }
    }
    return {int(i), true};
  }
  pair_provisionally(k);
  return {live_pair_[size_t(k)], false};
}

size_t EventMatcher::waiting() const {
  return size_t(std::count_if(expected_.begin(), expected_.end(),
                              [](const Expected& x) { return x.live < 0; }));
}

std::vector<Difference> EventMatcher::finish(const MatchContext& ctx) const {
  std::vector<Difference> out;
  broadcasts_counted_ = 0;
  for (const Expected& x : expected_) {
    Difference base;
    base.where = x.where;
    base.scope = x.scope;
    if (x.live < 0) {
      base.kind = DiffKind::missing;
      base.expected = json_excerpt(x.event.args);
      base.actual = "(never came)";
      out.push_back(std::move(base));
      continue;
    }
    if (x.exact) continue;
    const SocketEvent& a = live_[size_t(x.live)];
    bool recovery = recovery_.count(x.event.nsp) != 0;
    MatchNormaliser n(ctx, x.scope);
    std::vector<JsonDifference> diffs;
    json_diff(n.json(comparable_args(x.event, recovery), false),
              n.json(comparable_args(a, recovery), true), diffs);
    for (auto& jd : diffs) {
      Difference d = base;
      d.kind = DiffKind::json;
      d.path = std::move(jd.path);
      d.expected = std::move(jd.expected);
      d.actual = std::move(jd.actual);
      out.push_back(std::move(d));
    }
    size_t n_att = std::max(x.event.attachments.size(), a.attachments.size());
    for (size_t i = 0; i < n_att; ++i) {
      const std::string* e = i < x.event.attachments.size() ? &x.event.attachments[i] : nullptr;
      const std::string* l = i < a.attachments.size() ? &a.attachments[i] : nullptr;
      if (e && l && *e == *l) continue;
      Difference d = base;
      d.kind = DiffKind::attachment;
      d.path = "attachment " + std::to_string(i);
      d.expected = e ? size_and_hash(std::int64_t(e->size()), sha256_hex(*e)) : "(absent)";
      d.actual = l ? size_and_hash(std::int64_t(l->size()), sha256_hex(*l)) : "(absent)";
      out.push_back(std::move(d));
    }
  }
  for (size_t k = 0; k < live_.size(); ++k) {
    if (live_pair_[k] >= 0) continue;
    const SocketEvent& a = live_[k];
    if (options_.tolerate_broadcasts && options_.broadcast_kinds.count(identity(a))) {
      ++broadcasts_counted_;
      continue;
    }
    Difference d;
    d.where = describe(a);
    d.scope = event_scope(a);
    d.kind = DiffKind::extra;
    d.expected = "(not expected)";
    d.actual = json_excerpt(a.args);
    out.push_back(std::move(d));
  }
  out.insert(out.end(), order_.begin(), order_.end());
  mark_noise(out, ctx);
  return out;
}

std::vector<Difference> compare_events(const std::vector<const store::SocketPacket*>& expected,
                                       const std::vector<SocketEvent>& live,
                                       const MatchContext& context, EventMatchOptions options) {
  EventMatcher m(expected, std::move(options));
  for (const auto& e : live)
    m.on_event(e, context);
  return m.finish(context);
}

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
