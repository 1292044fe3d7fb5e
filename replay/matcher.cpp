#include "replay/matcher.h"

#include <algorithm>

#include "protocol/text.h"
#include "replay/body.h"
#include "replay/json_diff.h"
#include "replay/match_normaliser.h"
#include "replay/spelling.h"

namespace wa::replay {

std::shared_ptr<const SpelledValues> spell_values(std::span<const ValuePair> values) {
  auto out = std::make_shared<SpelledValues>();
  for (const ValuePair& pair : values) {
    if (pair.recorded == pair.live || pair.recorded.empty() || pair.live.empty()) continue;
    const std::string& label =
        out->texts.emplace_back(pair.correlation == kPerResponseValue
                                    ? std::string("⟨response value⟩")
                                    : "⟨value " + std::to_string(pair.correlation + 1) + "⟩");
    // The spellings LiveValues already made, when it made them (distinct ones only).
    if (pair.recorded_spelled) {
      for (const SpelledValue& s : *pair.recorded_spelled)
        out->recorded.push_back({s.text, label});
    } else {
      for (auto& s : spellings(pair.recorded))
        out->recorded.push_back({out->texts.emplace_back(std::move(s.text)), label});
    }
    if (pair.live_spelled) {
      const std::vector<std::string>& live = *pair.live_spelled;
      for (size_t k = 0; k < live.size(); ++k) {
        if (std::find(live.begin(), live.begin() + std::ptrdiff_t(k), live[k]) ==
            live.begin() + std::ptrdiff_t(k))
          out->live.push_back({live[k], label});
      }
    } else {
      for (auto& s : spellings(pair.live))
        out->live.push_back({out->texts.emplace_back(std::move(s.text)), label});
    }
  }
  return out;
}

namespace match_detail {

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

std::string size_and_hash(std::int64_t length, std::string_view sha256) {
  return std::to_string(length) + " bytes, sha256 " + std::string(sha256.substr(0, 16)) + "…";
}

std::string event_scope(const SocketEvent& e) {
  if (e.kind == EventKind::event) return "event " + e.name;
  if (e.kind == EventKind::ws) return "ws " + e.nsp;
  if (e.kind == EventKind::sse) return "sse " + e.nsp;
  return event_kind_name(e.kind);
}

}  // namespace match_detail

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
}  // namespace wa::replay
