#include "replay/client_values.h"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_set>

#include "protocol/socket_traffic.h"
#include "protocol/socketio_json.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/body.h"
#include "replay/correlation.h"
#include "replay/socket_event.h"

namespace wa::replay {
namespace {

// Headers whose values the browser or the HTTP stack writes, never the application's.
const std::set<std::string, std::less<>> kBrowserHeaders = {
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "upgrade",
    "cache-control",
    "pragma",
    "origin",
    "dnt",
    "priority",
    "te",
    "if-none-match",
    "if-modified-since",
    "upgrade-insecure-requests",
    "keep-alive",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "sec-purpose",
    "purpose",
};

constexpr size_t kMaxScannedBody = 1 << 20;
constexpr size_t kMaxStrings = 20000;

class Collector {
 public:
  explicit Collector(size_t max) : max_(max) {}

  // A value and, when it holds several tokens, each of them.
  void add(std::string_view value) {
    value = text::trim(value);
    put(value);
    if (value.size() > 2048) return;
    auto tokens = value_tokens(value);
    if (tokens.size() < 2) return;
    for (std::string_view t : tokens)
      put(t);
  }

  void add_json(const Json& value, size_t& budget) {
    if (budget == 0) return;
    if (value.is_string()) {
      --budget;
      add(value.get_ref<const std::string&>());
    } else if (value.is_object() || value.is_array()) {
      for (const Json& item : value) {
        add_json(item, budget);
        if (budget == 0) return;
      }
    }
  }

  void add_url(std::string_view text) {
    auto u = url::parse(text);
    if (!u) return;
    std::string_view path = u->path;
    for (size_t start = 0; start < path.size();) {
      size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      if (end > start) add(url::percent_decode_lenient(path.substr(start, end - start)));
      start = end + 1;
    }
    if (u->has_query) add_query(u->query);
  }

  void add_query(std::string_view query) {
    url::Query params(query);
    for (const auto& p : params.params())
      if (p.has_value) add(p.value());
  }

  void add_header(std::string_view name, std::string_view value) {
    std::string lower(name);
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (kBrowserHeaders.count(lower) || lower.starts_with("sec-ch-") ||
        lower.starts_with("sec-fetch-"))
      return;
    if (lower == "referer") return add_url(value);
    if (lower == "cookie") {
      for (size_t start = 0; start < value.size();) {
        size_t end = std::min(value.find(';', start), value.size());
        std::string_view pair = value.substr(start, end - start);
        size_t eq = pair.find('=');
        if (eq != std::string_view::npos) add(pair.substr(eq + 1));
        start = end + 1;
      }
      return;
    }
    // "Bearer <token>", "a=1, b=2": the pieces, and what follows a piece's first '='.
    add(value);
    size_t start = 0;
    while (start < value.size()) {
      size_t end = value.find_first_of(" ,;", start);
      if (end == std::string_view::npos) end = value.size();
      std::string_view piece = value.substr(start, end - start);
      put(piece);
      size_t eq = piece.find('=');
      if (eq != std::string_view::npos && eq > 0) put(piece.substr(eq + 1));
      start = end + 1;
    }
  }

  void add_body(const store::Exchange& x) {
    if (x.request_body.bytes.empty()) return;
    auto body = decode_content(x.request_body.bytes, x.request_encoding);
    if (!body || body->size() > kMaxScannedBody) return;
    std::string type(header_value(x.request_headers, "content-type"));
    for (char& c : type)
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    if (type.starts_with("application/x-www-form-urlencoded")) return add_query(*body);
    if (body_kind(type, *body) == BodyKind::json) {
      if (auto doc = sio::parse_json(*body, Errc::bad_encoding)) {
        size_t budget = kMaxStrings;
        add_json(*doc, budget);
        return;
      }
    }
    if (body_kind(type, *body) == BodyKind::binary) return;
    for (std::string_view t : value_tokens(*body))
      put(t);
  }

  std::vector<std::string> take() { return std::move(out_); }

 private:
  void put(std::string_view v) {
    if (v.empty() || out_.size() >= max_ || !worth_correlating(v)) return;
    if (seen_.insert(std::string(v)).second) out_.emplace_back(v);
  }

  size_t max_;
  std::vector<std::string> out_;
  std::unordered_set<std::string> seen_;
};

}  // namespace

std::vector<std::string> client_values(const store::RecordingData& data, size_t max_values) {
  Collector c(max_values);
  std::unordered_set<store::Id> packet_exchanges, packet_messages;
  for (const auto& p : data.packets) {
    if (p.direction != store::Direction::client) continue;
    if (p.exchange_id) packet_exchanges.insert(*p.exchange_id);
    if (p.ws_message_id) packet_messages.insert(*p.ws_message_id);
  }
  std::unordered_set<store::Id> plain_upgrades;
  for (const auto& x : data.exchanges) {
    c.add_url(x.url);
    for (const auto& h : x.request_headers)
      c.add_header(h.name, h.value);
    if (!packet_exchanges.count(x.id)) c.add_body(x);
    if (x.status == 101 && !traffic::Observer::is_socket_request(x.url))
      plain_upgrades.insert(x.id);
  }
  for (const auto& p : data.packets) {
    if (p.direction != store::Direction::client) continue;
    if (auto event = event_from_recorded(p)) {
      size_t budget = kMaxStrings;
      c.add_json(event->args, budget);
    }
  }
  for (const auto& m : data.ws_messages) {
    if (m.direction != store::Direction::client || m.opcode != 1) continue;
    if (packet_messages.count(m.id) || !plain_upgrades.count(m.exchange_id)) continue;
    if (auto doc = sio::parse_json(m.payload.bytes, Errc::bad_encoding)) {
      size_t budget = kMaxStrings;
      c.add_json(*doc, budget);
    } else {
      c.add(m.payload.bytes);
    }
  }
  return c.take();
}

}  // namespace wa::replay
