#include "replay/body.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>

#include "protocol/content_coding.h"
#include "protocol/text.h"

namespace wa::replay {
namespace {

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
  // Compressed input beyond the limit is not even read: it is bound to decode to more.
  if (bytes.size() > limit) return std::nullopt;
  auto decoded = coding::decode_all(coding, bytes, limit);
  if (!decoded) return std::nullopt;
  return std::move(*decoded);
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

// ---- CappedBody ----

struct CappedBody::Hasher {
  Hasher() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Hasher() { EVP_MD_CTX_free(ctx); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(std::string_view bytes) { EVP_DigestUpdate(ctx, bytes.data(), bytes.size()); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx, digest, &size);
    return text::hex(std::string_view(reinterpret_cast<const char*>(digest), size));
  }
  EVP_MD_CTX* ctx;
};

CappedBody::CappedBody(size_t cap) : cap_(cap) {}
CappedBody::~CappedBody() = default;
CappedBody::CappedBody(CappedBody&&) noexcept = default;
CappedBody& CappedBody::operator=(CappedBody&&) noexcept = default;

void CappedBody::reserve(uint64_t bytes) {
  kept_.reserve(size_t(std::min<uint64_t>(kept_.size() + bytes, cap_)));
}

void CappedBody::append(std::string_view piece) {
  length_ += piece.size();
  if (hash_) return hash_->update(piece);
  size_t room = cap_ - kept_.size();
  if (piece.size() <= room) {
    // Grown by doubling as usual, but never past the cap: a body just under it holds one buffer
    // of the cap's size, not twice that.
    if (kept_.size() + piece.size() > kept_.capacity())
      kept_.reserve(std::min(cap_, std::max(kept_.size() + piece.size(), kept_.capacity() * 2)));
    kept_.append(piece);
    return;
  }
  // Over the cap from here on: the kept bytes and the first piece's rest start the hash.
  kept_.append(piece.substr(0, room));
  hash_ = std::make_unique<Hasher>();
  hash_->update(kept_);
  hash_->update(piece.substr(room));
}

store::Payload CappedBody::take() {
  store::Payload p;
  p.full_length = static_cast<std::int64_t>(length_);
  if (hash_) p.sha256 = hash_->hex();
  p.bytes = std::move(kept_);
  kept_.clear();
  hash_.reset();
  length_ = 0;
  return p;
}

}  // namespace wa::replay
