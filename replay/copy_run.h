// One copy of a recording replayed live (runner.h): the scheduling of its actions, and one
// channel kind per file — HTTP (copy_run_http.cpp), Engine.IO / Socket.IO sessions
// (copy_run_socketio.cpp), plain WebSockets (copy_run_websocket.cpp), event streams
// (copy_run_sse.cpp). Internal to the runner.
//
// Scheduling (copy_run.cpp): an action starts once every expectation recorded before it
// (Action::wait_for) has been met and the client's previous action has started (with --pace
// recorded, also not before its recorded offset). An expectation is met when its response
// arrives or the matcher pairs a live event with it; it is given up when nothing has moved for
// `timeout_ms` while it is the oldest one waited for, or at once when the request failed or its
// channel ended. A channel is closed only by its recorded close action (which waits for what was
// recorded before the browser closed it) or once everything else is done.
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

#include "net/timer.h"
#include "protocol/content_coding.h"
#include "protocol/cookie_jar.h"
#include "protocol/sse.h"
#include "replay/conditional.h"
#include "replay/runner.h"
#include "replay/socket_client.h"
#include "replay/ws_client.h"

namespace wa::replay::run_detail {

int64_t mono_us();
int64_t wall_ms();
traffic::Family family_of(store::SocketProtocol p);
bool is_setup_failure(FailureKind kind);
// Request headers that the replayer never copies from the recording: the connection's own,
// what the clients compute (Host, lengths, the WebSocket handshake), and the Cookie header,
// which comes from the live jar.
bool is_own_header(std::string_view name);
std::string shorten(std::string_view text, size_t max = 120);
std::string event_text(const SocketEvent& e);
// The Cookie headers of a recorded request, joined.
std::string recorded_cookies(const store::Exchange& x);

// The EventMatcher every copy of `p` starts script session `i` with (prepare() keeps one per
// session in Prepared::matchers).
Prepared::SessionMatcher session_matcher(const Prepared& p, size_t i);
// Prepared::row_labels, once `p.matchers` are made.
std::vector<Prepared::RowLabel> row_labels(const Prepared& p);
// The pairs "name=value" of a Cookie header, in order.
std::vector<std::pair<std::string, std::string>> cookie_pairs(std::string_view header);

class CopyRun {
 public:
  CopyRun(net::Loop& loop, const Prepared& p, const RunnerOptions& options, int copy,
          std::function<void()> done);
  ~CopyRun();
  CopyRun(const CopyRun&) = delete;
  CopyRun& operator=(const CopyRun&) = delete;

  void start();
  // The run's deadline passed: stops here, as it is. Requests in flight are cancelled and
  // sessions dropped (their connections closed), what was not met is given up, and the copy
  // finishes at once with SessionResult::cut_short set.
  void cut_short();

  bool finished() const { return finished_; }
  SessionResult& result() { return result_; }
  LiveOutputs& live() { return live_; }
  std::map<std::string, std::vector<int64_t>>& latencies() { return latencies_; }

 private:
  // A recorded socket session or plain WebSocket as it is replayed.
  struct SessionState {
    std::unique_ptr<SocketClient> client;  // Engine.IO / Socket.IO
    std::unique_ptr<WsClient> ws;          // plain WebSocket
    HttpCall stream;                       // event stream: its request, while it lasts
    std::optional<sse::Parser> parser;
    std::optional<coding::Decoder> decoder;  // the stream's Content-Encoding, if any
    std::optional<EventMatcher> matcher;
    std::vector<int> expectation_of;  // by matcher index
    size_t first_unmet = 0;           // matcher index: every one before it is met
    bool started = false, ended = false, closing = false;
    int64_t opened_us = -1, ended_us = -1;
    size_t periodic = 0;     // periodic messages that came (plain WebSockets)
    size_t after_close = 0;  // unexpected messages that came after the replayer closed it
    std::string note;

    bool live() const { return client || ws || stream.pending(); }
    void close() {
      if (client) client->close();
      if (ws) ws->close();
    }
    void drop() {
      client.reset();
      ws.reset();
      stream.cancel();
    }
  };

  int64_t now_rel() const { return mono_us() - start_us_; }

  // The spellings of the values are computed again only when a value changed (matcher.h).
  // The pairs are views into values_, which frees a value's old text when it learns a new one:
  // they are taken afresh each time, and compared with copies.
  MatchContext context();
  void seed_jars();
  void build_matcher(size_t session);

  // ---- Scheduling (copy_run.cpp) ----
  void progressed() { arm_stall(); }
  void arm_stall();
  void meet(size_t e, uint8_t how = 1);
  void advance();
  // Nothing moved for timeout_ms: the oldest expectations waited for will not come.
  void on_stall();
  void check_done();
  void start_action(size_t i);
  void close_session(size_t index);
  void add_error(const std::string& why);

  // ---- HTTP (copy_run_http.cpp) ----
  std::string cookie_header(int client, std::string_view recorded, const std::string& live_url);
  void remember_cookies(int client, std::string_view request_url, const http::Headers& headers);
  void start_http(size_t i);
  void on_http(size_t i, std::string live_url, ClientResult<HttpResponse> r);
  // The recorded request headers of `x` as the live request sends them (correlated values
  // substituted, Origin and Referer mapped), without the Cookie header and the headers the
  // clients compute; `also_skip` leaves out more.
  http::Headers live_headers(const store::Exchange& x,
                             const std::function<bool(std::string_view)>& also_skip = {});
  // Conditional requests (replay/conditional.h): by recorded URL, the validators of the latest
  // live answer for that resource and its latest live full answer; by action, the header
  // fields a conditional request sent.
  struct LiveResource {
    Validators validators;
    std::optional<store::Exchange> full;
  };
  std::map<std::string, LiveResource> resources_;
  std::map<size_t, http::Headers> conditional_sent_;
  // The latest full answer recorded for `x`'s resource before `x`, or null.
  const store::Exchange* recorded_full_answer(const store::Exchange& x) const;
  // Keeps the validators of a live answer for `x`'s resource (and the answer itself when it is
  // full), when the recording revalidates that resource later (Prepared::conditional_urls).
  void remember_resource(const store::Exchange& x, const store::Exchange& live);

  // ---- Socket.IO sessions (copy_run_socketio.cpp) ----
  void open_socket(size_t i);
  void send_packet(size_t i);
  void on_message(size_t index, SocketMessage& message);
  // A live event of a session: paired with the recorded ones, and what it meets is met.
  // Returns the expectation it was paired with, -1 for none.
  int on_event(size_t index, const SocketEvent& event);
  // Meets the expectations of a session that its matcher has paired.
  void meet_arrived(size_t index);
  void on_socket_end(size_t index, const std::optional<ClientFailure>& failure);
  void end_session(SessionState& s, const std::string& why);

  // ---- Plain WebSockets (copy_run_websocket.cpp) ----
  void open_websocket(size_t i);
  void send_ws_message(size_t i);

  // ---- Event streams (copy_run_sse.cpp) ----
  void open_stream(size_t i);
  void on_stream_head(size_t index, const HttpResponse& head);
  void on_stream_body(size_t index, std::string_view chunk);
  // The browser let the stream go: the request is abandoned, which is its clean end.
  void close_stream(size_t index);
  // Recorded event ids to the live ones, for the Last-Event-ID of a stream opened again.
  std::map<std::string, std::string> live_event_ids_;

  // ---- Finishing (copy_run.cpp) ----
  void finish();
  // The timeline rows, each ok when it was met and no failure is about it; every difference's
  // `outcome` becomes the index of its row (-1: none).
  void build_timeline();
  // While the copy runs, a difference's `outcome` names what it is about: an expectation by its
  // index, a session (its open and end) by session_outcome(index).
  int session_outcome(size_t session) const { return int(s_.expectations.size() + session); }

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

}  // namespace wa::replay::run_detail
