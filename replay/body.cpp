#include "replay/body.h"

#include <openssl/sha.h>
#include <zlib.h>

#include "protocol/text.h"

namespace wa::replay {
namespace {

// Inflates with the given window bits (15 + 32: zlib or gzip, detected; -15: raw deflate).
std::optional<std::string> inflate_all(std::string_view bytes, int window_bits, size_t limit) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return std::nullopt;
  std::string out;
  char buffer[16384];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buffer, sizeof buffer - z.avail_out);
    if (out.size() > limit) break;
    // gzip allows several members one after another (RFC 1952 §2.2).
    if (rc == Z_STREAM_END && z.avail_in > 0 && window_bits > 15) {
      if (inflateReset(&z) != Z_OK) break;
      rc = Z_OK;
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;  // truncated input
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || out.size() > limit) return std::nullopt;
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

}  // namespace

std::string_view header_value(const store::Headers& headers, std::string_view name) {
  for (const auto& h : headers)
    if (text::iequals(h.name, name)) return h.value;
  return {};
}

std::optional<std::string> decode_content(std::string_view bytes, std::string_view coding,
                                          size_t limit) {
  std::string c = lower(text::trim(coding));
  if (c.empty() || c == "identity") {
    if (bytes.size() > limit) return std::nullopt;
    return std::string(bytes);
  }
  if (bytes.size() > limit) return std::nullopt;
  if (c == "gzip" || c == "x-gzip") return inflate_all(bytes, 15 + 32, limit);
  if (c == "deflate") {
    // RFC 9110 §8.4.1.2 means the zlib format; some servers send raw deflate anyway.
    if (auto zlib = inflate_all(bytes, 15, limit)) return zlib;
    return inflate_all(bytes, -15, limit);
  }
  return std::nullopt;
}

BodyKind body_kind(std::string_view content_type, std::string_view bytes) {
  if (bytes.empty()) return BodyKind::empty;
  std::string type = lower(text::trim(content_type.substr(0, content_type.find(';'))));
  bool utf8 = text::is_valid_utf8(bytes);
  auto ends_with = [&](std::string_view suffix) {
    return type.size() >= suffix.size() &&
           type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (!type.empty()) {
    BodyKind kind = BodyKind::binary;
    if (type == "application/json" || ends_with("+json") || type == "text/json") {
      kind = BodyKind::json;
    } else if (type == "text/html" || type == "application/xhtml+xml") {
      kind = BodyKind::html;
    } else if (type.starts_with("text/") || type == "application/xml" || ends_with("+xml") ||
               type == "application/javascript" || type == "application/x-www-form-urlencoded") {
      kind = BodyKind::text;
    }
    return kind != BodyKind::binary && !utf8 ? BodyKind::binary : kind;
  }
  if (!utf8 || bytes.find('\0') != std::string_view::npos) return BodyKind::binary;
  return BodyKind::text;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return text::hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace wa::replay
