#include "proxy/upstream_pool.h"

#include "net/tcp_connection.h"

namespace wa::proxy {

std::string Origin::str() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(tls ? "https://" : "http://") + h + ":" + std::to_string(port);
}

std::string Origin::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port == (tls ? 443 : 80)) return h;
  return h + ":" + std::to_string(port);
}

// A new connection: resolve and connect, then the TLS handshake when the origin needs it.
class UpstreamPool::Connecting final : public PendingUpstream {
 public:
  Connecting(UpstreamPool& pool, const Origin& origin, Callback done)
      : pool_(pool), origin_(origin), done_(std::move(done)) {
    request_ = net::connect(pool.loop_, origin.host, origin.port,
                            net::ConnectOptions{pool.connect_timeout_ms_},
                            [this](net::Outcome<net::Owned<net::TcpConnection>> outcome) {
                              on_connected(std::move(outcome));
                            });
  }

 private:
  void on_connected(net::Outcome<net::Owned<net::TcpConnection>> outcome) {
    if (!outcome) return finish(outcome.error());
    net::Owned<net::TcpConnection> tcp = std::move(outcome.value());
    tcp->set_nodelay(true);
    if (!origin_.tls) return finish(make(net::Owned<net::Stream>(tcp.release())));
    tls_ = net::TlsStream::client(net::Owned<net::Stream>(tcp.release()), pool_.tls_, origin_.host,
                                  [this](net::Outcome<void> result) {
                                    if (!result) return finish(result.error());
                                    auto up = make(net::Owned<net::Stream>(tls_.release()));
                                    finish(std::move(up));
                                  });
  }

  std::unique_ptr<Upstream> make(net::Owned<net::Stream> stream) {
    auto up = std::make_unique<Upstream>();
    up->origin = origin_;
    if (auto* tls = dynamic_cast<net::TlsStream*>(stream.get())) up->alpn = tls->alpn();
    up->stream = std::move(stream);
    up->parser = std::make_unique<http::Parser>(http::Role::response, pool_.response_limits_);
    return up;
  }

  void finish(net::Outcome<std::unique_ptr<Upstream>> outcome) {
    Callback done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(outcome));
  }

  UpstreamPool& pool_;
  Origin origin_;
  Callback done_;
  net::Owned<net::ConnectRequest> request_;
  net::Owned<net::TlsStream> tls_;
};

// An idle connection handed out on a later loop turn, so `done` never runs inside acquire().
class UpstreamPool::Immediate final : public PendingUpstream {
 public:
  Immediate(net::Loop& loop, std::unique_ptr<Upstream> upstream, Callback done)
      : upstream_(std::move(upstream)), done_(std::move(done)) {
    task_.schedule(loop);
  }

 private:
  static void run(void* arg) {
    auto* self = static_cast<Immediate*>(arg);
    Callback done = std::move(self->done_);
    done(std::move(self->upstream_));  // may destroy `self`
  }
  std::unique_ptr<Upstream> upstream_;
  Callback done_;
  net::Deferred task_{&Immediate::run, this};
};

UpstreamPool::UpstreamPool(net::Loop& loop, std::shared_ptr<net::TlsContext> tls,
                           uint64_t connect_timeout_ms, http::Limits response_limits)
    : loop_(loop),
      tls_(std::move(tls)),
      connect_timeout_ms_(connect_timeout_ms),
      response_limits_(response_limits) {}

UpstreamPool::~UpstreamPool() {
  *alive_ = false;
  close_idle();
}

std::unique_ptr<Upstream> UpstreamPool::take_idle(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  // The most recently used first: the one least likely to have been closed by the server.
  std::unique_ptr<Upstream> up = std::move(it->second.back().upstream);
  it->second.pop_back();
  if (it->second.empty()) idle_.erase(it);
  up->stream->set_idle_timeout(0);
  up->reused = true;
  return up;
}

std::unique_ptr<PendingUpstream> UpstreamPool::acquire(const Origin& origin, Callback done) {
  if (auto up = take_idle(origin.str())) {
    return std::make_unique<Immediate>(loop_, std::move(up), std::move(done));
  }
  return std::make_unique<Connecting>(*this, origin, std::move(done));
}

void UpstreamPool::release(std::unique_ptr<Upstream> upstream) {
  if (!upstream || !upstream->stream || upstream->parser->failed() || upstream->parser->closed() ||
      upstream->parser->upgraded()) {
    return;
  }
  std::string key = upstream->origin.str();
  auto& list = idle_[key];
  if (list.size() >= kMaxIdlePerOrigin) return;  // dropping it closes it
  uint64_t serial = ++next_serial_;
  // While idle, anything from the server (data it should not send, its close, an error) ends
  // the connection's time in the pool.
  std::weak_ptr<bool> alive = alive_;
  auto drop = [this, alive, key, serial] {
    if (auto a = alive.lock(); a && *a) drop_idle(key, serial);
  };
  upstream->stream->start(net::StreamHandler{[drop](std::string_view) { drop(); },
                                             [drop] { drop(); },
                                             [drop](const net::Error&) { drop(); }});
  upstream->stream->set_idle_timeout(kIdleTimeoutMs);
  list.push_back(Idle{std::move(upstream), serial});
}

void UpstreamPool::drop_idle(const std::string& key, uint64_t serial) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return;
  auto& list = it->second;
  for (auto i = list.begin(); i != list.end(); ++i) {
    if (i->serial == serial) {
      list.erase(i);  // closes the stream (safe from inside its own callback)
      break;
    }
  }
  if (list.empty()) idle_.erase(it);
}

void UpstreamPool::close_idle() {
  idle_.clear();
}

size_t UpstreamPool::idle_count() const {
  size_t n = 0;
  for (const auto& [key, list] : idle_)
    n += list.size();
  return n;
}

}  // namespace wa::proxy
