#include "replay/body.h"

#include <openssl/sha.h>

#include <algorithm>

#include "protocol/content_coding.h"
#include "protocol/text.h"

namespace wa::replay {
namespace {}  // namespace

std::string_view header_value(const store::Headers& headers, std::string_view name) {
  for (const auto& h : headers)
    if (text::iequals(h.name, name)) return h.value;
  return {};
}

std::optional<std::string> decode_content(std::string_view bytes, std::string_view coding,
                                          size_t limit) {
  // Compressed input beyond the limit is not even read: it is bound to decode to more.
  if (bytes.size() > limit) return std::nullopt;
  auto decoded = coding::decode_all(coding, bytes, limit);
  if (!decoded) return std::nullopt;
  return std::move(*decoded);
}

BodyKind body_kind(std::string_view content_type, std::string_view bytes) {
  if (bytes.empty()) return BodyKind::empty;
  std::string type = text::to_lower(text::trim(content_type.substr(0, content_type.find(';'))));
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

// ---- CappedBody ----

store::Payload CappedBody::take() {
  store::Payload p;
  p.full_length = static_cast<std::int64_t>(bytes_.size());
  p.sha256 = bytes_.sha256_hex();
  p.bytes = bytes_.take();
  return p;
}

}  // namespace wa::replay
