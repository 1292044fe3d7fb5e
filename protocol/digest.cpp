#include "protocol/digest.h"

#include <openssl/evp.h>

#include <algorithm>

#include "protocol/text.h"

namespace wa::digest {

struct Sha256::Impl {
  Impl() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Impl() { EVP_MD_CTX_free(ctx); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  EVP_MD_CTX* ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

void Sha256::update(std::string_view bytes) {
  EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
}

std::string Sha256::hex_final() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(impl_->ctx, digest, &length);
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
  return text::hex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

void CappedBytes::append(std::string_view bytes) {
  total_ += bytes.size();
  if (hash_) return hash_->update(bytes);
  size_t room = cap_ > kept_.size() ? cap_ - kept_.size() : 0;
  if (bytes.size() <= room) {
    // Grown by doubling as usual, but never past the cap: a body just under it holds one
    // buffer of the cap's size, not twice that.
    if (kept_.size() + bytes.size() > kept_.capacity()) {
      kept_.reserve(std::min(cap_, std::max(kept_.size() + bytes.size(), kept_.capacity() * 2)));
    }
    kept_.append(bytes);
    return;
  }
  // Being cut: from here on everything is hashed, what was kept first.
  kept_.append(bytes.substr(0, room));
  hash_ = std::make_unique<Sha256>();
  hash_->update(kept_);
  hash_->update(bytes.substr(room));
}

std::string CappedBytes::sha256_hex() {
  if (!hash_) return {};
  std::string hex = hash_->hex_final();
  hash_.reset();
  return hex;
}

std::string CappedBytes::take() {
  std::string kept = std::move(kept_);
  clear();
  return kept;
}

void CappedBytes::reserve(uint64_t expected) {
  kept_.reserve(static_cast<size_t>(std::min<uint64_t>(expected, cap_)));
}

void CappedBytes::clear() {
  kept_.clear();
  total_ = 0;
  hash_.reset();
}

}  // namespace wa::digest
