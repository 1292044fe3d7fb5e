// Session secrets in what the replayer prints and writes: the reports (replay/report.h) show
// each secret as a stable placeholder, «cookie connect.sid #1», «header authorization #2»,
// «query token #1», «field password #1», «correlated csrf #1», instead of its text.
//
// A SecretBook is learnt first — every value with a label saying what it is — and then
// rewrites texts by value: every occurrence of a secret's text (raw, percent-encoded or
// JSON-escaped), inside longer strings too, becomes its placeholder, longest values first.
// The same value has the same placeholder everywhere; a new value of the same label gets the
// next number, so a recorded value and its live counterpart read "#1" vs "#2". A text cut short
// ("abcdef0123456789…") loses what it holds of a secret too, when that is at least
// kMinPrefix bytes of it.
//
// Values shorter than kMinLength bytes and common words ("true", "websocket", "Bearer") are
// never learnt: replacing them would hide what the reports are for.
//
// The learn_* helpers find the secrets of recorded or live traffic with the shared name rule
// (protocol/secret_names.h): credential-like headers, every cookie value, credential-like URL
// query, form and JSON fields, and the data of Socket.IO CONNECT packets (the auth payload).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "replay/report.h"
#include "storage/model.h"
#include "storage/reader.h"

namespace wa::replay {

class Correlations;

class SecretBook {
 public:
  static constexpr size_t kMinLength = 6;
  static constexpr size_t kMinPrefix = 12;

  // Learns `value` as a secret labelled `label` ("cookie connect.sid"). Returns false when it
  // is not learnt (too short, a common word) or already known (it keeps its first label).
  bool learn(std::string_view label, std::string_view value);
  // Whether this value would be learnt (long enough, not a common word).
  static bool worth_hiding(std::string_view value);

  // The placeholder of a known value ("«cookie sid #2»"), "" when the value is unknown.
  std::string placeholder(std::string_view value) const;
  // `text` with every known value (in any of its spellings) replaced by its placeholder.
  std::string redact(std::string_view text) const;
  void redact_in_place(std::string& text) const;

  size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }

 private:
  struct Known {
    std::string text;         // as it may appear: raw or one of its spellings
    std::string placeholder;  // «label #n»
    bool spelled = false;     // a spelling, not the raw value
  };
  std::map<std::string, std::string, std::less<>> values_;  // raw value → placeholder
  std::map<std::string, int, std::less<>> numbers_;         // label → values numbered so far
  std::vector<Known> known_;                                // longest text first
};

// ---- Finding secrets ------------------------------------------------------------------------

// A header field: every cookie of a Cookie header ("cookie <name>"), the cookie a Set-Cookie
// sets, and the value of a credential-like header ("header <name>", lower case; of a value with
// an auth scheme, "Bearer abc…", the credential alone: the scheme stays readable).
void learn_header(SecretBook& book, std::string_view name, std::string_view value);
// The credential-like query parameters of a URL ("query <name>"), decoded and as sent.
void learn_url(SecretBook& book, std::string_view url);
// A body: JSON (credential-like keys at any depth, "field <key>") or a form
// (name=value&…, "field <name>").
void learn_body(SecretBook& book, std::string_view body);
// The data of a Socket.IO CONNECT packet (its auth payload): every string in it,
// "auth <key>".
void learn_auth_payload(SecretBook& book, std::string_view json);
// Everything of a recording: its requests and responses (headers, URLs, bodies), its cookies,
// its WebSocket messages, Socket.IO packets (the CONNECT data whole) and Server-Sent Events.
void learn_recording(SecretBook& book, const store::RecordingData& data);
// The correlated values of a recording ("correlated <name>", or "cookie <name>" for a
// Set-Cookie source).
void learn_correlated(SecretBook& book, const Correlations& correlations);
// What a finished copy collected (SessionResult::secrets), then the values its differences
// show at credential-like places (a header, cookie or JSON pointer whose name the rule names).
void learn_session(SecretBook& book, const SessionResult& session);

// The label a correlated value is learnt under: "cookie connect.sid", "correlated csrf".
std::string correlated_label(const Correlations& correlations, size_t index);

// Every text of a report (timeline, differences, errors, notes, latency names, rules,
// correlated values, server output, target) redacted.
void redact_report(RunReport& report, const SecretBook& book);

}  // namespace wa::replay
