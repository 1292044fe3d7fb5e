// Automatic correlation (DESIGN.md, replayer): the values a server issued in a recording that
// the client later sent back, where the live value comes from on replay, and its substitution
// into the requests and messages that follow.
//
// Two halves:
// - correlate() reads a whole recording once and returns Correlations: for each dynamic value,
//   where the server issued it (its sources) and where the client sent it back (its uses).
//   Immutable afterwards; one instance serves every copy of a session replayed at once.
// - LiveValues, one per replayed session copy: the runner reports each live response, live
//   server packet and live Engine.IO session together with the recorded one it corresponds
//   to; LiveValues takes the live value from the same place, and substitute() rewrites the
//   recorded values in an outgoing URL, header, body or frame into their live values, spelled
//   as the recorded text spelled them (replay/spelling.h).
//
// Sources: Set-Cookie values; response header values (whole, and the tokens of a URL-like
// value such as a Location); string values in JSON bodies by JSON pointer (and the tokens of
// URL-like ones); HTML hidden inputs and meta tags; the Engine.IO sid (the open packet) and the
// Socket.IO 0.9 handshake sid; the Socket.IO v5 CONNECT reply's sid and pid; strings in the
// arguments of server events and acks, by JSON pointer; the JSON of plain WebSocket messages and
// of Server-Sent Events (`/data/token`); and the explicit extract rules of a rules file
// (replay/rules.h). Found by value, everywhere else: a value the client sent
// (replay/client_values.h) that an earlier response body of any text type holds — an inline
// script, a JSON blob in a page, CSS, JavaScript, plain text — in any spelling (HTML character
// references, escape(), JSON escapes, percent-encoding) is located there by the text around it
// (replay/text_place.h), and its live value is read from the same place.
//
// A value is one value, however many '/', '+' or '=' it holds: the tokens of a text are only
// candidates where the client used them on their own, not only as parts of the whole.
//
// Uses: every later client URL, request header (the Host header excepted: origin mapping owns
// it), request body, WebSocket message and Socket.IO packet in which the value recurs as a
// whole token (raw, URL-encoded, form-encoded or inside a JSON string). Polling bodies and
// WebSocket messages that carry Socket.IO packets are read as those packets, once.
//
// What is not correlated (automatic sources only; a rule's value always is): values under
// `min_length` bytes, with whitespace, pure numbers of fewer than `min_number_digits` digits,
// word-like values (letters and -_. only, no digits, at most 24 bytes, at most two lower→upper
// case changes: "websocket", "chatMessage", "HELLO"), paths and URLs as a whole (their tokens
// are candidates instead), and values the client sent before the server first issued them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "replay/rules.h"
#include "replay/socket_event.h"
#include "replay/spelling.h"
#include "replay/text_place.h"
#include "storage/model.h"
#include "storage/reader.h"

namespace wa::replay {

enum class SourceKind : uint8_t {
  set_cookie,       // the cookie `name` set by a response
  response_header,  // the response header `name` (its `occurrence`-th field of that name)
  json_body,        // the value at `pointer` in a JSON response body
  hidden_input,     // the hidden input `name` of an HTML page (`occurrence`-th of that name)
  meta_tag,         // the meta tag `name` of an HTML page (`occurrence`-th of that name)
  session_sid,      // the Engine.IO sid of session `session_id` (0.9: the handshake sid)
  connect_reply,    // `pointer` ("/sid", "/pid") of a Socket.IO CONNECT reply on `nsp`
  event_arg,        // `pointer` into the arguments of the server event `name` on `nsp`
  ack_arg,          // `pointer` into the arguments of a server ack on `nsp`
  ws_message,       // `pointer` into the JSON of a plain WebSocket server message on `nsp`
  rule,             // extract rule number `rule` of the rules file, named `name`
  sse_event,   // `pointer` into {"data": …, "id": …} of a Server-Sent Event on stream `nsp`
  text_place,  // `place` in a response body that no structure locates (text_place.h)
};
const char* source_kind_name(SourceKind kind);

// Where the server issued a value: which recorded exchange, packet or session, and which place
// in it. When `token` >= 0 the value is one token of the text found there (replay/spelling.h
// explains tokens: "/room/abc123?x=1" has the tokens room, abc123, x, 1); `anchor` is the
// token before it ("room"), so that the live value is found even if tokens were added before.
struct Source {
  SourceKind kind = SourceKind::set_cookie;
  store::Id exchange_id = 0;    // HTTP sources; a 0.9 session's handshake exchange
  store::Id packet_id = 0;      // connect_reply, event_arg, ack_arg, event rules
  store::Id ws_message_id = 0;  // ws_message
  store::Id sse_event_id = 0;   // sse_event
  store::Id session_id = 0;     // session_sid; the session of a packet source
  std::string name;
  std::string pointer;
  std::string nsp;
  int occurrence = 0;
  int token = -1;
  std::string anchor;
  int rule = -1;
  TextPlace place;      // text_place: the text around the value, its spelling and shape
  int64_t time_us = 0;  // when the server issued it (the response's first byte, the packet)
  std::string where;    // "POST /login", "session 2": the recorded thing, for people
};

// Where the client sent a value back.
struct Use {
  enum class Owner : uint8_t { exchange, ws_message, packet } owner = Owner::exchange;
  store::Id id = 0;  // of the exchange, WebSocket message or packet
  Part part = Part::body;
  std::string header;  // Part::header: the header's name as recorded
  Spelling spelling = Spelling::raw;
  size_t offset = 0;  // in the text of that part
  int64_t time_us = 0;
  std::string where;
};

struct Correlation {
  std::string value;                  // as the server issued it
  std::vector<Source> sources;        // where it was issued, earliest first
  std::vector<Use> uses;              // where it was sent back, in recorded order
  std::string rule;                   // the extract rule's name; "" when found automatically
  std::vector<SpelledValue> spelled;  // spellings(value)
};

struct CorrelationOptions {
  size_t min_length = 6;
  size_t min_number_digits = 8;
  size_t max_length = 8192;        // longer values are not correlated
  size_t max_candidates = 200000;  // distinct values considered in one recording
  size_t max_uses = 10000;         // uses kept per value (beyond: counted, not kept)
};

class Correlations {
 public:
  const std::vector<Correlation>& list() const { return list_; }
  const Rules& rules() const { return rules_; }
  bool empty() const { return list_.empty(); }
  size_t size() const { return list_.size(); }

  // Indices into list() of the values issued by a recorded exchange, packet or session, and of
  // the values used by a recorded exchange, WebSocket message or packet.
  const std::vector<size_t>& issued_by_exchange(store::Id id) const;
  const std::vector<size_t>& issued_by_packet(store::Id id) const;
  const std::vector<size_t>& issued_by_ws_message(store::Id id) const;
  const std::vector<size_t>& issued_by_sse_event(store::Id id) const;
  const std::vector<size_t>& issued_by_session(store::Id id) const;
  const std::vector<size_t>& used_by(Use::Owner owner, store::Id id) const;

  // Total uses found, including those beyond CorrelationOptions::max_uses.
  size_t use_count(size_t correlation) const { return use_counts_[correlation]; }

 private:
  friend Correlations correlate(const store::RecordingData&, const Rules&,
                                const CorrelationOptions&);
  using Index = std::unordered_map<store::Id, std::vector<size_t>>;
  static const std::vector<size_t>& lookup(const Index& index, store::Id id);

  std::vector<Correlation> list_;
  std::vector<size_t> use_counts_;
  Rules rules_;
  Index by_exchange_, by_packet_, by_session_, by_ws_message_, by_sse_event_;
  Index used_exchange_, used_ws_, used_packet_;
};

// Finds the correlations of a recording (see the top of this file).
Correlations correlate(const store::RecordingData& data, const Rules& rules = {},
                       const CorrelationOptions& options = {});

// Whether an automatically found value is worth correlating (the filters above).
bool worth_correlating(std::string_view value, const CorrelationOptions& options = {});

// The tokens of a text, as Source::token counts them: runs between the separators
// whitespace / ? & = ; , # : " ' < > ( ) [ ] { }.
std::vector<std::string_view> value_tokens(std::string_view text);

// For --explain: one line per value, e.g.
//   value 'Fjgbg…' from the CONNECT reply sid of session 2 → used in 3 places: …
// naming every place that issued it and every place it was used, up to `max_places` of each.
std::string explain(const Correlations& correlations, size_t max_places = 32);
std::string describe(const Source& source);
std::string describe(const Use& use);

// ---- Replay ---------------------------------------------------------------------------------

// The text being rewritten: which part of what, and, when known, the recorded exchange,
// WebSocket message or packet it was taken from (then only the values used there are tried,
// which is faster; with none given, every value whose live counterpart is known is tried).
struct Place {
  Part part = Part::body;
  std::string_view header;  // Part::header: the header's name
  Use::Owner owner = Use::Owner::exchange;
  store::Id id = 0;  // 0: not known

  Place() = default;
  Place(Part p, std::string_view h = {}) : part(p), header(h) {}
  Place(Part p, std::string_view h, Use::Owner o, store::Id i)
      : part(p), header(h), owner(o), id(i) {}
};

struct ValuePair {
  std::string_view recorded;
  std::string_view live;
  size_t correlation = 0;
  // When known (LiveValues::pairs()), the spellings already made: the recorded value's distinct
  // ones (Correlation::spelled) and the live value's, by Spelling. Null: spelled when needed.
  const std::vector<SpelledValue>* recorded_spelled = nullptr;
  const std::vector<std::string>* live_spelled = nullptr;
};

class LiveValues {
 public:
  // `correlations` must outlive this object.
  explicit LiveValues(const Correlations& correlations);

  // A live response to the replayed request of `recorded`.
  void on_response(const store::Exchange& recorded, const store::Exchange& live);
  // A live server packet that corresponds to the recorded `packet` (the matcher says which).
  void on_packet(const store::SocketPacket& recorded, const SocketEvent& live);
  // What could not be taken faithfully since the last call: a value found at its place in a
  // live body but of another shape than the recorded one (not substituted), one line each.
  std::vector<std::string> take_warnings() { return std::move(warnings_); }
  // A live Server-Sent Event that corresponds to the recorded `event`.
  void on_sse_event(const store::SseEvent& recorded, const SocketEvent& live);
  // A live server message of a plain WebSocket that corresponds to the recorded `message`.
  void on_ws_message(const store::WsMessage& recorded, const SocketEvent& live);
  // The live sid of the session that replays recorded session `session_id` (the live client
  // learns it from the open packet or the 0.9 handshake).
  void on_session(store::Id session_id, std::string_view live_sid);
  // Sets a value's live counterpart directly.
  void set(size_t correlation, std::string live);

  // The live value of a correlation, nullptr while unknown.
  const std::string* live(size_t correlation) const;
  size_t known() const { return known_; }

  // `text` with every recorded value whose live value is known replaced by it, in the same
  // spelling; values not yet seen live are left alone. `count` receives the replacements.
  std::string substitute(std::string_view text, const Place& place, size_t* count = nullptr) const;

  // Every value whose live counterpart is known, for the matcher's placeholders. The views
  // (and the spellings they point to) stay valid until that value's live text changes; learning
  // the same text again leaves them as they are.
  std::vector<ValuePair> pairs() const;

 private:
  void learn(size_t correlation, const Source& source, std::optional<std::string> text);
  void try_substitute(size_t correlation, const Place& place, std::vector<Replacement>& out) const;

  const Correlations* c_;
  std::vector<std::optional<std::string>> live_;
  static constexpr int kSpellings = kSpellingCount;
  std::vector<std::vector<std::string>> live_spelled_;  // every spelling, by Spelling value
  size_t known_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace wa::replay
