#include "replay/correlation.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <unordered_set>

#include "protocol/cookie.h"
#include "protocol/socket_traffic.h"
#include "protocol/socketio09.h"
#include "protocol/sse.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/body.h"
#include "replay/client_values.h"
#include "replay/html_fields.h"
#include "replay/json_diff.h"
#include "replay/report_text.h"

namespace wa::replay {
namespace {

constexpr size_t kMaxStringsPerDocument = 20000;
constexpr size_t kMaxTokenisedText = 2048;
constexpr size_t kMaxSourcesPerValue = 1000;
constexpr size_t kMaxClientValues = 100000;
constexpr size_t kMaxPlacedBody = 16 << 20;  // bodies searched for client values
// A needle's tag: candidate index × kSpellingSlots + spelling.
constexpr uint32_t kSpellingSlots = 16;
static_assert(kSpellingCount <= int(kSpellingSlots));

// Response headers whose values are the server's own business or the connection's, never a
// value the client sends back.
const std::set<std::string, std::less<>> kBoringHeaders = {
    "date",
    "content-length",
    "content-type",
    "content-encoding",
    "content-language",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "server",
    "vary",
    "cache-control",
    "expires",
    "last-modified",
    "age",
    "pragma",
    "accept-ranges",
    "via",
    "alt-svc",
    "strict-transport-security",
    "content-security-policy",
    "content-security-policy-report-only",
    "referrer-policy",
    "permissions-policy",
    "x-content-type-options",
    "x-frame-options",
    "x-xss-protection",
    "x-powered-by",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-expose-headers",
    "access-control-max-age",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
    "timing-allow-origin",
    "server-timing",
    "report-to",
    "nel",
    "upgrade",
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

bool is_separator(char c) {
  return std::strchr(" \t\r\n/?&=;,#:\"'<>()[]{}", c) != nullptr && c != '\0';
}

int64_t response_time(const store::Exchange& x) {
  if (x.first_byte_us) return *x.first_byte_us;
  if (x.ended_us) return *x.ended_us;
  return x.started_us;
}

// The path of a URL, "/" when it has none (or does not parse).
std::string url_path(std::string_view text) {
  auto u = url::parse(text);
  return u && !u->path.empty() ? u->path : "/";
}

std::string exchange_where(const store::Exchange& x) {
  std::string path = x.url;
  if (auto u = url::parse(x.url)) path = u->path.empty() ? "/" : u->path;
  return x.method + " " + text_excerpt(path, 60);
}

// Calls f(value, pointer) for each string (and each integer, as text) in a JSON value, at most
// kMaxStringsPerDocument of them.
template <class F>
void each_scalar(const Json& value, std::string& path, size_t& budget, F& f) {
  if (budget == 0) return;
  if (value.is_string()) {
    --budget;
    f(value.get_ref<const std::string&>(), path);
  } else if (value.is_number_integer()) {
    --budget;
    f(sio::dump_json(value), path);
  } else if (value.is_object()) {
    size_t mark = path.size();
    for (auto it = value.begin(); it != value.end() && budget > 0; ++it) {
      path = pointer_append(path, it.key());
      each_scalar(it.value(), path, budget, f);
      path.resize(mark);
    }
  } else if (value.is_array()) {
    size_t mark = path.size();
    for (size_t i = 0; i < value.size() && budget > 0; ++i) {
      path = pointer_append(path, i);
      each_scalar(value[i], path, budget, f);
      path.resize(mark);
    }
  }
}

struct Candidate {
  std::string value;
  std::vector<Source> sources;
  int rule = -1;  // the first extract rule that gave it
  std::vector<Use> uses;
  size_t use_count = 0;
  bool client_first = false;  // the client sent it before the server issued it
};

// The two passes of correlate(): gather candidates from server output, then find them in
// client traffic.
class Finder {
 public:
  Finder(const store::RecordingData& data, const Rules& rules, const CorrelationOptions& o)
      : data_(data), rules_(rules), o_(o) {
    for (size_t i = 0; i < data.sessions.size(); ++i)
      session_number_[data.sessions[i].id] = i + 1;
  }

  std::vector<Candidate> run() {
    for (const auto& x : data_.exchanges)
      gather_exchange(x);
    for (size_t i = 0; i < data_.sessions.size(); ++i)
      gather_session(data_.sessions[i]);
    for (const auto& p : data_.packets)
      if (p.direction == store::Direction::server) gather_packet(p);
    gather_ws_messages();
    gather_sse_events();
    gather_text_places();
    for (auto& c : candidates_) {
      std::stable_sort(c.sources.begin(), c.sources.end(),
                       [](const Source& a, const Source& b) { return a.time_us < b.time_us; });
    }
    scan_client_traffic();
    return std::move(candidates_);
  }

 private:
  std::string session_where(std::optional<store::Id> id) const {
    if (!id) return "a session";
    auto it = session_number_.find(*id);
    return it == session_number_.end() ? "a session" : "session " + std::to_string(it->second);
  }

  void offer(std::string_view value, const Source& source, int rule = -1) {
    if (value.empty() || value.size() > o_.max_length) return;
    if (rule < 0 && !worth_correlating(value, o_)) return;
    auto it = index_.find(value);
    if (it == index_.end()) {
      if (candidates_.size() >= o_.max_candidates) return;
      it = index_.emplace(std::string(value), candidates_.size()).first;
      candidates_.push_back({std::string(value), {}, -1, {}, 0, false});
    }
    Candidate& c = candidates_[it->second];
    if (rule >= 0 && c.rule < 0) c.rule = rule;
    if (c.sources.size() < kMaxSourcesPerValue) c.sources.push_back(source);
  }

  // A text and, when it is URL-like or has several tokens, each token of it.
  void offer_text(std::string_view text, Source source) {
    offer(text, source);
    if (text.size() > kMaxTokenisedText) return;
    auto tokens = value_tokens(text);
    if (tokens.size() < 2) return;
    for (size_t i = 0; i < tokens.size(); ++i) {
      source.token = int(i);
      source.anchor = i > 0 ? std::string(tokens[i - 1]) : std::string();
      offer(tokens[i], source);
    }
  }

  void offer_json(const Json& doc, const Source& base) {
    std::string path;
    size_t budget = kMaxStringsPerDocument;
    auto f = [&](const std::string& value, const std::string& pointer) {
      Source s = base;
      s.pointer = pointer;
      offer_text(value, s);
    };
    each_scalar(doc, path, budget, f);
  }

  void gather_exchange(const store::Exchange& x) {
    if (!x.has_response()) return;
    Source base;
    base.exchange_id = x.id;
    base.time_us = response_time(x);
    base.where = exchange_where(x);
    std::map<std::string, int> seen;
    for (const auto& h : x.response_headers) {
      std::string name = lower(h.name);
      int occurrence = seen[name]++;
      if (name == "set-cookie") {
        auto cookie = cookie::parse_set_cookie(h.value);
        if (!cookie) continue;
        Source s = base;
        s.kind = SourceKind::set_cookie;
        s.name = cookie->name;
        offer(cookie->value, s);
        continue;
      }
      if (kBoringHeaders.count(name)) continue;
      Source s = base;
      s.kind = SourceKind::response_header;
      s.name = h.name;
      s.occurrence = occurrence;
      offer_text(text::trim(h.value), s);
    }
    for (size_t r = 0; r < rules_.extract.size(); ++r) {
      const ExtractRule& rule = rules_.extract[r];
      if (rule.from == ExtractRule::From::event) continue;
      if (auto v = extract_value(rule, x)) {
        Source s = base;
        s.kind = SourceKind::rule;
        s.name = rule.name;
        s.rule = int(r);
        offer(*v, s, int(r));
      }
    }
    if (x.response_body.bytes.empty()) return;
    auto body = decode_content(x.response_body.bytes, x.response_encoding);
    if (!body) return;
    BodyKind kind = body_kind(header_value(x.response_headers, "content-type"), *body);
    if (kind == BodyKind::json) {
      auto doc = sio::parse_json(*body, Errc::bad_encoding);
      if (!doc) return;
      Source s = base;
      s.kind = SourceKind::json_body;
      offer_json(*doc, s);
    } else if (kind == BodyKind::html) {
      for (const HtmlField& f : html_fields(*body)) {
        Source s = base;
        s.kind = f.kind == HtmlField::Kind::hidden_input ? SourceKind::hidden_input
                                                         : SourceKind::meta_tag;
        s.name = f.name;
        s.occurrence = f.occurrence;
        offer(f.value, s);
      }
    }
  }

  void gather_session(const store::EioSession& session) {
    Source s;
    s.kind = SourceKind::session_sid;
    s.session_id = session.id;
    s.exchange_id = session.handshake_exchange_id.value_or(0);
    s.time_us = session.opened_us;
    s.where = session_where(session.id);
    s.name = session.protocol == store::SocketProtocol::sio09 ? "0.9" : "eio";
    offer(session.sid, s);
  }

  void gather_packet(const store::SocketPacket& p) {
    auto event = event_from_recorded(p);
    if (!event) return;
    Source base;
    base.packet_id = p.id;
    base.session_id = p.session_id.value_or(0);
    base.time_us = p.time_us;
    base.nsp = event->nsp;
    base.where = session_where(p.session_id);
    if (event->kind == EventKind::connect && event->args.is_object()) {
      base.kind = SourceKind::connect_reply;
      for (auto it = event->args.begin(); it != event->args.end(); ++it) {
        if (!it->is_string()) continue;
        Source s = base;
        s.pointer = pointer_append("", it.key());
        offer(it->get_ref<const std::string&>(), s);
      }
    } else if (event->kind == EventKind::event || event->kind == EventKind::ack) {
      base.kind = event->kind == EventKind::event ? SourceKind::event_arg : SourceKind::ack_arg;
      base.name = event->kind == EventKind::event
                      ? event->name
                      : (event->ack_id ? std::to_string(*event->ack_id) : std::string());
      offer_json(event->args, base);
    }
    for (size_t r = 0; r < rules_.extract.size(); ++r) {
      const ExtractRule& rule = rules_.extract[r];
      if (rule.from != ExtractRule::From::event) continue;
      if (auto v = extract_value(rule, *event)) {
        Source s = base;
        s.kind = SourceKind::rule;
        s.name = rule.name;
        s.rule = int(r);
        s.pointer = rule.pointer;
        offer(*v, s, int(r));
      }
    }
  }

  // Server messages of plain WebSockets (Engine.IO ones are read as packets): their JSON.
  void gather_ws_messages() {
    std::map<store::Id, std::string> path_of;  // plain WebSocket upgrades → their path
    for (const auto& x : data_.exchanges) {
      if (x.status != 101 || traffic::Observer::is_socket_request(x.url)) continue;
      path_of[x.id] = url_path(x.url);
    }
    for (const store::WsMessage& m : data_.ws_messages) {
      if (m.direction != store::Direction::server || m.opcode != 1) continue;
      auto upgrade = path_of.find(m.exchange_id);
      if (upgrade == path_of.end()) continue;
      SocketEvent event = event_from_ws(upgrade->second, false, m.payload.bytes);
      if (!event.args.is_object() && !event.args.is_array()) continue;
      Source s;
      s.kind = SourceKind::ws_message;
      s.ws_message_id = m.id;
      s.time_us = m.time_us;
      s.nsp = event.nsp;
      s.name = event.name;
      s.where = "ws " + event.nsp;
      offer_json(event.args, s);
    }
  }

  // Server-Sent Events: their {"data": …, "id": …} (data parsed as JSON when it is).
  void gather_sse_events() {
    if (data_.sse_events.empty()) return;
    std::set<store::Id> streams;
    for (const store::SseEvent& e : data_.sse_events)
      streams.insert(e.exchange_id);
    std::map<store::Id, std::string> path_of;  // streams → their path
    for (const auto& x : data_.exchanges)
      if (streams.count(x.id)) path_of[x.id] = url_path(x.url);
    for (const store::SseEvent& e : data_.sse_events) {
      auto stream = path_of.find(e.exchange_id);
      std::string path = stream == path_of.end() ? "/" : stream->second;
      SocketEvent event = event_from_sse(path, e.event, e.data, e.event_id);
      Source s;
      s.kind = SourceKind::sse_event;
      s.sse_event_id = e.id;
      s.time_us = e.time_us;
      s.nsp = event.nsp;
      s.name = event.name;
      s.where = "sse " + event.nsp;
      offer_json(event.args, s);
    }
  }

  // Values the client sent that an earlier response body holds where no structure locates
  // them: each body's first occurrence, located by the text around it. Values that a body
  // already gave through a structured place (JSON pointer, hidden input, …) keep that place.
  void gather_text_places() {
    std::vector<std::string> values = client_values(data_, kMaxClientValues);
    NeedleSet needles;
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i].size() > o_.max_length) continue;
      for (auto& s : spellings(values[i]))
        needles.add(std::move(s.text), uint32_t(i * kSpellingSlots + size_t(s.spelling)));
    }
    if (needles.size() == 0) return;
    for (const auto& x : data_.exchanges) {
      if (!x.has_response() || x.response_body.bytes.empty() || x.status == 101) continue;
      // Engine.IO polling bodies are read as the packets they carry.
      if (traffic::Observer::is_socket_request(x.url)) continue;
      auto body = decode_content(x.response_body.bytes, x.response_encoding);
      if (!body || body->size() > kMaxPlacedBody) continue;
      std::string_view type = header_value(x.response_headers, "content-type");
      if (sse::is_event_stream(type)) continue;  // read as its events
      BodyKind kind = body_kind(type, *body);
      if (kind == BodyKind::binary || kind == BodyKind::empty) continue;
      std::unordered_set<size_t> found;
      needles.scan(*body, [&](uint32_t tag, size_t offset, size_t length) {
        size_t i = tag / kSpellingSlots;
        if (!found.insert(i).second) return;
        if (auto it = index_.find(values[i]); it != index_.end()) {
          const auto& known = candidates_[it->second].sources;
          if (std::any_of(known.begin(), known.end(),
                          [&](const Source& s) { return s.exchange_id == x.id; }))
            return;
        }
        Source s;
        s.kind = SourceKind::text_place;
        s.exchange_id = x.id;
        s.time_us = response_time(x);
        s.where = exchange_where(x);
        s.place = learn_place(*body, offset, length, Spelling(tag % kSpellingSlots), values[i]);
        offer(values[i], s);
      });
    }
  }

  void scan(const NeedleSet& needles, std::string_view text, const Use& base) {
    needles.scan(text, [&](uint32_t tag, size_t offset, size_t) {
      Candidate& c = candidates_[tag / kSpellingSlots];
      if (base.time_us < c.sources.front().time_us) {
        c.client_first = true;
        return;
      }
      ++c.use_count;
      if (c.uses.size() >= o_.max_uses) return;
      Use u = base;
      u.spelling = Spelling(tag % kSpellingSlots);
      u.offset = offset;
      c.uses.push_back(std::move(u));
    });
  }

  void scan_client_traffic() {
    NeedleSet needles;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      for (auto& s : spellings(candidates_[i].value))
        needles.add(std::move(s.text), uint32_t(i * kSpellingSlots + size_t(s.spelling)));
    }
    if (needles.size() == 0) return;
    // Bodies and messages that carry Socket.IO packets are read as those packets.
    std::unordered_set<store::Id> packet_exchanges, packet_messages;
    for (const auto& p : data_.packets) {
      if (p.direction != store::Direction::client) continue;
      if (p.exchange_id) packet_exchanges.insert(*p.exchange_id);
      if (p.ws_message_id) packet_messages.insert(*p.ws_message_id);
    }
    std::unordered_map<store::Id, const store::Exchange*> exchanges;
    for (const auto& x : data_.exchanges) {
      exchanges[x.id] = &x;
      Use base;
      base.owner = Use::Owner::exchange;
      base.id = x.id;
      base.time_us = x.started_us;
      base.where = exchange_where(x);
      base.part = Part::url;
      scan(needles, x.url, base);
      base.part = Part::header;
      for (const auto& h : x.request_headers) {
        if (text::iequals(h.name, "host") || text::iequals(h.name, "content-length")) continue;
        base.header = h.name;
        scan(needles, h.value, base);
      }
      base.header.clear();
      if (x.request_body.bytes.empty() || packet_exchanges.count(x.id)) continue;
      if (auto body = decode_content(x.request_body.bytes, x.request_encoding)) {
        base.part = Part::body;
        scan(needles, *body, base);
      }
    }
    for (const auto& m : data_.ws_messages) {
      if (m.direction != store::Direction::client || m.opcode != 1) continue;
      if (packet_messages.count(m.id)) continue;
      Use base;
      base.owner = Use::Owner::ws_message;
      base.id = m.id;
      base.part = Part::frame;
      base.time_us = m.time_us;
      auto x = exchanges.find(m.exchange_id);
      base.where = "a WebSocket message on " +
                   (x == exchanges.end() ? std::string("?") : exchange_where(*x->second));
      scan(needles, m.payload.bytes, base);
    }
    for (const auto& p : data_.packets) {
      if (p.direction != store::Direction::client || p.raw.empty()) continue;
      Use base;
      base.owner = Use::Owner::packet;
      base.id = p.id;
      base.part = Part::frame;
      base.time_us = p.time_us;
      base.where = "packet " + text_excerpt(p.raw, 24) + " on " + session_where(p.session_id);
      scan(needles, p.raw, base);
    }
  }

  const store::RecordingData& data_;
  const Rules& rules_;
  const CorrelationOptions& o_;
  std::map<store::Id, size_t> session_number_;
  std::vector<Candidate> candidates_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, size_t, Hash, std::equal_to<>> index_;
};

// A value found inside a longer one is a value of its own only where the client used it on its
// own: an automatic candidate whose every use lies inside a use of a longer candidate loses its
// uses, and so is not correlated ("Ab/cd+Ef==" is one value, not also "Ab" and "cd+Ef"; the
// token of a URL is one where the client sent it alone).
void drop_parts(std::vector<Candidate>& candidates) {
  using Key = std::tuple<Use::Owner, store::Id, Part, std::string>;
  auto key = [](const Use& u) { return Key(u.owner, u.id, u.part, u.header); };
  struct Span {
    size_t begin, end;
  };
  std::map<Key, std::vector<Span>> spans;
  for (const Candidate& c : candidates) {
    if (c.client_first) continue;
    for (const Use& u : c.uses)
      spans[key(u)].push_back({u.offset, u.offset + spell(c.value, u.spelling).size()});
  }
  for (Candidate& c : candidates) {
    if (c.rule >= 0 || c.uses.empty() || c.use_count > c.uses.size()) continue;
    bool inside = std::all_of(c.uses.begin(), c.uses.end(), [&](const Use& u) {
      size_t end = u.offset + spell(c.value, u.spelling).size();
      const auto& around = spans[key(u)];
      return std::any_of(around.begin(), around.end(), [&](const Span& s) {
        return s.begin <= u.offset && end <= s.end && s.end - s.begin > end - u.offset;
      });
    });
    if (inside) c.uses.clear();
  }
}

std::string quoted_excerpt(std::string_view value) {
  std::string shown = value.size() > 12 ? text_excerpt(value, 8) : std::string(value);
  if (shown.size() < value.size() && !shown.ends_with("…")) shown += "…";
  return "'" + shown + "'";
}

}  // namespace

const char* source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::set_cookie:
      return "set_cookie";
    case SourceKind::response_header:
      return "response_header";
    case SourceKind::json_body:
      return "json_body";
    case SourceKind::hidden_input:
      return "hidden_input";
    case SourceKind::meta_tag:
      return "meta_tag";
    case SourceKind::session_sid:
      return "session_sid";
    case SourceKind::connect_reply:
      return "connect_reply";
    case SourceKind::event_arg:
      return "event_arg";
    case SourceKind::ack_arg:
      return "ack_arg";
    case SourceKind::ws_message:
      return "ws_message";
    case SourceKind::rule:
      return "rule";
    case SourceKind::sse_event:
      return "sse_event";
    case SourceKind::text_place:
      return "text_place";
  }
  return "?";
}

std::vector<std::string_view> value_tokens(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_separator(text[i]))
      ++i;
    size_t start = i;
    while (i < text.size() && !is_separator(text[i]))
      ++i;
    if (i > start) tokens.push_back(text.substr(start, i - start));
  }
  return tokens;
}

// A base64 value that happens to begin with '/' (one in 64 do), not a path: only the base64
// alphabet, and a '+' or padding, or a single segment of random-looking case and digits.
bool base64_like(std::string_view v) {
  bool upper = false, lower = false, digit = false, plus = false;
  size_t slashes = 0;
  for (char c : v) {
    if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '+') {
      plus = true;
    } else if (c == '/') {
      ++slashes;
    } else if (c != '=') {
      return false;
    }
  }
  size_t body = v.find_first_of('=');
  if (body != std::string_view::npos && v.find_first_not_of('=', body) != std::string_view::npos)
    return false;  // '=' only as padding at the end
  return plus || body != std::string_view::npos ||
         (slashes == 1 && v.size() >= 16 && upper && lower && digit);
}

bool worth_correlating(std::string_view v, const CorrelationOptions& o) {
  if (v.size() < o.min_length || v.size() > o.max_length) return false;
  size_t digits = 0, others = 0;
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F) return false;  // whitespace, controls: text, not an identifier
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != '-' && c != '.' && c != '+') {
      ++others;
    }
  }
  if (others == 0) return digits >= o.min_number_digits;      // a number
  if (v.find("://") != std::string_view::npos) return false;  // a URL
  if (v[0] == '/' && !base64_like(v)) return false;           // a path
  if (digits == 0 && v.size() <= 24) {
    // Word-like: letters and a little punctuation, with at most two humps ("chatMessage").
    bool word = true;
    int humps = 0;
    for (size_t i = 0; i < v.size() && word; ++i) {
      char c = v[i];
      bool upper = c >= 'A' && c <= 'Z', lowercase = c >= 'a' && c <= 'z';
      if (!upper && !lowercase && !std::strchr("-_./+", c)) word = false;
      if (upper && i > 0 && v[i - 1] >= 'a' && v[i - 1] <= 'z') ++humps;
    }
    if (word && humps <= 2) return false;
  }
  return true;
}

const std::vector<size_t>& Correlations::lookup(const Index& index, store::Id id) {
  static const std::vector<size_t> none;
  auto it = index.find(id);
  return it == index.end() ? none : it->second;
}
const std::vector<size_t>& Correlations::issued_by_exchange(store::Id id) const {
  return lookup(by_exchange_, id);
}
const std::vector<size_t>& Correlations::issued_by_packet(store::Id id) const {
  return lookup(by_packet_, id);
}
const std::vector<size_t>& Correlations::issued_by_ws_message(store::Id id) const {
  return lookup(by_ws_message_, id);
}
const std::vector<size_t>& Correlations::issued_by_sse_event(store::Id id) const {
  return lookup(by_sse_event_, id);
}

const std::vector<size_t>& Correlations::issued_by_session(store::Id id) const {
  return lookup(by_session_, id);
}
const std::vector<size_t>& Correlations::used_by(Use::Owner owner, store::Id id) const {
  switch (owner) {
    case Use::Owner::exchange:
      return lookup(used_exchange_, id);
    case Use::Owner::ws_message:
      return lookup(used_ws_, id);
    case Use::Owner::packet:
      return lookup(used_packet_, id);
  }
  return lookup(used_exchange_, id);
}

Correlations correlate(const store::RecordingData& data, const Rules& rules,
                       const CorrelationOptions& options) {
  Correlations out;
  out.rules_ = rules;
  std::vector<Candidate> candidates = Finder(data, rules, options).run();
  drop_parts(candidates);
  auto add_unique = [](std::vector<size_t>& list, size_t index) {
    if (list.empty() || list.back() != index) list.push_back(index);
  };
  for (Candidate& c : candidates) {
    bool by_rule = c.rule >= 0;
    // A value the client had first is the client's, not the server's (automatic ones only:
    // a rule says what it means).
    if (!by_rule && (c.client_first || c.uses.empty())) continue;
    std::stable_sort(c.uses.begin(), c.uses.end(),
                     [](const Use& a, const Use& b) { return a.time_us < b.time_us; });
    size_t index = out.list_.size();
    Correlation corr;
    corr.value = std::move(c.value);
    corr.sources = std::move(c.sources);
    corr.uses = std::move(c.uses);
    if (by_rule) corr.rule = rules.extract[size_t(c.rule)].name;
    corr.spelled = spellings(corr.value);
    for (const Source& s : corr.sources) {
      if (s.kind == SourceKind::session_sid) add_unique(out.by_session_[s.session_id], index);
      if (s.packet_id) add_unique(out.by_packet_[s.packet_id], index);
      if (s.ws_message_id) add_unique(out.by_ws_message_[s.ws_message_id], index);
      if (s.sse_event_id) add_unique(out.by_sse_event_[s.sse_event_id], index);
      if (s.exchange_id) add_unique(out.by_exchange_[s.exchange_id], index);
    }
    for (const Use& u : corr.uses) {
      auto& by = u.owner == Use::Owner::exchange     ? out.used_exchange_
                 : u.owner == Use::Owner::ws_message ? out.used_ws_
                                                     : out.used_packet_;
      add_unique(by[u.id], index);
    }
    out.list_.push_back(std::move(corr));
    out.use_counts_.push_back(c.use_count);
  }
  return out;
}

std::string describe(const Source& s) {
  std::string part = s.token >= 0 ? "part of " : "";
  switch (s.kind) {
    case SourceKind::set_cookie:
      return "the Set-Cookie " + s.name + " of " + s.where;
    case SourceKind::response_header:
      return part + "the " + s.name + " header of " + s.where;
    case SourceKind::json_body:
      return part + (s.pointer.empty() ? "the JSON body" : s.pointer + " in the JSON body") +
             " of " + s.where;
    case SourceKind::hidden_input:
      return "the hidden input " + s.name + " of " + s.where;
    case SourceKind::meta_tag:
      return "the meta " + s.name + " of " + s.where;
    case SourceKind::session_sid:
      return (s.name == "0.9" ? "the handshake sid of " : "the Engine.IO sid of ") + s.where;
    case SourceKind::connect_reply:
      return "the CONNECT reply " + s.pointer.substr(s.pointer.empty() ? 0 : 1) + " of " + s.where +
             (s.nsp == "/" ? "" : " on " + s.nsp);
    case SourceKind::event_arg:
      return part + s.pointer + " of event " + s.name + " on " + s.where;
    case SourceKind::ack_arg:
      return part + s.pointer + " of ack " + s.name + " on " + s.where;
    case SourceKind::ws_message:
      return part + s.pointer + " of a" + (s.name.empty() ? "" : " " + s.name) + " message on " +
             s.where;
    case SourceKind::rule:
      return "rule " + s.name + " on " + s.where;
    case SourceKind::sse_event:
      return part + s.pointer + " of an SSE event " + s.name + " on " + s.where;
    case SourceKind::text_place: {
      std::string_view left = s.place.left;
      if (left.size() > 24) left = left.substr(left.size() - 24);
      return "the text after \"" + report_text::printable(left) + "\"" +
             (s.place.spelling == Spelling::raw
                  ? std::string()
                  : std::string(" (") + spelling_name(s.place.spelling) + ")") +
             " in " + s.where;
    }
  }
  return s.where;
}

std::string describe(const Use& u) {
  std::string what;
  switch (u.part) {
    case Part::url:
      what = "the URL of " + u.where;
      break;
    case Part::header:
      what = "header " + u.header + " of " + u.where;
      break;
    case Part::body:
      what = "the body of " + u.where;
      break;
    case Part::frame:
      what = u.where;
      break;
  }
  if (u.spelling != Spelling::raw) what += std::string(" (") + spelling_name(u.spelling) + ")";
  return what;
}

std::string explain(const Correlations& correlations, size_t max_places) {
  std::string out;
  const auto& list = correlations.list();
  if (list.empty()) return "no values correlated\n";
  out += std::to_string(list.size()) + (list.size() == 1 ? " value" : " values") + " correlated:\n";
  for (size_t i = 0; i < list.size(); ++i) {
    const Correlation& c = list[i];
    out += "  value " + quoted_excerpt(c.value);
    if (!c.rule.empty()) out += " (rule " + c.rule + ")";
    out += " from " + (c.sources.empty() ? std::string("?") : describe(c.sources.front()));
    // Every other place that issued it, once each (a page served twice names two).
    std::vector<std::string> also;
    for (size_t k = 1; k < c.sources.size(); ++k) {
      std::string d = describe(c.sources[k]);
      if (d != describe(c.sources.front()) && std::find(also.begin(), also.end(), d) == also.end())
        also.push_back(std::move(d));
    }
    for (size_t k = 0; k < also.size() && k < max_places; ++k)
      out += (k ? "; " : " (also from ") + also[k];
    if (also.size() > max_places)
      out += "; and " + std::to_string(also.size() - max_places) + " more";
    if (!also.empty()) out += ")";
    size_t n = correlations.use_count(i);
    if (n == 0) {
      out += " → never sent back\n";
      continue;
    }
    out += " → used in " + std::to_string(n) + (n == 1 ? " place: " : " places: ");
    for (size_t k = 0; k < c.uses.size() && k < max_places; ++k)
      out += (k ? "; " : "") + describe(c.uses[k]);
    if (n > max_places) out += "; and " + std::to_string(n - max_places) + " more";
    out += "\n";
  }
  return out;
}

}  // namespace wa::replay
