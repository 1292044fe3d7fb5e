// The secrets of `har export --redact` (storage/har.h, RedactOptions says what they are): learnt
// from the whole recording first, then replaced in every text the export writes, at their
// places and then by value, one placeholder per distinct value.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/har.h"

namespace wa::store {

class HarRedactor {
 public:
  explicit HarRedactor(const RedactOptions& options);
  ~HarRedactor();
  HarRedactor(const HarRedactor&) = delete;
  HarRedactor& operator=(const HarRedactor&) = delete;

  // Whether anything is to be hidden at all.
  bool active() const;
  // The first pass: every secret of the recording, each given its placeholder.
  void learn_recording(const RecordingData& rec);

  // The second: texts of the HAR with the secrets replaced.
  std::string header(std::string_view name, std::string_view value);
  std::string url_text(std::string_view u);
  std::string query_value(std::string_view name, std::string_view value);
  std::string cookie_value(std::string_view value);
  std::string body(std::string_view t);  // a body or a message
  std::string by_value(std::string_view text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wa::store
