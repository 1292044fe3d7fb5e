#include "replay/socket_client.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>

#include "protocol/content_coding.h"
#include "replay/body.h"
#include "replay/ws_random.h"

namespace wa::replay {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

uint64_t wall_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

std::string status_text(const HttpResponse& response) {
  std::string why = "HTTP " + std::to_string(response.status);
  std::string_view body = response.body;
  if (!body.empty()) {
    why += " ";
    for (char c : body.substr(0, 160))
      why += (c == '\r' || c == '\n') ? ' ' : c;
  }
  return why;
}

}  // namespace

SocketClient::SocketClient(HttpClient& http, SocketClientOptions options, SocketHandler handler)
    : http_(http),
      loop_(http.loop()),
      options_(std::move(options)),
      handler_(std::move(handler)),
      core_(SocketCoreConfig{
          .family = options_.family,
          .plan = options_.plan,
          .url = options_.url,
          .cache_buster =
              [this] {
                if (options_.cache_buster) return options_.cache_buster();
                if (options_.family == traffic::Family::sio09) return std::to_string(wall_ms());
                return buster_.next(wall_ms());
              },
          .request_timeout_ms = options_.request_timeout_ms,
          .close_timeout_ms = options_.close_timeout_ms,
      }),
      timer_(net::Timer::create(loop_)) {
  if (!options_.mask) options_.mask = random_masks();
  if (!options_.key_bytes) options_.key_bytes = random_key_bytes;
  ++caller_depth_;
  core_.start(now());
  drain();
  --caller_depth_;
}

SocketClient::~SocketClient() {
  if (destroyed_ != nullptr) *destroyed_ = true;
  teardown();
}

std::optional<ClientFailure> SocketClient::send(std::string_view text,
                                                std::span<const std::string> attachments) {
  ++caller_depth_;
  auto failure = core_.send(text, attachments, now());
  drain();
  --caller_depth_;
  return failure;
}

void SocketClient::close() {
  ++caller_depth_;
  core_.close(now());
  drain();
  --caller_depth_;
}

// ---- Carrying out the core's commands ----

void SocketClient::drain() {
  std::vector<SocketCommand> commands = core_.take();
  for (auto& command : commands) {
    std::visit(Overloaded{
                   [&](HttpCommand& c) { start_http(c); },
                   [&](WsConnectCommand& c) { start_websocket(c.url); },
                   [&](WsSendCommand& c) { ws_send(c); },
                   [&](WsCloseCommand& c) { ws_close(c.graceful); },
                   [&](EndedCommand& c) {
                     teardown();
                     events_.push_back(std::move(c));
                   },
                   [&](auto& c) { events_.push_back(std::move(c)); },
               },
               command);
  }
  // Frames queued by this round go out in one write.
  if (endpoint_) flush_ws();
  rearm();
  if (events_.empty()) return;
  // The caller's own calls never see a callback inside them (closable.h's rule).
  if (caller_depth_ > 0) {
    dispatch_task_.schedule(loop_);
  } else {
    dispatch();
  }
}

void SocketClient::on_dispatch(void* arg) {
  static_cast<SocketClient*>(arg)->dispatch();
}

void SocketClient::dispatch() {
  bool destroyed = false;
  bool* outer = destroyed_;
  destroyed_ = &destroyed;
  while (!events_.empty()) {
    SocketCommand event = std::move(events_.front());
    events_.pop_front();
    std::visit(Overloaded{
                   [&](OpenedCommand& c) {
                     if (handler_.on_open) handler_.on_open(c.opened);
                   },
                   [&](MessageCommand& c) {
                     if (handler_.on_message) handler_.on_message(c.message);
                   },
                   [&](TransportCommand& c) {
                     if (handler_.on_transport) handler_.on_transport(c.transport, c.note);
                   },
                   [&](HeartbeatCommand&) {
                     ++heartbeats_;
                     if (handler_.on_heartbeat) handler_.on_heartbeat();
                   },
                   [&](EndedCommand& c) {
                     if (handler_.on_end) handler_.on_end(c.failure);
                   },
                   [&](auto&) {},
               },
               event);
    if (destroyed) return;  // the handler dropped the client: `this` is gone
  }
  destroyed_ = outer;
}

void SocketClient::rearm() {
  std::optional<uint64_t> deadline = core_.deadline();
  if (!deadline) {
    if (armed_for_ != 0) timer_->stop();
    armed_for_ = 0;
    return;
  }
  if (*deadline == armed_for_) return;
  armed_for_ = *deadline;
  uint64_t at = now();
  timer_->start(*deadline > at ? *deadline - at : 0, [this] {
    armed_for_ = 0;
    core_.tick(now());
    drain();
  });
}

void SocketClient::teardown() {
  calls_.clear();
  drop_ws();
  if (timer_) timer_->stop();
  armed_for_ = 0;
}

// ---- HTTP ----

http::Headers SocketClient::request_headers(std::string_view url) {
  http::Headers headers = options_.headers;
  if (options_.cookies) {
    std::string cookie = options_.cookies(url);
    if (!cookie.empty()) headers.push_back(http::Header{"Cookie", std::move(cookie)});
  }
  return headers;
}

void SocketClient::start_http(HttpCommand& command) {
  HttpRequest request;
  request.method = command.method;
  request.headers = request_headers(command.url);
  if (command.method == "POST") {
    // What browsers send for a string XHR body; Engine.IO and 0.9 servers read it as text.
    request.headers.push_back(http::Header{"Content-Type", "text/plain;charset=UTF-8"});
    request.body = std::move(command.body);
  }
  request.timeout_ms = command.timeout_ms;
  request.url = command.url;
  uint64_t id = command.id;
  calls_[id] =
      http_.send(std::move(request), [this, id, url = std::move(command.url)](
                                         ClientResult<HttpResponse> r) { on_http(id, url, r); });
}

void SocketClient::on_http(uint64_t id, const std::string& url,
                           ClientResult<HttpResponse>& result) {
  // Dropping the finished call here is safe: the client runs a callback as its last act.
  calls_.erase(id);
  if (result && result->body_cut()) {
    // Engine.IO payloads are never this large; a cut one could not be decoded.
    core_.http_failed(id,
                      ClientFailure{FailureKind::protocol,
                                    "a polling response of " + std::to_string(result->body_length) +
                                        " bytes from " + url + " is too large"},
                      now());
  } else if (!result) {
    core_.http_failed(id, result.error(), now());
  } else {
    if (options_.on_response) options_.on_response(url, *result);
    std::string_view content_type;
    if (auto found = http::find_header(result->headers, "content-type")) content_type = *found;
    // RFC 9110 §12.5.3: a request without Accept-Encoding accepts any coding, so a server may
    // compress a polling body although this client asks for none. A body that does not decode
    // goes on as it is, and the Engine.IO decoder says what is wrong with it.
    std::string_view body = result->body;
    std::string decoded;
    if (auto coding = http::find_header(result->headers, "content-encoding")) {
      if (auto r = coding::decode_all(*coding, body, kMaxDecodedBody)) {
        decoded = std::move(*r);
        body = decoded;
      }
    }
    core_.http_response(id, result->status, content_type, body, now());
  }
  drain();
}

// ---- WebSocket ----

void SocketClient::start_websocket(const std::string& url) {
  drop_ws();
  ws::ClientHandshake handshake;
  handshake.key = ws::make_key(options_.key_bytes());
  if (options_.offer_deflate) {
    // Browsers offer `permessage-deflate; client_max_window_bits`.
    ws::DeflateOffer offer;
    offer.client_max_window_bits = true;
    handshake.deflate = offer;
  }
  ws_request_ = ws::client_request_headers(handshake);
  HttpRequest request;
  request.url = url;
  request.headers = request_headers(url);
  for (const auto& [name, value] : ws_request_)
    request.headers.push_back(http::Header{name, value});
  request.timeout_ms = options_.request_timeout_ms;
  ws_call_ = http_.upgrade(std::move(request), [this, url](ClientResult<HttpResponse> r,
                                                           std::optional<Upgraded> upgraded) {
    on_upgrade(url, r, upgraded);
  });
}

void SocketClient::on_upgrade(const std::string& url, ClientResult<HttpResponse>& result,
                              std::optional<Upgraded>& upgraded) {
  if (!result) {
    core_.ws_failed(result.error(), now());
    return drain();
  }
  if (options_.on_response) options_.on_response(url, *result);
  if (!upgraded) {
    core_.ws_failed(
        ClientFailure{FailureKind::refused, "the upgrade was refused: " + status_text(*result)},
        now());
    return drain();
  }
  ws::HeaderList response;
  response.reserve(result->headers.size());
  for (const auto& h : result->headers)
    response.emplace_back(h.name, h.value);
  auto agreement = ws::check_response(ws_request_, result->status, response);
  if (!agreement) {
    core_.ws_failed(ClientFailure{FailureKind::protocol, "handshake: " + agreement.error().why},
                    now());
    return drain();  // dropping `upgraded` closes the connection
  }
  ws::EndpointOptions endpoint;
  endpoint.role = ws::Role::client;
  endpoint.deflate = agreement->deflate;
  endpoint.mask = options_.mask;
  endpoint_.emplace(std::move(endpoint));
  ws_peer_closed_ = false;
  ws_stream_ = std::move(upgraded->stream);
  ws_stream_->start(net::StreamHandler{
      [this](std::string_view bytes) { on_ws_data(bytes); },
      [this] { on_ws_end(); },
      [this](const net::Error& error) {
        core_.ws_closed(error.why, now());
        drain();
      },
  });
  core_.ws_opened(now());
  if (!upgraded->rest.empty() && !core_.ended()) {
    std::string rest = std::move(upgraded->rest);
    on_ws_data(rest);  // drains
    return;
  }
  drain();
}

void SocketClient::on_ws_data(std::string_view bytes) {
  if (!endpoint_) return;
  ws_messages_.clear();
  auto fed = endpoint_->feed(bytes, ws_messages_);
  for (auto& message : ws_messages_) {
    if (message.opcode == ws::Opcode::text || message.opcode == ws::Opcode::binary) {
      core_.ws_message(message.payload, message.opcode == ws::Opcode::binary, now());
    } else if (message.opcode == ws::Opcode::close) {
      ws_peer_closed_ = true;
    }
    if (core_.ended() || !endpoint_) break;
  }
  // Pongs and the echo of a Close wait in the endpoint: drain() writes them.
  if (!fed) {
    core_.ws_closed("the server broke the WebSocket protocol: " + fed.error().why, now());
  } else if (ws_peer_closed_ && endpoint_) {
    auto code = endpoint_->peer_close_code();
    core_.ws_closed("the server sent a Close frame (" + std::to_string(code ? *code : 1005) + ")",
                    now());
  }
  drain();
}

void SocketClient::on_ws_end() {
  if (ws_peer_closed_) {
    core_.ws_closed("the server sent a Close frame", now());
  } else {
    core_.ws_closed("the connection closed without a Close frame (1006)", now());
  }
  drain();
}

void SocketClient::ws_send(const WsSendCommand& command) {
  if (!endpoint_) return;
  // A failure means a Close was sent already: the frame is dropped as the session ends.
  (void)endpoint_->send(command.binary ? ws::Opcode::binary : ws::Opcode::text, command.payload);
}

void SocketClient::ws_close(bool graceful) {
  if (!graceful || !endpoint_ || !ws_stream_) return drop_ws();
  if (endpoint_->state() == ws::Endpoint::State::open) (void)endpoint_->close();
}

void SocketClient::flush_ws() {
  if (ws_stream_ && endpoint_->has_output()) ws_stream_->write(endpoint_->take_output());
}

void SocketClient::drop_ws() {
  ws_call_.cancel();
  ws_stream_.reset();
  endpoint_.reset();
}

}  // namespace wa::replay
