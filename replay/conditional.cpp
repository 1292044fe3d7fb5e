#include "replay/conditional.h"

#include <string_view>

#include "protocol/text.h"

namespace wa::replay {
namespace {

template <class Headers>
std::string_view field(const Headers& headers, std::string_view name) {
  for (const auto& h : headers)
    if (text::iequals(h.name, name)) return h.value;
  return {};
}

template <class Headers>
bool has_field(const Headers& headers, std::string_view name) {
  for (const auto& h : headers)
    if (text::iequals(h.name, name)) return true;
  return false;
}

// An entity tag without its weakness (RFC 9110 §8.8.3.2: If-None-Match compares weakly).
std::string_view opaque_tag(std::string_view tag) {
  tag = text::trim(tag);
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

// Whether an If-None-Match list names `etag`.
bool names_tag(std::string_view list, std::string_view etag) {
  if (text::trim(list) == "*") return true;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    if (opaque_tag(list.substr(start, end - start)) == opaque_tag(etag)) return true;
    start = end + 1;
  }
  return false;
}

bool is_full(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

Validators validators_of(const store::Headers& response_headers) {
  return {std::string(text::trim(field(response_headers, "etag"))),
          std::string(text::trim(field(response_headers, "last-modified")))};
}

bool is_conditional(const store::Headers& request_headers) {
  return has_field(request_headers, "if-none-match") ||
         has_field(request_headers, "if-modified-since");
}

bool is_conditional(const http::Headers& request_headers) {
  return has_field(request_headers, "if-none-match") ||
         has_field(request_headers, "if-modified-since");
}

size_t follow_validators(http::Headers& request_headers, const Validators& live) {
  size_t changed = 0;
  for (http::Header& h : request_headers) {
    const std::string* to = nullptr;
    if (text::iequals(h.name, "if-none-match") && !live.etag.empty()) to = &live.etag;
    if (text::iequals(h.name, "if-modified-since") && !live.last_modified.empty())
      to = &live.last_modified;
    if (!to || h.value == *to) continue;
    h.value = *to;
    ++changed;
  }
  return changed;
}

ConditionalOutcome conditional_outcome(const store::Exchange& recorded, const http::Headers& sent,
                                       int live_status, const store::Headers& live_headers) {
  if (!is_conditional(recorded.request_headers) || !is_conditional(sent))
    return ConditionalOutcome::same_kind;
  bool recorded_304 = recorded.status == 304, live_304 = live_status == 304;
  if (recorded_304 == live_304) return ConditionalOutcome::same_kind;
  if (recorded_304 && is_full(live_status)) {
    Validators live = validators_of(live_headers);
    if (live.empty()) return ConditionalOutcome::unexplained;
    std::string_view inm = field(sent, "if-none-match"), ims = field(sent, "if-modified-since");
    bool new_tag =
        !live.etag.empty() && has_field(sent, "if-none-match") && !names_tag(inm, live.etag);
    bool new_date = !live.last_modified.empty() && has_field(sent, "if-modified-since") &&
                    text::trim(ims) != live.last_modified;
    return new_tag || new_date ? ConditionalOutcome::validators_changed
                               : ConditionalOutcome::unexplained;
  }
  if (live_304 && is_full(recorded.status)) {
    for (const char* name : {"if-none-match", "if-modified-since"}) {
      if (field(sent, name) != field(recorded.request_headers, name))
        return ConditionalOutcome::validators_changed;
    }
    return ConditionalOutcome::unexplained;
  }
  return ConditionalOutcome::same_kind;
}

}  // namespace wa::replay
