#include "protocol/socketio.h"

#include <utility>

#include "protocol/text.h"

namespace wa::sio {
namespace {

Failure malformed(std::string why) {
  return fail(Errc::sio_malformed, std::move(why));
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_binary(PacketType t) {
  return t == PacketType::binary_event || t == PacketType::binary_ack;
}

// Reads a run of decimal digits at text[i] into `out`; false on overflow. The reference
// parsers take digits only (JavaScript's Number() would also take " 1" or "1e1"; no client
// sends those).
bool read_number(std::string_view text, size_t& i, uint64_t& out) {
  out = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    uint64_t digit = uint64_t(text[i] - '0');
    if (out > (UINT64_MAX - digit) / 10) return false;
    out = out * 10 + digit;
  }
  return true;
}

// socket.io-parser's isPayloadValid, per version (see decode() in the header).
const char* shape_problem(PacketType type, const Json& data, int version) {
  const bool v4 = version == 4;
  switch (type) {
    case PacketType::connect:
      if (data.is_object() || (v4 && (data.is_array() || data.is_null()))) return nullptr;
      return "CONNECT payload must be an object";
    case PacketType::disconnect:
      return "DISCONNECT carries no payload";
    case PacketType::connect_error:
      if (data.is_string() || data.is_object() || (v4 && (data.is_array() || data.is_null()))) {
        return nullptr;
      }
      return v4 ? "ERROR payload must be a string or an object"
                : "CONNECT_ERROR payload must be a string or an object";
    case PacketType::event:
    case PacketType::binary_event:
      if (!data.is_array()) return "EVENT payload must be an array";
      if (data.empty() || !(data[0].is_string() || data[0].is_number())) {
        return "EVENT payload must start with the event name";
      }
      return nullptr;
    case PacketType::ack:
    case PacketType::binary_ack:
      return data.is_array() ? nullptr : "ACK payload must be an array";
  }
  return "unknown packet type";
}

bool is_placeholder(const Json& v) {
  if (!v.is_object()) return false;
  auto it = v.find("_placeholder");
  return it != v.end() && it->is_boolean() && it->get<bool>();
}

// Every placeholder must name an attachment that exists, as socket.io-parser's
// reconstructPacket requires ("illegal attachments"). Attachments no placeholder names are
// allowed, as there.
const char* placeholder_problem(const Json& v, size_t attachments) {
  if (is_placeholder(v)) {
    auto num = v.find("num");
    if (num == v.end() || !num->is_number_integer()) return "placeholder without an integer num";
    const bool out_of_range =
        num->is_number_unsigned()
            ? num->get<uint64_t>() >= attachments
            : (num->get<int64_t>() < 0 || uint64_t(num->get<int64_t>()) >= attachments);
    if (out_of_range) {
      return "placeholder num out of range";
    }
    return nullptr;
  }
  if (v.is_array() || v.is_object()) {
    for (const auto& item : v) {
      if (const char* why = placeholder_problem(item, attachments)) return why;
    }
  }
  return nullptr;
}

}  // namespace

const char* type_name(PacketType type, int protocol_version) {
  switch (type) {
    case PacketType::connect:
      return "CONNECT";
    case PacketType::disconnect:
      return "DISCONNECT";
    case PacketType::event:
      return "EVENT";
    case PacketType::ack:
      return "ACK";
    case PacketType::connect_error:
      return protocol_version == 4 ? "ERROR" : "CONNECT_ERROR";
    case PacketType::binary_event:
      return "BINARY_EVENT";
    case PacketType::binary_ack:
      return "BINARY_ACK";
  }
  return "UNKNOWN";
}

Result<Packet> decode(std::string_view text, int protocol_version, const Limits& limits,
                      size_t* attachments_expected) {
  const int version = protocol_version == 4 ? 4 : 5;
  if (attachments_expected) *attachments_expected = 0;
  if (text.empty()) return malformed("empty packet");
  if (text.size() > limits.max_packet_bytes) {
    return fail(Errc::limit, "packet of " + std::to_string(text.size()) + " bytes over the limit");
  }
  if (!wa::text::is_valid_utf8(text)) return malformed("packet is not valid UTF-8");
  if (text[0] < '0' || text[0] > '6') return malformed("unknown packet type");

  Packet p;
  p.type = PacketType(text[0] - '0');
  size_t i = 1;

  if (is_binary(p.type)) {
    uint64_t n = 0;
    size_t start = i;
    if (!read_number(text, i, n) || i == start || i >= text.size() || text[i] != '-') {
      return malformed("illegal attachment count");
    }
    if (n < 1) return malformed("illegal attachment count");
    if (n > limits.max_attachments) {
      return fail(Errc::limit, "packet announces " + std::to_string(n) + " attachments");
    }
    ++i;  // the '-'
    if (attachments_expected) *attachments_expected = size_t(n);
  }

  // The namespace runs from '/' to the first ',' (or to the end: `41/admin` is read so by the
  // reference parsers, though they always write the comma).
  if (i < text.size() && text[i] == '/') {
    size_t end = text.find(',', i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view nsp = text.substr(i, end - i);
    // v4 namespace query: `40/admin?token=adm,` (PROTOCOLS.md §2). socket.io 2 strips it to
    // find the namespace; v5 clients never send one, and a v5 server takes the whole string.
    if (version == 4) {
      if (auto q = nsp.find('?'); q != std::string_view::npos) {
        p.query = std::string(nsp.substr(q + 1));
        nsp = nsp.substr(0, q);
      }
    }
    p.nsp = std::string(nsp);
    i = end < text.size() ? end + 1 : end;
  }

  if (i < text.size() && is_digit(text[i])) {
    uint64_t id = 0;
    if (!read_number(text, i, id)) return malformed("ack id out of range");
    p.id = id;
  }

  if (i < text.size()) {
    auto data = parse_json(text.substr(i), Errc::sio_malformed, limits.max_json_depth);
    if (!data) return data.error();
    if (const char* why = shape_problem(p.type, *data, version)) return malformed(why);
    p.data = std::move(*data);
  }
  return p;
}

Result<Encoded> encode(const Packet& packet) {
  const auto type = static_cast<uint8_t>(packet.type);
  if (type > 6) return malformed("unknown packet type");
  if (!is_binary(packet.type) && !packet.attachments.empty()) {
    return malformed("attachments on a packet that is not BINARY_EVENT or BINARY_ACK");
  }
  if (is_binary(packet.type) && packet.attachments.empty()) {
    return malformed("a binary packet needs at least one attachment");
  }
  const std::string_view nsp = packet.nsp.empty() ? std::string_view("/") : packet.nsp;
  if (nsp[0] != '/' || nsp.find(',') != std::string_view::npos) {
    return malformed("namespace must start with '/' and hold no ','");
  }
  if (packet.query && packet.query->find(',') != std::string::npos) {
    return malformed("namespace query must hold no ','");
  }

  Encoded out;
  out.text.push_back(char('0' + type));
  if (is_binary(packet.type)) {
    out.text += std::to_string(packet.attachments.size());
    out.text.push_back('-');
  }
  if (nsp != "/" || packet.query) {
    out.text += nsp;
    if (packet.query) {
      out.text.push_back('?');
      out.text += *packet.query;
    }
    out.text.push_back(',');
  }
  if (packet.id) out.text += std::to_string(*packet.id);
  if (packet.data) {
    if (is_binary(packet.type)) {
      if (const char* why = placeholder_problem(*packet.data, packet.attachments.size())) {
        return malformed(why);
      }
    }
    std::string json = dump_json(*packet.data);
    if (is_digit(json[0])) return malformed("a numeric payload would read back as an ack id");
    out.text += json;
  }
  out.attachments = packet.attachments;
  return out;
}

Decoder::Decoder(int protocol_version, Limits limits)
    : version_(protocol_version == 4 ? 4 : 5), limits_(limits) {}

Result<std::optional<Packet>> Decoder::feed_text(std::string_view text) {
  if (pending_) {
    size_t missing = attachments_missing();
    pending_.reset();
    return malformed("text packet while " + std::to_string(missing) +
                     " attachment(s) were awaited");
  }
  size_t expected = 0;
  auto packet = decode(text, version_, limits_, &expected);
  if (!packet) return packet.error();
  if (expected == 0) return std::optional<Packet>(std::move(*packet));
  pending_ = std::move(*packet);
  pending_->attachments.reserve(expected);
  expected_ = expected;
  pending_bytes_ = 0;
  return std::optional<Packet>();
}

Result<std::optional<Packet>> Decoder::feed_binary(std::string_view bytes) {
  if (!pending_) return malformed("binary message with no packet awaiting attachments");
  if (bytes.size() > limits_.max_attachment_bytes - pending_bytes_) {
    pending_.reset();
    return fail(Errc::limit,
                "attachments over " + std::to_string(limits_.max_attachment_bytes) + " bytes");
  }
  pending_bytes_ += bytes.size();
  pending_->attachments.emplace_back(bytes);
  if (pending_->attachments.size() < expected_) return std::optional<Packet>();

  Packet done = std::move(*pending_);
  pending_.reset();
  if (done.data) {
    if (const char* why = placeholder_problem(*done.data, done.attachments.size())) {
      return malformed(why);
    }
  }
  return std::optional<Packet>(std::move(done));
}

bool is_event(const Packet& p) {
  return p.type == PacketType::event || p.type == PacketType::binary_event;
}

bool is_ack(const Packet& p) {
  return p.type == PacketType::ack || p.type == PacketType::binary_ack;
}

std::optional<std::string> event_name(const Packet& p) {
  if (!is_event(p) || !p.data || !p.data->is_array() || p.data->empty()) return std::nullopt;
  const Json& first = (*p.data)[0];
  if (!first.is_string()) return std::nullopt;
  return first.get<std::string>();
}

Json event_args(const Packet& p) {
  Json args = Json::array();
  if (!(is_event(p) || is_ack(p)) || !p.data || !p.data->is_array()) return args;
  auto it = p.data->begin();
  if (is_event(p) && event_name(p)) ++it;
  for (; it != p.data->end(); ++it)
    args.push_back(*it);
  return args;
}

Json placeholder(size_t num) {
  Json p = Json::object();
  p["_placeholder"] = true;
  p["num"] = num;
  return p;
}

size_t count_placeholders(const Json& value) {
  if (is_placeholder(value)) return 1;
  size_t n = 0;
  if (value.is_array() || value.is_object()) {
    for (const auto& item : value)
      n += count_placeholders(item);
  }
  return n;
}

Packet make_event(std::string nsp, std::string name, Json args, std::optional<uint64_t> id) {
  Packet p;
  p.nsp = std::move(nsp);
  p.id = id;
  Json data = Json::array();
  data.push_back(std::move(name));
  if (args.is_array()) {
    for (auto& a : args)
      data.push_back(std::move(a));
  } else {
    data.push_back(std::move(args));
  }
  p.type = count_placeholders(data) ? PacketType::binary_event : PacketType::event;
  p.data = std::move(data);
  return p;
}

Packet make_ack(std::string nsp, uint64_t id, Json args) {
  Packet p;
  p.nsp = std::move(nsp);
  p.id = id;
  if (!args.is_array()) {
    Json wrapped = Json::array();
    wrapped.push_back(std::move(args));
    args = std::move(wrapped);
  }
  p.type = count_placeholders(args) ? PacketType::binary_ack : PacketType::ack;
  p.data = std::move(args);
  return p;
}

Packet make_connect(std::string nsp, std::optional<Json> auth) {
  Packet p;
  p.type = PacketType::connect;
  p.nsp = std::move(nsp);
  p.data = std::move(auth);
  return p;
}

std::optional<ConnectReply> connect_reply(const Packet& p) {
  if (p.type != PacketType::connect || !p.data || !p.data->is_object()) return std::nullopt;
  auto sid = p.data->find("sid");
  if (sid == p.data->end() || !sid->is_string()) return std::nullopt;
  ConnectReply reply{sid->get<std::string>(), std::nullopt};
  if (auto pid = p.data->find("pid"); pid != p.data->end() && pid->is_string()) {
    reply.pid = pid->get<std::string>();
  }
  return reply;
}

ConnectError connect_error(const Packet& p, int protocol_version) {
  ConnectError e;
  if (p.type != PacketType::connect_error || !p.data) return e;
  const Json& d = *p.data;
  if (d.is_string()) {
    e.message = d.get<std::string>();
  } else if (d.is_object() && protocol_version != 4) {
    if (auto m = d.find("message"); m != d.end() && m->is_string())
      e.message = m->get<std::string>();
    if (auto x = d.find("data"); x != d.end()) e.data = *x;
  } else {
    e.data = d;
  }
  return e;
}

}  // namespace wa::sio
