#include "replay/runner.h"

#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "net/timer.h"
#include "protocol/cookie_jar.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/conditional.h"
#include "replay/copy_run.h"
#include "replay/json_diff.h"

namespace wa::replay {

// ---- Origins --------------------------------------------------------------------------------

namespace {

// "http://h:p" from an absolute http(s) URL given on the command line; "" when it is not one.
std::string live_origin(std::string_view url) {
  auto parsed = url::parse(url);
  if (!parsed || (parsed->scheme != "http" && parsed->scheme != "https") || parsed->host.empty())
    return "";
  return origin_of(url);
}

}  // namespace

Result<OriginMap> OriginMap::make(std::string_view main_origin, std::string_view target,
                                  const std::vector<std::string>& maps) {
  OriginMap m;
  std::string live = live_origin(target);
  if (live.empty())
    return fail(Errc::setup, "--target " + std::string(target) + ": not an http(s) URL");
  for (const std::string& entry : maps) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos)
      return fail(Errc::setup, "--map " + entry + ": expected ORIGIN=URL");
    std::string from = origin_of(entry.substr(0, eq));
    std::string to = live_origin(entry.substr(eq + 1));
    if (from.empty()) return fail(Errc::setup, "--map " + entry + ": the origin is not a URL");
    if (to.empty()) return fail(Errc::setup, "--map " + entry + ": not an http(s) URL after '='");
    m.entries_.emplace_back(std::move(from), std::move(to));
  }
  if (!main_origin.empty() && !m.mapped(main_origin))
    m.entries_.emplace_back(std::string(main_origin), std::move(live));
  return m;
}

bool OriginMap::mapped(std::string_view origin) const {
  for (const auto& [from, to] : entries_)
    if (from == origin) return true;
  return false;
}

std::optional<std::string> OriginMap::map(std::string_view url) const {
  // Most URLs spell their origin as the map does: no parse needed.
  for (const auto& [from, to] : entries_) {
    if (url.starts_with(from) &&
        (url.size() == from.size() ||
         std::string_view("/?#").find(url[from.size()]) != std::string_view::npos))
      return to + std::string(url.substr(from.size()));
  }
  std::string origin = origin_of(url);
  if (origin.empty()) return std::nullopt;
  for (const auto& [from, to] : entries_) {
    if (from != origin) continue;
    // The origin as written in the URL may spell a default port (":80"): cut at the path.
    size_t authority = url.find("//");
    size_t path = authority == std::string_view::npos ? std::string_view::npos
                                                      : url.find_first_of("/?#", authority + 2);
    return to + std::string(path == std::string_view::npos ? "" : url.substr(path));
  }
  return std::nullopt;
}

std::string OriginMap::map_or_keep(std::string_view url) const {
  auto mapped = map(url);
  return mapped ? *mapped : std::string(url);
}

std::string main_origin_of(const store::RecordingData& data) {
  std::map<std::string, int64_t> score;
  std::vector<std::string> order;
  auto count = [&](const std::string& origin, int64_t points) {
    if (origin.empty()) return;
    if (!score.count(origin)) order.push_back(origin);
    score[origin] += points;
  };
  std::unordered_map<store::Id, const store::Exchange*> by_id;
  for (const store::Exchange& x : data.exchanges) {
    by_id[x.id] = &x;
    if (x.method != "CONNECT") count(origin_of(x.url), 1);
  }
  for (const store::EioSession& s : data.sessions) {
    if (!s.handshake_exchange_id) continue;
    auto it = by_id.find(*s.handshake_exchange_id);
    if (it != by_id.end()) count(origin_of(it->second->url), 1'000'000);
  }
  std::string best;
  int64_t best_score = 0;
  for (const std::string& origin : order) {
    if (score[origin] > best_score) {
      best = origin;
      best_score = score[origin];
    }
  }
  return best;
}

// ---- Preparing ------------------------------------------------------------------------------

Result<Prepared> prepare(store::RecordingData data, const OriginMap& origins,
                         const RunnerOptions& options) {
  Prepared p;
  p.origins = origins;
  p.id = data.recording.id;
  p.name = data.recording.name.empty() ? "#" + std::to_string(p.id) : data.recording.name;
  for (const store::CookieEvent& c : data.cookies)
    if (c.kind == store::CookieKind::set) p.server_cookie_names.insert(c.name);
  for (const store::Exchange& x : data.exchanges)
    if (is_conditional(x.request_headers)) p.conditional_urls.insert(x.url);
  p.script = std::make_unique<Script>(build_script(
      std::move(data), [&](const std::string& origin) { return origins.mapped(origin); }));
  const Script& s = *p.script;
  if (s.actions.empty()) {
    std::string why = s.data.exchanges.empty() ? "it holds no exchanges"
                                               : "none of its requests goes to a mapped origin";
    return fail(Errc::setup, "recording " + p.name + " has nothing to replay: " + why);
  }
  p.correlations = std::make_unique<Correlations>(correlate(s.data, options.rules));

  std::vector<NoiseRule> noise = options.rules.noise;
  noise.insert(noise.end(), options.noise.begin(), options.noise.end());
  auto set = NoiseSet::make(std::move(noise));
  if (!set) return set.error();
  p.noise = std::move(*set);
  p.broadcasts = broadcast_kinds(s.data);

  for (const SocketSession& session : s.sessions) {
    store::Id id = 0;
    for (const store::EioSession& row : s.data.sessions)
      if (row.sid == session.recorded_sid && row.protocol == session.protocol) id = row.id;
    p.session_ids.push_back(id);
  }
  // A broadcast echoes the latest emit of the same event before it.
  p.echo_of.assign(s.expectations.size(), -1);
  {
    std::map<std::string, int> last_emit;  // identity → action
    size_t a = 0;
    for (size_t e = 0; e < s.expectations.size(); ++e) {
      const Expectation& x = s.expectations[e];
      for (; a < s.actions.size() && s.actions[a].recorded_us <= x.recorded_us; ++a) {
        const Action& act = s.actions[a];
        if (act.kind != ActionKind::socket_send || !act.packet) continue;
        if (auto emitted = event_from_recorded(*act.packet); emitted)
          last_emit[identity(*emitted)] = int(a);
      }
      if (x.kind != Expectation::Kind::packet || !x.packet) continue;
      auto event = event_from_recorded(*x.packet);
      if (!event || event->kind != EventKind::event) continue;
      std::string id = identity(*event);
      auto emit = last_emit.find(id);
      if (p.broadcasts.count(id) && emit != last_emit.end()) p.echo_of[e] = emit->second;
    }
  }
  // An event's latency runs from the last action of its session that started before it.
  p.cause.assign(s.expectations.size(), -1);
  std::vector<int> last_of_session(s.sessions.size(), -1);
  size_t next_action = 0;
  for (size_t e = 0; e < s.expectations.size(); ++e) {
    const Expectation& x = s.expectations[e];
    for (; next_action < s.actions.size() && s.actions[next_action].recorded_us <= x.recorded_us;
         ++next_action) {
      const Action& a = s.actions[next_action];
      if (a.session >= 0) last_of_session[size_t(a.session)] = int(next_action);
    }
    if (x.kind == Expectation::Kind::response) {
      p.cause[e] = x.action;
    } else if (x.session >= 0) {
      int cause = last_of_session[size_t(x.session)];
      p.cause[e] = cause >= 0 ? cause : s.sessions[size_t(x.session)].open_action;
    }
  }
  for (size_t i = 0; i < s.sessions.size(); ++i)
    p.matchers.push_back(run_detail::session_matcher(p, i));
  p.row_labels = run_detail::row_labels(p);
  return p;
}

// ---- Running --------------------------------------------------------------------------------

RunResult run(net::Loop& loop, const std::vector<Prepared>& recordings,
              const RunnerOptions& options) {
  using run_detail::CopyRun;
  using run_detail::mono_us;
  struct Job {
    size_t recording;
    int copy;
  };
  std::deque<Job> queue;
  for (int copy = 0; copy < std::max(1, options.repeat); ++copy)
    for (size_t r = 0; r < recordings.size(); ++r)
      queue.push_back({r, copy});
  const size_t total = queue.size();
  struct Slot {
    size_t job_index;
    size_t recording;
    std::unique_ptr<CopyRun> run;
  };
  std::vector<Slot> running;
  std::vector<std::optional<SessionResult>> results(total);
  std::vector<LiveOutputs> live(total);
  std::vector<size_t> recording_of(total);
  std::map<std::string, std::vector<int64_t>> latencies;
  size_t started = 0, finished = 0;
  int64_t t0 = mono_us();

  std::function<void()> fill = [&] {
    while (!queue.empty() && running.size() < size_t(std::max(1, options.concurrency))) {
      Job job = queue.front();
      queue.pop_front();
      size_t index = started++;
      recording_of[index] = job.recording;
      auto copy =
          std::make_unique<CopyRun>(loop, recordings[job.recording], options, job.copy, [&, index] {
            for (size_t k = 0; k < running.size(); ++k) {
              if (running[k].job_index != index) continue;
              CopyRun& r = *running[k].run;
              results[index] = std::move(r.result());
              if (options.keep_live) live[index] = std::move(r.live());
              for (auto& [name, samples] : r.latencies())
                latencies[name].insert(latencies[name].end(), samples.begin(), samples.end());
              running.erase(running.begin() + long(k));
              break;
            }
            ++finished;
            if (options.progress) options.progress(finished, total);
            fill();
          });
      CopyRun* raw = copy.get();
      running.push_back({index, job.recording, std::move(copy)});
      raw->start();
    }
  };
  // --deadline: what runs is stopped where it is (each copy then finishes at once, as cut
  // short), and what has not started never does.
  bool deadline_passed = false;
  auto pass_deadline = [&] {
    deadline_passed = true;
    queue.clear();
    for (Slot& slot : running)
      slot.run->cut_short();
  };
  net::Owned<net::Timer> deadline;
  if (options.deadline_us > 0) {
    int64_t left_us = options.deadline_us - mono_us();
    if (left_us <= 0) {
      pass_deadline();
    } else {
      deadline = net::Timer::create(loop);
      deadline->start(uint64_t((left_us + 999) / 1000), pass_deadline);
    }
  }
  fill();
  while (finished < started)
    loop.run_once();
  deadline.reset();

  RunResult out;
  out.report.concurrency = options.concurrency;
  out.report.repeat = options.repeat;
  out.report.duration_us = mono_us() - t0;
  out.report.deadline_passed = deadline_passed;
  out.report.copies_not_run = total - started;
  for (size_t i = 0; i < started; ++i) {
    out.report.sessions.push_back(std::move(*results[i]));
    out.recording_of.push_back(recording_of[i]);
    out.live.push_back(std::move(live[i]));
  }
  out.report.latencies = latency_stats(latencies);
  mark_varying_between_copies(out.report, out.recording_of);
  for (const Prepared& p : recordings) {
    out.report.rules.push_back({p.name, p.id, p.noise.rules()});
    out.report.correlated.push_back({p.name, p.id, correlated_values(*p.correlations)});
  }
  return out;
}

// ---- Correlated values, for the reports -----------------------------------------------------

std::vector<RunReport::CorrelatedValue> correlated_values(const Correlations& correlations) {
  constexpr size_t kPlaces = 32;
  std::vector<RunReport::CorrelatedValue> out;
  const auto& list = correlations.list();
  for (size_t i = 0; i < list.size(); ++i) {
    const Correlation& c = list[i];
    RunReport::CorrelatedValue v;
    v.value = text_excerpt(c.value, 40);
    v.rule = c.rule;
    for (const Source& s : c.sources) {
      std::string d = describe(s);
      if (v.issued.size() < kPlaces &&
          std::find(v.issued.begin(), v.issued.end(), d) == v.issued.end())
        v.issued.push_back(std::move(d));
    }
    for (size_t k = 0; k < c.uses.size() && k < kPlaces; ++k)
      v.used.push_back(describe(c.uses[k]));
    v.use_count = correlations.use_count(i);
    out.push_back(std::move(v));
  }
  return out;
}

// ---- Values that vary between copies --------------------------------------------------------

size_t mark_varying_between_copies(RunReport& report, const std::vector<size_t>& recording_of) {
  auto varies_kind = [](DiffKind kind) {
    return kind == DiffKind::json || kind == DiffKind::header || kind == DiffKind::body;
  };
  std::map<size_t, std::vector<size_t>> copies_of;  // recording → session results
  for (size_t i = 0; i < report.sessions.size() && i < recording_of.size(); ++i)
    if (report.sessions[i].errors.empty()) copies_of[recording_of[i]].push_back(i);
  size_t marked = 0;
  for (const auto& entry : copies_of) {
    const std::vector<size_t>& copies = entry.second;
    if (copies.size() < 2) continue;
    // The same place in each copy: where, scope, kind, path, and its ordinal among those.
    struct Place {
      std::vector<std::pair<size_t, size_t>> diffs;  // session, difference
      std::set<std::string> values;
    };
    std::map<std::string, Place> places;
    for (size_t i : copies) {
      std::map<std::string, int> ordinal;
      const std::vector<Difference>& diffs = report.sessions[i].differences;
      for (size_t d = 0; d < diffs.size(); ++d) {
        if (diffs[d].noise || !varies_kind(diffs[d].kind)) continue;
        std::string key = diffs[d].where + '\x1f' + diffs[d].scope + '\x1f' +
                          diff_kind_name(diffs[d].kind) + '\x1f' + diffs[d].path;
        key += '\x1f' + std::to_string(ordinal[key]++);
        Place& place = places[key];
        place.diffs.emplace_back(i, d);
        place.values.insert(diffs[d].actual);
      }
    }
    std::map<size_t, std::set<std::string>> cleared;  // session → wheres of marked differences
    for (auto& item : places) {
      Place& place = item.second;
      std::set<size_t> with;
      for (const auto& sd : place.diffs)
        with.insert(sd.first);
      const Difference& first =
          report.sessions[place.diffs.front().first].differences[place.diffs.front().second];
      // A copy without this difference, where the thing came and was compared: it had the
      // recorded value.
      for (size_t i : copies) {
        if (with.count(i)) continue;
        const SessionResult& s = report.sessions[i];
        bool blocked = std::any_of(
            s.differences.begin(), s.differences.end(),
            [&](const Difference& d) { return d.where == first.where && !varies_kind(d.kind); });
        bool came = std::any_of(s.timeline.begin(), s.timeline.end(), [&](const Outcome& o) {
          return o.where == first.where && o.live_us >= 0;
        });
        if (came && !blocked) place.values.insert(first.expected);
      }
      if (place.values.size() < 2) continue;
      for (const auto& sd : place.diffs) {
        Difference& diff = report.sessions[sd.first].differences[sd.second];
        diff.noise = true;
        diff.noise_reason = std::string(kVariesBetweenCopies);
        cleared[sd.first].insert(diff.where);
        ++marked;
      }
    }
    // The timeline rows that only those differences failed pass now.
    for (auto& item : cleared) {
      SessionResult& s = report.sessions[item.first];
      std::set<std::string> failing;
      for (const Difference& d : s.differences)
        if (!d.noise) failing.insert(d.where);
      for (Outcome& o : s.timeline) {
        if (o.ok || o.live_us < 0 || !item.second.count(o.where) || failing.count(o.where))
          continue;
        o.ok = true;
        if (o.kind == Outcome::Kind::event) ++s.events_matched;
      }
    }
  }
  return marked;
}

// ---- Comparing two runs ---------------------------------------------------------------------

std::vector<Difference> compare_runs(const Prepared& recording, const LiveOutputs& a,
                                     const LiveOutputs& b, const NoiseSet* noise,
                                     const std::function<std::string(std::string_view)>& map_url) {
  const Script& s = *recording.script;
  // Values that differ per run: A's live value stands for B's.
  std::vector<ValuePair> pairs;
  for (size_t c = 0; c < a.values.size() && c < b.values.size(); ++c)
    if (a.values[c] && b.values[c]) pairs.push_back({*a.values[c], *b.values[c], c});
  MatchContext ctx{pairs, noise};
  std::vector<Difference> out;
  for (size_t e = 0; e < s.expectations.size(); ++e) {
    if (s.expectations[e].kind != Expectation::Kind::response) continue;
    const auto& ra = e < a.responses.size() ? a.responses[e] : std::nullopt;
    const auto& rb = e < b.responses.size() ? b.responses[e] : std::nullopt;
    if (!ra && !rb) continue;
    if (!ra || !rb) {
      const store::Exchange& x = *s.actions[size_t(s.expectations[e].action)].exchange;
      Difference d;
      d.where = where_of(x);
      d.scope = endpoint_of(x);
      d.kind = DiffKind::status;
      d.path = "status";
      d.expected = ra ? std::to_string(ra->status) : "(no response)";
      d.actual = rb ? std::to_string(rb->status) : "(no response)";
      out.push_back(std::move(d));
      continue;
    }
    HttpMatchOptions mo;
    mo.map_url = map_url;
    for (Difference& d : compare_response(*ra, *rb, ctx, mo))
      out.push_back(std::move(d));
  }
  for (size_t i = 0; i < s.sessions.size(); ++i) {
    std::vector<SocketEvent> ea = i < a.events.size() ? a.events[i] : std::vector<SocketEvent>{};
    const std::vector<SocketEvent> none;
    const std::vector<SocketEvent>& eb = i < b.events.size() ? b.events[i] : none;
    EventMatcher m = EventMatcher::of_events(std::move(ea));
    for (const SocketEvent& event : eb)
      (void)m.on_event(event, ctx);
    for (Difference& d : m.finish(ctx))
      out.push_back(std::move(d));
  }
  return out;
}

}  // namespace wa::replay
