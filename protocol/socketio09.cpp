#include "protocol/socketio09.h"

#include <utility>

#include "protocol/text.h"

namespace wa::sio09 {
namespace {

using wa::sio::dump_json;
using wa::sio::parse_json;

// U+FFFD as UTF-8: the xhr-polling frame separator (PROTOCOLS.md §3 gotcha 5).
constexpr std::string_view kMarker = "\xef\xbf\xbd";

Failure malformed(std::string why) {
  return fail(Errc::sio09_malformed, std::move(why));
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// A non-empty run of digits at text[i]; false when there is none or it overflows.
bool read_number(std::string_view text, size_t& i, uint64_t& out) {
  size_t start = i;
  out = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    uint64_t digit = uint64_t(text[i] - '0');
    if (out > (UINT64_MAX - digit) / 10) return false;
    out = out * 10 + digit;
  }
  return i > start;
}

// The whole of `text` as a number, or nullopt.
std::optional<uint64_t> whole_number(std::string_view text) {
  size_t i = 0;
  uint64_t n = 0;
  if (!read_number(text, i, n) || i != text.size()) return std::nullopt;
  return n;
}

std::optional<uint64_t> timeout_field(std::string_view field, bool& ok) {
  if (field.empty()) return std::nullopt;
  auto n = whole_number(field);
  if (!n) ok = false;
  return n;
}

RefusalKind refusal_kind(std::string_view message) {
  if (message == "handshake error") return RefusalKind::handshake_error;
  if (message == "handshake unauthorized") return RefusalKind::unauthorized;
  if (message == "handshake bad origin") return RefusalKind::bad_origin;
  if (message == "Protocol version not supported.") return RefusalKind::protocol_unsupported;
  return RefusalKind::other;
}

// `io.j[<N>](<inner>);` → N and inner; the JSONP wrapper of the 0.9 handshake.
bool split_jsonp(std::string_view body, uint64_t& index, std::string_view& inner) {
  constexpr std::string_view open = "io.j[";
  if (body.substr(0, open.size()) != open) return false;
  size_t i = open.size();
  if (!read_number(body, i, index)) return false;
  if (body.substr(i, 2) != "](") return false;
  i += 2;
  if (body.size() < i + 2 || body.substr(body.size() - 2) != ");") return false;
  inner = body.substr(i, body.size() - 2 - i);
  return true;
}

Result<Json> parse_data_json(const Frame& frame, const Limits& limits, const char* what) {
  if (!frame.data) return malformed(std::string(what) + " frame without data");
  return parse_json(*frame.data, Errc::sio09_malformed, limits.max_json_depth);
}

}  // namespace

const char* type_name(FrameType type) {
  switch (type) {
    case FrameType::disconnect:
      return "disconnect";
    case FrameType::connect:
      return "connect";
    case FrameType::heartbeat:
      return "heartbeat";
    case FrameType::message:
      return "message";
    case FrameType::json:
      return "json";
    case FrameType::event:
      return "event";
    case FrameType::ack:
      return "ack";
    case FrameType::error:
      return "error";
    case FrameType::noop:
      return "noop";
  }
  return "unknown";
}

Result<Frame> decode_frame(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_frame_bytes) {
    return fail(Errc::limit, "frame of " + std::to_string(text.size()) + " bytes over the limit");
  }
  if (!wa::text::is_valid_utf8(text)) return malformed("frame is not valid UTF-8");
  if (text.size() < 2 || text[0] < '0' || text[0] > '8' || text[1] != ':') {
    return malformed("frame does not start with a type 0-8 and ':'");
  }
  Frame f;
  f.type = FrameType(text[0] - '0');
  size_t i = 2;
  if (i < text.size() && is_digit(text[i])) {
    uint64_t id = 0;
    if (!read_number(text, i, id)) return malformed("message id out of range");
    f.id = id;
  }
  if (i < text.size() && text[i] == '+') {
    if (!f.id) return malformed("'+' without a message id");
    f.user_ack = true;
    ++i;
  }
  if (i >= text.size() || text[i] != ':') return malformed("message id must be digits");
  ++i;
  size_t colon = text.find(':', i);
  if (colon == std::string_view::npos) {
    f.endpoint = std::string(text.substr(i));
  } else {
    f.endpoint = std::string(text.substr(i, colon - i));
    f.data = std::string(text.substr(colon + 1));  // may hold further ':' (gotcha 1)
  }
  return f;
}

Result<std::string> encode_frame(const Frame& frame) {
  const auto type = static_cast<uint8_t>(frame.type);
  if (type > 8) return malformed("unknown frame type");
  if (frame.endpoint.find(':') != std::string::npos) return malformed("endpoint holds ':'");
  if (frame.user_ack && !frame.id) return malformed("'+' without a message id");
  std::string out;
  out.push_back(char('0' + type));
  out.push_back(':');
  if (frame.id) out += std::to_string(*frame.id);
  if (frame.user_ack) out.push_back('+');
  out.push_back(':');
  out += frame.endpoint;
  if (frame.data) {
    out.push_back(':');
    out += *frame.data;
  }
  return out;
}

Result<Content> content(const Frame& frame, const Limits& limits) {
  switch (frame.type) {
    case FrameType::disconnect:
      return Content(Disconnect{});
    case FrameType::heartbeat:
      return Content(Heartbeat{});
    case FrameType::noop:
      return Content(Noop{});
    case FrameType::connect: {
      std::string_view q = frame.data ? std::string_view(*frame.data) : std::string_view();
      if (!q.empty() && q[0] == '?') q.remove_prefix(1);
      return Content(Connect{std::string(q)});
    }
    case FrameType::message:
      return Content(Message{frame.data.value_or(std::string())});
    case FrameType::json: {
      auto value = parse_data_json(frame, limits, "JSON");
      if (!value) return value.error();
      return Content(JsonMessage{std::move(*value)});
    }
    case FrameType::event: {
      auto value = parse_data_json(frame, limits, "event");
      if (!value) return value.error();
      if (!value->is_object()) return malformed("event data is not an object");
      auto name = value->find("name");
      if (name == value->end() || !name->is_string()) return malformed("event without a name");
      Event e{name->get<std::string>(), Json::array()};
      if (auto args = value->find("args"); args != value->end()) {
        if (!args->is_array()) return malformed("event args is not an array");
        e.args = std::move(*args);
      }
      return Content(std::move(e));
    }
    case FrameType::ack: {
      // `<id>` or `<id>+<JSON array>` (`6:::1+[…]`, `6:::2`).
      if (!frame.data) return malformed("ack frame without data");
      std::string_view d = *frame.data;
      size_t i = 0;
      Ack a;
      if (!read_number(d, i, a.id)) return malformed("ack without the id it acknowledges");
      if (i < d.size()) {
        if (d[i] != '+') return malformed("ack id must be followed by '+' and arguments");
        auto args = parse_json(d.substr(i + 1), Errc::sio09_malformed, limits.max_json_depth);
        if (!args) return args.error();
        if (!args->is_array()) return malformed("ack arguments are not an array");
        a.args = std::move(*args);
      }
      return Content(std::move(a));
    }
    case FrameType::error: {
      Error e;
      std::string_view d = frame.data ? std::string_view(*frame.data) : std::string_view();
      size_t plus = d.find('+');
      e.reason = std::string(d.substr(0, plus));
      if (plus != std::string_view::npos) e.advice = std::string(d.substr(plus + 1));
      return Content(std::move(e));
    }
  }
  return malformed("unknown frame type");
}

Result<Decoded> decode(std::string_view text, const Limits& limits) {
  auto frame = decode_frame(text, limits);
  if (!frame) return frame.error();
  auto c = content(*frame, limits);
  if (!c) return c.error();
  return Decoded{std::move(*frame), std::move(*c)};
}

Frame make_frame(const Content& c, std::string endpoint, std::optional<uint64_t> id,
                 bool user_ack) {
  Frame f;
  f.type = FrameType(c.index());
  f.endpoint = std::move(endpoint);
  f.id = id;
  f.user_ack = user_ack && id.has_value();
  if (const auto* connect = std::get_if<Connect>(&c)) {
    if (!connect->query.empty()) f.data = "?" + connect->query;
  } else if (const auto* message = std::get_if<Message>(&c)) {
    if (!message->text.empty()) f.data = message->text;
  } else if (const auto* json = std::get_if<JsonMessage>(&c)) {
    f.data = dump_json(json->value);
  } else if (const auto* event = std::get_if<Event>(&c)) {
    Json ev = Json::object();
    ev["name"] = event->name;
    if (event->args.is_array() && !event->args.empty()) ev["args"] = event->args;
    f.data = dump_json(ev);
  } else if (const auto* ack = std::get_if<Ack>(&c)) {
    f.data = std::to_string(ack->id);
    if (ack->args.is_array() && !ack->args.empty()) *f.data += "+" + dump_json(ack->args);
  } else if (const auto* error = std::get_if<Error>(&c)) {
    if (!error->reason.empty() || !error->advice.empty()) {
      f.data = error->reason + (error->advice.empty() ? "" : "+" + error->advice);
    }
  }
  return f;
}

std::optional<Frame> automatic_ack(const Frame& frame) {
  // socket.io 0.9 Transport.onMessage: a heartbeat and a full disconnect are handled before
  // the automatic ack; any other frame with an id and no '+' is acked with its id alone.
  if (!frame.id || frame.user_ack || frame.type == FrameType::heartbeat ||
      (frame.type == FrameType::disconnect && frame.endpoint.empty())) {
    return std::nullopt;
  }
  return make_frame(Ack{*frame.id, Json::array()}, frame.endpoint);
}

const char* error_reason_name(std::string_view index) {
  if (index == "0") return "transport not supported";
  if (index == "1") return "client not handshaken";
  if (index == "2") return "unauthorized";
  return nullptr;
}

const char* error_advice_name(std::string_view index) {
  return index == "0" ? "reconnect" : nullptr;
}

Result<std::vector<std::string>> decode_payload(std::string_view body, const Limits& limits) {
  std::vector<std::string> frames;
  if (body.empty()) return frames;
  if (body.size() > limits.max_frame_bytes) {
    return fail(Errc::limit, "payload of " + std::to_string(body.size()) + " bytes over the limit");
  }
  if (body.substr(0, kMarker.size()) != kMarker) {
    frames.emplace_back(body);  // a single frame is sent bare
    return frames;
  }
  size_t pos = 0;
  while (pos < body.size()) {
    if (body.substr(pos, kMarker.size()) != kMarker) {
      return malformed("payload frame does not end where its length says");
    }
    pos += kMarker.size();
    uint64_t units = 0;
    if (!read_number(body, pos, units) || body.substr(pos, kMarker.size()) != kMarker) {
      return malformed("payload length is not a decimal number between U+FFFD marks");
    }
    pos += kMarker.size();
    // Lengths count UTF-16 code units (JavaScript's string.length): an emoji counts two.
    auto bytes = wa::text::utf8_prefix_for_utf16_units(body.substr(pos), size_t(units));
    if (!bytes) {
      return malformed("payload length " + std::to_string(units) +
                       " does not end on a character boundary (UTF-16 units expected)");
    }
    if (frames.size() >= limits.max_payload_frames) {
      return fail(Errc::limit,
                  "payload over " + std::to_string(limits.max_payload_frames) + " frames");
    }
    frames.emplace_back(body.substr(pos, *bytes));
    pos += *bytes;
  }
  return frames;
}

Result<std::string> encode_payload(const std::vector<std::string>& frames) {
  // A lone frame goes bare, unless reading it back would differ: an empty body is no frame, and
  // a body starting with U+FFFD is read as framed. Real frames are neither.
  if (frames.size() == 1 && !frames[0].empty() &&
      std::string_view(frames[0]).substr(0, kMarker.size()) != kMarker) {
    return frames[0];
  }
  std::string out;
  for (const auto& frame : frames) {
    auto units = wa::text::utf16_length(frame);
    if (!units) return malformed("payload frame is not valid UTF-8");
    out += kMarker;
    out += std::to_string(*units);
    out += kMarker;
    out += frame;
  }
  return out;
}

Result<Handshake> parse_handshake(std::string_view body) {
  Handshake hs;
  std::string unwrapped;
  uint64_t index = 0;
  std::string_view inner;
  if (split_jsonp(body, index, inner)) {
    // `io.j[N]("<sid>:…");`: the handshake as a JSON string literal (JSON.stringify).
    auto literal = parse_json(inner, Errc::sio09_malformed);
    if (!literal) return literal.error();
    if (!literal->is_string()) return malformed("JSONP handshake does not hold a string");
    unwrapped = literal->get<std::string>();
    body = unwrapped;
    hs.jsonp = index;
  } else if (body.substr(0, 5) == "io.j[") {
    return malformed("JSONP handshake is not io.j[N](\"…\");");
  }
  std::string_view fields[4];
  size_t start = 0;
  for (int k = 0; k < 4; ++k) {
    size_t colon = k < 3 ? body.find(':', start) : std::string_view::npos;
    if (k < 3 && colon == std::string_view::npos) {
      return malformed("handshake is not sid:heartbeat:close:transports");
    }
    fields[k] = body.substr(start, colon == std::string_view::npos ? colon : colon - start);
    start = colon + 1;
  }
  if (fields[0].empty()) return malformed("handshake without a session id");
  if (fields[3].find(':') != std::string_view::npos) {
    return malformed("handshake has more than four fields");
  }
  hs.sid = std::string(fields[0]);
  bool ok = true;
  hs.heartbeat_timeout = timeout_field(fields[1], ok);
  hs.close_timeout = timeout_field(fields[2], ok);
  if (!ok) return malformed("handshake timeout is not a number of seconds");
  std::string_view list = fields[3];
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    if (name.empty()) return malformed("handshake lists an empty transport");
    hs.transports.emplace_back(name);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
    if (list.empty()) return malformed("handshake lists an empty transport");
  }
  return hs;
}

std::string encode_handshake(const Handshake& hs) {
  std::string plain = hs.sid + ':';
  if (hs.heartbeat_timeout) plain += std::to_string(*hs.heartbeat_timeout);
  plain += ':';
  if (hs.close_timeout) plain += std::to_string(*hs.close_timeout);
  plain += ':';
  for (size_t i = 0; i < hs.transports.size(); ++i) {
    if (i) plain += ',';
    plain += hs.transports[i];
  }
  if (!hs.jsonp) return plain;
  return "io.j[" + std::to_string(*hs.jsonp) + "](" + dump_json(Json(plain)) + ");";
}

std::optional<Refusal> parse_refusal(int status, std::string_view body) {
  if (status != 200) {
    return Refusal{refusal_kind(body), status, std::string(body)};
  }
  // With ?jsonp=N refusals come as 200 `io.j[N](new Error("<message>"));` (message unescaped).
  uint64_t index = 0;
  std::string_view inner;
  constexpr std::string_view open = "new Error(\"";
  constexpr std::string_view close = "\")";
  if (!split_jsonp(body, index, inner) || inner.substr(0, open.size()) != open ||
      inner.size() < open.size() + close.size() ||
      inner.substr(inner.size() - close.size()) != close) {
    return std::nullopt;
  }
  std::string_view message = inner.substr(open.size(), inner.size() - open.size() - close.size());
  return Refusal{refusal_kind(message), status, std::string(message)};
}

std::optional<Path> parse_path(std::string_view target, std::string_view resource) {
  if (target.substr(0, resource.size()) != resource) return std::nullopt;
  std::string_view rest = target.substr(resource.size());
  Path p;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    p.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  // `/<protocol>[/<transport>[/<sid>]][/]`, every segment non-empty (the 0.9 server's
  // checkRequest pattern).
  if (rest.empty() || rest[0] != '/') return std::nullopt;
  rest.remove_prefix(1);
  std::string_view segments[3];
  size_t count = 0;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty() || count == 3) return std::nullopt;
    segments[count++] = segment;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);  // a trailing '/' leaves rest empty and ends the loop
  }
  if (count == 0) return std::nullopt;
  auto protocol = whole_number(segments[0]);
  if (!protocol) return std::nullopt;
  p.protocol = *protocol;
  p.transport = std::string(segments[1]);
  p.sid = std::string(segments[2]);
  return p;
}

std::string make_path(const Path& path, std::string_view resource) {
  std::string out(resource);
  out += '/';
  out += std::to_string(path.protocol);
  out += '/';
  if (!path.is_handshake()) {
    out += path.transport;
    out += '/';
    out += path.sid;
  }
  if (!path.query.empty()) {
    out += '?';
    out += path.query;
  }
  return out;
}

}  // namespace wa::sio09
