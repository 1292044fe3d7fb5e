#include "replay/secret_book.h"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "protocol/secret_names.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/correlation.h"
#include "replay/spelling.h"

namespace wa::replay {

namespace {

// Words a secret's field may hold that say nothing secret.
constexpr std::array<std::string_view, 16> kCommonWords = {
    "true",    "false",  "null",    "undefined", "websocket", "polling", "bearer", "basic",
    "session", "cookie", "expired", "invalid",   "anonymous", "default", "none",   "secret"};

using Json = nlohmann::json;

std::optional<Json> parse(std::string_view text) {
  std::string_view t = text::trim(text);
  if (t.empty() || (t.front() != '{' && t.front() != '[')) return std::nullopt;
  Json j = Json::parse(t.begin(), t.end(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Every scalar under a credential-like key, at any depth; `all` learns every scalar.
void walk(SecretBook& book, const Json& j, std::string_view key, bool secret,
          std::string_view kind) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      walk(book, it.value(), it.key(), secret || secrets::credential_name(it.key()), kind);
  } else if (j.is_array()) {
    for (const Json& e : j)
      walk(book, e, key, secret, kind);
  } else if (secret) {
    std::string label = std::string(kind) + " " + (key.empty() ? "data" : text::to_lower(key));
    if (j.is_string())
      book.learn(label, j.get<std::string>());
    else if (j.is_number())
      book.learn(label, j.dump());
  }
}

bool is_text_payload(const store::Payload& p) {
  return !p.bytes.empty() && !p.is_unknown();
}

}  // namespace

// ---- The book -------------------------------------------------------------------------------

bool SecretBook::worth_hiding(std::string_view value) {
  if (value.size() < kMinLength) return false;
  std::string l = text::to_lower(value);
  return std::find(kCommonWords.begin(), kCommonWords.end(), l) == kCommonWords.end();
}

bool SecretBook::learn(std::string_view label, std::string_view value) {
  if (!worth_hiding(value) || values_.find(value) != values_.end()) return false;
  int n = ++numbers_[std::string(label)];
  std::string ph = "«" + std::string(label) + " #" + std::to_string(n) + "»";
  values_.emplace(std::string(value), ph);
  for (const SpelledValue& s : spellings(value)) {
    // A spelling that is itself another known value stays that value's.
    if (s.spelling != Spelling::raw && values_.find(s.text) != values_.end()) continue;
    if (s.text.size() < kMinLength) continue;
    known_.push_back({s.text, ph, s.spelling != Spelling::raw});
  }
  std::stable_sort(known_.begin(), known_.end(),
                   [](const Known& a, const Known& b) { return a.text.size() > b.text.size(); });
  return true;
}

std::string SecretBook::placeholder(std::string_view value) const {
  auto it = values_.find(value);
  return it == values_.end() ? std::string() : it->second;
}

std::string SecretBook::redact(std::string_view text) const {
  if (known_.empty() || text.empty()) return std::string(text);
  // Claimed byte ranges of `text`, each with its placeholder; longest values claim first, and
  // a later one may not overlap what is claimed.
  struct Claim {
    size_t at, length;
    const std::string* placeholder;
  };
  std::vector<Claim> claims;
  auto unclaimed = [&](size_t at, size_t length) {
    for (const Claim& c : claims)
      if (at < c.at + c.length && c.at < at + length) return false;
    return true;
  };
  for (const Known& k : known_) {
    for (size_t at = text.find(k.text); at != std::string_view::npos;
         at = text.find(k.text, at + 1)) {
      if (unclaimed(at, k.text.size())) claims.push_back({at, k.text.size(), &k.placeholder});
    }
  }
  // A text cut short: the longest run that agrees with a secret's start, when it reaches the
  // end of the text or an ellipsis.
  for (const Known& k : known_) {
    if (k.spelled || k.text.size() <= kMinPrefix) continue;
    std::string_view head = std::string_view(k.text).substr(0, kMinPrefix);
    for (size_t at = text.find(head); at != std::string_view::npos; at = text.find(head, at + 1)) {
      size_t n = kMinPrefix;
      while (at + n < text.size() && n < k.text.size() && text[at + n] == k.text[n])
        ++n;
      if (unclaimed(at, n)) claims.push_back({at, n, &k.placeholder});
    }
  }
  if (claims.empty()) return std::string(text);
  std::sort(claims.begin(), claims.end(),
            [](const Claim& a, const Claim& b) { return a.at < b.at; });
  std::string out;
  size_t from = 0;
  for (const Claim& c : claims) {
    out.append(text.substr(from, c.at - from));
    out += *c.placeholder;
    from = c.at + c.length;
  }
  out.append(text.substr(from));
  return out;
}

void SecretBook::redact_in_place(std::string& text) const {
  if (!known_.empty()) text = redact(text);
}

// ---- Finding secrets ------------------------------------------------------------------------

void learn_header(SecretBook& book, std::string_view name, std::string_view value) {
  std::string n = text::to_lower(name);
  if (n == "cookie") {
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = text::trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view v = text::trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      book.learn("cookie " + std::string(text::trim(pair.substr(0, eq))), v);
    }
    return;
  }
  if (n == "set-cookie") {
    std::string_view pair = text::trim(value.substr(0, value.find(';')));
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return;
    std::string_view v = text::trim(pair.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    book.learn("cookie " + std::string(text::trim(pair.substr(0, eq))), v);
    return;
  }
  if (!secrets::credential_name(n)) return;
  std::string_view v = text::trim(value);
  // "Bearer abc…", "Basic …": the credential alone, the scheme stays readable.
  size_t space = v.find(' ');
  if (space != std::string_view::npos && space > 0 &&
      v.find(' ', space + 1) == std::string_view::npos)
    v = text::trim(v.substr(space + 1));
  book.learn("header " + n, v);
}

void learn_url(SecretBook& book, std::string_view u) {
  size_t q = u.find('?');
  if (q == std::string_view::npos) return;
  std::string_view query = u.substr(q + 1);
  query = query.substr(0, query.find('#'));
  const url::Query params(query);
  for (const url::Query::Param& p : params.params()) {
    std::string name = p.name();
    if (!secrets::credential_name(name)) continue;
    book.learn("query " + text::to_lower(name), p.value());
    book.learn("query " + text::to_lower(name), p.raw_value);
  }
}

void learn_body(SecretBook& book, std::string_view body) {
  if (auto j = parse(body)) {
    walk(book, *j, "", false, "field");
    return;
  }
  // A form: name=value pairs, nothing else.
  std::string_view t = text::trim(body);
  if (t.empty() || t.find('=') == std::string_view::npos ||
      t.find_first_of(" \n<{") != std::string_view::npos)
    return;
  const url::Query form(t);
  for (const url::Query::Param& p : form.params()) {
    std::string name = p.name();
    if (!secrets::credential_name(name)) continue;
    book.learn("field " + text::to_lower(name), p.value());
    book.learn("field " + text::to_lower(name), p.raw_value);
  }
}

void learn_auth_payload(SecretBook& book, std::string_view json) {
  auto j = parse(json);
  if (!j) return;
  walk(book, *j, "", true, "auth");
}

void learn_recording(SecretBook& book, const store::RecordingData& data) {
  for (const store::Exchange& x : data.exchanges) {
    for (const store::Header& h : x.request_headers)
      learn_header(book, h.name, h.value);
    for (const store::Header& h : x.response_headers)
      learn_header(book, h.name, h.value);
    learn_url(book, x.url);
    if (x.request_encoding.empty() && is_text_payload(x.request_body))
      learn_body(book, x.request_body.bytes);
    if (x.response_encoding.empty() && is_text_payload(x.response_body))
      learn_body(book, x.response_body.bytes);
  }
  for (const store::CookieEvent& c : data.cookies)
    book.learn("cookie " + c.name, c.value);
  for (const store::SocketPacket& p : data.packets) {
    if (p.sio_type == 0 && p.direction == store::Direction::client)
      learn_auth_payload(book, p.args);
    else if (!p.args.empty())
      learn_body(book, p.args);
  }
  for (const store::WsMessage& m : data.ws_messages)
    if (m.opcode == 1 && is_text_payload(m.payload)) learn_body(book, m.payload.bytes);
  for (const store::SseEvent& e : data.sse_events)
    learn_body(book, e.data);
}

std::string correlated_label(const Correlations& correlations, size_t index) {
  const Correlation& c = correlations.list()[index];
  if (!c.rule.empty()) return "correlated " + c.rule;
  for (const Source& s : c.sources) {
    if (s.kind == SourceKind::set_cookie) return "cookie " + s.name;
    if (s.kind == SourceKind::session_sid) return "correlated sid";
    std::string name = s.name;
    if (!s.pointer.empty()) {
      std::string_view p = s.pointer;
      name = std::string(p.substr(p.rfind('/') + 1));
    }
    if (!s.anchor.empty() && s.token >= 0) name = s.anchor;
    if (!name.empty()) return "correlated " + text::to_lower(name);
  }
  return "correlated value";
}

void learn_correlated(SecretBook& book, const Correlations& correlations) {
  for (size_t i = 0; i < correlations.size(); ++i)
    book.learn(correlated_label(correlations, i), correlations.list()[i].value);
}

void learn_session(SecretBook& book, const SessionResult& session) {
  for (const auto& entry : session.secrets)
    book.learn(entry.first, entry.second);
  for (const Difference& d : session.differences) {
    // "header set-cookie", "header authorization", "cookie sid", "/token", "/0/auth/key".
    std::string_view path = d.path;
    std::string_view last = path.substr(
        path.find_last_of(" /") == std::string_view::npos ? 0 : path.find_last_of(" /") + 1);
    std::string label;
    if (path.starts_with("header ") || path.starts_with("cookie ")) {
      std::string_view name = path.substr(7);
      if (text::to_lower(name) == "cookie" || text::to_lower(name) == "set-cookie") {
        learn_header(book, name, d.expected);
        learn_header(book, name, d.actual);
        continue;
      }
      if (path.starts_with("cookie ") || secrets::credential_name(name))
        label = std::string(path.substr(0, 7)) + text::to_lower(name);
    } else if (!last.empty() && secrets::credential_name(last)) {
      label = "field " + text::to_lower(last);
    }
    if (label.empty()) continue;
    for (const std::string* v : {&d.expected, &d.actual}) {
      std::string_view t = text::trim(*v);
      // format_differences' word for none, and the matcher's names for correlated values.
      if (t == "(absent)" || t.starts_with("\"⟨") || t.starts_with("⟨")) continue;
      if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
      book.learn(label, t);
    }
  }
}

void redact_report(RunReport& report, const SecretBook& book) {
  if (book.empty()) return;
  auto r = [&](std::string& s) { book.redact_in_place(s); };
  auto all = [&](std::vector<std::string>& v) {
    for (std::string& s : v)
      r(s);
  };
  r(report.target);
  for (SessionResult& s : report.sessions) {
    all(s.clients);
    for (Outcome& o : s.timeline) {
      r(o.where);
      r(o.expected);
      r(o.actual);
    }
    for (Difference& d : s.differences) {
      r(d.where);
      r(d.scope);
      r(d.path);
      r(d.expected);
      r(d.actual);
    }
    all(s.errors);
    all(s.skipped);
    all(s.warnings);
    s.secrets.clear();
  }
  for (LatencyStats& l : report.latencies)
    r(l.name);
  for (RunReport::Rules& rules : report.rules)
    for (NoiseRule& n : rules.noise) {
      r(n.scope);
      r(n.pattern);
      all(n.evidence);
    }
  for (RunReport::Correlated& c : report.correlated)
    for (RunReport::CorrelatedValue& v : c.values) {
      r(v.value);
      all(v.issued);
      all(v.used);
    }
  all(report.server_output);
}

}  // namespace wa::replay
