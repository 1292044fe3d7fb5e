#include "proxy/http_session.h"

#include "protocol/http1_writer.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "protocol/ws_handshake.h"
#include "proxy/host_filter.h"
#include "proxy/tunnel.h"
#include "proxy/websocket_relay.h"

namespace wa::proxy {
namespace {

std::string joined(std::initializer_list<std::string_view> parts) {
  std::string out;
  size_t size = 0;
  for (std::string_view part : parts)
    size += part.size();
  out.reserve(size);
  for (std::string_view part : parts)
    out.append(part);
  return out;
}

store::Headers to_store(const http::Headers& headers) {
  store::Headers out;
  out.reserve(headers.size());
  for (const auto& h : headers)
    out.push_back(store::Header{h.name, h.value});
  return out;
}

std::string version_text(const http::Version& v) {
  return "HTTP/" + std::to_string(v.major) + "." + std::to_string(v.minor);
}

const char* reason_for(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 502:
      return "Bad Gateway";
    case 504:
      return "Gateway Timeout";
    default:
      return "Error";
  }
}

// Fields that concern the hop between the browser and this proxy, not the upstream server.
bool is_proxy_field(std::string_view name) {
  return text::iequals(name, "proxy-connection") || text::iequals(name, "proxy-authorization");
}

}  // namespace

struct HttpSession::Exchange {
  http::Head request;
  Origin origin;
  std::string upstream_target;  // origin-form, as sent upstream
  ExchangeRecord record;
  std::unique_ptr<PendingUpstream> pending;
  std::unique_ptr<Upstream> upstream;
  bool is_connect = false;
  bool head_sent = false;
  bool request_done = false;
  bool interim = false;           // the response message being read is a 1xx
  bool response_started = false;  // a final response head went to the client
  bool response_done = false;
  bool response_chunked = false;  // re-chunk the body to the client
  bool close_client_after = false;
  bool upgraded = false;  // the upstream answered 101
  http::Head upgrade_head;
  bool retried = false;
  bool upstream_paused = false;
  std::string client_rest;    // client bytes after an upgrade request
  std::string upstream_rest;  // upstream bytes after its 101
  // The final response head, held until the first body bytes (or the end of what the upstream
  // sent so far) so that a small response leaves in one write: one segment, one wakeup of the
  // client, instead of two.
  std::string head_out;
  uint64_t response_bytes = 0;
};

class HttpSession::ResponseSink final : public http::Sink {
 public:
  explicit ResponseSink(HttpSession& session) : s_(session) {}
  http::Flow on_head(http::Head& head) override { return s_.on_response_head(head); }
  void on_body(std::string_view bytes) override { s_.on_response_body(bytes); }
  void on_trailers(http::Headers& trailers) override { s_.on_response_trailers(trailers); }
  http::Flow on_message_end() override { return s_.on_response_end(); }
  void on_upgrade(size_t, std::string_view rest) override { s_.on_response_upgrade(rest); }

 private:
  HttpSession& s_;
};

HttpSession::HttpSession(ProxyContext& ctx, net::Owned<net::Stream> client, ClientInfo info,
                         std::optional<Origin> default_origin, std::string initial)
    : ctx_(ctx),
      client_(std::move(client)),
      info_(std::move(info)),
      default_origin_(std::move(default_origin)),
      inbuf_(std::move(initial)),
      parser_(http::Role::request, ctx.options.request_limits),
      response_sink_(std::make_unique<ResponseSink>(*this)) {}

HttpSession::~HttpSession() {
  if (connection_id_) ctx_.recorder.connection_closed(connection_id_);
}

void HttpSession::start() {
  store::Connection row;
  row.client_addr = info_.address;
  const std::optional<Origin>& to = info_.tunnel ? info_.tunnel : default_origin_;
  if (to) {
    row.server_host = to->host;
    row.server_port = to->port;
  }
  row.tls = info_.tls;
  row.sni = info_.sni;
  row.alpn = info_.alpn;
  connection_id_ = ctx_.recorder.connection_opened(std::move(row));

  client_->set_idle_timeout(ctx_.options.client_idle_timeout_ms);
  client_->start(net::StreamHandler{[this](std::string_view bytes) { on_client_data(bytes); },
                                    [this] { on_client_end(); },
                                    [this](const net::Error& error) { on_client_error(error); }});
  if (!inbuf_.empty()) pump();
}

// ---- Client side ----------------------------------------------------------------------------

void HttpSession::on_client_data(std::string_view bytes) {
  if (closing_) return;
  if (x_ && x_->upgraded) return;  // handed over; should not happen
  inbuf_.append(bytes);
  pump();
  update_client_reading();
}

void HttpSession::update_client_reading() {
  if (closing_ || !client_) return;
  bool upstream_full = x_ && x_->upstream && x_->upstream->stream &&
                       x_->upstream->stream->queued_bytes() > kHighWater;
  bool backlog = parse_paused_ && inbuf_.size() > kHighWater;
  bool waiting_for_upgrade = parser_.upgraded();
  bool pause = upstream_full || backlog || waiting_for_upgrade;
  if (pause && !client_paused_) {
    client_->pause();
    client_paused_ = true;
  } else if (!pause && client_paused_) {
    client_->resume();
    client_paused_ = false;
  }
}

void HttpSession::pump() {
  if (pumping_ || closing_) return;
  pumping_ = true;
  while (!parse_paused_ && !closing_ && !parser_.upgraded()) {
    auto consumed = parser_.feed(inbuf_, *this);
    if (!consumed) {
      pumping_ = false;
      const Failure& f = consumed.error();
      bool too_large =
          f.code == Errc::http_header_too_large || f.code == Errc::http_too_many_headers;
      fail_client(too_large ? 431 : 400, errc_name(f.code), f.why);
      return;
    }
    inbuf_.erase(0, *consumed);
    if (inbuf_.empty() || *consumed == 0) break;
  }
  pumping_ = false;
  if (closing_) return;
  watch_head();
  if (parser_.upgraded() && x_) {
    if (x_->is_connect) return start_tunnel(std::move(inbuf_));
    // A WebSocket upgrade: what follows belongs to the new protocol, held until the upstream
    // has answered.
    x_->client_rest.append(inbuf_);
    inbuf_.clear();
  }
}

// A client that sends its request head a few bytes at a time is never idle, yet holds the
// connection as long as it likes (slowloris): the whole head must arrive within the client
// timeout of its first byte.
void HttpSession::watch_head() {
  uint64_t limit = ctx_.options.client_idle_timeout_ms;
  if (limit == 0 || x_ || !parser_.in_message()) return;
  if (!head_timer_) head_timer_ = net::Timer::create(ctx_.loop);
  if (head_timer_->active()) return;
  head_timer_->start(limit, [this, limit] {
    if (closing_ || x_) return;
    fail_client(408, net::error_kind_name(net::ErrorKind::timeout),
                "the request head was not complete within " + std::to_string(limit / 1000) +
                    " s of its first byte");
  });
}

// While a response is awaited the client has nothing to say, so its silence is not idleness.
void HttpSession::set_client_idle(bool waiting_for_client) {
  if (!client_ || closing_) return;
  client_->set_idle_timeout(waiting_for_client ? ctx_.options.client_idle_timeout_ms : 0);
}

void HttpSession::resume_parsing() {
  parse_paused_ = false;
  pump();
  update_client_reading();
}

void HttpSession::on_client_end() {
  client_ended_ = true;
  if (closing_) return;
  if (!x_) {
    if (parser_.in_message()) {
      // Cut inside a request head: nothing to relay.
      return close_session();
    }
    return close_session();
  }
  if (!x_->request_done && !x_->upgraded) {
    if (x_->upstream) x_->upstream.reset();
    x_->pending.reset();
    finish_exchange("client_closed", "the client closed the connection mid-request");
    return close_session();
  }
  if (x_->record.event_stream && x_->response_started) {
    // An event stream ends when its reader goes away (HTML Living Standard §9.2: the server
    // keeps it open while the page is open); there is no one left to relay it to.
    x_->pending.reset();
    x_->upstream.reset();
    finish_exchange("client_closed", "the client closed the event stream");
    x_.reset();
    return close_session();
  }
  // The request is complete: the response is still relayed, then the session ends.
}

void HttpSession::on_client_error(const net::Error& error) {
  if (closing_) return;
  if (x_) {
    x_->pending.reset();
    x_->upstream.reset();
    finish_exchange(net::error_kind_name(error.kind), "client: " + error.why);
  }
  close_session();
}

http::Flow HttpSession::on_head(http::Head& head) {
  if (head_timer_) head_timer_->stop();
  x_ = std::make_unique<Exchange>();
  Exchange& x = *x_;
  x.request = head;
  x.record.row.seq = seq_++;
  x.record.row.method = head.method;
  x.record.row.http_version = version_text(head.version);
  x.record.row.request_headers = to_store(head.headers);
  x.record.row.started_us = ctx_.recorder.now();
  x.record.row.connection_id = connection_id_;
  x.record.request_body.set_cap(ctx_.options.max_body);
  x.record.response_body.set_cap(ctx_.options.max_body);
  if (head.method == "CONNECT") {
    if (ctx_.options.upstream) {
      // A reverse proxy forwards to its upstream only: a tunnel to anywhere else would make it
      // an open proxy, and its bytes would pass unrecorded.
      refuse(x, "CONNECT " + head.target.substr(0, 200) + " refused: a reverse proxy for " +
                    ctx_.options.upstream->str() + " opens no tunnels");
      return http::Flow::pause;
    }
    x.is_connect = true;
    return http::Flow::proceed;  // the parser stops at the tunnel; pump() hands it over
  }
  parse_paused_ = true;
  if (!route(head, x)) return http::Flow::pause;
  x.record.row.id = x.record.recorded ? ctx_.recorder.new_exchange_id() : 0;
  connect_upstream();
  return http::Flow::pause;
}

bool HttpSession::route(const http::Head& head, Exchange& x) {
  std::string_view target = head.target;
  std::string host_header(http::find_header(head.headers, "host").value_or(""));
  if (!target.empty() && target.front() != '/' && target != "*") {
    // Absolute-form: a forward-proxy request names its origin.
    auto u = url::parse(target);
    if (!u || (u->scheme != "http" && u->scheme != "https") || u->host.empty()) {
      fail_client(400, "http_malformed",
                  "request target is not an http(s) URL: " + std::string(target.substr(0, 200)));
      return false;
    }
    x.origin = Origin{u->is_tls(), u->host, u->effective_port()};
    const std::optional<Origin>& upstream = ctx_.options.upstream;
    if (upstream && !(x.origin.tls == upstream->tls && x.origin.port == upstream->port &&
                      text::iequals(x.origin.host, upstream->host))) {
      // Reverse mode serves its upstream only (see on_head for CONNECT).
      refuse(x, "request for " + x.origin.str() + " refused: a reverse proxy for " +
                    upstream->str() + " forwards nowhere else");
      return false;
    }
    if (u->has_userinfo) {
      // RFC 9110 §4.2.4: userinfo in an http(s) URI is to be treated as an error.
      refuse(x, "request target with userinfo: " + std::string(target.substr(0, 200)));
      return false;
    }
    x.upstream_target = u->target();
    x.record.row.url = url::serialise(*u);
  } else if (default_origin_) {
    x.origin = *default_origin_;
    x.upstream_target = std::string(target);
    // The URL as the client meant it: the scheme it spoke to us (a reverse proxy in front of
    // an https upstream is still reached over http), the authority it named.
    std::string authority = host_header.empty() ? x.origin.host_header() : host_header;
    x.record.row.url =
        std::string(info_.tls ? "https://" : "http://") + authority + std::string(target);
  } else {
    fail_client(400, "http_malformed",
                "origin-form request to a forward proxy (set the browser's proxy to this "
                "address, or run with --upstream URL for a reverse proxy)");
    return false;
  }
  x.record.recorded = ctx_.recorder.enabled() &&
                      is_recorded(ctx_.options.include, ctx_.options.exclude, x.origin.host);
  return true;
}

// A request this proxy will not forward (it parsed, but goes where it must not): 400, recorded
// under the session's own origin rather than the one the request named.
void HttpSession::refuse(Exchange& x, const std::string& why) {
  const std::optional<Origin>& to = info_.tunnel ? info_.tunnel : default_origin_;
  x.record.row.url = to ? to->str() : "";
  x.record.recorded = ctx_.recorder.enabled();
  fail_client(400, "http_malformed", why);
}

void HttpSession::connect_upstream() {
  std::weak_ptr<bool> alive = alive_;
  x_->pending =
      ctx_.pool.acquire(x_->origin, [this, alive](net::Outcome<std::unique_ptr<Upstream>> outcome) {
        if (alive.expired()) return;
        on_upstream_ready(std::move(outcome));
      });
}

void HttpSession::on_upstream_ready(net::Outcome<std::unique_ptr<Upstream>> outcome) {
  if (!x_ || closing_) return;
  x_->pending.reset();
  if (!outcome) {
    const net::Error& e = outcome.error();
    bool timeout = e.kind == net::ErrorKind::timeout;
    return fail_exchange(timeout ? 504 : 502, net::error_kind_name(e.kind),
                         "cannot reach " + x_->origin.str() + ": " + e.why);
  }
  x_->upstream = std::move(outcome.value());
  Upstream& up = *x_->upstream;
  up.stream->set_idle_timeout(ctx_.options.response_timeout_ms);
  up.stream->start(net::StreamHandler{
      [this](std::string_view bytes) { on_upstream_data(bytes); }, [this] { on_upstream_end(); },
      [this](const net::Error& error) { on_upstream_error(error); }});
  up.parser->expect_response_to(x_->request.method);
  send_request_head();
}

void HttpSession::send_request_head() {
  Exchange& x = *x_;
  http::Head head = x.request;
  head.target = x.upstream_target;
  std::erase_if(head.headers, [](const http::Header& h) { return is_proxy_field(h.name); });
  auto bytes = http::serialize_request_head(head);
  if (!bytes) return fail_exchange(400, errc_name(bytes.error().code), bytes.error().why);
  x.head_sent = true;
  write_upstream(std::move(*bytes));
  if (!x.request_done) resume_parsing();  // the body (if any) streams now
}

void HttpSession::on_body(std::string_view bytes) {
  Exchange& x = *x_;
  x.record.request_body.append(bytes);
  if (!x.request.chunked()) return write_upstream_body({}, bytes, {});
  if (bytes.empty()) return;  // a chunk of size zero would end the body
  write_upstream_body(http::chunk_header(bytes.size()), bytes, http::kCrlf);
}

void HttpSession::on_trailers(http::Headers& trailers) {
  if (!x_ || !x_->request.chunked()) return;
  std::string end;
  if (http::append_last_chunk(end, trailers)) {
    x_->record.request_body.append({});
    write_upstream(std::move(end));
    x_->request.framing = http::Framing::none;  // the last chunk is written
  }
}

http::Flow HttpSession::on_message_end() {
  Exchange& x = *x_;
  if (x.is_connect) return http::Flow::proceed;
  if (x.request.chunked()) {
    std::string end;
    http::append_last_chunk(end);
    write_upstream(std::move(end));
  }
  x.request_done = true;
  if (x.request.upgrade) return http::Flow::proceed;  // the parser stops at the upgrade
  if (!x.response_done) set_client_idle(false);
  // One exchange at a time: the next request is parsed once this response has ended.
  parse_paused_ = true;
  return http::Flow::pause;
}

void HttpSession::on_upgrade(size_t, std::string_view) {
  // pump() picks the upgrade up once feed() returns: the unconsumed bytes are the new protocol.
}

void HttpSession::write_upstream(std::string bytes) {
  if (!x_ || !x_->upstream) return;
  net::Stream& to = *x_->upstream->stream;
  if (to.queued_bytes() + bytes.size() <= kHighWater) return to.write(std::move(bytes));
  // Over the mark: reading from the client pauses until this write is through.
  std::weak_ptr<bool> alive = alive_;
  to.write(std::move(bytes), [this, alive] {
    if (!alive.expired()) update_client_reading();
  });
  update_client_reading();
}

void HttpSession::write_upstream_body(std::string_view framing, std::string_view bytes,
                                      std::string_view end) {
  if (!x_ || !x_->upstream) return;
  net::Stream& to = *x_->upstream->stream;
  if (to.queued_bytes() + framing.size() + bytes.size() + end.size() <= kHighWater) {
    return to.write_copy({framing, bytes, end});
  }
  write_upstream(joined({framing, bytes, end}));
}

void HttpSession::write_client(std::string bytes) {
  if (!client_) return;
  if (x_ && !x_->head_out.empty()) bytes.insert(0, std::exchange(x_->head_out, {}));
  if (bytes.empty()) return;
  if (client_->queued_bytes() + bytes.size() <= kHighWater) return client_->write(std::move(bytes));
  // Over the mark: reading from the upstream pauses until this write is through.
  std::weak_ptr<bool> alive = alive_;
  client_->write(std::move(bytes), [this, alive] {
    if (alive.expired() || !x_ || !x_->upstream_paused || !x_->upstream) return;
    x_->upstream_paused = false;
    x_->upstream->stream->resume();
  });
  if (x_ && x_->upstream && !x_->upstream_paused) {
    x_->upstream_paused = true;
    x_->upstream->stream->pause();
  }
  // A client that stops reading is timed out like one that stops sending.
  set_client_idle(true);
}

void HttpSession::write_client_body(std::string_view framing, std::string_view bytes,
                                    std::string_view end) {
  if (!client_) return;
  std::string head = x_ ? std::exchange(x_->head_out, {}) : std::string();
  if (client_->queued_bytes() + head.size() + framing.size() + bytes.size() + end.size() <=
      kHighWater) {
    return client_->write_copy({head, framing, bytes, end});
  }
  write_client(joined({head, framing, bytes, end}));
}

// ---- Upstream side --------------------------------------------------------------------------

void HttpSession::on_upstream_data(std::string_view bytes) {
  if (!x_ || !x_->upstream) return;
  if (!x_->record.row.first_byte_us) x_->record.row.first_byte_us = ctx_.recorder.now();
  Upstream* up = x_->upstream.get();
  auto consumed = up->parser->feed(bytes, *response_sink_);
  if (!x_) return;  // the exchange failed inside a callback
  if (!consumed) {
    const Failure& f = consumed.error();
    return fail_exchange(502, errc_name(f.code), "upstream sent a malformed response: " + f.why);
  }
  if (x_->upgraded) return start_websocket();   // on_response_upgrade() kept the rest
  if (!x_->head_out.empty()) write_client({});  // a head whose body has not come yet
  if (x_->response_done) {
    // Bytes after the end of the response: the connection cannot be trusted with another one.
    if (*consumed < bytes.size()) up->parser.reset();
    complete_exchange();
  }
}

void HttpSession::on_upstream_end() {
  if (!x_ || !x_->upstream) return;
  auto done = x_->upstream->parser->finish(*response_sink_);
  if (!x_) return;
  if (!x_->head_out.empty()) write_client({});
  if (x_->response_done) {
    x_->upstream->parser.reset();  // the server closed it: not reusable
    return complete_exchange();
  }
  if (!x_->response_started && x_->upstream->reused && !x_->retried &&
      x_->record.request_body.size() == 0 && x_->request_done) {
    // A kept-alive connection the server closed as we sent: try once on a new one.
    x_->retried = true;
    x_->upstream.reset();
    x_->head_sent = false;
    std::weak_ptr<bool> alive = alive_;
    x_->pending = ctx_.pool.acquire(x_->origin, [this, alive](auto outcome) {
      if (alive.expired()) return;
      on_upstream_ready(std::move(outcome));
    });
    return;
  }
  (void)done;
  fail_exchange(502, "upstream_closed",
                x_->response_started ? "upstream closed the connection mid-response"
                                     : "upstream closed the connection before responding");
}

void HttpSession::on_upstream_error(const net::Error& error) {
  if (!x_) return;
  bool timeout = error.kind == net::ErrorKind::timeout;
  fail_exchange(timeout ? 504 : 502, net::error_kind_name(error.kind),
                timeout ? "upstream " + x_->origin.str() + " sent nothing for " +
                              std::to_string(ctx_.options.response_timeout_ms / 1000) + " s"
                        : "upstream " + x_->origin.str() + ": " + error.why);
}

http::Flow HttpSession::on_response_head(http::Head& head) {
  Exchange& x = *x_;
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    // Interim (100 Continue, 103 Early Hints): passed on as they are.
    x.interim = true;
    if (auto bytes = http::serialize_response_head(head)) write_client(std::move(*bytes));
    return http::Flow::proceed;
  }
  x.interim = false;
  auto& row = x.record.row;
  row.status = head.status;
  row.reason = head.reason;
  row.response_version = version_text(head.version);
  row.response_headers = to_store(head.headers);
  if (head.status == 101) {
    // The parser reports the upgrade next; start_websocket() checks it was asked for and
    // writes this head to the client.
    x.upgrade_head = head;
    return http::Flow::proceed;
  }
  x.response_started = true;
  ctx_.recorder.response_head(x.record);
  if (head.framing == http::Framing::length && head.content_length) {
    x.record.response_body.reserve(*head.content_length);
  }
  x.response_chunked = head.chunked();
  x.close_client_after =
      !head.keep_alive || !x.request.keep_alive || head.framing == http::Framing::until_close;
  auto bytes = http::serialize_response_head(head);
  if (!bytes) {
    x.response_started = false;
    fail_exchange(502, errc_name(bytes.error().code), "upstream response: " + bytes.error().why);
    return http::Flow::pause;
  }
  x.head_out = std::move(*bytes);  // written with the body; see Exchange::head_out
  return http::Flow::proceed;
}

void HttpSession::on_response_body(std::string_view bytes) {
  Exchange& x = *x_;
  x.record.response_body.append(bytes);
  ctx_.recorder.response_body(x.record, bytes);
  x.response_bytes += bytes.size();
  if (!x.response_chunked) return write_client_body({}, bytes, {});
  if (bytes.empty()) return write_client({});  // a chunk of size zero would end the body
  write_client_body(http::chunk_header(bytes.size()), bytes, http::kCrlf);
}

void HttpSession::on_response_trailers(http::Headers& trailers) {
  if (!x_ || !x_->response_chunked) return;
  std::string end;
  if (http::append_last_chunk(end, trailers)) {
    write_client(std::move(end));
    x_->response_chunked = false;  // the last chunk is written
  }
}

http::Flow HttpSession::on_response_end() {
  Exchange& x = *x_;
  if (x.interim) {
    x.interim = false;
    return http::Flow::proceed;
  }
  // A 101's message ends before the parser reports the upgrade: let it get there.
  if (x.record.row.status == 101) return http::Flow::proceed;
  if (x.response_chunked) {
    std::string end;
    http::append_last_chunk(end);
    write_client(std::move(end));
  }
  x.response_done = true;
  return http::Flow::pause;  // on_upstream_data() completes the exchange
}

void HttpSession::on_response_upgrade(std::string_view rest) {
  if (!x_) return;
  x_->upgraded = true;
  x_->upstream_rest.assign(rest);
}

// ---- Endings --------------------------------------------------------------------------------

void HttpSession::finish_exchange(const std::string& error_code, const std::string& error) {
  if (!x_) return;
  auto& row = x_->record.row;
  row.ended_us = ctx_.recorder.now();
  if (!error.empty()) {
    row.error_code = error_code;
    row.error = error;
  }
  // Socket traffic is decoded before the line is printed, so that it can say what did not decode.
  std::string undecoded = ctx_.recorder.observe(x_->record);
  ctx_.console.exchange(row, x_->response_bytes, x_->record.recorded, undecoded);
  ctx_.recorder.exchange_done(x_->record);
}

void HttpSession::complete_exchange() {
  Exchange& x = *x_;
  finish_exchange();
  bool reuse = x.upstream && x.upstream->parser && x.request_done && !x.close_client_after;
  if (reuse && x.upstream_paused) x.upstream->stream->resume();
  if (reuse) {
    ctx_.pool.release(std::move(x.upstream));
  }
  bool close_client = x.close_client_after || client_ended_ || !x.request_done;
  if (x.request.upgrade && parser_.upgraded()) {
    // The upstream declined the upgrade (RFC 9110 §7.8: any answer but 101 does): the
    // connection goes on in HTTP/1.1, with what the client sent after the request parsed as
    // the next one, and its time limits apply again.
    parser_.resume_after_upgrade();
    inbuf_.insert(0, x.client_rest);
  }
  x_.reset();
  if (close_client) return shutdown_client();
  set_client_idle(true);
  resume_parsing();
}

void HttpSession::fail_exchange(int status, const std::string& error_code, const std::string& why) {
  if (!x_) return;
  x_->pending.reset();
  x_->upstream.reset();
  if (x_->response_started) {
    // Part of the response is out: the client learns of the failure by the connection closing.
    write_client({});  // the head, if it was still held
    finish_exchange(error_code, why);
    x_.reset();
    return close_session();
  }
  fail_client(status, error_code, why);
}

void HttpSession::fail_client(int status, const std::string& error_code, const std::string& why) {
  std::string body = "workalready: " + why + "\n";
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_for(status) +
                     "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!x_) {
    // Nothing parsed into an exchange (a malformed head): record what can be said of it.
    x_ = std::make_unique<Exchange>();
    x_->record.row.method = "?";
    x_->record.row.url = default_origin_ ? default_origin_->str() : "";
    x_->record.row.started_us = ctx_.recorder.now();
    x_->record.row.connection_id = connection_id_;
    x_->record.recorded = ctx_.recorder.enabled();
    x_->record.response_body.set_cap(ctx_.options.max_body);
  }
  auto& row = x_->record.row;
  row.status = status;
  row.reason = reason_for(status);
  row.response_version = "HTTP/1.1";
  row.response_headers = {{"Content-Type", "text/plain; charset=utf-8"},
                          {"Content-Length", std::to_string(body.size())},
                          {"Connection", "close"}};
  x_->record.response_body.append(body);
  x_->response_bytes = body.size();
  finish_exchange(error_code, why);
  x_.reset();
  write_client(head + body);
  shutdown_client();
}

void HttpSession::shutdown_client() {
  if (closing_) return;
  set_client_idle(true);
  closing_ = true;
  std::weak_ptr<bool> alive = alive_;
  client_->shutdown([this, alive] {
    if (!alive.expired()) ctx_.host.retire(this);
  });
  // A client that never reads its answer is closed by its idle timeout, which fails the stream.
  client_->start(net::StreamHandler{[](std::string_view) {}, [] {},
                                    [this, alive](const net::Error&) {
                                      if (!alive.expired()) ctx_.host.retire(this);
                                    }});
}

void HttpSession::close_session() {
  if (closing_) return;
  closing_ = true;
  ctx_.host.retire(this);
}

void HttpSession::abort(const std::string& why) {
  if (x_ && !closing_) {
    x_->pending.reset();
    x_->upstream.reset();
    finish_exchange("aborted", why);
    x_.reset();
  }
  close_session();
}

void HttpSession::start_tunnel(std::string rest) {
  Exchange& x = *x_;
  auto authority = url::parse_authority_form(x.request.target);
  if (!authority || authority->host.empty() || !authority->port) {
    parser_.resume_after_upgrade();
    fail_client(400, "http_malformed",
                "CONNECT target is not host:port: " + x.request.target.substr(0, 200));
    return;
  }
  Origin target{false, authority->host, *authority->port};
  x_.reset();
  closing_ = true;
  auto tunnel =
      std::make_unique<Tunnel>(ctx_, std::move(client_), info_.address, target, std::move(rest));
  Tunnel* t = tunnel.get();
  ctx_.host.adopt(std::move(tunnel));
  t->start();
  ctx_.host.retire(this);
}

void HttpSession::start_websocket() {
  Exchange& x = *x_;
  if (x.record.row.status != 101 || !x.request.upgrade) {
    return fail_exchange(502, "http_malformed", "upstream switched protocols unasked");
  }
  // RFC 6455 §4.1: a client must fail the connection when the accept value is not the one its
  // key calls for (the server did not read this handshake). Relayed, such a 101 would hand the
  // connection to whatever the upstream speaks, recorded as a WebSocket the browser never had.
  auto key = http::find_header(x.request.headers, "sec-websocket-key");
  if (key) {
    auto accept = http::find_header(x.upgrade_head.headers, "sec-websocket-accept");
    if (!accept || *accept != ws::accept_key(*key)) {
      return fail_exchange(502, errc_name(Errc::ws_handshake),
                           std::string("upstream answered the WebSocket upgrade with ") +
                               (accept ? "a wrong" : "no") +
                               " Sec-WebSocket-Accept (RFC 6455 §4.1)");
    }
  }
  // The 101 itself goes to the client before any frame.
  auto bytes = http::serialize_response_head(x.upgrade_head);
  if (!bytes) return fail_exchange(502, errc_name(bytes.error().code), bytes.error().why);
  x.response_started = true;
  write_client(std::move(*bytes));
  std::string url = x.record.row.url;  // finish_exchange() hands the row to the recorder
  store::Id exchange_id = x.record.recorded ? x.record.row.id : 0;
  std::string extensions;
  for (const auto& h : x.record.row.response_headers) {
    if (text::iequals(h.name, "sec-websocket-extensions")) {
      extensions += (extensions.empty() ? "" : ", ") + h.value;
    }
  }
  finish_exchange();
  if (client_paused_) client_->resume();  // paused while the upgrade was pending
  if (x.upstream_paused) x.upstream->stream->resume();
  auto relay = std::make_unique<WebSocketRelay>(
      ctx_, std::move(client_), std::move(x.upstream->stream), connection_id_, exchange_id, url,
      x.upstream_target, extensions, std::move(x.client_rest), std::move(x.upstream_rest));
  connection_id_ = 0;  // the relay closes the connection's row when it ends
  WebSocketRelay* r = relay.get();
  x_.reset();
  closing_ = true;
  ctx_.host.adopt(std::move(relay));
  r->start();
  ctx_.host.retire(this);
}

}  // namespace wa::proxy
