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
#include "replay/socket_client.h"

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
  return p;
}

// ---- One copy -------------------------------------------------------------------------------

namespace {

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

// Request headers that the replayer never copies from the recording: the connection's own,
// what the clients compute (Host, lengths, the WebSocket handshake), and the Cookie header,
// which comes from the live jar.
bool is_own_header(std::string_view name) {
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

std::string shorten(std::string_view text, size_t max = 120) {
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

// The pairs "name=value" of a Cookie header, in order.
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

class CopyRun {
 public:
  CopyRun(net::Loop& loop, const Prepared& p, const RunnerOptions& options, int copy,
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

  ~CopyRun() {
    // Socket clients first: they use the HttpClient.
    for (SessionState& s : sessions_)
      s.client.reset();
  }

  void start() {
    start_us_ = mono_us();
    recorded_start_us_ = s_.actions.empty() ? 0 : s_.actions.front().recorded_us;
    seed_jars();
    for (size_t i = 0; i < sessions_.size(); ++i) {
      std::vector<const store::SocketPacket*> packets;
      for (int e : s_.sessions[i].expectations)
        packets.push_back(s_.expectations[size_t(e)].packet);
      EventMatchOptions mo;
      mo.tolerate_broadcasts = options_.concurrency > 1;
      mo.broadcast_kinds = p_.broadcasts;
      sessions_[i].matcher.emplace(packets, mo);
      // Matcher index → expectation; expectations the matcher left out (not application
      // events) are met from the start.
      std::unordered_map<const store::SocketPacket*, int> by_packet;
      for (int e : s_.sessions[i].expectations)
        by_packet[s_.expectations[size_t(e)].packet] = e;
      for (size_t m = 0; m < sessions_[i].matcher->size(); ++m) {
        int e = by_packet.at(sessions_[i].matcher->packet(m));
        sessions_[i].expectation_of.push_back(e);
        matcher_index_[size_t(e)] = int(m);
      }
      for (int e : s_.sessions[i].expectations)
        if (matcher_index_[size_t(e)] < 0) met_[size_t(e)] = 1;
      result_.events_expected += sessions_[i].matcher->size();
    }
    arm_stall();
    advance();
  }

  bool finished() const { return finished_; }
  SessionResult& result() { return result_; }
  LiveOutputs& live() { return live_; }
  std::map<std::string, std::vector<int64_t>>& latencies() { return latencies_; }

 private:
  struct SessionState {
    std::unique_ptr<SocketClient> client;
    std::optional<EventMatcher> matcher;
    std::vector<int> expectation_of;  // by matcher index
    size_t first_unmet = 0;           // matcher index: every one before it is met
    bool started = false, ended = false, closing = false;
    int64_t opened_us = -1, ended_us = -1;
    std::string note;
  };

  int64_t now_rel() const { return mono_us() - start_us_; }

  // The spellings of the values are computed again only when a value changed (matcher.h).
  // The pairs are views into values_, which frees a value's old text when it learns a new one:
  // they are taken afresh each time, and compared with copies.
  MatchContext context() {
    pairs_ = values_.pairs();
    bool same = spelled_ && pairs_.size() == spelled_for_.size();
    for (size_t i = 0; same && i < pairs_.size(); ++i)
      same = pairs_[i].correlation == spelled_for_[i].first &&
             pairs_[i].live == spelled_for_[i].second;
    if (!same) {
      spelled_ = spell_values(pairs_);
      spelled_for_.clear();
      for (const ValuePair& pair : pairs_)
        spelled_for_.emplace_back(pair.correlation, std::string(pair.live));
    }
    return MatchContext{pairs_, &p_.noise, spelled_};
  }

  void seed_jars() {
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

  // ---- Scheduling ----

  void progressed() { arm_stall(); }

  void arm_stall() {
    if (!finished_) stall_->start(options_.timeout_ms, [this] { on_stall(); });
  }

  void meet(size_t e, uint8_t how = 1) {
    if (met_[e]) return;
    met_[e] = how;
    if (how == 1) arrival_us_[e] = now_rel();
    progressed();
  }

  void advance() {
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

  // Nothing moved for timeout_ms: the oldest expectations waited for will not come.
  void on_stall() {
    if (finished_) return;
    if (next_ < s_.actions.size() && size_t(s_.actions[next_].wait_for) <= met_prefix_) {
      // Nothing is late: the next action waits for its recorded time (--pace recorded).
      arm_stall();
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
        if (s.client && !s.ended) end_session(s, "the session did not close");
    }
    arm_stall();
    advance();
  }

  void check_done() {
    if (finished_ || next_ < s_.actions.size() || !calls_.empty()) return;
    if (met_prefix_ < met_.size()) return;
    bool waiting = false;
    for (SessionState& s : sessions_) {
      if (!s.client || s.ended) continue;
      if (!s.closing) {
        s.closing = true;
        s.client->close();
      }
      waiting = true;
    }
    if (!waiting) finish();
  }

  void start_action(size_t i) {
    const Action& a = s_.actions[i];
    switch (a.kind) {
      case ActionKind::http:
        start_http(i);
        break;
      case ActionKind::socket_open:
        open_socket(i);
        break;
      case ActionKind::socket_send:
        send_packet(i);
        break;
      case ActionKind::socket_close: {
        SessionState& s = sessions_[size_t(a.session)];
        if (s.client && !s.ended && !s.closing) {
          s.closing = true;
          s.client->close();
        }
        break;
      }
    }
  }

  // ---- HTTP ----

  std::string cookie_header(int client, std::string_view recorded, const std::string& live_url) {
    auto u = url::parse(live_url);
    std::vector<cookie::Cookie> live;
    if (u) live = clients_[size_t(client)].jar.cookies_for(*u, wall_ms());
    std::vector<char> used(live.size(), 0);
    std::string out;
    auto add = [&](std::string_view name, std::string_view value) {
      if (!out.empty()) out += "; ";
      if (!name.empty()) {
        out += name;
        out += '=';
      }
      out += value;
    };
    for (const auto& [name, value] : cookie_pairs(recorded)) {
      bool found = false;
      for (size_t k = 0; k < live.size() && !found; ++k) {
        if (used[k] || live[k].name != name) continue;
        used[k] = 1;
        found = true;
        add(name, live[k].value);
      }
      // Gone from the live jar (the server deleted it): not sent. Never set by the server
      // (a script set it, or the browser held it): sent as recorded.
      if (!found && !p_.server_cookie_names.count(name))
        add(name, values_.substitute(value, Place(Part::header, "Cookie")));
    }
    for (size_t k = 0; k < live.size(); ++k)
      if (!used[k]) add(live[k].name, live[k].value);
    return out;
  }

  void remember_cookies(int client, std::string_view request_url, const http::Headers& headers) {
    auto u = url::parse(request_url);
    if (!u) return;
    for (const http::Header& h : headers)
      if (text::iequals(h.name, "set-cookie"))
        (void)clients_[size_t(client)].jar.set_from_response(*u, h.value, wall_ms());
  }

  void start_http(size_t i) {
    const Action& a = s_.actions[i];
    const store::Exchange& x = *a.exchange;
    HttpRequest request;
    request.method = x.method;
    std::string url = values_.substitute(x.url, Place(Part::url, {}, Use::Owner::exchange, x.id));
    request.url = p_.origins.map_or_keep(url);
    std::string recorded_cookie;
    for (const store::Header& h : x.request_headers) {
      if (text::iequals(h.name, "cookie")) {
        if (!recorded_cookie.empty()) recorded_cookie += "; ";
        recorded_cookie += h.value;
      }
      if (is_own_header(h.name)) continue;
      std::string value =
          values_.substitute(h.value, Place(Part::header, h.name, Use::Owner::exchange, x.id));
      if (text::iequals(h.name, "origin") || text::iequals(h.name, "referer"))
        value = p_.origins.map_or_keep(value);
      if (text::iequals(h.name, "origin") && value.size() > 1 && value.back() == '/')
        value.pop_back();
      request.headers.push_back({h.name, std::move(value)});
    }
    std::string cookies = cookie_header(a.client, recorded_cookie, request.url);
    if (!cookies.empty()) request.headers.push_back({"Cookie", std::move(cookies)});
    request.body = x.request_encoding.empty()
                       ? values_.substitute(x.request_body.bytes,
                                            Place(Part::body, {}, Use::Owner::exchange, x.id))
                       : x.request_body.bytes;
    if (x.request_body.truncated())
      result_.warnings.push_back(x.method + " " + x.url +
                                 ": the recorded request body was cut; sent as far as kept");
    // A recorded slow answer gets its time, three times over.
    int64_t took_ms = x.ended_us ? (*x.ended_us - x.started_us) / 1000 : 0;
    request.timeout_ms =
        std::max<uint64_t>(options_.timeout_ms, uint64_t(std::max<int64_t>(0, took_ms)) * 3);
    ++result_.exchanges;
    std::string live_url = request.url;
    calls_[i] = http_.send(std::move(request), [this, i, live_url](ClientResult<HttpResponse> r) {
      on_http(i, live_url, std::move(r));
    });
  }

  void on_http(size_t i, std::string live_url, ClientResult<HttpResponse> r) {
    calls_.erase(i);  // safe: the client's last act is this callback
    const Action& a = s_.actions[i];
    const store::Exchange& x = *a.exchange;
    size_t e = size_t(a.expectation);
    if (!r) {
      const ClientFailure& f = r.error();
      if (is_setup_failure(f.kind)) {
        add_error(f.why);
      } else {
        Difference d;
        d.where = endpoint_of(x);
        d.scope = d.where;
        d.kind = DiffKind::status;
        d.path = "status";
        d.expected = std::to_string(x.status);
        d.actual = "(no response: " + f.why + ")";
        http_diffs_.push_back(std::move(d));
      }
      actual_[e] = "(" + std::string(failure_kind_name(f.kind)) + ")";
      meet(e, 2);
      advance();
      return;
    }
    HttpResponse& response = *r;
    remember_cookies(a.client, live_url, response.headers);
    store::Exchange live;
    live.id = 0;
    live.method = x.method;
    live.url = live_url;
    live.status = response.status;
    live.reason = response.reason;
    for (http::Header& h : response.headers) {
      if (text::iequals(h.name, "content-encoding")) live.response_encoding = h.value;
      live.response_headers.push_back({std::move(h.name), std::move(h.value)});
    }
    live.response_body = store::Payload::whole(std::move(response.body));
    live.started_us = response.timings.started_us;
    live.first_byte_us = response.timings.first_byte_us;
    live.ended_us = response.timings.ended_us;
    values_.on_response(x, live);
    HttpMatchOptions mo;
    mo.map_url = [this](std::string_view url) { return p_.origins.map_or_keep(url); };
    for (Difference& d : compare_response(x, live, context(), mo))
      http_diffs_.push_back(std::move(d));
    latencies_[endpoint_of(x)].push_back(response.timings.ended_us - response.timings.started_us);
    actual_[e] = std::to_string(live.status);
    live_.responses[e] = std::move(live);
    meet(e);
    advance();
  }

  void add_error(const std::string& why) {
    if (std::find(result_.errors.begin(), result_.errors.end(), why) == result_.errors.end())
      result_.errors.push_back(why);
  }

  // ---- Sockets ----

  void open_socket(size_t i) {
    const Action& a = s_.actions[i];
    size_t index = size_t(a.session);
    const SocketSession& session = s_.sessions[index];
    SessionState& state = sessions_[index];
    const store::Exchange& hs = *session.handshake;
    SocketClientOptions o;
    o.family = family_of(session.protocol);
    o.plan = session.plan;
    o.url = p_.origins.map_or_keep(
        values_.substitute(hs.url, Place(Part::url, {}, Use::Owner::exchange, hs.id)));
    for (const store::Header& h : hs.request_headers) {
      // The socket client speaks the transports itself: it keeps only what identifies the
      // browser and the page (Origin matters: python-engineio refuses other origins).
      if (is_own_header(h.name) || text::iequals(h.name, "accept-encoding") ||
          text::iequals(h.name, "content-type") || text::iequals(h.name, "accept"))
        continue;
      std::string value =
          values_.substitute(h.value, Place(Part::header, h.name, Use::Owner::exchange, hs.id));
      if (text::iequals(h.name, "origin") || text::iequals(h.name, "referer"))
        value = p_.origins.map_or_keep(value);
      if (text::iequals(h.name, "origin") && value.size() > 1 && value.back() == '/')
        value.pop_back();
      o.headers.push_back({h.name, std::move(value)});
    }
    std::string recorded_cookie;
    for (const store::Header& h : hs.request_headers)
      if (text::iequals(h.name, "cookie")) recorded_cookie = h.value;
    int client = a.client;
    o.cookies = [this, client, recorded_cookie](std::string_view url) {
      return cookie_header(client, recorded_cookie, std::string(url));
    };
    o.on_response = [this, client](std::string_view url, const HttpResponse& response) {
      remember_cookies(client, url, response.headers);
    };
    o.request_timeout_ms = std::max<uint64_t>(options_.timeout_ms, 2'000);
    SocketHandler handler;
    handler.on_open = [this, index](const SocketOpened& opened) {
      SessionState& st = sessions_[index];
      st.opened_us = now_rel();
      if (p_.session_ids[index]) values_.on_session(p_.session_ids[index], opened.sid);
      progressed();
    };
    handler.on_message = [this, index](SocketMessage& message) { on_message(index, message); };
    handler.on_transport = [this, index](eio::Transport transport, const std::string& note) {
      if (!note.empty() && transport == eio::Transport::polling &&
          s_.sessions[index].plan == Plan::upgrade)
        sessions_[index].note = note;
    };
    handler.on_end = [this, index](const std::optional<ClientFailure>& failure) {
      on_socket_end(index, failure);
    };
    state.started = true;
    state.client = std::make_unique<SocketClient>(http_, std::move(o), std::move(handler));
  }

  void send_packet(size_t i) {
    const Action& a = s_.actions[i];
    SessionState& state = sessions_[size_t(a.session)];
    if (!state.client || state.ended) return;  // its drop is reported already
    const store::SocketPacket& packet = *a.packet;
    std::string_view text = packet.raw;
    // Engine.IO carries Socket.IO packets in message packets ('4'); the client adds that.
    if (s_.sessions[size_t(a.session)].protocol != store::SocketProtocol::sio09 && !text.empty() &&
        text[0] == '4')
      text.remove_prefix(1);
    std::string live =
        values_.substitute(text, Place(Part::frame, {}, Use::Owner::packet, packet.id));
    if (auto failure = state.client->send(live, packet.attachments)) {
      Difference d;
      d.where = "socket " + std::to_string(a.session + 1);
      d.scope = "*";
      d.kind = DiffKind::missing;
      d.path = "send";
      d.expected = shorten(packet.raw);
      d.actual = "(not sent: " + failure->why + ")";
      socket_diffs_.push_back(std::move(d));
    }
  }

  void on_message(size_t index, SocketMessage& message) {
    SessionState& state = sessions_[index];
    std::optional<SocketEvent> event;
    if (auto* p = std::get_if<sio::Packet>(&message.packet))
      event = event_from_live(*p);
    else
      event = event_from_live(std::get<sio09::Decoded>(message.packet));
    if (!event) return;
    int64_t at = now_rel();
    live_.events[index].push_back(*event);
    auto arrival = state.matcher->on_event(*event, context());
    if (arrival.expected >= 0) {
      const store::SocketPacket* recorded = state.matcher->packet(size_t(arrival.expected));
      if (recorded) values_.on_packet(*recorded, *event);
      size_t e = size_t(state.expectation_of[size_t(arrival.expected)]);
      actual_[e] = event_text(*event);
      if (!met_[e] && p_.cause[e] >= 0 && action_us_[size_t(p_.cause[e])] >= 0)
        latencies_["event " + (event->kind == EventKind::event
                                   ? event->name
                                   : std::string(event_kind_name(event->kind)))]
            .push_back((at - action_us_[size_t(p_.cause[e])]));
    }
    // A pairing may move (matcher.h): whatever has arrived is met. Scanned from the first
    // expected event not met yet, so a long session is not quadratic.
    while (state.first_unmet < state.matcher->size() &&
           met_[size_t(state.expectation_of[state.first_unmet])])
      ++state.first_unmet;
    for (size_t m = state.first_unmet; m < state.matcher->size(); ++m)
      if (state.matcher->arrived(m)) meet(size_t(state.expectation_of[m]));
    advance();
  }

  void on_socket_end(size_t index, const std::optional<ClientFailure>& failure) {
    SessionState& state = sessions_[index];
    if (state.ended) return;
    state.ended = true;
    state.ended_us = now_rel();
    if (failure) {
      if (is_setup_failure(failure->kind) && state.opened_us < 0) {
        add_error(failure->why);
      } else if (!state.closing) {
        Difference d;
        d.where = "socket " + std::to_string(index + 1);
        d.scope = "*";
        d.kind = DiffKind::missing;
        d.path = "connection";
        d.expected = "(open until the recording closed it)";
        d.actual = "(dropped: " + failure->why + ")";
        socket_diffs_.push_back(std::move(d));
      }
    }
    // What it still owed will not come.
    for (int e : s_.sessions[index].expectations)
      if (!met_[size_t(e)]) met_[size_t(e)] = 2;
    progressed();
    loop_.post([this] { advance(); });
  }

  void end_session(SessionState& s, const std::string& why) {
    s.client.reset();
    size_t index = size_t(&s - sessions_.data());
    on_socket_end(index, ClientFailure{FailureKind::timeout, why});
  }

  // ---- Finishing ----

  void finish() {
    finished_ = true;
    stall_->stop();
    pace_->stop();
    result_.duration_us = now_rel();
    MatchContext ctx = context();
    result_.differences = std::move(http_diffs_);
    for (size_t i = 0; i < sessions_.size(); ++i) {
      if (!sessions_[i].started) continue;
      for (Difference& d : sessions_[i].matcher->finish(ctx))
        result_.differences.push_back(std::move(d));
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
    }
    for (SessionState& s : sessions_)
      s.client.reset();
    http_.close_idle();
    loop_.post([done = done_] { done(); });
  }

  void build_timeline() {
    std::set<std::string> failing;
    for (const Difference& d : result_.differences)
      if (!d.noise) failing.insert(d.where);
    int64_t t0 = s_.data.recording.started_us;
    std::vector<Outcome> rows;
    for (size_t e = 0; e < s_.expectations.size(); ++e) {
      const Expectation& x = s_.expectations[e];
      Outcome o;
      o.client = x.client;
      o.recorded_us = x.recorded_us - t0;
      o.live_us = arrival_us_[e];
      o.actual = actual_[e];
      if (x.kind == Expectation::Kind::response) {
        const store::Exchange& ex = *s_.actions[size_t(x.action)].exchange;
        o.kind = Outcome::Kind::exchange;
        o.where = endpoint_of(ex);
        o.expected = std::to_string(ex.status);
        if (live_.responses[e] && live_.responses[e]->ended_us)
          o.latency_us = *live_.responses[e]->ended_us - live_.responses[e]->started_us;
        o.ok = met_[e] == 1 && !failing.count(o.where);
      } else {
        o.kind = Outcome::Kind::event;
        auto event = event_from_recorded(*x.packet);
        if (!event) continue;
        o.expected = event_text(*event);
        o.where = describe(*event);
        const SessionState& st = sessions_[size_t(x.session)];
        if (matcher_index_[e] >= 0) o.where = st.matcher->where(size_t(matcher_index_[e]));
        o.ok = met_[e] == 1 && !failing.count(o.where);
        if (o.ok) ++result_.events_matched;
        if (p_.cause[e] >= 0 && action_us_[size_t(p_.cause[e])] >= 0 && o.live_us >= 0)
          o.latency_us = o.live_us - action_us_[size_t(p_.cause[e])];
      }
      rows.push_back(std::move(o));
    }
    for (size_t i = 0; i < sessions_.size(); ++i) {
      const SocketSession& session = s_.sessions[i];
      if (session.open_action < 0) continue;
      Outcome o;
      o.kind = Outcome::Kind::socket;
      o.client = session.client;
      o.where = "socket " + std::to_string(i + 1) + " (" + store::to_string(session.protocol) +
                ", " + plan_name(session.plan) + ")";
      o.recorded_us = s_.actions[size_t(session.open_action)].recorded_us - t0;
      o.live_us = sessions_[i].opened_us;
      o.expected = "open";
      o.actual = sessions_[i].opened_us >= 0 ? "open" : "";
      if (!sessions_[i].note.empty()) o.actual += " (stayed on polling: " + sessions_[i].note + ")";
      o.ok = sessions_[i].opened_us >= 0 && !failing.count("socket " + std::to_string(i + 1));
      rows.push_back(std::move(o));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Outcome& a, const Outcome& b) {
      int64_t ka = a.live_us < 0 ? INT64_MAX : a.live_us;
      int64_t kb = b.live_us < 0 ? INT64_MAX : b.live_us;
      return ka != kb ? ka < kb : a.recorded_us < b.recorded_us;
    });
    result_.timeline = std::move(rows);
  }

  net::Loop& loop_;
  const Prepared& p_;
  const Script& s_;
  const RunnerOptions& options_;
  std::function<void()> done_;
  HttpClient http_;
  LiveValues values_;
  struct ClientState {
    cookie::CookieJar jar;
  };
  std::vector<ClientState> clients_;
  std::vector<SessionState> sessions_;
  std::vector<uint8_t> met_;  // by expectation: 0 waiting, 1 met, 2 given up
  std::vector<int64_t> arrival_us_;
  std::vector<int64_t> action_us_;  // by action: when it started
  std::vector<std::string> actual_;
  std::vector<int> matcher_index_;    // by expectation: its index in its session's matcher, or -1
  std::map<size_t, HttpCall> calls_;  // by action
  std::vector<Difference> http_diffs_, socket_diffs_;
  std::vector<ValuePair> pairs_;
  std::shared_ptr<const SpelledValues> spelled_;
  std::vector<std::pair<size_t, std::string>> spelled_for_;  // correlation, live value
  std::map<std::string, std::vector<int64_t>> latencies_;
  SessionResult result_;
  LiveOutputs live_;
  net::Owned<net::Timer> stall_, pace_;
  size_t next_ = 0, met_prefix_ = 0;
  int64_t start_us_ = 0, recorded_start_us_ = 0;
  bool finished_ = false, advancing_ = false;
};

}  // namespace

// ---- Running --------------------------------------------------------------------------------

RunResult run(net::Loop& loop, const std::vector<Prepared>& recordings,
              const RunnerOptions& options) {
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
              live[index] = std::move(r.live());
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
  fill();
  while (finished < total)
    loop.run_once();

  RunResult out;
  out.report.concurrency = options.concurrency;
  out.report.repeat = options.repeat;
  out.report.duration_us = mono_us() - t0;
  for (size_t i = 0; i < total; ++i) {
    out.report.sessions.push_back(std::move(*results[i]));
    out.recording_of.push_back(recording_of[i]);
    out.live.push_back(std::move(live[i]));
  }
  out.report.latencies = latency_stats(latencies);
  return out;
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
      Difference d;
      d.where = endpoint_of(*s.actions[size_t(s.expectations[e].action)].exchange);
      d.scope = d.where;
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
