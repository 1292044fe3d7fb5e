// Matching Socket.IO events, WebSocket messages and SSE events (replay/matcher.h, "Socket.IO").
#include <algorithm>
#include <map>

#include "protocol/text.h"
#include "replay/body.h"
#include "replay/json_diff.h"
#include "replay/match_normaliser.h"
#include "replay/matcher.h"

namespace wa::replay {

using namespace match_detail;

namespace {

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

}  // namespace

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
    expected_.push_back({std::move(*e), p, {}, {}, {}, -1, false, -1});
  }
  prepare();
}

EventMatcher EventMatcher::of_events(std::vector<SocketEvent> expected, Options options) {
  EventMatcher m;
  m.options_ = std::move(options);
  for (auto& e : expected)
    m.expected_.push_back({std::move(e), nullptr, {}, {}, {}, -1, false, -1});
  m.prepare();
  return m;
}

void EventMatcher::prepare() {
  std::map<std::string, int> ordinal;
  for (auto& x : expected_) {
    x.key = identity(x.event);
    int n = ++ordinal[x.key];
    x.scope = event_scope(x.event);
    std::string what = describe(x.event, &options_.acks);
    // "event welcome on /" → "event welcome #1 on /"; an ack named by the emit it answers
    // ("ack of chat #2 on /") is one of a kind already.
    size_t on = what.rfind(" on ");
    bool named_ack = x.event.kind == EventKind::ack && what.starts_with("ack of ");
    x.where = named_ack ? what : what.substr(0, on) + " #" + std::to_string(n) + what.substr(on);
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
  if (options_.hold_broadcasts && options_.broadcast_kinds.count(id)) {
    held_[size_t(k)] = 1;  // perhaps another copy's: paired later, if at all (release_before)
    return;
  }
  for (size_t i = 0; i < expected_.size(); ++i) {
    Expected& x = expected_[i];
    if (x.live >= 0 || x.key != id) continue;
    x.live = k;
    x.exact = false;
    live_pair_[size_t(k)] = int(i);
    return;
  }
}

void EventMatcher::gate(size_t i, int action) {
  expected_[i].gate = action;
}

bool EventMatcher::may_stand_for(size_t i, size_t k) const {
  const Expected& x = expected_[i];
  return !options_.hold_broadcasts || x.gate < 0 || live_started_[k] > size_t(x.gate);
}

// The connection has moved past the waiting expected events before `limit`: what could still be
// them among the held events is paired with them, the earliest with the earliest.
bool EventMatcher::release_before(size_t limit) {
  bool paired = false;
  for (size_t i = 0; i < limit && i < expected_.size(); ++i) {
    Expected& x = expected_[i];
    if (x.live >= 0 || !options_.broadcast_kinds.count(x.key)) continue;
    for (size_t k = 0; k < live_.size(); ++k) {
      if (!held_[k] || !may_stand_for(i, k) || identity(live_[k]) != x.key) continue;
      held_[k] = 0;
      x.live = int(k);
      x.exact = false;
      live_pair_[k] = int(i);
      paired = true;
      break;
    }
  }
  return paired;
}

bool EventMatcher::release_held() {
  return options_.hold_broadcasts && release_before(expected_.size());
}

EventMatcher::Arrival EventMatcher::on_event(const SocketEvent& live, const MatchContext& ctx,
                                             size_t actions_started) {
  int k = int(live_.size());
  live_.push_back(live);
  live_pair_.push_back(-1);
  live_started_.push_back(actions_started);
  held_.push_back(0);
  std::string id = identity(live);
  MatchNormaliser n(ctx, event_scope(live));
  for (size_t i = 0; i < expected_.size(); ++i) {
    Expected& x = expected_[i];
    if (x.exact || x.key != id || !may_stand_for(i, size_t(k)) || !equal(x.event, live, n))
      continue;
    int displaced = x.live;
    x.live = k;
    x.exact = true;
    live_pair_[size_t(k)] = int(i);
    if (displaced >= 0) {
      live_pair_[size_t(displaced)] = -1;
      pair_provisionally(displaced);
    }
    if (options_.hold_broadcasts) release_before(i);
    if (options_.strict_order) {
      for (size_t j = 0; j < i; ++j) {
        const Expected& before = expected_[j];
        if (before.live >= 0 || before.event.kind == EventKind::connect) continue;
        Difference d;
        d.where = x.where;
        d.scope = x.scope;
        d.outcome = int(i);
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
  int paired = live_pair_[size_t(k)];
  if (options_.hold_broadcasts && paired >= 0) release_before(size_t(paired));
  return {paired, false};
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
    base.outcome = int(&x - expected_.data());
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
    d.where = describe(a, &options_.acks);
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

}  // namespace wa::replay
