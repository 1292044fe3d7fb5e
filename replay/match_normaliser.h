// Internal to the matcher's files (matcher.cpp, match_http.cpp, match_events.cpp): what both
// sides look like before they are compared, and small helpers they share.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "replay/matcher.h"

namespace wa::replay {

// Correlated values as placeholders, regex noise masked: what both sides look like before they
// are compared (EventMatcher names it in its header).
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

namespace match_detail {

inline constexpr std::string_view kAbsent = "(absent)";

std::string lower(std::string_view s);
// Marks the differences that a header or pointer noise rule in the context covers.
void mark_noise(std::vector<Difference>& diffs, const MatchContext& ctx);
// "1234 bytes, sha256 0123456789abcdef…"
std::string size_and_hash(std::int64_t length, std::string_view sha256);
// The scope noise rules name for an event: "event chat", "ws /feed", "ack", …
std::string event_scope(const SocketEvent& e);

}  // namespace match_detail
}  // namespace wa::replay
