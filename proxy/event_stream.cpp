#include "proxy/event_stream.h"

#include <limits>

#include "protocol/text.h"

namespace wa::proxy {

namespace {

// Compressed input is decoded this much at a time, so that what one slice inflates to stays
// small (deflate expands at most about 1000:1) whatever size the chunks come in.
constexpr size_t kDecodeSlice = 1024;

}  // namespace

std::unique_ptr<EventStreamCapture> EventStreamCapture::for_response(const store::Exchange& row) {
  if (!row.has_response() || row.status == 101) return nullptr;
  std::string content_type, content_encoding;
  for (const store::Header& h : row.response_headers) {
    if (text::iequals(h.name, "content-type")) content_type = h.value;
    if (text::iequals(h.name, "content-encoding")) {
      content_encoding += (content_encoding.empty() ? "" : ", ") + h.value;
    }
  }
  if (!sse::is_event_stream(content_type)) return nullptr;
  std::optional<coding::Decoder> decoder;
  std::optional<Failure> failure;
  if (!text::trim(content_encoding).empty()) {
    // A stream has no end to bound its decoded size by; the parser's line and event limits
    // bound what is held, and kDecodeSlice what one step produces.
    auto made = coding::Decoder::make(content_encoding, std::numeric_limits<size_t>::max());
    if (made) {
      if (!made->identity()) decoder.emplace(std::move(*made));
    } else {
      failure = made.error();
    }
  }
  std::unique_ptr<EventStreamCapture> capture(new EventStreamCapture(row.id, std::move(decoder)));
  if (failure) capture->stop(*failure);
  return capture;
}

EventStreamCapture::EventStreamCapture(store::Id exchange_id,
                                       std::optional<coding::Decoder> decoder)
    : exchange_id_(exchange_id), decoder_(std::move(decoder)) {}

void EventStreamCapture::feed(std::string_view bytes, int64_t now_us,
                              std::vector<store::SseEvent>& out) {
  if (failure_) return;
  if (!decoder_) return parse(bytes, now_us, out);
  while (!bytes.empty() && !failure_) {
    std::string_view slice = bytes.substr(0, kDecodeSlice);
    bytes.remove_prefix(slice.size());
    decoded_.clear();
    if (auto r = decoder_->feed(slice, decoded_); !r) return stop(r.error());
    parse(decoded_, now_us, out);
  }
}

void EventStreamCapture::finish(int64_t now_us, std::vector<store::SseEvent>& out) {
  if (!failure_ && decoder_) {
    decoded_.clear();
    // A stream cut off by the client ends inside its coding: what decoded is still parsed.
    auto r = decoder_->finish(decoded_);
    parse(decoded_, now_us, out);
    if (!r && r.error().code != Errc::incomplete) stop(r.error());
  }
  parser_.finish();
}

void EventStreamCapture::parse(std::string_view text, int64_t now_us,
                               std::vector<store::SseEvent>& out) {
  if (text.empty() || failure_) return;
  events_.clear();
  auto r = parser_.feed(text, events_);
  for (sse::Event& e : events_) {
    store::SseEvent row;
    row.exchange_id = exchange_id_;
    row.seq = seq_++;
    row.time_us = now_us;
    row.event_id = std::move(e.id);
    row.event = std::move(e.type);
    row.data = std::move(e.data);
    row.retry_ms = e.retry_ms;
    out.push_back(std::move(row));
  }
  if (!r) stop(r.error());
}

}  // namespace wa::proxy
