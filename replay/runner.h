// The runner (DESIGN.md, replayer): plays scripts against live servers on one event loop and
// says what differed.
//
// A recording is prepared once (prepare(): its script, its correlations, its noise rules) and
// replayed as many copies as asked (--repeat), at most `concurrency` at once. Each copy has its
// own HttpClient (its own connections, as a browser has), one live cookie jar per recorded
// client, its own live values (LiveValues) and one live socket client per recorded socket
// session.
//
// Scheduling follows the script's causality: an action starts once every expectation recorded
// before it (Action::wait_for) has been met and the client's previous action has started (with
// --pace recorded, also not before its recorded offset). An expectation is met when its
// response arrives or the matcher pairs a live event with it; it is given up when nothing has
// moved for `timeout_ms` while it is the oldest one waited for (then reported as missing, and
// the run goes on), or at once when the request failed or its socket session ended.
//
// What is sent: the recorded request with every correlated value replaced by its live value
// (replay/correlation.h), its origin mapped (Host, Origin and Referer follow), and the Cookie
// header from the client's live jar: a recorded cookie that the jar holds is sent with its live
// value, one the server never set in the recording (set by a script, or held before) is sent as
// recorded, and live cookies the recording did not have are added.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/loop.h"
#include "protocol/result.h"
#include "replay/correlation.h"
#include "replay/http_client.h"
#include "replay/matcher.h"
#include "replay/report.h"
#include "replay/rules.h"
#include "replay/script.h"
#include "storage/reader.h"

namespace wa::replay {

// Recorded origins (scheme://host[:port]) to live base URLs.
class OriginMap {
 public:
  // `--target URL` for `main_origin`, and `--map ORIGIN=URL` entries. Fails (Errc::setup) with
  // one line on a URL that is not http(s) or an entry without '='.
  static Result<OriginMap> make(std::string_view main_origin, std::string_view target,
                                const std::vector<std::string>& maps);

  bool mapped(std::string_view origin) const;
  // The URL with its origin replaced, nullopt when that origin is not mapped.
  std::optional<std::string> map(std::string_view url) const;
  // map(url), or the URL unchanged.
  std::string map_or_keep(std::string_view url) const;
  // "http://127.0.0.1:3000 → http://127.0.0.1:4000" per entry.
  std::vector<std::pair<std::string, std::string>> entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;  // origin, live origin
};

// The origin a recording mostly talks to: the one its socket sessions were opened on, else the
// one with the most exchanges (ties: the first seen). "" for an empty recording.
std::string main_origin_of(const store::RecordingData& data);

struct RunnerOptions {
  Rules rules;                   // --rules (its noise rules included)
  std::vector<NoiseRule> noise;  // more noise rules (the capture file's)
  bool pace_recorded = false;    // --pace recorded
  uint64_t timeout_ms = 5'000;   // waiting for an expected response or event
  HttpClientOptions http;        // --insecure, timeouts
  int concurrency = 1;
  int repeat = 1;
  // Called after each copy finishes (progress bars): copies done, copies in all.
  std::function<void(size_t done, size_t total)> progress;
  // Whether RunResult::live keeps what each copy saw (calibration and diff compare runs with
  // it); a load run leaves it off, so that its memory does not grow with every copy's bodies.
  bool keep_live = true;
  // --deadline: when the whole run must stop, on the monotonic clock in microseconds
  // (uv_hrtime() / 1000); 0: never. It is absolute so that the several runs of one command
  // (calibration passes, diff's A, A2 and B) share it. When it passes, the copies running are
  // stopped where they are (SessionResult::cut_short), their connections closed, and the ones
  // not started yet are not (RunReport::copies_not_run).
  int64_t deadline_us = 0;
};

// One recording, ready to replay.
struct Prepared {
  std::string name;  // the recording's name, or "#<id>"
  store::Id id = 0;
  OriginMap origins;
  std::unique_ptr<Script> script;  // owns the recording's data
  std::unique_ptr<Correlations> correlations;
  NoiseSet noise;
  std::set<std::string> broadcasts;  // broadcast_kinds() of the recording
  std::set<std::string> server_cookie_names;
  // The URLs of recorded conditional requests (conditional.h): only their live answers are
  // kept for comparison.
  std::set<std::string> conditional_urls;
  // By expectation: the action whose start its latency is measured from (-1: none).
  std::vector<int> cause;
  // By expectation: for a server event of a broadcast kind, the client emit it echoes (the
  // latest send of the same event recorded before it, by any client), -1 when none. Under load
  // another copy's broadcast that came before this copy's emit is not it (EventMatcher::gate).
  std::vector<int> echo_of;
  // By script session: the recorded Engine.IO session's row id.
  std::vector<store::Id> session_ids;
  // By script session: its EventMatcher as every copy starts it (the recorded events parsed,
  // acks named, echoes gated; not yet under load), and the expectation of each matcher index.
  // Each copy starts from a copy of it rather than parsing the recording again.
  struct SessionMatcher {
    EventMatcher matcher;
    std::vector<int> expectation_of;
  };
  std::vector<SessionMatcher> matchers;
  // By expectation: how its timeline row names it and what it expected ("GET /a?x=1" and
  // "200", "event chat #1 on /" and the recorded arguments); `row` false when it has none.
  struct RowLabel {
    bool row = false;
    std::string where, expected;
  };
  std::vector<RowLabel> row_labels;
};

// Builds the script (only origins mapped by `origins` are replayed) and correlations. Fails
// (Errc::setup) when the recording has nothing to replay or a noise rule is invalid.
Result<Prepared> prepare(store::RecordingData data, const OriginMap& origins,
                         const RunnerOptions& options);

// What one copy saw live, for comparing two runs (calibration, diff).
struct LiveOutputs {
  // By expectation index: the live response (responses only).
  std::vector<std::optional<store::Exchange>> responses;
  // By script session: the live events in arrival order.
  std::vector<std::vector<SocketEvent>> events;
  // By correlation index: the live value, when it was learnt.
  std::vector<std::optional<std::string>> values;
};

struct RunResult {
  RunReport report;
  // By session result (report.sessions order): its recording (index into the prepared list)
  // and what it saw live.
  std::vector<size_t> recording_of;
  std::vector<LiveOutputs> live;
};

// Replays every prepared recording `repeat` times, at most `concurrency` copies at once, on
// `loop` (which must have nothing else to do; it is run until the copies are done).
RunResult run(net::Loop& loop, const std::vector<Prepared>& recordings,
              const RunnerOptions& options);

// Load runs (several copies of a recording in one run): a difference whose live value is not
// the same in every copy is noise, as calibration would find it — a counter the server shares
// between sessions, a time. Differences at the same place (where, scope, kind, JSON pointer,
// header or body line; the n-th of them in each copy) are compared across the copies of one
// recording: when their live values differ (a copy without the difference, whose thing came,
// counts with the recorded value), each becomes noise with noise_reason kVariesBetweenCopies,
// and the timeline rows it alone failed pass again. A value the same in every copy (a real
// regression) stays a failure; statuses, missing and extra events, order and attachments never
// become noise this way. Recordings replayed once are left alone. run() calls it; returns how
// many differences it marked.
inline constexpr std::string_view kVariesBetweenCopies = "varies between copies";
size_t mark_varying_between_copies(RunReport& report, const std::vector<size_t>& recording_of);

// The correlated values of a recording as the reports list them (RunReport::correlated).
std::vector<RunReport::CorrelatedValue> correlated_values(const Correlations& correlations);

// The differences between two live runs of the same copy of a recording: `a` plays the
// recording's part (expected), `b` the live part. Used by --calibrate (two runs against one
// target: what differs is noise) and by diff (A against B).
// `map_url` maps a URL of run A (a Location) to run B's origins, when they differ.
std::vector<Difference> compare_runs(
    const Prepared& recording, const LiveOutputs& a, const LiveOutputs& b,
    const NoiseSet* noise = nullptr,
    const std::function<std::string(std::string_view)>& map_url = {});

}  // namespace wa::replay
