#include "replay/ws_client.h"

#include "replay/ws_random.h"

namespace wa::replay {
namespace {

std::string refusal(const HttpResponse& response) {
  std::string why = "the upgrade was refused: HTTP " + std::to_string(response.status);
  std::string_view body = std::string_view(response.body).substr(0, 160);
  if (!body.empty()) why += " ";
  for (char c : body)
    why += (c == '\r' || c == '\n') ? ' ' : c;
  return why;
}

}  // namespace

WsClient::WsClient(HttpClient& http, WsClientOptions options, WsClientHandler handler)
    : http_(http),
      loop_(http.loop()),
      options_(std::move(options)),
      handler_(std::move(handler)),
      close_timer_(net::Timer::create(loop_)) {
  if (!options_.mask) options_.mask = random_masks();
  if (!options_.key_bytes) options_.key_bytes = random_key_bytes;
  ws::ClientHandshake handshake;
  handshake.key = ws::make_key(options_.key_bytes());
  handshake.protocols = options_.protocols;
  if (options_.offer_deflate) {
    ws::DeflateOffer offer;
    offer.client_max_window_bits = true;
    handshake.deflate = offer;
  }
  request_ = ws::client_request_headers(handshake);
  HttpRequest request;
  request.url = options_.url;
  request.headers = options_.headers;
  for (const auto& [name, value] : request_)
    request.headers.push_back(http::Header{name, value});
  request.timeout_ms = options_.request_timeout_ms;
  call_ = http_.upgrade(std::move(request),
                        [this](ClientResult<HttpResponse> r, std::optional<Upgraded> upgraded) {
                          on_upgrade(r, upgraded);
                        });
}

WsClient::~WsClient() {
  if (destroyed_) *destroyed_ = true;
}

void WsClient::on_upgrade(ClientResult<HttpResponse>& result, std::optional<Upgraded>& upgraded) {
  if (!result) return end(result.error());
  HttpResponse head = *result;
  post([this, head] {
    if (handler_.on_response) handler_.on_response(head);
  });
  if (!upgraded) return end(ClientFailure{FailureKind::refused, refusal(*result)});
  ws::HeaderList response;
  for (const auto& h : result->headers)
    response.emplace_back(h.name, h.value);
  auto agreement = ws::check_response(request_, result->status, response);
  if (!agreement) {
    return end(ClientFailure{FailureKind::protocol, "handshake: " + agreement.error().why});
  }
  ws::EndpointOptions endpoint;
  endpoint.role = ws::Role::client;
  endpoint.deflate = agreement->deflate;
  endpoint.mask = options_.mask;
  endpoint_.emplace(std::move(endpoint));
  stream_ = std::move(upgraded->stream);
  stream_->start(net::StreamHandler{
      [this](std::string_view bytes) { on_data(bytes); },
      [this] {
        auto code = endpoint_ ? endpoint_->peer_close_code() : std::nullopt;
        if (closing_ && code) return end(std::nullopt);
        end(ClientFailure{FailureKind::closed,
                          code ? "the server closed the WebSocket (" + std::to_string(*code) + ")"
                               : "the connection closed without a Close frame (1006)"});
      },
      [this](const net::Error& error) {
        end(ClientFailure{FailureKind::closed, error.why});
      },
  });
  post([this, agreed = *agreement] {
    if (handler_.on_open) handler_.on_open(agreed);
  });
  for (auto& [binary, payload] : queued_)
    (void)endpoint_->send(binary ? ws::Opcode::binary : ws::Opcode::text, payload);
  queued_.clear();
  if (closing_) (void)endpoint_->close();
  if (!upgraded->rest.empty()) {
    std::string rest = std::move(upgraded->rest);
    on_data(rest);
    return;
  }
  flush();
}

void WsClient::on_data(std::string_view bytes) {
  if (!endpoint_ || ended_) return;
  messages_.clear();
  auto fed = endpoint_->feed(bytes, messages_);
  for (ws::Message& m : messages_) {
    if (m.opcode != ws::Opcode::text && m.opcode != ws::Opcode::binary) continue;
    post([this, binary = m.opcode == ws::Opcode::binary, payload = std::move(m.payload)] {
      if (handler_.on_message) handler_.on_message(binary, payload);
    });
  }
  flush();  // pongs and the echo of a Close
  if (!fed) {
    return end(ClientFailure{FailureKind::protocol,
                             "the server broke the WebSocket protocol: " + fed.error().why});
  }
  if (auto code = endpoint_->peer_close_code()) {
    // Both Close frames are through when we started the close; otherwise the server ended it.
    if (closing_) return end(std::nullopt);
    end(ClientFailure{FailureKind::closed,
                      "the server closed the WebSocket (" + std::to_string(*code) + ")"});
  }
}

std::optional<ClientFailure> WsClient::send(bool binary, std::string_view payload) {
  if (ended_ || closing_)
    return ClientFailure{FailureKind::closed, "the WebSocket is closed already"};
  if (!endpoint_) {
    queued_.emplace_back(binary, std::string(payload));
    return std::nullopt;
  }
  auto sent = endpoint_->send(binary ? ws::Opcode::binary : ws::Opcode::text, payload);
  if (!sent) return ClientFailure{FailureKind::setup, sent.error().why};
  flush();
  return std::nullopt;
}

void WsClient::close() {
  if (ended_ || closing_) return;
  closing_ = true;
  close_timer_->start(options_.close_timeout_ms, [this] { end(std::nullopt); });
  if (!endpoint_) return;  // the upgrade is pending: closed once it answers
  if (endpoint_->state() == ws::Endpoint::State::open) (void)endpoint_->close();
  flush();
}

void WsClient::flush() {
  if (stream_ && endpoint_ && endpoint_->has_output()) stream_->write(endpoint_->take_output());
}

void WsClient::end(std::optional<ClientFailure> failure) {
  if (ended_) return;
  ended_ = true;
  close_timer_->stop();
  call_.cancel();
  stream_.reset();
  post([this, failure = std::move(failure)] {
    if (handler_.on_end) handler_.on_end(failure);
  });
}

void WsClient::post(std::function<void()> fn) {
  events_.push_back(std::move(fn));
  dispatch_task_.schedule(loop_);
}

void WsClient::on_dispatch(void* arg) {
  static_cast<WsClient*>(arg)->dispatch();
}

void WsClient::dispatch() {
  bool destroyed = false;
  destroyed_ = &destroyed;
  while (!events_.empty()) {
    auto fn = std::move(events_.front());
    events_.pop_front();
    fn();
    if (destroyed) return;  // the handler dropped the client: `this` is gone
  }
  destroyed_ = nullptr;
}

}  // namespace wa::replay
