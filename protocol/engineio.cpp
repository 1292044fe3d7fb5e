#include "protocol/engineio.h"

#include <exception>
#include <nlohmann/json.hpp>

#include "protocol/text.h"

namespace wa::eio {
namespace {

Failure malformed(std::string why) {
  return fail(Errc::eio_malformed, std::move(why));
}

bool is_type_digit(char c) {
  return c >= '0' && c <= '6';
}

bool valid_type(PacketType type) {
  return static_cast<unsigned>(type) <= 6;
}

char type_digit(PacketType type) {
  return static_cast<char>('0' + static_cast<int>(type));
}

Result<std::string> decode_base64(std::string_view text, const Limits& limits) {
  // Three bytes per four characters: the decoded size is known before decoding.
  if (text.size() / 4 * 3 > limits.max_packet) {
    return fail(Errc::limit, "binary packet over the packet size limit");
  }
  auto bytes = text::base64_decode(text);
  if (!bytes) return malformed("binary packet is not valid base64: " + bytes.error().why);
  if (bytes->size() > limits.max_packet) {
    return fail(Errc::limit, "binary packet over the packet size limit");
  }
  return std::move(bytes).value();
}

// nlohmann's parser is iterative but dump() and the destructor of deep values are not; the
// handshake is a flat object, so anything nested deeper than this is not an open packet.
constexpr size_t kMaxHandshakeBytes = 64 * 1024;
constexpr int kMaxHandshakeDepth = 16;

bool nesting_within(std::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

std::optional<uint64_t> as_count(const nlohmann::ordered_json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return std::nullopt;
}

std::string json_text(const nlohmann::ordered_json& value) {
  // `replace` keeps dump() from throwing on bytes that are not UTF-8 (the parser rejects them,
  // but a Handshake built by a caller may hold anything).
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<Handshake> handshake_from(const nlohmann::ordered_json& doc) {
  if (!doc.is_object()) return malformed("open packet data is not a JSON object");
  Handshake out;
  bool have_sid = false, have_interval = false, have_timeout = false;
  for (const auto& [key, value] : doc.items()) {
    if (key == "sid") {
      if (!value.is_string()) return malformed("open packet sid is not a string");
      out.sid = value.get<std::string>();
      have_sid = true;
    } else if (key == "upgrades") {
      if (!value.is_array()) return malformed("open packet upgrades is not an array");
      out.upgrades.clear();
      for (const auto& name : value) {
        if (!name.is_string()) return malformed("open packet upgrades holds a non-string");
        out.upgrades.push_back(name.get<std::string>());
      }
    } else if (key == "pingInterval" || key == "pingTimeout" || key == "maxPayload") {
      auto n = as_count(value);
      if (!n) return malformed("open packet " + key + " is not a non-negative integer");
      if (key == "pingInterval") {
        out.ping_interval_ms = *n;
        have_interval = true;
      } else if (key == "pingTimeout") {
        out.ping_timeout_ms = *n;
        have_timeout = true;
      } else {
        out.max_payload = *n;
      }
    } else {
      out.extra.emplace_back(key, json_text(value));
    }
  }
  if (!have_sid) return malformed("open packet has no sid");
  if (!have_interval) return malformed("open packet has no pingInterval");
  if (!have_timeout) return malformed("open packet has no pingTimeout");
  return out;
}

// RFC 3986 §2.1 percent-decoding; a `%` not followed by two hex digits is kept as it is.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = text::hex_value(s[i + 1]), lo = text::hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::optional<uint32_t> small_number(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  uint32_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

}  // namespace

const char* packet_type_name(PacketType type) {
  switch (type) {
    case PacketType::open:
      return "open";
    case PacketType::close:
      return "close";
    case PacketType::ping:
      return "ping";
    case PacketType::pong:
      return "pong";
    case PacketType::message:
      return "message";
    case PacketType::upgrade:
      return "upgrade";
    case PacketType::noop:
      return "noop";
  }
  return "unknown";
}

bool is_probe(const Packet& packet) {
  return !packet.binary && packet.data == "probe" &&
         (packet.type == PacketType::ping || packet.type == PacketType::pong);
}

Result<Packet> decode_packet(Version version, std::string_view text, const Limits& limits) {
  if (text.empty()) return malformed("empty packet");
  if (text.size() > limits.max_payload) {
    return fail(Errc::limit, "packet over the payload size limit");
  }
  if (text[0] == 'b') {
    // Base64 binary: v4 `b<base64>` is always a message; v3 `b<type><base64>`.
    Packet packet{PacketType::message, {}, true};
    std::string_view encoded = text.substr(1);
    if (version == Version::v3) {
      if (encoded.empty() || !is_type_digit(encoded[0])) {
        return malformed("v3 base64 packet has no type digit after 'b'");
      }
      packet.type = static_cast<PacketType>(encoded[0] - '0');
      encoded.remove_prefix(1);
    }
    auto bytes = decode_base64(encoded, limits);
    if (!bytes) return bytes.error();
    packet.data = std::move(bytes).value();
    return packet;
  }
  if (!is_type_digit(text[0])) return malformed("packet type is not a digit 0-6");
  std::string_view data = text.substr(1);
  if (data.size() > limits.max_packet) {
    return fail(Errc::limit, "packet over the packet size limit");
  }
  if (!text::is_valid_utf8(data)) return malformed("text packet is not valid UTF-8");
  return Packet{static_cast<PacketType>(text[0] - '0'), std::string(data), false};
}

Result<std::string> encode_packet(Version version, const Packet& packet) {
  if (!valid_type(packet.type)) return malformed("packet type is not 0-6");
  std::string out;
  if (packet.binary) {
    if (version == Version::v4) {
      if (packet.type != PacketType::message) {
        return malformed("v4 binary packets can only be messages");
      }
      out = "b";
    } else {
      out = {'b', type_digit(packet.type)};
    }
    out += text::base64_encode(packet.data);
    return out;
  }
  if (!text::is_valid_utf8(packet.data)) return malformed("text packet is not valid UTF-8");
  out.reserve(packet.data.size() + 1);
  out += type_digit(packet.type);
  out += packet.data;
  return out;
}

Result<Packet> decode_ws_message(Version version, std::string_view payload, bool binary,
                                 const Limits& limits) {
  if (!binary) return decode_packet(version, payload, limits);
  if (payload.size() > limits.max_payload) {
    return fail(Errc::limit, "binary message over the payload size limit");
  }
  Packet packet{PacketType::message, {}, true};
  if (version == Version::v3) {
    // v3 prefixes the raw type byte (04 for message).
    if (payload.empty()) return malformed("v3 binary message has no type byte");
    auto type = static_cast<unsigned char>(payload[0]);
    if (type > 6) return malformed("v3 binary message type byte is not 0-6");
    packet.type = static_cast<PacketType>(type);
    payload.remove_prefix(1);
  }
  if (payload.size() > limits.max_packet) {
    return fail(Errc::limit, "binary packet over the packet size limit");
  }
  packet.data = std::string(payload);
  return packet;
}

Result<WsMessage> encode_ws_message(Version version, const Packet& packet) {
  if (!valid_type(packet.type)) return malformed("packet type is not 0-6");
  if (!packet.binary) {
    auto text = encode_packet(version, packet);
    if (!text) return text.error();
    return WsMessage{std::move(text).value(), false};
  }
  if (version == Version::v4) {
    if (packet.type != PacketType::message) {
      return malformed("v4 binary packets can only be messages");
    }
    return WsMessage{packet.data, true};
  }
  std::string out;
  out.reserve(packet.data.size() + 1);
  out += static_cast<char>(packet.type);
  out += packet.data;
  return WsMessage{std::move(out), true};
}

Result<Handshake> parse_handshake(std::string_view json) {
  if (json.size() > kMaxHandshakeBytes) return fail(Errc::limit, "open packet over 64 KiB");
  if (!nesting_within(json, kMaxHandshakeDepth)) {
    return malformed("open packet JSON is nested too deeply");
  }
  try {
    auto doc = nlohmann::ordered_json::parse(json.begin(), json.end(), nullptr, false);
    if (doc.is_discarded()) return malformed("open packet data is not valid JSON");
    return handshake_from(doc);
  } catch (const std::exception& e) {
    // The type checks above make this unreachable; it keeps the no-throw promise regardless.
    return malformed(std::string("open packet JSON: ") + e.what());
  }
}

std::string encode_handshake(const Handshake& handshake) {
  nlohmann::ordered_json upgrades = nlohmann::ordered_json::array();
  for (const auto& name : handshake.upgrades)
    upgrades.push_back(name);
  std::string out = "{\"sid\":" + json_text(handshake.sid) +
                    ",\"upgrades\":" + json_text(upgrades) +
                    ",\"pingInterval\":" + std::to_string(handshake.ping_interval_ms) +
                    ",\"pingTimeout\":" + std::to_string(handshake.ping_timeout_ms);
  if (handshake.max_payload) out += ",\"maxPayload\":" + std::to_string(*handshake.max_payload);
  for (const auto& [key, value] : handshake.extra) {
    out += "," + json_text(key) + ":" + value;
  }
  out += "}";
  return out;
}

const char* transport_name(Transport transport) {
  return transport == Transport::polling ? "polling" : "websocket";
}

Query parse_query(std::string_view target) {
  if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (auto mark = target.find('?'); mark != std::string_view::npos) {
    target = target.substr(mark + 1);
  } else if (!target.empty() && target[0] == '/') {
    return {};  // a path without a query
  } else if (target.substr(0, target.find('=')).find("://") != std::string_view::npos) {
    return {};  // a URL without a query
  }
  Query query;
  while (!target.empty()) {
    auto amp = target.find('&');
    std::string_view pair = target.substr(0, amp);
    target = amp == std::string_view::npos ? std::string_view{} : target.substr(amp + 1);
    auto eq = pair.find('=');
    std::string name = percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (name == "EIO") {
      query.version = value == "3"   ? std::optional(Version::v3)
                      : value == "4" ? std::optional(Version::v4)
                                     : std::nullopt;
    } else if (name == "transport") {
      query.transport = value == "polling"     ? std::optional(Transport::polling)
                        : value == "websocket" ? std::optional(Transport::websocket)
                                               : std::nullopt;
    } else if (name == "sid") {
      query.sid = std::move(value);
    } else if (name == "b64") {
      // engine.io 3 tests the parameter for truth: any non-empty value turns base64 on.
      query.b64 = !value.empty();
    } else if (name == "j") {
      query.jsonp = small_number(value);
    }
  }
  return query;
}

}  // namespace wa::eio
