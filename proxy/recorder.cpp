#include "proxy/recorder.h"

#include <chrono>
#include <variant>

#include "protocol/text.h"

namespace wa::proxy {
namespace {}  // namespace

Clock system_clock() {
  return [] {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  };
}

store::Payload BodyCapture::take() {
  store::Payload p;
  p.full_length = int64_t(bytes_.size());
  p.sha256 = bytes_.sha256_hex();
  p.bytes = bytes_.take();
  return p;
}

Recorder::Recorder(store::CaptureWriter* writer, Clock clock, RecorderOptions options)
    : writer_(writer),
      clock_(std::move(clock)),
      options_(options),
      assembler_(store::IdSource{[this] { return writer_->new_session_id(); },
                                 [this] { return writer_->new_packet_id(); },
                                 [this] { return writer_->new_cookie_id(); }}) {}

void Recorder::push_all(std::vector<store::CaptureEvent> events) {
  for (auto& event : events) {
    if (const auto* packet = std::get_if<store::SocketPacket>(&event)) {
      if (!packet->event.empty()) ++stats_.socket_events;
      if (!store::undecodable_reason(*packet).empty()) ++stats_.undecodable;
    }
    push(std::move(event));
  }
}

void Recorder::push(store::CaptureEvent event) {
  if (!writer_) return;
  // push() blocks while the writer's queue is full: the loop stalls instead of memory growing.
  auto pushed = writer_->push(std::move(event));
  if (pushed) return;
  // The writer has failed for good (it says why): everything from here on is lost, and
  // whoever runs the recording must hear it now, not at the end.
  if (stats_.lost++ == 0) {
    stats_.lost_why = pushed.error().why;
    if (on_lost_) on_lost_(stats_.lost_why);
  }
}

store::Id Recorder::connection_opened(store::Connection connection) {
  if (!writer_) return 0;
  connection.id = writer_->new_connection_id();
  if (connection.opened_us == 0) connection.opened_us = now();
  store::Id id = connection.id;
  push(std::move(connection));
  return id;
}

void Recorder::connection_closed(store::Id id, std::string error) {
  if (!writer_ || id == 0) return;
  push(store::ConnectionClosed{id, now(), std::move(error)});
}

store::Id Recorder::new_exchange_id() {
  return writer_ ? writer_->new_exchange_id() : 0;
}

std::string Recorder::observe(ExchangeRecord& exchange) {
  if (!writer_ || !exchange.recorded || exchange.observed) return {};
  exchange.observed = true;
  store::Exchange& row = exchange.row;
  if (row.id == 0) row.id = writer_->new_exchange_id();
  if (!row.ended_us) row.ended_us = now();
  // Socket polling bodies are decoded from what was kept: the cap is far above Engine.IO's
  // default maxPayload (1 MB), and a cut body is reported as such.
  exchange.packets =
      assembler_.exchange(row, exchange.request_body.kept(), !exchange.request_body.truncated(),
                          exchange.response_body.kept(), !exchange.response_body.truncated());
  for (const auto& event : exchange.packets) {
    const auto* packet = std::get_if<store::SocketPacket>(&event);
    if (!packet) continue;
    if (auto why = store::undecodable_reason(*packet); !why.empty()) return std::string(why);
  }
  return {};
}

void Recorder::exchange_done(ExchangeRecord& exchange) {
  if (!writer_ || !exchange.recorded) return;
  store::Exchange& row = exchange.row;
  if (row.id == 0) row.id = writer_->new_exchange_id();
  if (!row.ended_us) row.ended_us = now();
  if (exchange.event_stream) {
    std::vector<store::SseEvent> events;
    exchange.event_stream->finish(now(), events);
    push_sse(events);
    // Events that could not be read are said on the exchange, unless it failed otherwise.
    if (const auto& failure = exchange.event_stream->failure(); failure && row.error.empty()) {
      row.error_code = errc_name(failure->code);
      row.error = failure->why;
    }
    exchange.event_stream.reset();
  }
  observe(exchange);
  auto packets = std::move(exchange.packets);
  row.request_body = exchange.request_body.take();
  row.response_body = exchange.response_body.take();
  for (const auto& h : row.request_headers) {
    if (text::iequals(h.name, "content-encoding")) row.request_encoding = h.value;
  }
  for (const auto& h : row.response_headers) {
    if (text::iequals(h.name, "content-encoding")) row.response_encoding = h.value;
    if (text::iequals(h.name, "set-cookie")) ++stats_.cookies_set;
  }
  ++stats_.exchanges;
  if (!row.error.empty()) ++stats_.errors;
  auto cookies = assembler_.cookies(row);
  push(std::move(row));
  for (auto& c : cookies)
    push(std::move(c));
  push_all(std::move(packets));
}

void Recorder::response_head(ExchangeRecord& exchange) {
  if (!writer_ || !exchange.recorded || exchange.row.id == 0) return;
  exchange.event_stream = EventStreamCapture::for_response(exchange.row);
}

void Recorder::event_stream_data(ExchangeRecord& exchange, std::string_view bytes) {
  std::vector<store::SseEvent> events;
  exchange.event_stream->feed(bytes, now(), events);
  push_sse(events);
}

void Recorder::push_sse(std::vector<store::SseEvent>& events) {
  stats_.sse_events += events.size();
  for (store::SseEvent& e : events)
    push(std::move(e));
}

void Recorder::websocket_opened(store::Id exchange_id, std::string_view target) {
  if (!writer_) return;
  assembler_.websocket_opened(exchange_id, target);
}

void Recorder::websocket_message(store::Id exchange_id, store::Direction direction,
                                 const ws::Message& message) {
  if (!writer_) return;
  store::WsMessage row;
  row.id = writer_->new_ws_message_id();
  row.exchange_id = exchange_id;
  row.direction = direction;
  row.opcode = int(message.opcode);
  row.compressed = message.compressed;
  row.time_us = now();
  BodyCapture capture(options_.max_body);
  if (message.opcode == ws::Opcode::close && message.close_code != 1005) {
    // The decoder splits a close frame into its code and reason; the capture keeps the payload
    // as it was on the wire (RFC 6455 §5.5.1: a 2-byte code in network order, then the reason),
    // as for every other frame. 1005 stands for "no code": the payload was empty.
    char code[2] = {char(message.close_code >> 8), char(message.close_code & 0xff)};
    capture.append(std::string_view(code, 2));
  }
  capture.append(message.payload);
  row.payload = capture.take();
  if (message.dropped > 0) {
    // The decoder kept a prefix and hashed the whole: the whole is what the row describes.
    row.payload.full_length = int64_t(message.payload.size() + message.dropped);
    row.payload.sha256 = message.sha256;
  }
  row.error = message.invalid;
  if (!message.invalid.empty()) {
    ++(message.invalid.find("nothing after it") != std::string::npos ? stats_.ws_lost
                                                                     : stats_.ws_invalid);
  } else if (row.payload.truncated()) {
    ++stats_.ws_cut;
  }
  ++stats_.ws_messages;
  auto packets = assembler_.websocket_message(row, message.payload);
  push(std::move(row));
  push_all(std::move(packets));
}

void Recorder::websocket_closed(store::Id exchange_id) {
  if (!writer_) return;
  push_all(assembler_.websocket_closed(exchange_id));
}

void Recorder::finish() {
  if (!writer_) return;
  push_all(assembler_.finish());
}

}  // namespace wa::proxy
