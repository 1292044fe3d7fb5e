// Matching (DESIGN.md, replayer): a live response or Socket.IO event against the recorded one,
// with differences reported by where and by path, readable as a diff.
//
// HTTP: the status exactly; a chosen set of headers (content-type, compared as the media type
// and its parameters without case; location, after origin mapping); the body after
// normalisation: decoded from its content coding, correlated values replaced by placeholders on
// both sides (the recorded value on one, its live counterpart on the other), regex noise masked;
// then JSON compared as structure (replay/json_diff.h), HTML and other text exactly (the first
// differing line is reported, around its first differing column), binary by length and
// SHA-256. A recorded body that the recorder cut is compared by the full length and hash it
// kept (store::Payload).
//
// Socket.IO: EventMatcher pairs the live events of one connection with the recorded ones by
// kind, namespace and name (acks by the id they answer), and compares arguments as decoded
// JSON. Per-connection order is kept within each kind of event (the k-th `chat` pairs with the
// k-th recorded `chat` it equals); other events may interleave, as broadcasts do, and so may a
// Flask-SocketIO `welcome` emitted before its CONNECT reply (PROTOCOLS.md §2 gotcha 2). The
// CONNECT reply's sid and pid and, with connection state recovery, the offset that ends every
// event are per run and never compared (gotcha 6).
//
// Noise (replay/rules.h): header rules and JSON pointer rules mark the differences they cover
// (Difference::noise: reported, not failures); regex rules mask their matches in both texts
// before comparing. Each rule applies within its scope.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"
#include "replay/correlation.h"
#include "replay/rules.h"
#include "replay/socket_event.h"
#include "storage/model.h"

namespace wa::replay {

enum class DiffKind : uint8_t {
  status,      // path "status"
  header,      // path "header <name>"
  body,        // a text or binary body: path "body" or "body line N, column C"
  json,        // a JSON body or event arguments: path is a JSON pointer ("" for the whole)
  missing,     // an expected event that never came
  extra,       // an event nobody expected
  order,       // an event that overtook an earlier one (EventMatcher::Options::strict_order)
  attachment,  // a binary attachment: path "attachment N"
};
const char* diff_kind_name(DiffKind kind);

struct Difference {
  std::string where;  // "POST /login", "event welcome #1 on /"
  std::string scope;  // what noise rule scopes name: "POST /login", "event welcome", "ack"
  DiffKind kind = DiffKind::body;
  std::string path;
  std::string expected;  // what the recording holds, normalised ("(absent)" when it has none)
  std::string actual;    // what the live server sent, normalised
  bool noise = false;    // covered by a noise rule: not a failure
  // Why it is noise when no rule says so: "varies between copies" (runner.h, load runs).
  std::string noise_reason;
  // The thing compared that it is about. In a SessionResult (report.h): the index of its row in
  // SessionResult::timeline. From EventMatcher::finish: the index of the expected event
  // (EventMatcher::where(i)). -1: none (an extra event, an A/B comparison).
  int outcome = -1;
};

// The differences that are failures (noise left out).
size_t failure_count(const std::vector<Difference>& differences);

// A readable diff, grouped by where; noise is left out. At most `max` differences are shown,
// then a line says how many more there are.
//   POST /login: status
//     - 303
//     + 500
//   event welcome #1 on /: /0/username
//     - "alice"
//     + "bob"
std::string format_differences(const std::vector<Difference>& differences, size_t max = 20);

// ---- Noise ----------------------------------------------------------------------------------

class NoiseSet {
 public:
  NoiseSet() = default;
  // Compiles the rules' regexes; fails (Errc::setup) as check_noise_rule does.
  static Result<NoiseSet> make(std::vector<NoiseRule> rules);

  const std::vector<NoiseRule>& rules() const { return rules_; }
  bool empty() const { return rules_.empty(); }

  // Whether a header or JSON pointer rule in scope covers the difference.
  bool covers(const Difference& d) const;
  // Whether a header rule in scope names this header.
  bool covers_header(std::string_view scope, std::string_view header) const;
  // The text with every match of every regex rule in scope replaced by kMask.
  std::string mask(std::string_view scope, std::string_view text) const;
  bool masks(std::string_view scope) const;

  static constexpr std::string_view kMask = "(noise)";

 private:
  std::vector<NoiseRule> rules_;
  std::vector<std::shared_ptr<const std::regex>> regexes_;  // by rule; null for non-regex
};

// The placeholders of a set of value pairs: every spelling (replay/spelling.h) of each
// recorded and live value, to be replaced by "⟨value N⟩". Computing them costs more than most
// comparisons, so a caller that compares many things against the same values computes them once
// (spell_values) and passes them in MatchContext::spelled.
struct SpelledValues {
  std::deque<std::string> texts;  // what the replacements point into
  std::vector<Replacement> recorded, live;
};
// The replacements point into `texts` or, for pairs that carry their spellings
// (ValuePair::recorded_spelled, live_spelled), into those: they must outlive the result.
std::shared_ptr<const SpelledValues> spell_values(std::span<const ValuePair> values);
// ValuePair::correlation of a value issued for one response alone (a CSP nonce that the page
// repeats): it reads "⟨response value⟩".
inline constexpr size_t kPerResponseValue = static_cast<size_t>(-1);

// What normalisation needs: the correlated values known so far (LiveValues::pairs()), which
// become placeholders "⟨value N⟩" on both sides, and the noise rules. `spelled`, when set, must
// be spell_values(values).
struct MatchContext {
  std::span<const ValuePair> values;
  const NoiseSet* noise = nullptr;
  std::shared_ptr<const SpelledValues> spelled = {};
};

// ---- HTTP -----------------------------------------------------------------------------------

struct HttpMatchOptions {
  // Response headers compared, by name, case-insensitively.
  std::vector<std::string> headers = {"content-type", "location"};
  // Maps a URL of the recording (a recorded Location) to the replay's origins (--target,
  // --map); the text is left as it is when unset.
  std::function<std::string(std::string_view)> map_url;
};

// "GET /api/items": the method and the path without its query; the scope of noise rules.
std::string endpoint_of(const store::Exchange& exchange);
// "GET /api/items?page=2": the method and the request target (cut after 80 characters); what
// the differences of an exchange and its row of the report are called.
std::string where_of(const store::Exchange& exchange);

// The differences between a recorded response and the live response to its replayed request.
// Only the status is compared when the statuses differ (the rest would be noise about a page
// nobody asked for).
std::vector<Difference> compare_response(const store::Exchange& recorded,
                                         const store::Exchange& live, const MatchContext& context,
                                         const HttpMatchOptions& options = {});

// ---- Socket.IO ------------------------------------------------------------------------------

// The identities (replay/socket_event.h identity()) of server events that the recording shows
// arriving as broadcasts: an event delivered to two or more sessions with the same arguments,
// or one named like an event a client emitted before it (a chat echoed to the room).
std::set<std::string> broadcast_kinds(const store::RecordingData& data);

class MatchNormaliser;  // matcher.cpp

struct EventMatchOptions {
  // Report an event that arrived while an earlier expected one (other than a CONNECT reply)
  // had not: off by default, since servers reorder independent emits from run to run.
  bool strict_order = false;
  // Under load: an extra event whose identity is in broadcast_kinds is counted, not failed.
  bool tolerate_broadcasts = false;
  std::set<std::string> broadcast_kinds;
  // Under load, an event of a broadcast kind may be another copy's: one that equals no expected
  // event it may stand for is held instead of being paired provisionally at once (see on_event).
  bool hold_broadcasts = false;
  // The client emits the connection's acks answer (ack_names()): an ack is then called
  // "ack of chat #2 on /" rather than by its id.
  AckNames acks;
};

class EventMatcher {
 public:
  using Options = EventMatchOptions;

  // The recorded server packets of one connection, in recorded order (Script's expectations);
  // transport chatter among them is ignored. The packets must outlive the matcher.
  explicit EventMatcher(const std::vector<const store::SocketPacket*>& expected,
                        Options options = {});
  // Expected events without packets (A/B diffs between two live runs).
  static EventMatcher of_events(std::vector<SocketEvent> expected, Options options = {});

  // Sets Options::tolerate_broadcasts and hold_broadcasts (a load run) before any event came.
  void under_load(bool on) {
    options_.tolerate_broadcasts = on;
    options_.hold_broadcasts = on;
  }

  struct Arrival {
    int expected = -1;   // the expected event it was paired with; -1: none (yet)
    bool exact = false;  // its arguments equal the recorded ones
  };
  // A live event arrived. An exact match takes the earliest equal expected event of its kind;
  // otherwise the event is paired, provisionally, with the earliest expected one of its kind
  // not yet paired, so that whatever waits for that event can go on (the difference is
  // reported by finish()). A later exact arrival takes over a provisional pairing, and the
  // displaced event is paired again or becomes extra: arrived() of other events may change.
  //
  // With hold_broadcasts (load: other copies' broadcasts reach this connection too), an event
  // of a broadcast kind pairs only with expected events it may stand for: not with one gated
  // (gate()) on an action that had not started when it came (`actions_started`: how many of
  // the copy's actions had). One that equals none of them is held, not paired: it is paired
  // provisionally with the earliest waiting expected event of its kind once the connection has
  // moved past that one (an event recorded after it was paired), or by release_held(); until
  // then the connection's own event may come and take the expected one exactly.
  Arrival on_event(const SocketEvent& live, const MatchContext& context,
                   size_t actions_started = SIZE_MAX);
  // Expected event i answers action `action` of the copy (the emit that a broadcast echoes):
  // with hold_broadcasts, a live event that came before that action started is not it.
  void gate(size_t i, int action);
  // Pairs held events provisionally with the waiting expected events of their kind that they
  // may stand for (nothing moved for a while, the connection ended, or it is finishing): a
  // changed event is then reported as a difference rather than as never having come. Returns
  // whether any expected event was paired.
  bool release_held();

  size_t size() const { return expected_.size(); }
  bool arrived(size_t i) const { return expected_[i].live >= 0; }
  bool all_arrived() const { return waiting() == 0; }
  size_t waiting() const;
  const SocketEvent& expected(size_t i) const { return expected_[i].event; }
  // The recorded packet of expected event i (null for matchers built from events).
  const store::SocketPacket* packet(size_t i) const { return expected_[i].packet; }
  const std::string& where(size_t i) const { return expected_[i].where; }

  // The differences: arguments of provisional pairs, expected events that never came, extra
  // events (or, with tolerate_broadcasts, the count of those counted), order; each with the
  // index of the expected event it is about in Difference::outcome (-1 for an extra event).
  // Call when the connection is over or its wait timed out; the context may know more values
  // by then.
  std::vector<Difference> finish(const MatchContext& context) const;
  // Extra events of broadcast kinds counted, not failed (tolerate_broadcasts); valid after
  // finish().
  size_t broadcasts_counted() const { return broadcasts_counted_; }

 private:
  struct Expected {
    SocketEvent event;
    const store::SocketPacket* packet = nullptr;
    std::string key, where, scope;  // key: identity(event)
    int live = -1;                  // index into live_
    bool exact = false;
    int gate = -1;  // hold_broadcasts: the action it answers (gate())
  };
  EventMatcher() = default;
  void prepare();
  bool equal(const SocketEvent& expected, const SocketEvent& live,
             const MatchNormaliser& normaliser) const;
  void pair_provisionally(int live_index);
  // hold_broadcasts: whether live event k may stand for expected event i; pairs held events with
  // the waiting expected events of a broadcast kind before `limit`.
  bool may_stand_for(size_t i, size_t k) const;
  bool release_before(size_t limit);

  Options options_;
  std::vector<Expected> expected_;
  std::vector<SocketEvent> live_;
  std::vector<int> live_pair_;        // by live index: expected index or -1
  std::vector<size_t> live_started_;  // by live index: the copy's actions started when it came
  std::vector<uint8_t> held_;         // by live index: held, not paired (hold_broadcasts)
  std::vector<Difference> order_;
  std::set<std::string> recovery_;  // namespaces with connection state recovery
  mutable size_t broadcasts_counted_ = 0;
};

// All at once: the differences between the recorded packets of a connection and the live
// events it received, in arrival order.
std::vector<Difference> compare_events(const std::vector<const store::SocketPacket*>& expected,
                                       const std::vector<SocketEvent>& live,
                                       const MatchContext& context, EventMatchOptions options = {});

}  // namespace wa::replay
