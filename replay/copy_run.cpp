#include "replay/copy_run.h"

#include <uv.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/secret_book.h"

namespace wa::replay::run_detail {

int64_t mono_us() {
  return int64_t(uv_hrtime() / 1000);
}

int64_t wall_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

traffic::Family family_of(store::SocketProtocol p) {
  switch (p) {
    case store::SocketProtocol::eio3:
      return traffic::Family::eio3;
    case store::SocketProtocol::eio4:
      return traffic::Family::eio4;
    case store::SocketProtocol::sio09:
      return traffic::Family::sio09;
  }
  return traffic::Family::eio4;
}

bool is_setup_failure(FailureKind kind) {
  return kind == FailureKind::connect || kind == FailureKind::tls || kind == FailureKind::setup;
}

bool is_own_header(std::string_view name) {
  // Each of them starts with one of these letters: most request headers are out at once.
  if (name.empty() ||
      std::string_view("chkpstuCHKPSTU").find(name.front()) == std::string_view::npos)
    return false;
  static constexpr std::string_view kOwn[] = {"host",
                                              "content-length",
                                              "transfer-encoding",
                                              "connection",
                                              "keep-alive",
                                              "proxy-connection",
                                              "proxy-authorization",
                                              "te",
                                              "trailer",
                                              "upgrade",
                                              "cookie"};
  for (std::string_view own : kOwn)
    if (text::iequals(name, own)) return true;
  return text::iequals(name.substr(0, std::min<size_t>(name.size(), 14)), "sec-websocket-");
}

std::string shorten(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  return std::string(text.substr(0, cut)) + "…";
}

std::string event_text(const SocketEvent& e) {
  std::string args =
      e.args.is_null() ? "" : e.args.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (e.kind == EventKind::event) return shorten(e.name + " " + args);
  return shorten(args);
}

std::vector<std::pair<std::string, std::string>> cookie_pairs(std::string_view header) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = text::trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos)
      out.emplace_back("", std::string(pair));
    else
      out.emplace_back(std::string(text::trim(pair.substr(0, eq))),
                       std::string(text::trim(pair.substr(eq + 1))));
  }
  return out;
}
CopyRun::CopyRun(net::Loop& loop, const Prepared& p, const RunnerOptions& options, int copy,
                 std::function<void()> done)
    : loop_(loop),
      p_(p),
      s_(*p.script),
      options_(options),
      done_(std::move(done)),
      http_(loop, options.http),
      values_(*p.correlations),
      clients_(s_.clients.size()),
      sessions_(s_.sessions.size()),
      met_(s_.expectations.size(), 0),
      arrival_us_(s_.expectations.size(), -1),
      action_us_(s_.actions.size(), -1),
      actual_(s_.expectations.size()),
      matcher_index_(s_.expectations.size(), -1),
      stall_(net::Timer::create(loop)),
      pace_(net::Timer::create(loop)) {
  result_.recording = p.name;
  result_.recording_id = p.id;
  result_.copy = copy;
  for (const Client& c : s_.clients)
    result_.clients.push_back(c.label);
  result_.warnings = s_.warnings;
  for (const store::Exchange* x : s_.skipped)
    result_.skipped.push_back(x->method + " " + x->url +
                              (p.origins.mapped(origin_of(x->url))
                                   ? " (recorded without a response)"
                                   : " (unmapped origin)"));
  live_.responses.resize(s_.expectations.size());
  live_.events.resize(s_.sessions.size());
}

CopyRun::~CopyRun() {
  // Socket clients first: they use the HttpClient.
  for (SessionState& s : sessions_)
    s.drop();
}

void CopyRun::start() {
  start_us_ = mono_us();
  recorded_start_us_ = s_.actions.empty() ? 0 : s_.actions.front().recorded_us;
  seed_jars();
  for (size_t i = 0; i < sessions_.size(); ++i)
    build_matcher(i);
  arm_stall();
  advance();
}

void CopyRun::cut_short() {
  if (finished_) return;
  result_.cut_short = true;
  calls_.clear();
  for (SessionState& s : sessions_)
    s.drop();
  for (uint8_t& m : met_)
    if (!m) m = 2;
  finish();
}

Prepared::SessionMatcher session_matcher(const Prepared& p, size_t i) {
  const Script& s = *p.script;
  const SocketSession& session = s.sessions[i];
  EventMatchOptions mo;
  mo.broadcast_kinds = p.broadcasts;
  // Acks are named by the client emits they answer.
  std::vector<SocketEvent> sent;
  for (const Action& a : s.actions)
    if (a.kind == ActionKind::socket_send && a.session == int(i) && a.packet)
      if (auto event = event_from_recorded(*a.packet)) sent.push_back(std::move(*event));
  mo.acks = ack_names(sent);
  std::optional<EventMatcher> matcher;
  std::vector<int> expectation_of;
  if (session.kind != ChannelKind::engineio) {
    // Every recorded message is an application message: one expected event each, in order.
    std::vector<SocketEvent> events;
    for (int e : session.expectations)
      events.push_back(*recorded_event(s, s.expectations[size_t(e)]));
    matcher.emplace(EventMatcher::of_events(std::move(events), std::move(mo)));
    expectation_of = session.expectations;
  } else {
    std::vector<const store::SocketPacket*> packets;
    for (int e : session.expectations)
      packets.push_back(s.expectations[size_t(e)].packet);
    matcher.emplace(packets, std::move(mo));
    // Matcher index → expectation (the matcher leaves out what is not an application event).
    std::unordered_map<const store::SocketPacket*, int> by_packet;
    for (int e : session.expectations)
      by_packet[s.expectations[size_t(e)].packet] = e;
    for (size_t m = 0; m < matcher->size(); ++m)
      expectation_of.push_back(by_packet.at(matcher->packet(m)));
  }
  for (size_t m = 0; m < expectation_of.size(); ++m)
    if (int echo = p.echo_of[size_t(expectation_of[m])]; echo >= 0) matcher->gate(m, echo);
  return {std::move(*matcher), std::move(expectation_of)};
}

std::vector<Prepared::RowLabel> row_labels(const Prepared& p) {
  const Script& s = *p.script;
  std::vector<Prepared::RowLabel> out(s.expectations.size());
  for (size_t e = 0; e < s.expectations.size(); ++e) {
    const Expectation& x = s.expectations[e];
    Prepared::RowLabel& label = out[e];
    if (x.kind == Expectation::Kind::response) {
      const store::Exchange& ex = *s.actions[size_t(x.action)].exchange;
      label = {true, where_of(ex), std::to_string(ex.status)};
      continue;
    }
    auto event = recorded_event(s, x);
    if (!event) continue;
    label = {true, describe(*event), event_text(*event)};
    if (x.session < 0) continue;
    const Prepared::SessionMatcher& m = p.matchers[size_t(x.session)];
    for (size_t i = 0; i < m.expectation_of.size(); ++i)
      if (m.expectation_of[i] == int(e)) label.where = m.matcher.where(i);
  }
  return out;
}

void CopyRun::build_matcher(size_t i) {
  const Prepared::SessionMatcher& proto = p_.matchers[i];
  SessionState& st = sessions_[i];
  st.matcher.emplace(proto.matcher);
  st.matcher->under_load(options_.concurrency > 1);
  st.expectation_of = proto.expectation_of;
  for (size_t m = 0; m < st.expectation_of.size(); ++m)
    matcher_index_[size_t(st.expectation_of[m])] = int(m);
  // Expectations the matcher left out (not application events) are met from the start.
  for (int e : s_.sessions[i].expectations)
    if (matcher_index_[size_t(e)] < 0) met_[size_t(e)] = 1;
  result_.events_expected += st.matcher->size();
}

MatchContext CopyRun::context() {
  pairs_ = values_.pairs();
  bool same = spelled_ && pairs_.size() == spelled_for_.size();
  for (size_t i = 0; same && i < pairs_.size(); ++i)
    same =
        pairs_[i].correlation == spelled_for_[i].first && pairs_[i].live == spelled_for_[i].second;
  if (!same) {
    spelled_ = spell_values(pairs_);
    spelled_for_.clear();
    for (const ValuePair& pair : pairs_)
      spelled_for_.emplace_back(pair.correlation, std::string(pair.live));
  }
  return MatchContext{pairs_, &p_.noise, spelled_};
}

void CopyRun::seed_jars() {
  for (size_t c = 0; c < s_.clients.size(); ++c) {
    if (s_.clients[c].seed_cookies.empty()) continue;
    // The cookies were sent to the client's first request: seed them for its live URL.
    std::string where;
    for (int a : s_.clients[c].actions) {
      const Action& action = s_.actions[size_t(a)];
      const store::Exchange* x = action.kind == ActionKind::http ? action.exchange
                                 : action.kind == ActionKind::socket_open
                                     ? s_.sessions[size_t(action.session)].handshake
                                     : nullptr;
      if (x) {
        where = p_.origins.map_or_keep(x->url);
        break;
      }
    }
    auto u = url::parse(where);
    if (!u) continue;
    for (const store::Header& cookie : s_.clients[c].seed_cookies)
      (void)clients_[c].jar.seed(*u, cookie.name, cookie.value, wall_ms());
  }
}

void CopyRun::arm_stall() {
  if (!finished_) stall_->start(options_.timeout_ms, [this] { on_stall(); });
}

void CopyRun::meet(size_t e, uint8_t how) {
  if (met_[e]) return;
  met_[e] = how;
  if (how == 1) arrival_us_[e] = now_rel();
  progressed();
}

void CopyRun::advance() {
  if (finished_ || advancing_) return;
  advancing_ = true;
  while (met_prefix_ < met_.size() && met_[met_prefix_])
    ++met_prefix_;
  while (next_ < s_.actions.size()) {
    const Action& a = s_.actions[next_];
    if (size_t(a.wait_for) > met_prefix_) break;
    if (options_.pace_recorded) {
      int64_t due = (a.recorded_us - recorded_start_us_) - now_rel();
      if (due > 1000) {
        pace_->start(uint64_t(due / 1000), [this] { advance(); });
        break;
      }
    }
    size_t i = next_++;
    action_us_[i] = now_rel();
    start_action(i);
    progressed();
    while (met_prefix_ < met_.size() && met_[met_prefix_])
      ++met_prefix_;
  }
  advancing_ = false;
  check_done();
}

void CopyRun::on_stall() {
  if (finished_) return;
  if (next_ < s_.actions.size() && size_t(s_.actions[next_].wait_for) <= met_prefix_) {
    // Nothing is late: the next action waits for its recorded time (--pace recorded).
    arm_stall();
    return;
  }
  // Under load, broadcasts held as perhaps another copy's: this copy's own did not come, so
  // what came in their place is compared (a changed event is a difference, not a missing one).
  bool released = false;
  for (size_t i = 0; i < sessions_.size(); ++i)
    if (sessions_[i].matcher && sessions_[i].matcher->release_held()) {
      meet_arrived(i);
      released = true;
    }
  if (released) {
    arm_stall();
    advance();
    return;
  }
  size_t upto = next_ < s_.actions.size() ? size_t(s_.actions[next_].wait_for) : met_.size();
  bool gave_up = false;
  for (size_t e = met_prefix_; e < upto; ++e) {
    if (met_[e]) continue;
    const Expectation& x = s_.expectations[e];
    // A pending request has its own response timeout, which says more.
    if (x.kind == Expectation::Kind::response && calls_.count(size_t(x.action))) continue;
    met_[e] = 2;
    gave_up = true;
  }
  if (!gave_up && calls_.empty() && next_ == s_.actions.size()) {
    // Nothing left to wait for but sessions that do not end: stop waiting for them.
    for (SessionState& s : sessions_)
      if (s.live() && !s.ended) end_session(s, "the session did not close");
  }
  arm_stall();
  advance();
}

void CopyRun::check_done() {
  if (finished_ || next_ < s_.actions.size() || !calls_.empty()) return;
  if (met_prefix_ < met_.size()) return;
  bool waiting = false;
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (!sessions_[i].live() || sessions_[i].ended) continue;
    close_session(i);
    waiting = true;
  }
  if (!waiting) finish();
}

void CopyRun::start_action(size_t i) {
  const Action& a = s_.actions[i];
  ChannelKind kind = a.session >= 0 ? s_.sessions[size_t(a.session)].kind : ChannelKind::engineio;
  bool websocket = kind == ChannelKind::websocket, stream = kind == ChannelKind::sse;
  switch (a.kind) {
    case ActionKind::http:
      start_http(i);
      break;
    case ActionKind::socket_open:
      if (stream)
        open_stream(i);
      else if (websocket)
        open_websocket(i);
      else
        open_socket(i);
      break;
    case ActionKind::socket_send:
      websocket ? send_ws_message(i) : send_packet(i);
      break;
    case ActionKind::socket_close:
      close_session(size_t(a.session));
      break;
  }
}

// The recorded close comes after every output recorded before it (script.h): whatever the
// session still owes is late, not cut off by this close.
void CopyRun::close_session(size_t index) {
  SessionState& s = sessions_[index];
  if (!s.live() || s.ended || s.closing) return;
  s.closing = true;
  if (s_.sessions[index].kind == ChannelKind::sse) return close_stream(index);
  s.close();
}

void CopyRun::add_error(const std::string& why) {
  if (std::find(result_.errors.begin(), result_.errors.end(), why) == result_.errors.end())
    result_.errors.push_back(why);
}

void CopyRun::finish() {
  finished_ = true;
  stall_->stop();
  pace_->stop();
  result_.duration_us = now_rel();
  MatchContext ctx = context();
  result_.differences = std::move(http_diffs_);
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (!sessions_[i].started) continue;
    sessions_[i].matcher->release_held();
    const std::vector<int>& expectation_of = sessions_[i].expectation_of;
    for (Difference& d : sessions_[i].matcher->finish(ctx)) {
      // Cut short: an event not come yet may have been on its way.
      if (result_.cut_short && d.kind == DiffKind::missing) continue;
      // The matcher's index of the expected event → the expectation.
      d.outcome = d.outcome >= 0 && size_t(d.outcome) < expectation_of.size()
                      ? expectation_of[size_t(d.outcome)]
                      : -1;
      result_.differences.push_back(std::move(d));
    }
    result_.broadcasts_counted += sessions_[i].matcher->broadcasts_counted();
  }
  for (Difference& d : socket_diffs_)
    result_.differences.push_back(std::move(d));
  // Unreachable: what did not come is the consequence, not a finding.
  if (!result_.errors.empty()) result_.differences.clear();
  build_timeline();
  for (size_t c = 0; c < p_.correlations->size(); ++c) {
    const std::string* v = values_.live(c);
    live_.values.push_back(v ? std::optional<std::string>(*v) : std::nullopt);
    if (v) result_.secrets.emplace_back(correlated_label(*p_.correlations, c), *v);
  }
  for (const ClientState& client : clients_)
    for (const cookie::Cookie& c : client.jar.list(0))
      result_.secrets.emplace_back("cookie " + c.name, c.value);
  for (SessionState& s : sessions_)
    s.drop();
  http_.close_idle();
  loop_.post([done = done_] { done(); });
}

void CopyRun::build_timeline() {
  // What each difference is about, as numbered while running (session_outcome()).
  std::set<int> failing;
  for (const Difference& d : result_.differences)
    if (!d.noise && d.outcome >= 0) failing.insert(d.outcome);
  int64_t t0 = s_.data.recording.started_us;
  std::vector<Outcome> rows;
  std::vector<int> keys;  // by row: what it is, as numbered while running
  for (size_t e = 0; e < s_.expectations.size(); ++e) {
    const Expectation& x = s_.expectations[e];
    Outcome o;
    o.client = x.client;
    o.recorded_us = x.recorded_us - t0;
    o.live_us = arrival_us_[e];
    o.actual = actual_[e];
    const Prepared::RowLabel& label = p_.row_labels[e];
    if (!label.row) continue;
    o.where = label.where;
    o.expected = label.expected;
    if (x.kind == Expectation::Kind::response) {
      o.kind = Outcome::Kind::exchange;
      if (live_.responses[e] && live_.responses[e]->ended_us)
        o.latency_us = *live_.responses[e]->ended_us - live_.responses[e]->started_us;
      o.ok = met_[e] == 1 && !failing.count(int(e));
    } else {
      o.kind = Outcome::Kind::event;
      o.ok = met_[e] == 1 && !failing.count(int(e));
      if (o.ok) ++result_.events_matched;
      if (p_.cause[e] >= 0 && action_us_[size_t(p_.cause[e])] >= 0 && o.live_us >= 0)
        o.latency_us = o.live_us - action_us_[size_t(p_.cause[e])];
    }
    rows.push_back(std::move(o));
    keys.push_back(int(e));
  }
  for (size_t i = 0; i < sessions_.size(); ++i) {
    const SocketSession& session = s_.sessions[i];
    if (session.open_action < 0) continue;
    Outcome o;
    o.kind = Outcome::Kind::socket;
    o.client = session.client;
    o.where = session.kind == ChannelKind::websocket
                  ? "socket " + std::to_string(i + 1) + " (websocket " + session.path + ")"
                  : "socket " + std::to_string(i + 1) + " (" + store::to_string(session.protocol) +
                        ", " + plan_name(session.plan) + ")";
    o.recorded_us = s_.actions[size_t(session.open_action)].recorded_us - t0;
    o.live_us = sessions_[i].opened_us;
    o.expected = "open";
    o.actual = sessions_[i].opened_us >= 0 ? "open" : "";
    if (!sessions_[i].note.empty()) o.actual += " (stayed on polling: " + sessions_[i].note + ")";
    o.ok = sessions_[i].opened_us >= 0 && !failing.count(session_outcome(i));
    rows.push_back(std::move(o));
    keys.push_back(session_outcome(i));
  }
  std::vector<size_t> order(rows.size());
  for (size_t r = 0; r < order.size(); ++r)
    order[r] = r;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int64_t ka = rows[a].live_us < 0 ? INT64_MAX : rows[a].live_us;
    int64_t kb = rows[b].live_us < 0 ? INT64_MAX : rows[b].live_us;
    return ka != kb ? ka < kb : rows[a].recorded_us < rows[b].recorded_us;
  });
  std::map<int, int> row_of;  // key → row in live order
  result_.timeline.clear();
  for (size_t r : order) {
    row_of[keys[r]] = int(result_.timeline.size());
    result_.timeline.push_back(std::move(rows[r]));
  }
  for (Difference& d : result_.differences) {
    auto found = row_of.find(d.outcome);
    d.outcome = found == row_of.end() ? -1 : found->second;
  }
}

}  // namespace wa::replay::run_detail
