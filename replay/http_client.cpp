#include "replay/http_client.h"

#include <uv.h>

#include <algorithm>
#include <map>
#include <vector>

#include "net/connect.h"
#include "net/tcp_connection.h"
#include "net/timer.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"
#include "protocol/http1_writer.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/body.h"

namespace wa::replay {

const char* failure_kind_name(FailureKind kind) {
  switch (kind) {
    case FailureKind::connect:
      return "connect";
    case FailureKind::tls:
      return "tls";
    case FailureKind::timeout:
      return "timeout";
    case FailureKind::closed:
      return "closed";
    case FailureKind::protocol:
      return "protocol";
    case FailureKind::refused:
      return "refused";
    case FailureKind::setup:
      return "setup";
  }
  return "unknown";
}

namespace {

// Where a request goes, from its URL.
struct Target {
  bool tls = false;
  std::string host;  // for connecting and for SNI: IPv6 without brackets
  uint16_t port = 0;
  std::string authority;  // host:port for messages ("127.0.0.1:9", "[::1]:443")
  std::string key;        // the pool key: scheme, host and port
  std::string host_header;
  std::string target;  // origin-form: path?query
};

ClientResult<Target> parse_target(std::string_view text) {
  auto parsed = url::parse(text);
  if (!parsed) return ClientFailure{FailureKind::setup, "bad URL '" + std::string(text) + "'"};
  const url::Url& u = *parsed;
  std::string scheme = u.scheme;
  for (char& c : scheme)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (scheme != "http" && scheme != "https") {
    return ClientFailure{FailureKind::setup,
                         "not an http or https URL: '" + std::string(text) + "'"};
  }
  Target t;
  t.tls = scheme == "https";
  t.host = u.host;
  t.port = u.effective_port();
  t.authority = u.host_text() + ":" + std::to_string(t.port);
  t.key = scheme + "://" + t.authority;
  t.host_header = u.host_header();
  t.target = u.target();
  return t;
}

bool has_body_semantics(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

// The cause in a net::Error's reason, without its "connect host:port: " prefix.
std::string cause_of(const net::Error& error) {
  std::string_view why = error.why;
  if (why.starts_with("connect ") || why.starts_with("resolve ")) {
    if (auto colon = why.find(": "); colon != std::string_view::npos) why.remove_prefix(colon + 2);
  }
  return std::string(why);
}

}  // namespace

struct HttpClient::Shared : std::enable_shared_from_this<HttpClient::Shared> {
  // A connection to one origin with the parser that has read its responses so far.
  struct Connection {
    explicit Connection(http::Limits limits) : parser(http::Role::response, limits) {}
    std::string key;
    net::Owned<net::Stream> stream;
    http::Parser parser;
    bool reused = false;
  };

  // The parsers set no body limit: a streamed body is not held, so only an exchange that
  // collects its body applies max_body_bytes (Exchange::on_body).
  Shared(net::Loop& l, HttpClientOptions o) : loop(l), options(std::move(o)) {}

  int64_t now() const {
    if (options.clock_us) return options.clock_us();
    return static_cast<int64_t>(uv_hrtime() / 1000);
  }

  ClientResult<std::shared_ptr<net::TlsContext>> tls_context() {
    if (tls) return tls;
    net::TlsClientOptions o;
    o.verify = !options.insecure;
    o.trust_pem = options.trust_pem;
    auto made = net::TlsContext::client(o);
    if (!made) return ClientFailure{FailureKind::setup, "TLS setup: " + made.error().why};
    tls = made.value();
    return tls;
  }

  std::unique_ptr<Connection> take_idle(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    // The most recently used first: the one least likely to have been closed by the server.
    std::unique_ptr<Connection> conn = std::move(it->second.back().conn);
    it->second.pop_back();
    if (it->second.empty()) idle.erase(it);
    conn->stream->set_idle_timeout(0);
    conn->reused = true;
    return conn;
  }

  void release(std::unique_ptr<Connection> conn) {
    auto& list = idle[conn->key];
    if (list.size() >= options.max_idle_per_origin) {
      if (list.empty()) idle.erase(conn->key);
      return;  // dropping it closes it
    }
    uint64_t serial = ++next_serial;
    // While idle, anything from the server (bytes it should not send, its close, an error or
    // the idle timeout) ends the connection's time in the pool.
    std::weak_ptr<Shared> weak = weak_from_this();
    std::string key = conn->key;
    auto drop = [weak, key, serial] {
      if (auto self = weak.lock()) self->drop_idle(key, serial);
    };
    conn->stream->start(net::StreamHandler{[drop](std::string_view) { drop(); }, drop,
                                           [drop](const net::Error&) { drop(); }});
    conn->stream->set_idle_timeout(options.idle_timeout_ms);
    list.push_back(Idle{std::move(conn), serial});
  }

  void drop_idle(const std::string& key, uint64_t serial) {
    auto it = idle.find(key);
    if (it == idle.end()) return;
    auto& list = it->second;
    for (auto i = list.begin(); i != list.end(); ++i) {
      if (i->serial == serial) {
        list.erase(i);  // closes the stream (safe from inside its own callback)
        break;
      }
    }
    if (list.empty()) idle.erase(it);
  }

  struct Idle {
    std::unique_ptr<Connection> conn;
    uint64_t serial;
  };

  net::Loop& loop;
  HttpClientOptions options;
  http::Limits limits;
  std::shared_ptr<net::TlsContext> tls;
  std::map<std::string, std::vector<Idle>> idle;
  uint64_t next_serial = 0;
  uint64_t opened = 0;
};

// One request and its response. Owned by its HttpCall; it owns its connection while it uses it.
class HttpCall::Exchange final : public http::Sink {
  using Connection = HttpClient::Shared::Connection;

 public:
  Exchange(std::shared_ptr<HttpClient::Shared> shared, HttpRequest request,
           HttpClient::Callback done, HttpClient::UpgradeCallback upgrade_done)
      : shared_(std::move(shared)),
        request_(std::move(request)),
        done_(std::move(done)),
        upgrade_done_(std::move(upgrade_done)),
        body_(size_t(shared_->options.max_body_bytes)) {}

  void start() {
    response_.timings.started_us = shared_->now();
    auto target = parse_target(request_.url);
    if (!target) return fail_later(target.error());
    target_ = std::move(target).value();
    timeout_ms_ = request_.timeout_ms ? request_.timeout_ms : shared_->options.response_timeout_ms;
    if (auto wire = serialize(); !wire) {
      return fail_later(ClientFailure{
          FailureKind::setup,
          "cannot send the request to " + target_.authority + ": " + wire.error().why});
    } else {
      wire_ = std::move(wire).value();
    }
    if (auto conn = shared_->take_idle(target_.key)) return use(std::move(conn));
    connect();
  }

  bool pending() const { return !finished_; }

  // HttpCall::Dispose: inside a streaming callback the parser is still on the stack, so the
  // exchange only marks itself; on_data() or on_end() deletes it once the parser returns.
  bool in_callback() const { return in_callback_; }
  void abandon() { abandoned_ = true; }

 private:
  // The head with Host and Content-Length as the header comment of HttpRequest says, then the
  // body, as one buffer: one write, one segment for small requests.
  Result<std::string> serialize() {
    http::Head head;
    head.method = request_.method;
    head.target = target_.target;
    head.headers.reserve(request_.headers.size() + 2);
    bool has_host = false;
    for (const auto& h : request_.headers) {
      if (text::iequals(h.name, "host")) has_host = true;
      if (text::iequals(h.name, "connection") &&
          http::has_token(http::Headers{h}, "connection", "close")) {
        request_close_ = true;
      }
    }
    if (!has_host) head.headers.push_back(http::Header{"Host", target_.host_header});
    bool set_length = !request_.body.empty() || has_body_semantics(request_.method);
    for (auto& h : request_.headers) {
      if (set_length &&
          (text::iequals(h.name, "content-length") || text::iequals(h.name, "transfer-encoding"))) {
        continue;
      }
      head.headers.push_back(h);
    }
    if (set_length) {
      head.headers.push_back(http::Header{"Content-Length", std::to_string(request_.body.size())});
    }
    auto text = http::serialize_request_head(head);
    if (!text) return text.error();
    text->append(request_.body);
    return text;
  }

  void connect() {
    ++shared_->opened;
    connecting_ = net::connect(shared_->loop, target_.host, target_.port,
                               net::ConnectOptions{shared_->options.connect_timeout_ms},
                               [this](net::Outcome<net::Owned<net::TcpConnection>> outcome) {
                                 on_connected(std::move(outcome));
                               });
  }

  void on_connected(net::Outcome<net::Owned<net::TcpConnection>> outcome) {
    if (!outcome) {
      const net::Error& e = outcome.error();
      return fail(ClientFailure{
          e.kind == net::ErrorKind::timeout ? FailureKind::timeout : FailureKind::connect,
          "cannot connect to " + target_.authority + ": " + cause_of(e)});
    }
    net::Owned<net::Stream> tcp(outcome.value().release());
    if (!target_.tls) return use(fresh(std::move(tcp)));
    auto context = shared_->tls_context();
    if (!context) return fail(context.error());
    tls_ = net::TlsStream::client(std::move(tcp), context.value(), target_.host,
                                  [this](net::Outcome<void> result) { on_tls(result); });
    // The connect time limit covers the TLS handshake too.
    tls_->set_idle_timeout(shared_->options.connect_timeout_ms);
  }

  void on_tls(const net::Outcome<void>& result) {
    if (!result) {
      const net::Error& e = result.error();
      tls_.reset();
      return fail(
          ClientFailure{e.kind == net::ErrorKind::timeout ? FailureKind::timeout : FailureKind::tls,
                        "TLS with " + target_.authority + " failed: " + e.why});
    }
    use(fresh(net::Owned<net::Stream>(tls_.release())));
  }

  std::unique_ptr<Connection> fresh(net::Owned<net::Stream> stream) {
    auto conn = std::make_unique<Connection>(shared_->limits);
    conn->key = target_.key;
    conn->stream = std::move(stream);
    return conn;
  }

  void use(std::unique_ptr<Connection> conn) {
    conn_ = std::move(conn);
    response_.reused = conn_->reused;
    conn_->parser.expect_response_to(request_.method);
    conn_->stream->start(net::StreamHandler{[this](std::string_view bytes) { on_data(bytes); },
                                            [this] { on_end(); },
                                            [this](const net::Error& e) { on_error(e); }});
    // No limit per read: the whole-response timer below is the limit (a stream's body gets
    // its idle limit once its head is in).
    conn_->stream->set_idle_timeout(0);
    conn_->stream->write(wire_);
    response_.timings.sent_us = shared_->now();
    // The whole wait, head and body, from the first time the request went out (a retry on a
    // fresh connection does not start it again).
    if (!deadline_) {
      deadline_ = net::Timer::create(shared_->loop);
      deadline_->start(timeout_ms_, [this] { on_deadline(); });
    }
  }

  // The response (or, for a stream, its head) did not complete within timeout_ms_ of being
  // asked for, whatever came in between.
  void on_deadline() {
    if (finished_) return;
    std::string why = "timed out after " + std::to_string(timeout_ms_) + " ms";
    if (!got_bytes_) {
      why = "no response from " + target_.authority + " within " + std::to_string(timeout_ms_) +
            " ms";
    } else if (!head_done_) {
      why += " waiting for the response head from " + target_.authority + ": " +
             std::to_string(head_bytes_) + " bytes of it received";
    } else {
      why += ": " + std::to_string(body_.length()) +
             (declared_length_ ? " of " + std::to_string(*declared_length_) : std::string()) +
             " bytes of the body from " + target_.authority + " received";
    }
    fail(ClientFailure{FailureKind::timeout, std::move(why)});
  }

  // ---- the response ----

  void on_data(std::string_view bytes) {
    if (!got_bytes_) {
      got_bytes_ = true;
      response_.timings.first_byte_us = shared_->now();
    }
    if (!head_done_) head_bytes_ += bytes.size();
    auto consumed = conn_->parser.feed(bytes, *this);
    if (abandoned_) return delete this;
    if (!consumed) {
      return fail(ClientFailure{
          FailureKind::protocol,
          "malformed response from " + target_.authority + ": " + consumed.error().why});
    }
    if (upgraded_) return complete(true);
    if (message_done_) complete(*consumed == bytes.size());
  }

  void on_end() {
    if (finished_) return;
    auto ended = conn_->parser.finish(*this);
    if (abandoned_) return delete this;
    if (message_done_) return complete(false);
    if (!got_bytes_ && can_retry()) return retry();
    (void)ended;
    fail(ClientFailure{
        FailureKind::closed,
        got_bytes_ ? "connection closed in the middle of the response from " + target_.authority
                   : "connection closed before the response from " + target_.authority});
  }

  void on_error(const net::Error& e) {
    if (finished_) return;
    if (e.kind == net::ErrorKind::timeout) {
      return fail(ClientFailure{FailureKind::timeout,
                                got_bytes_
                                    ? "the response from " + target_.authority + " stalled for " +
                                          std::to_string(timeout_ms_) + " ms"
                                    : "no response from " + target_.authority + " within " +
                                          std::to_string(timeout_ms_) + " ms"});
    }
    if (!got_bytes_ && can_retry()) return retry();
    fail(ClientFailure{FailureKind::closed,
                       "connection to " + target_.authority +
                           " failed before the response was complete: " + e.why});
  }

  bool can_retry() const { return response_.reused && !retried_; }

  void retry() {
    retried_ = true;
    conn_.reset();
    response_.reused = false;
    connect();
  }

  http::Flow on_head(http::Head& head) override {
    // 1xx interim responses (100 Continue, 103 Early Hints) are not the response (RFC 9110
    // §15.2); 101 is, when the request asked to switch protocols.
    interim_ = head.status < 200 && head.status != 101;
    if (interim_) return http::Flow::proceed;
    response_.status = head.status;
    response_.reason = std::move(head.reason);
    response_.version = head.version;
    response_.headers = std::move(head.headers);
    keep_alive_ = head.keep_alive;
    head_done_ = true;
    declared_length_ = head.content_length;
    // The body in one allocation when its length is declared (a script bundle comes in many
    // reads), never more than is kept of it.
    if (head.content_length && !request_.on_body) body_.reserve(*head.content_length);
    if (response_.status != 101 && request_.on_head) {
      streaming_callback([&] { request_.on_head(response_); });
      if (abandoned_) return http::Flow::pause;
    }
    if (response_.status != 101 && request_.on_body) {
      // From here on the time limit is between pieces of the body, not for the whole response.
      uint64_t idle = request_.body_idle_timeout_ms ? request_.body_idle_timeout_ms : timeout_ms_;
      conn_->stream->set_idle_timeout(idle);
      timeout_ms_ = idle;
      deadline_.reset();  // a stream lasts as long as it keeps sending
    }
    return http::Flow::proceed;
  }

  void on_body(std::string_view bytes) override {
    if (interim_ || abandoned_) return;
    if (request_.on_body) return streaming_callback([&] { request_.on_body(bytes); });
    body_.append(bytes);  // bounded: past the cap it is hashed and counted, not held
  }

  template <class F>
  void streaming_callback(F&& call) {
    in_callback_ = true;
    call();
    in_callback_ = false;
  }

  http::Flow on_message_end() override {
    if (abandoned_) return http::Flow::pause;
    if (interim_ || response_.status == 101) return http::Flow::proceed;
    message_done_ = true;
    return http::Flow::pause;
  }

  void on_upgrade(size_t, std::string_view rest) override {
    if (response_.status != 101) return;  // a 2xx to CONNECT: never asked for here
    upgraded_ = true;
    rest_.assign(rest);
  }

  // ---- the end ----

  void complete(bool clean) {
    finished_ = true;
    deadline_.reset();
    if (!request_.on_body) {
      store::Payload body = body_.take();
      response_.body_length = uint64_t(body.full_length);
      response_.body_sha256 = std::move(body.sha256);
      response_.body = std::move(body.bytes);
    }
    response_.timings.ended_us = shared_->now();
    std::unique_ptr<Connection> conn = std::move(conn_);
    std::optional<Upgraded> upgraded;
    if (upgraded_) {
      conn->stream->set_idle_timeout(0);
      upgraded = Upgraded{std::move(conn->stream), std::move(rest_)};
    } else if (clean && keep_alive_ && !request_close_ && !conn->parser.failed() &&
               !conn->parser.closed()) {
      shared_->release(std::move(conn));
    }
    conn.reset();
    // The callback may drop the HttpCall, destroying this object: nothing touches `this` after.
    if (upgrade_done_) {
      auto done = std::move(upgrade_done_);
      done(std::move(response_), std::move(upgraded));
    } else {
      auto done = std::move(done_);
      done(std::move(response_));
    }
  }

  void fail(ClientFailure failure) {
    finished_ = true;
    deadline_.reset();
    conn_.reset();
    connecting_.reset();
    tls_.reset();
    if (upgrade_done_) {
      auto done = std::move(upgrade_done_);
      done(std::move(failure), std::nullopt);
    } else {
      auto done = std::move(done_);
      done(std::move(failure));
    }
  }

  // Failures found before anything was started are reported from the loop, like every other.
  void fail_later(ClientFailure failure) {
    later_failure_ = std::move(failure);
    later_.schedule(shared_->loop);
  }
  static void on_later(void* arg) {
    auto* self = static_cast<Exchange*>(arg);
    self->fail(std::move(*self->later_failure_));
  }

  std::shared_ptr<HttpClient::Shared> shared_;
  HttpRequest request_;
  HttpClient::Callback done_;
  HttpClient::UpgradeCallback upgrade_done_;
  Target target_;
  std::string wire_;
  uint64_t timeout_ms_ = 0;
  net::Owned<net::ConnectRequest> connecting_;
  net::Owned<net::TlsStream> tls_;
  std::unique_ptr<Connection> conn_;
  net::Owned<net::Timer> deadline_;  // the whole wait for the response (on_deadline)
  HttpResponse response_;
  CappedBody body_;
  uint64_t head_bytes_ = 0;  // bytes received before the head was complete
  std::optional<uint64_t> declared_length_;
  std::string rest_;
  std::optional<ClientFailure> later_failure_;
  net::Deferred later_{&on_later, this};
  bool request_close_ = false;
  bool keep_alive_ = true;
  bool interim_ = false;
  bool got_bytes_ = false;
  bool message_done_ = false;
  bool upgraded_ = false;
  bool retried_ = false;
  bool finished_ = false;
  bool in_callback_ = false;  // on_head or on_body is running
  bool abandoned_ = false;    // the HttpCall was cancelled from inside one of them
  bool head_done_ = false;    // the final response head is in
};

// ---- HttpCall ----

void HttpCall::Dispose::operator()(Exchange* exchange) const {
  if (exchange->in_callback()) return exchange->abandon();
  delete exchange;
}

HttpCall::HttpCall() = default;
HttpCall::HttpCall(Exchange* exchange) : exchange_(exchange) {}
HttpCall::HttpCall(HttpCall&&) noexcept = default;
HttpCall& HttpCall::operator=(HttpCall&&) noexcept = default;
HttpCall::~HttpCall() = default;

void HttpCall::cancel() {
  exchange_.reset();
}

bool HttpCall::pending() const {
  return exchange_ && exchange_->pending();
}

// ---- HttpClient ----

HttpClient::HttpClient(net::Loop& loop, HttpClientOptions options)
    : shared_(std::make_shared<Shared>(loop, std::move(options))) {}

HttpClient::~HttpClient() {
  shared_->idle.clear();
}

HttpCall HttpClient::send(HttpRequest request, Callback done) {
  auto exchange = std::make_unique<HttpCall::Exchange>(shared_, std::move(request), std::move(done),
                                                       UpgradeCallback{});
  exchange->start();
  return HttpCall(exchange.release());
}

HttpCall HttpClient::upgrade(HttpRequest request, UpgradeCallback done) {
  auto exchange = std::make_unique<HttpCall::Exchange>(shared_, std::move(request), Callback{},
                                                       std::move(done));
  exchange->start();
  return HttpCall(exchange.release());
}

void HttpClient::close_idle() {
  shared_->idle.clear();
}

size_t HttpClient::idle_connections() const {
  size_t n = 0;
  for (const auto& [key, list] : shared_->idle)
    n += list.size();
  return n;
}

uint64_t HttpClient::connections_opened() const {
  return shared_->opened;
}

int64_t HttpClient::now_us() const {
  return shared_->now();
}

net::Loop& HttpClient::loop() const {
  return shared_->loop;
}

}  // namespace wa::replay
