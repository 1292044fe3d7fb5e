#include "storage/har.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "protocol/secret_names.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "storage/capture_assembler.h"
#include "storage/har_redact.h"
#include "storage/writer.h"

namespace wa::store {
namespace {

using Json = nlohmann::ordered_json;

Json headers_json(const Headers& headers, HarRedactor& secrets) {
  Json out = Json::array();
  for (const auto& h : headers) {
    std::string value = secrets.active() ? secrets.header(h.name, h.value) : h.value;
    out.push_back(Json{{"name", h.name}, {"value", value}});
  }
  return out;
}

std::string header_value(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (text::iequals(h.name, name)) return h.value;
  }
  return {};
}

// Text when the bytes are UTF-8, base64 otherwise (HAR 1.2 content.encoding).
void put_body(Json& content, const Payload& body, HarRedactor& secrets) {
  if (body.is_unknown()) return;  // no text: the body is not known (size -1)
  if (text::is_valid_utf8(body.bytes)) {
    content["text"] = secrets.active() ? secrets.body(body.bytes) : body.bytes;
  } else {
    content["text"] = text::base64_encode(body.bytes);
    content["encoding"] = "base64";
  }
  if (body.truncated()) {
    content["_workalready"] =
        Json{{"truncated", true}, {"fullLength", body.full_length}, {"sha256", body.sha256}};
  }
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double num(const Json& j, const char* key, double fallback = 0) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// A HAR response's body. Browsers leave `content.text` out where they did not keep the body: a
// redirect (whose body the browser never reads), a size with no text, a body too large or
// evicted. That is not an empty body: it is unknown (and a replay does not compare it). Only an
// absent text with a size of 0 on a response that is no redirect is an empty body.
Payload response_body(const Json& resp, int status) {
  if (!resp.contains("content") || !resp["content"].is_object()) return Payload::unknown();
  const Json& content = resp["content"];
  if (!content.contains("text") || !content["text"].is_string()) {
    bool redirect = status >= 300 && status < 400 && status != 304;
    double size = num(content, "size", -1);
    bool empty = size == 0 && !redirect;
    return empty ? Payload::whole("") : Payload::unknown();
  }
  std::string body = content["text"].get<std::string>();
  if (content.value("encoding", "") == "base64") {
    auto decoded = text::base64_decode(body);
    if (decoded) body = std::move(*decoded);
  }
  return Payload::whole(std::move(body));
}

// Playwright's recordHar writes a conditional request that the server answered 304 and the
// browser served from its cache as a 200 holding the cached content, with the 304's header
// fields and a bodySize of 0 (nothing came with it).
bool revalidated_from_cache(const Exchange& x, const Json& resp) {
  bool conditional = false;
  for (const Header& h : x.request_headers)
    conditional = conditional || text::iequals(h.name, "if-none-match") ||
                  text::iequals(h.name, "if-modified-since");
  if (!conditional || x.status != 200 || num(resp, "bodySize", -1) != 0) return false;
  const Json& content = resp.contains("content") ? resp["content"] : Json::object();
  return content.is_object() && num(content, "size", 0) > 0;
}

Headers headers_from(const Json& j) {
  Headers out;
  if (!j.is_array()) return out;
  for (const auto& h : j) {
    if (!h.is_object()) continue;
    std::string name = str(h, "name");
    // HTTP/2 pseudo-headers (:method, :path) are not HTTP/1.1 fields.
    if (name.empty() || name.front() == ':') continue;
    out.push_back(Header{name, str(h, "value")});
  }
  return out;
}

}  // namespace

std::string iso8601(Micros us) {
  std::time_t seconds = std::time_t(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                int((us % 1'000'000) / 1000));
  return buf;
}

std::optional<Micros> parse_iso8601(std::string_view t) {
  int year, month, day, hour, minute, second, consumed = 0;
  std::string s(t);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest = t.substr(size_t(consumed));
  Micros fraction = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    Micros scale = 100'000;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      fraction += (rest.front() - '0') * scale;
      scale /= 10;
      rest.remove_prefix(1);
    }
  }
  long offset = 0;
  if (!rest.empty() && (rest.front() == '+' || rest.front() == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &oh, &om) < 1) {
      return std::nullopt;
    }
    offset = (rest.front() == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
  } else if (!rest.empty() && rest.front() != 'Z') {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t seconds = timegm(&tm);
  return (Micros(seconds) - offset) * 1'000'000 + fraction;
}

nlohmann::ordered_json export_har(const RecordingData& rec, const RedactOptions& redact) {
  std::map<Id, std::vector<const WsMessage*>> messages;
  for (const auto& m : rec.ws_messages)
    messages[m.exchange_id].push_back(&m);
  std::map<Id, std::vector<const CookieEvent*>> cookies;
  for (const auto& c : rec.cookies)
    cookies[c.exchange_id].push_back(&c);
  std::map<Id, const Connection*> connections;
  for (const auto& c : rec.connections)
    connections[c.id] = &c;

  HarRedactor secrets(redact);
  if (secrets.active()) secrets.learn_recording(rec);
  auto text_of = [&](std::string_view t) {
    return secrets.active() ? secrets.by_value(t) : std::string(t);
  };

  Json entries = Json::array();
  for (const auto& x : rec.exchanges) {
    Json request{{"method", x.method},
                 {"url", secrets.active() ? secrets.url_text(x.url) : x.url},
                 {"httpVersion", x.http_version}};
    Json sent = Json::array(), set = Json::array();
    for (const CookieEvent* c : cookies[x.id]) {
      std::string value = secrets.active() ? secrets.cookie_value(c->value) : c->value;
      if (c->kind == CookieKind::sent) {
        sent.push_back(Json{{"name", c->name}, {"value", value}});
      } else {
        Json cookie{{"name", c->name}, {"value", value}};
        if (!c->path.empty()) cookie["path"] = c->path;
        if (!c->domain.empty()) cookie["domain"] = c->domain;
        if (!c->expires.empty()) cookie["expires"] = c->expires;
        cookie["httpOnly"] = c->http_only;
        cookie["secure"] = c->secure;
        if (!c->same_site.empty()) cookie["sameSite"] = c->same_site;
        set.push_back(std::move(cookie));
      }
    }
    request["cookies"] = std::move(sent);
    request["headers"] = headers_json(x.request_headers, secrets);
    Json query = Json::array();
    if (auto u = url::parse(x.url); u && u->has_query) {
      url::Query params(u->query);
      for (const auto& p : params.params()) {
        query.push_back(Json{
            {"name", p.name()},
            {"value", secrets.active() ? secrets.query_value(p.name(), p.value()) : p.value()}});
      }
    }
    request["queryString"] = std::move(query);
    if (x.request_body.full_length > 0) {
      Json post{{"mimeType", header_value(x.request_headers, "content-type")}};
      put_body(post, x.request_body, secrets);
      request["postData"] = std::move(post);
    }
    request["headersSize"] = -1;
    request["bodySize"] = x.request_body.full_length;

    Json content{{"size", x.response_body.full_length},
                 {"mimeType", header_value(x.response_headers, "content-type")}};
    put_body(content, x.response_body, secrets);
    Json response{{"status", x.status},
                  {"statusText", x.reason},
                  {"httpVersion", x.response_version.empty() ? x.http_version : x.response_version},
                  {"cookies", std::move(set)},
                  {"headers", headers_json(x.response_headers, secrets)},
                  {"content", std::move(content)},
                  {"redirectURL", text_of(header_value(x.response_headers, "location"))},
                  {"headersSize", -1},
                  {"bodySize", x.response_body.full_length}};

    Micros end = x.ended_us.value_or(x.started_us);
    Micros first = x.first_byte_us.value_or(end);
    Json entry{{"startedDateTime", iso8601(x.started_us)},
               {"time", double(end - x.started_us) / 1000.0},
               {"request", std::move(request)},
               {"response", std::move(response)},
               {"cache", Json::object()},
               {"timings", Json{{"blocked", -1},
                                {"dns", -1},
                                {"connect", -1},
                                {"ssl", -1},
                                {"send", 0},
                                {"wait", double(first - x.started_us) / 1000.0},
                                {"receive", double(end - first) / 1000.0}}},
               {"connection", std::to_string(x.connection_id)}};
    if (auto c = connections.find(x.connection_id); c != connections.end()) {
      entry["serverIPAddress"] = c->second->server_host;
    }
    if (!x.error.empty()) entry["_error"] = text_of(x.error);
    if (auto m = messages.find(x.id); m != messages.end() || x.status == 101) {
      entry["_resourceType"] = "websocket";
      Json frames = Json::array();
      if (m != messages.end()) {
        for (const WsMessage* msg : m->second) {
          if (msg->opcode != 1 && msg->opcode != 2) continue;
          frames.push_back(
              Json{{"type", msg->direction == Direction::client ? "send" : "receive"},
                   {"time", double(msg->time_us) / 1e6},
                   {"opcode", msg->opcode},
                   {"data", msg->opcode == 1 ? (secrets.active() ? secrets.body(msg->payload.bytes)
                                                                 : msg->payload.bytes)
                                             : text::base64_encode(msg->payload.bytes)}});
        }
      }
      entry["_webSocketMessages"] = std::move(frames);
    }
    entries.push_back(std::move(entry));
  }
  return Json{{"log", Json{{"version", "1.2"},
                           {"creator",
                            Json{{"name", "workalready"}, {"version", rec.recording.tool_version}}},
                           {"comment", rec.recording.name},
                           {"pages", Json::array()},
                           {"entries", std::move(entries)}}}};
}

Result<ImportResult> import_har(std::string_view har_text, const std::string& db_path,
                                const std::string& name) {
  Json doc = Json::parse(har_text, nullptr, false);
  if (doc.is_discarded()) return fail(Errc::setup, "not a HAR file: the text is not JSON");
  if (!doc.is_object() || !doc.contains("log") || !doc["log"].is_object() ||
      !doc["log"].contains("entries") || !doc["log"]["entries"].is_array()) {
    return fail(Errc::setup, "not a HAR file: no log.entries array");
  }
  const Json& entries = doc["log"]["entries"];
  struct Entry {
    const Json* json;
    Micros started;
  };
  std::vector<Entry> ordered;
  for (const auto& e : entries) {
    if (!e.is_object() || !e.contains("request") || !e["request"].is_object()) {
      return fail(Errc::setup, "not a HAR file: an entry has no request");
    }
    auto started = parse_iso8601(str(e, "startedDateTime"));
    if (!started) {
      return fail(Errc::setup,
                  "HAR entry has a bad startedDateTime: '" + str(e, "startedDateTime") + "'");
    }
    ordered.push_back(Entry{&e, *started});
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Entry& a, const Entry& b) { return a.started < b.started; });

  Recording recording;
  recording.name = name;
  recording.mode = "har";
  recording.started_us = ordered.empty() ? 0 : ordered.front().started;
  std::string creator;
  if (doc["log"].contains("creator") && doc["log"]["creator"].is_object()) {
    creator = str(doc["log"]["creator"], "name") + " " + str(doc["log"]["creator"], "version");
  }
  recording.tool_version = creator.empty() ? "HAR" : "HAR from " + creator;
  auto writer = CaptureWriter::open(db_path, recording);
  if (!writer) return writer.error();
  CaptureWriter& w = **writer;
  CaptureAssembler assembler(
      IdSource{[&w] { return w.new_session_id(); }, [&w] { return w.new_packet_id(); },
               [&w] { return w.new_cookie_id(); }},
      CaptureAssembler::Bodies::maybe_decoded);
  ImportResult result;
  result.recording_id = w.recording().id;
  std::map<std::string, Id> connections;
  Micros last = recording.started_us;
  auto push = [&](CaptureEvent event) -> Result<void> {
    auto pushed = w.push(std::move(event));
    if (!pushed) return pushed.error();
    return {};
  };

  for (const Entry& entry : ordered) {
    const Json& e = *entry.json;
    const Json& req = e["request"];
    const Json resp =
        e.contains("response") && e["response"].is_object() ? e["response"] : Json::object();
    Exchange x;
    x.id = w.new_exchange_id();
    x.method = str(req, "method");
    x.url = str(req, "url");
    x.http_version = str(req, "httpVersion").empty() ? "HTTP/1.1" : str(req, "httpVersion");
    x.request_headers = headers_from(req.value("headers", Json::array()));
    if (req.contains("postData") && req["postData"].is_object() &&
        req["postData"].contains("text")) {
      x.request_body = Payload::whole(str(req["postData"], "text"));
    } else if (num(req, "bodySize", 0) > 0) {
      x.request_body = Payload::unknown();  // sent, but the HAR does not hold it
    }
    x.status = int(num(resp, "status"));
    x.reason = str(resp, "statusText");
    x.response_version = str(resp, "httpVersion");
    x.response_headers = headers_from(resp.value("headers", Json::array()));
    x.response_body = response_body(resp, x.status);
    if (revalidated_from_cache(x, resp)) {
      // What went over the wire was a 304; the HAR shows the cached body in its place.
      x.status = 304;
      x.reason = "Not Modified";
      x.response_body = Payload::whole("");
    }
    x.started_us = entry.started;
    double total_ms = num(e, "time", 0);
    x.ended_us = entry.started + Micros(total_ms * 1000);
    if (e.contains("timings") && e["timings"].is_object()) {
      double before = 0;
      for (const char* phase : {"blocked", "dns", "connect", "send", "wait"}) {
        before += std::max(0.0, num(e["timings"], phase, 0));
      }
      x.first_byte_us = entry.started + Micros(before * 1000);
    }
    x.error = str(e, "_error");
    last = std::max(last, *x.ended_us);

    std::string connection_key = str(e, "connection");
    if (connection_key.empty()) connection_key = "entry " + std::to_string(x.id);
    auto [conn, fresh] = connections.emplace(connection_key, 0);
    if (fresh) {
      Connection c;
      c.id = w.new_connection_id();
      c.opened_us = entry.started;
      if (auto u = url::parse(x.url)) {
        c.server_host = u->host;
        c.server_port = u->effective_port();
        c.tls = u->is_tls();
      }
      conn->second = c.id;
      if (auto r = push(std::move(c)); !r) return r.error();
    }
    x.connection_id = conn->second;

    bool websocket = str(e, "_resourceType") == "websocket" || e.contains("_webSocketMessages");
    if (websocket && x.status == 0) x.status = 101;
    std::string request_body = x.request_body.bytes, response_body = x.response_body.bytes;
    auto cookies = assembler.cookies(x);
    auto packets = assembler.exchange(x, request_body, true, response_body, true);
    Id exchange_id = x.id;
    std::string target = x.url;
    if (auto r = push(std::move(x)); !r) return r.error();
    for (auto& c : cookies) {
      if (auto r = push(std::move(c)); !r) return r.error();
    }
    for (auto& p : packets) {
      if (auto r = push(std::move(p)); !r) return r.error();
    }
    ++result.entries;

    if (websocket) {
      assembler.websocket_opened(exchange_id, target);
      const Json frames = e.value("_webSocketMessages", Json::array());
      for (const auto& f : frames) {
        if (!f.is_object()) continue;
        WsMessage m;
        m.id = w.new_ws_message_id();
        m.exchange_id = exchange_id;
        m.direction = str(f, "type") == "send" ? Direction::client : Direction::server;
        m.opcode = int(num(f, "opcode", 1));
        m.time_us = Micros(num(f, "time") * 1e6);
        std::string data = str(f, "data");
        if (m.opcode != 1) {
          if (auto decoded = text::base64_decode(data)) data = std::move(*decoded);
        }
        m.payload = Payload::whole(data);
        last = std::max(last, m.time_us);
        auto decoded = assembler.websocket_message(m, data);
        if (auto r = push(std::move(m)); !r) return r.error();
        for (auto& p : decoded) {
          if (auto r = push(std::move(p)); !r) return r.error();
        }
        ++result.ws_messages;
      }
      for (auto& p : assembler.websocket_closed(exchange_id)) {
        if (auto r = push(std::move(p)); !r) return r.error();
      }
    }
  }
  for (auto& p : assembler.finish()) {
    if (auto r = push(std::move(p)); !r) return r.error();
  }
  result.socket_events = assembler.socket_events();
  if (auto closed = w.close(last); !closed) return closed.error();
  return result;
}

}  // namespace wa::store
