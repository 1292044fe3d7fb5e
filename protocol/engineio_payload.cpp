#include "protocol/engineio_payload.h"

#include "protocol/text.h"

namespace wa::eio {
namespace {

Failure malformed(std::string why) {
  return fail(Errc::eio_malformed, std::move(why));
}

constexpr char kSeparator = '\x1e';      // v4: ASCII record separator, never in JSON text
constexpr size_t kMaxLengthDigits = 19;  // keeps a decimal length inside uint64_t

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Adds a decoded packet, or says why it could not be decoded, naming its position.
Result<void> append(std::vector<Packet>& packets, Result<Packet> packet, const Limits& limits) {
  if (!packet) {
    Failure failure = packet.error();
    failure.why = "packet " + std::to_string(packets.size() + 1) + ": " + failure.why;
    return failure;
  }
  if (packets.size() >= limits.max_packets) {
    return fail(Errc::limit, "more packets in one payload than the limit");
  }
  packets.push_back(std::move(packet).value());
  return {};
}

Result<std::vector<Packet>> decode_v4_text(std::string_view body, const Limits& limits) {
  std::vector<Packet> packets;
  if (body.empty()) return packets;
  for (;;) {
    size_t end = body.find(kSeparator);
    auto added = append(packets, decode_packet(Version::v4, body.substr(0, end), limits), limits);
    if (!added) return added.error();
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 1);
  }
  return packets;
}

// engine.io-parser 2 (decodePayload): `<len>:<packet>` where len is the packet's JavaScript
// string length. Zero-length entries are skipped (an empty payload is encoded as `0:`).
Result<std::vector<Packet>> decode_v3_text(std::string_view body, const Limits& limits) {
  std::vector<Packet> packets;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t start = pos;
    uint64_t units = 0;
    while (pos < body.size() && is_digit(body[pos])) {
      if (pos - start == kMaxLengthDigits) return malformed("v3 length prefix is too long");
      units = units * 10 + static_cast<uint64_t>(body[pos] - '0');
      ++pos;
    }
    if (pos == start) return malformed("v3 packet does not start with a decimal length");
    if (pos == body.size()) return malformed("v3 length prefix is not followed by ':'");
    if (body[pos] != ':') return malformed("v3 length prefix is not followed by ':'");
    ++pos;
    if (units == 0) continue;
    // A UTF-16 unit takes at least one UTF-8 byte: a count beyond the remaining bytes cannot
    // fit, whatever the text is. Checked before any scanning or allocation.
    std::string_view rest = body.substr(pos);
    if (units > rest.size()) {
      return malformed("v3 packet length " + std::to_string(units) + " overruns the payload");
    }
    auto bytes = text::utf8_prefix_for_utf16_units(rest, static_cast<size_t>(units));
    if (!bytes) {
      return malformed("v3 packet length " + std::to_string(units) +
                       " (UTF-16 units) overruns the payload or splits a character");
    }
    auto added =
        append(packets, decode_packet(Version::v3, rest.substr(0, *bytes), limits), limits);
    if (!added) return added.error();
    pos += *bytes;
  }
  return packets;
}

// engine.io-parser 2 (decodePayloadAsBinary): 00|01, one byte per length digit, ff, packet.
Result<std::vector<Packet>> decode_v3_binary(std::string_view body, const Limits& limits) {
  std::vector<Packet> packets;
  size_t pos = 0;
  while (pos < body.size()) {
    auto marker = static_cast<unsigned char>(body[pos++]);
    if (marker > 1) return malformed("v3 binary payload packet kind is not 00 or 01");
    size_t start = pos;
    uint64_t length = 0;
    while (pos < body.size() && static_cast<unsigned char>(body[pos]) != 0xff) {
      auto digit = static_cast<unsigned char>(body[pos]);
      if (digit > 9) return malformed("v3 binary payload length digit is not 0-9");
      if (pos - start == kMaxLengthDigits) return malformed("v3 binary length is too long");
      length = length * 10 + digit;
      ++pos;
    }
    if (pos == body.size()) return malformed("v3 binary payload length has no ff terminator");
    if (pos == start) return malformed("v3 binary payload length has no digits");
    ++pos;  // the ff
    if (length > body.size() - pos) {
      return malformed("v3 binary packet length " + std::to_string(length) +
                       " overruns the payload");
    }
    std::string_view content = body.substr(pos, static_cast<size_t>(length));
    pos += content.size();
    if (marker == 0) {
      auto added = append(packets, decode_packet(Version::v3, content, limits), limits);
      if (!added) return added.error();
      continue;
    }
    // A binary packet: the raw type byte, then the bytes (the WebSocket v3 layout).
    auto added = append(packets, decode_ws_message(Version::v3, content, true, limits), limits);
    if (!added) return added.error();
  }
  return packets;
}

// JSONP (engine.io 3 polling-jsonp): `___eio[` digits `](` a JSON.stringify'd string `);`,
// with U+2028 and U+2029 escaped so that the string is also valid JavaScript.
constexpr std::string_view kJsonpHead = "___eio[";
constexpr std::string_view kJsonpFoot = ");";

std::optional<uint32_t> hex_digits(std::string_view s, size_t at, size_t count) {
  if (at + count > s.size()) return std::nullopt;
  uint32_t v = 0;
  for (size_t k = 0; k < count; ++k) {
    int h = text::hex_value(s[at + k]);
    if (h < 0) return std::nullopt;
    v = v * 16 + static_cast<uint32_t>(h);
  }
  return v;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes a double-quoted JavaScript string literal starting at s[0]; sets `end` past the
// closing quote. Escapes of ECMA-262 §12.8.4: \" \' \\ \/ \b \f \n \r \t \v \0 \xHH \uHHHH
// (surrogate pairs joined; a lone surrogate cannot be UTF-8 and fails).
Result<std::string> decode_js_string(std::string_view s, size_t& end) {
  if (s.empty() || s[0] != '"') return malformed("JSONP argument is not a string literal");
  std::string out;
  size_t i = 1;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      end = i + 1;
      return out;
    }
    if (c == '\n' || c == '\r') return malformed("JSONP string literal holds a raw line break");
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= s.size()) break;
    char e = s[i + 1];
    i += 2;
    switch (e) {
      case '"':
        out += '"';
        continue;
      case '\'':
        out += '\'';
        continue;
      case '\\':
        out += '\\';
        continue;
      case '/':
        out += '/';
        continue;
      case 'b':
        out += '\b';
        continue;
      case 'f':
        out += '\f';
        continue;
      case 'n':
        out += '\n';
        continue;
      case 'r':
        out += '\r';
        continue;
      case 't':
        out += '\t';
        continue;
      case 'v':
        out += '\v';
        continue;
      case '0':
        out += '\0';
        continue;
      case 'x': {
        auto v = hex_digits(s, i, 2);
        if (!v) return malformed("JSONP string literal has a bad \\x escape");
        append_utf8(out, *v);
        i += 2;
        continue;
      }
      case 'u': {
        auto v = hex_digits(s, i, 4);
        if (!v) return malformed("JSONP string literal has a bad \\u escape");
        i += 4;
        uint32_t cp = *v;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::optional<uint32_t> low;
          if (i + 1 < s.size() && s[i] == '\\' && s[i + 1] == 'u') low = hex_digits(s, i + 2, 4);
          if (!low || *low < 0xDC00 || *low > 0xDFFF) {
            return malformed("JSONP string literal has a lone surrogate");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00);
          i += 6;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return malformed("JSONP string literal has a lone surrogate");
        }
        append_utf8(out, cp);
        continue;
      }
      default:
        return malformed("JSONP string literal has an unknown escape");
    }
  }
  return malformed("JSONP string literal is not closed");
}

Result<std::vector<Packet>> decode_jsonp(Version version, std::string_view body,
                                         const Limits& limits) {
  body = text::trim(body);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r'))
    body.remove_suffix(1);
  if (body.substr(0, kJsonpHead.size()) != kJsonpHead) {
    return malformed("JSONP payload does not start with ___eio[");
  }
  size_t pos = kJsonpHead.size();
  size_t digits = pos;
  while (pos < body.size() && is_digit(body[pos]))
    ++pos;
  if (pos - digits > 9) return malformed("JSONP callback index is too long");
  if (body.substr(pos, 2) != "](") return malformed("JSONP callback index is not followed by ](");
  pos += 2;
  size_t used = 0;
  auto inner = decode_js_string(body.substr(pos), used);
  if (!inner) return inner.error();
  if (body.substr(pos + used) != kJsonpFoot) return malformed("JSONP payload does not end with );");
  if (version == Version::v4) return decode_v4_text(*inner, limits);
  return decode_v3_text(*inner, limits);
}

// JSON.stringify's escaping, plus U+2028/U+2029 as engine.io 3 does for JavaScript.
std::string js_string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else if (c == 0xE2 && i + 2 < s.size() && s[i + 1] == '\x80' &&
               (s[i + 2] == '\xA8' || s[i + 2] == '\xA9')) {
      out += s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

Result<std::string> encode_v4_text(std::span<const Packet> packets) {
  std::string out;
  for (size_t i = 0; i < packets.size(); ++i) {
    auto text = encode_packet(Version::v4, packets[i]);
    if (!text) return text.error();
    if (text->find(kSeparator) != std::string::npos) {
      return malformed("v4 text packet holds the \\x1e record separator");
    }
    if (i > 0) out += kSeparator;
    out += *text;
  }
  return out;
}

Result<std::string> encode_v3_text(std::span<const Packet> packets) {
  // engine.io-parser 2 spells the empty payload `0:`.
  if (packets.empty()) return std::string("0:");
  std::string out;
  for (const auto& packet : packets) {
    auto text = encode_packet(Version::v3, packet);
    if (!text) return text.error();
    out += std::to_string(*text::utf16_length(*text));  // encode_packet checked the UTF-8
    out += ':';
    out += *text;
  }
  return out;
}

void append_binary_length(std::string& out, size_t length) {
  for (char digit : std::to_string(length))
    out += static_cast<char>(digit - '0');
  out += '\xff';
}

Result<std::string> encode_v3_binary(std::span<const Packet> packets) {
  std::string out;
  for (const auto& packet : packets) {
    auto frame = encode_ws_message(Version::v3, packet);
    if (!frame) return frame.error();
    out += frame->binary ? '\x01' : '\x00';
    append_binary_length(out, frame->payload.size());
    out += frame->payload;
  }
  return out;
}

}  // namespace

const char* payload_format_name(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::text:
      return "text";
    case PayloadFormat::binary:
      return "binary";
    case PayloadFormat::jsonp:
      return "jsonp";
  }
  return "unknown";
}

PayloadFormat sniff_payload(std::string_view body, std::string_view content_type) {
  if (!body.empty()) {
    char c = body[0];
    if (c == '\x00' || c == '\x01') return PayloadFormat::binary;
    if (is_digit(c) || c == 'b') return PayloadFormat::text;
    if (c == '_') return PayloadFormat::jsonp;
  }
  std::string_view media = text::trim(content_type.substr(0, content_type.find(';')));
  if (text::iequals(media, "application/octet-stream")) return PayloadFormat::binary;
  if (text::iequals(media, "text/javascript") || text::iequals(media, "application/javascript")) {
    return PayloadFormat::jsonp;
  }
  return PayloadFormat::text;
}

Result<std::vector<Packet>> decode_payload(Version version, std::string_view body,
                                           std::string_view content_type, const Limits& limits) {
  return decode_payload_as(version, sniff_payload(body, content_type), body, limits);
}

Result<std::vector<Packet>> decode_payload_as(Version version, PayloadFormat format,
                                              std::string_view body, const Limits& limits) {
  if (body.size() > limits.max_payload) {
    return fail(Errc::limit, "polling payload over the payload size limit");
  }
  switch (format) {
    case PayloadFormat::text:
      return version == Version::v4 ? decode_v4_text(body, limits) : decode_v3_text(body, limits);
    case PayloadFormat::binary:
      if (version == Version::v4) return malformed("v4 has no binary polling payload");
      return decode_v3_binary(body, limits);
    case PayloadFormat::jsonp:
      return decode_jsonp(version, body, limits);
  }
  return malformed("unknown payload format");
}

Result<std::string> encode_payload(Version version, std::span<const Packet> packets,
                                   PayloadFormat format, uint32_t jsonp_index) {
  switch (format) {
    case PayloadFormat::text:
      return version == Version::v4 ? encode_v4_text(packets) : encode_v3_text(packets);
    case PayloadFormat::binary:
      if (version == Version::v4) return malformed("v4 has no binary polling payload");
      return encode_v3_binary(packets);
    case PayloadFormat::jsonp: {
      auto inner = version == Version::v4 ? encode_v4_text(packets) : encode_v3_text(packets);
      if (!inner) return inner.error();
      return std::string(kJsonpHead) + std::to_string(jsonp_index) + "](" + js_string(*inner) +
             std::string(kJsonpFoot);
    }
  }
  return malformed("unknown payload format");
}

PayloadFormat response_format(Version version, std::span<const Packet> packets,
                              bool supports_binary) {
  if (version == Version::v4 || !supports_binary) return PayloadFormat::text;
  for (const auto& packet : packets) {
    if (packet.binary) return PayloadFormat::binary;
  }
  return PayloadFormat::text;
}

const char* payload_content_type(PayloadFormat format) {
  switch (format) {
    case PayloadFormat::text:
      return "text/plain; charset=UTF-8";
    case PayloadFormat::binary:
      return "application/octet-stream";
    case PayloadFormat::jsonp:
      return "text/javascript; charset=UTF-8";
  }
  return "text/plain; charset=UTF-8";
}

}  // namespace wa::eio
