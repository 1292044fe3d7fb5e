#include "proxy/websocket_relay.h"

#include "protocol/text.h"
#include "protocol/ws_deflate.h"

namespace wa::proxy {
namespace {

std::string side_name(const auto& side) {
  return side.direction == store::Direction::client ? "client" : "server";
}

// The permessage-deflate parameters the server agreed to in its 101, if it agreed to any.
std::optional<ws::DeflateParams> agreed_deflate(const std::string& extensions) {
  if (extensions.empty()) return std::nullopt;
  auto parsed = ws::parse_extensions(extensions);
  if (!parsed) return std::nullopt;
  for (const auto& ext : *parsed) {
    if (!text::iequals(ext.name, ws::kPermessageDeflate)) continue;
    if (auto params = ws::read_deflate_response(ext)) return *params;
  }
  return std::nullopt;
}

ws::Decoder make_decoder(ws::Role sender, const std::optional<ws::DeflateParams>& deflate,
                         size_t max_message) {
  ws::DecoderOptions options;
  options.sender = sender;
  options.deflate = deflate;
  options.max_message_size = std::max(max_message, ws::kDefaultMaxMessageSize);
  // An observer records a sloppy peer rather than going blind; the peers judge each other. A
  // message past the size is kept capped with its length and hash, a frame a peer would refuse
  // is kept as it came, marked, and the frames after it are read on.
  options.require_masking = false;
  options.observe = true;
  return ws::Decoder(options);
}

}  // namespace

WebSocketRelay::WebSocketRelay(ProxyContext& ctx, net::Owned<net::Stream> client,
                               net::Owned<net::Stream> upstream, store::Id connection_id,
                               store::Id exchange_id, std::string url, std::string target,
                               const std::string& extensions, std::string client_rest,
                               std::string upstream_rest)
    : ctx_(ctx),
      connection_id_(connection_id),
      exchange_id_(exchange_id),
      url_(std::move(url)),
      target_(std::move(target)) {
  auto deflate = agreed_deflate(extensions);
  client_.stream = std::move(client);
  client_.decoder = make_decoder(ws::Role::client, deflate, ctx.options.max_body);
  client_.direction = store::Direction::client;
  client_.rest = std::move(client_rest);
  upstream_.stream = std::move(upstream);
  upstream_.decoder = make_decoder(ws::Role::server, deflate, ctx.options.max_body);
  upstream_.direction = store::Direction::server;
  upstream_.rest = std::move(upstream_rest);
}

WebSocketRelay::~WebSocketRelay() {
  if (!connection_id_) return;
  // A direction whose frames could no longer be read is said on the connection too.
  std::string error;
  for (const Side* side : {&client_, &upstream_}) {
    if (side->lost.empty()) continue;
    error += (error.empty() ? "" : "; ") + side_name(*side) + " frames not recorded after " +
             std::to_string(side->messages) + " messages: " + side->lost;
  }
  ctx_.recorder.connection_closed(connection_id_, error);
}

void WebSocketRelay::start() {
  if (exchange_id_) ctx_.recorder.websocket_opened(exchange_id_, target_);
  ctx_.console.websocket(url_, "open");
  // A relayed WebSocket is long-lived by nature: only errors end it, not silence.
  client_.stream->set_idle_timeout(0);
  upstream_.stream->set_idle_timeout(0);
  auto wire = [this](Side& from, Side& to) {
    from.stream->start(
        net::StreamHandler{[this, &from, &to](std::string_view bytes) { on_data(from, to, bytes); },
                           [this, &from, &to] { on_end(from, to); },
                           [this](const net::Error& error) { on_error(error); }});
  };
  wire(client_, upstream_);
  wire(upstream_, client_);
  // Bytes that came with the handshakes go first.
  if (!upstream_.rest.empty()) on_data(upstream_, client_, std::exchange(upstream_.rest, {}));
  if (!client_.rest.empty()) on_data(client_, upstream_, std::exchange(client_.rest, {}));
}

void WebSocketRelay::on_data(Side& from, Side& to, std::string_view bytes) {
  if (done_) return;
  if (!from.paused && to.stream->queued_bytes() + bytes.size() > kHighWater) {
    // Stop reading `from` until this write is through: writes complete in order, and nothing
    // more is queued toward `to` from this side meanwhile, so the queue has drained by then.
    from.paused = true;
    from.stream->pause();
    std::weak_ptr<bool> alive = alive_;
    to.stream->write(std::string(bytes), [this, alive, &from] {
      if (!alive.expired()) on_drained(from);
    });
  } else {
    to.stream->write(std::string(bytes));
  }
  observe(from, bytes);
}

void WebSocketRelay::on_drained(Side& from) {
  if (done_ || !from.paused) return;
  from.paused = false;
  from.stream->resume();
}

void WebSocketRelay::observe(Side& from, std::string_view bytes) {
  if (!from.decoding || exchange_id_ == 0) return;
  scratch_.clear();
  auto fed = from.decoder.feed(bytes, scratch_);
  for (const auto& message : scratch_) {
    ++messages_;
    ++from.messages;
    ctx_.recorder.websocket_message(exchange_id_, from.direction, message);
    if (!message.invalid.empty() && fed && from.invalid++ == 0) {
      // Said once per direction; each one is marked in the capture (`show` lists them).
      ctx_.console.warning(
          "WebSocket " + url_ + ": a " + side_name(from) +
          " frame a peer would refuse, recorded as it came and marked: " + message.invalid);
    }
  }
  if (!fed) {
    from.decoding = false;
    from.lost = fed.error().why;
    ctx_.console.warning(
        "WebSocket " + url_ + ": " + side_name(from) +
        " frames no longer recorded (the capture marks where): " + fed.error().why);
  }
}

void WebSocketRelay::on_end(Side& from, Side& to) {
  if (done_) return;
  from.ended = true;
  std::weak_ptr<bool> alive = alive_;
  to.stream->shutdown([this, alive] {
    if (alive.expired() || done_) return;
    if (client_.ended && upstream_.ended) finish("");
  });
}

void WebSocketRelay::on_error(const net::Error& error) {
  finish(error.why);
}

void WebSocketRelay::finish(const std::string& why) {
  if (done_) return;
  done_ = true;
  if (exchange_id_) ctx_.recorder.websocket_closed(exchange_id_);
  std::string what = "closed, " + std::to_string(messages_) + " messages";
  if (!why.empty()) what += " (" + why + ")";
  ctx_.console.websocket(url_, what);
  ctx_.host.retire(this);
}

void WebSocketRelay::abort(const std::string& why) {
  finish(why);
}

}  // namespace wa::proxy
