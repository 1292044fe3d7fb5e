#include "proxy/proxy_server.h"

#include "net/tcp_connection.h"
#include "proxy/http_session.h"

namespace wa::proxy {

Result<std::unique_ptr<ProxyServer>> ProxyServer::start(net::Loop& loop,
                                                        const ProxyOptions& options,
                                                        Recorder& recorder, Console& console,
                                                        CertificateAuthority* ca) {
  net::TlsClientOptions client;
  client.verify = !options.upstream_insecure;
  client.trust_pem = options.upstream_trust_pem;
  auto upstream_tls = net::TlsContext::client(client);
  if (!upstream_tls) return fail(Errc::setup, "upstream TLS: " + upstream_tls.error().why);
  std::shared_ptr<net::TlsContext> intercept_tls;
  if (ca) {
    // Certificates are chosen per connection (the Tunnel knows the CONNECT host).
    auto server = net::TlsContext::server(net::TlsServerOptions{});
    if (!server) return fail(Errc::setup, "interception TLS: " + server.error().why);
    intercept_tls = std::move(server.value());
  }
  std::unique_ptr<ProxyServer> proxy(new ProxyServer(loop, options, recorder, console, ca,
                                                     std::move(upstream_tls.value()),
                                                     std::move(intercept_tls)));
  ProxyServer* self = proxy.get();
  auto listener = net::TcpListener::listen(loop, options.listen_host, options.listen_port,
                                           [self](net::Owned<net::TcpConnection> connection) {
                                             self->on_accept(std::move(connection));
                                           });
  if (!listener) return fail(Errc::setup, listener.error().why);
  proxy->listener_ = std::move(listener.value());
  proxy->listener_->on_shed([self] { self->on_shed(); });
  return proxy;
}

ProxyServer::ProxyServer(net::Loop& loop, const ProxyOptions& options, Recorder& recorder,
                         Console& console, CertificateAuthority* ca,
                         std::shared_ptr<net::TlsContext> upstream_tls,
                         std::shared_ptr<net::TlsContext> intercept_tls)
    : loop_(loop),
      options_(options),
      pool_(loop, std::move(upstream_tls), options.connect_timeout_ms),
      ctx_{loop, options_, recorder, console, pool_, *this, ca, std::move(intercept_tls), {}} {}

ProxyServer::~ProxyServer() {
  // Sessions first: they hold upstream connections and refer to the pool and the context.
  sessions_.clear();
  retired_.clear();
}

void ProxyServer::on_accept(net::Owned<net::TcpConnection> connection) {
  if (stopping_) return;
  connection->set_nodelay(true);
  ClientInfo info;
  if (connection->peer_address()) info.address = connection->peer_address()->to_string();
  auto session = std::make_unique<HttpSession>(ctx_, std::move(connection), std::move(info),
                                               options_.upstream);
  HttpSession* s = session.get();
  adopt(std::move(session));
  s->start();
}

void ProxyServer::on_shed() {
  // Said at the first, then at 10, 100, 1000...: a flood must not flood the console too.
  ++shed_;
  if (shed_ == 1) {
    ctx_.console.warning(
        "out of file descriptors: new connections are closed at once, so that those already "
        "accepted stay recorded (raise `ulimit -n` for more)");
  } else if (shed_ == next_shed_report_) {
    ctx_.console.warning(std::to_string(shed_) +
                         " connections closed at once so far for lack of file descriptors");
    next_shed_report_ *= 10;
  }
}

void ProxyServer::adopt(std::unique_ptr<Session> session) {
  Session* key = session.get();
  sessions_.emplace(key, std::move(session));
}

void ProxyServer::retire(Session* session) {
  retired_.push_back(session);
  reaper_.schedule(loop_);
}

void ProxyServer::reap() {
  std::vector<Session*> retired;
  retired.swap(retired_);
  for (Session* s : retired)
    sessions_.erase(s);
  check_stopped();
}

void ProxyServer::stop(uint64_t grace_ms, std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  stopped_ = std::move(done);
  listener_.reset();
  pool_.close_idle();
  grace_ = net::Timer::create(loop_);
  grace_->start(grace_ms, [this] {
    std::vector<Session*> open;
    for (auto& [key, session] : sessions_)
      open.push_back(key);
    for (Session* s : open) {
      if (sessions_.count(s)) s->abort("the proxy stopped");
    }
    reaper_.schedule(loop_);
  });
  reaper_.schedule(loop_);
}

void ProxyServer::check_stopped() {
  if (!stopping_ || !sessions_.empty() || !stopped_) return;
  grace_.reset();
  pool_.close_idle();
  auto done = std::move(stopped_);
  stopped_ = nullptr;
  done();
}

}  // namespace wa::proxy
