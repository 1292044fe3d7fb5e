// SHA-256 fed piece by piece, for bodies and messages that are cut: what is kept is a prefix,
// the hash covers the whole.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace wa::digest {

class Sha256 {
 public:
  Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  ~Sha256();

  void update(std::string_view bytes);
  // The digest in lower-case hex; the object starts afresh.
  std::string hex_final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A prefix of at most `cap` bytes kept, the length of the whole counted, and its SHA-256 once
// anything was cut (hashing starts only then, so what fits costs a copy and nothing more).
class CappedBytes {
 public:
  explicit CappedBytes(size_t cap = 0) : cap_(cap) {}
  void set_cap(size_t cap) { cap_ = cap; }
  size_t cap() const { return cap_; }

  void append(std::string_view bytes);
  uint64_t size() const { return total_; }
  bool truncated() const { return total_ > kept_.size(); }
  const std::string& kept() const { return kept_; }
  // The hash of all bytes appended when cut, else "". Call once, at the end, before take().
  std::string sha256_hex();
  // What was kept, moved out; the object starts afresh.
  std::string take();
  void reserve(uint64_t expected);
  void clear();

 private:
  size_t cap_;
  std::string kept_;
  uint64_t total_ = 0;
  std::unique_ptr<Sha256> hash_;
};

}  // namespace wa::digest
