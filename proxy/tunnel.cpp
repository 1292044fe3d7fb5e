#include "proxy/tunnel.h"

#include <ctime>

#include "net/sniff.h"
#include "net/tcp_connection.h"
#include "proxy/host_filter.h"
#include "proxy/http_session.h"

namespace wa::proxy {
namespace {
constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection Established\r\n\r\n";
}  // namespace

Tunnel::Tunnel(ProxyContext& ctx, net::Owned<net::Stream> client, std::string client_address,
               Origin target, std::string rest)
    : ctx_(ctx),
      client_(std::move(client)),
      client_address_(std::move(client_address)),
      target_(std::move(target)),
      buffered_(std::move(rest)) {}

Tunnel::~Tunnel() = default;

void Tunnel::start() {
  if (!ctx_.ca || matches_any(ctx_.options.no_intercept, target_.host)) return relay_blind();
  // Intercepted tunnels are answered at once: the upstream is reached when the first request
  // inside is relayed, and an unreachable one gets a 502 the browser can show.
  client_->write(std::string(kEstablished));
  client_->start(net::StreamHandler{[this](std::string_view bytes) {
                                      buffered_.append(bytes);
                                      sniff();
                                    },
                                    [this] { end(""); },
                                    [this](const net::Error& error) { end(error.why); }});
  if (!buffered_.empty()) sniff();
}

void Tunnel::sniff() {
  if (done_) return;
  switch (net::classify_tunnel_start(buffered_)) {
    case net::TunnelStart::need_more:
      return;
    case net::TunnelStart::tls:
      return intercept();
    case net::TunnelStart::other:
      return serve_http(std::move(client_), false, "", "", std::move(buffered_));
  }
}

void Tunnel::intercept() {
  CertificateAuthority* ca = ctx_.ca;
  std::string fallback = target_.host;
  net::TlsStream::ServerStart start;
  start.already_read = std::move(buffered_);
  start.choose = [ca, fallback](const std::string& sni) -> std::optional<net::CertifiedKey> {
    auto leaf = ca->leaf_for(sni.empty() ? fallback : sni, std::time(nullptr));
    if (!leaf) return std::nullopt;
    return net::CertifiedKey{leaf->cert, leaf->key, {ca->shared_cert()}};
  };
  std::weak_ptr<bool> alive = alive_;
  tls_ = net::TlsStream::server(
      std::move(client_), ctx_.intercept_tls,
      [this, alive](net::Outcome<void> result) {
        if (alive.expired() || done_) return;
        if (!result) {
          const net::Error& e = result.error();
          if (e.kind == net::ErrorKind::tls_cert_rejected) {
            bool first = ctx_.rejected_hosts.empty();
            ctx_.rejected_hosts.insert(target_.host);
            if (first) {
              ctx_.console.warning("the client rejected the certificate minted for " +
                                   target_.host + " (" + e.why +
                                   "); run 'workalready ca' to see how to trust the local CA");
            }
          }
          return end(e.why);
        }
        std::string sni = tls_->server_name(), alpn = tls_->alpn();
        serve_http(net::Owned<net::Stream>(tls_.release()), true, sni, alpn, "");
      },
      std::move(start));
}

void Tunnel::relay_blind() {
  std::weak_ptr<bool> alive = alive_;
  int64_t started = ctx_.recorder.now();
  bool v6 = target_.host.find(':') != std::string::npos;
  std::string authority =
      (v6 ? "[" + target_.host + "]" : target_.host) + ":" + std::to_string(target_.port);
  connecting_ = net::connect(
      ctx_.loop, target_.host, target_.port, net::ConnectOptions{ctx_.options.connect_timeout_ms},
      [this, alive, started, authority](net::Outcome<net::Owned<net::TcpConnection>> outcome) {
        if (alive.expired() || done_) return;
        if (!outcome) {
          std::string body = "workalready: cannot reach " + target_.host + ":" +
                             std::to_string(target_.port) + ": " + outcome.error().why + "\n";
          client_->write(
              "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; "
              "charset=utf-8\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
          client_->shutdown();
          ctx_.console.tunnel(authority, "502 (cannot reach it: " + outcome.error().why + ")");
          return end(outcome.error().why);
        }
        net::Owned<net::Stream> upstream = std::move(outcome.value());
        client_->write(std::string(kEstablished));
        if (!buffered_.empty()) upstream->write(std::move(buffered_));
        relay_ = net::Relay::start(
            std::move(client_), std::move(upstream),
            [this, alive, started, authority](const net::Error* error) {
              if (alive.expired()) return;
              long long ms = (ctx_.recorder.now() - started) / 1000;
              ctx_.console.tunnel(authority, "tunnelled untouched, " + std::to_string(ms) + "ms, " +
                                                 format_bytes(relay_->bytes_a_to_b()) + " up, " +
                                                 format_bytes(relay_->bytes_b_to_a()) + " down" +
                                                 (error ? " (" + error->why + ")" : "") +
                                                 " (not recorded)");
              end(error ? error->why : "");
            });
      });
  // Until connected, the client's bytes wait in the kernel.
  client_->start(net::StreamHandler{[this](std::string_view b) { buffered_.append(b); }, [] {},
                                    [this](const net::Error& e) { end(e.why); }});
}

void Tunnel::serve_http(net::Owned<net::Stream> stream, bool tls, std::string sni, std::string alpn,
                        std::string initial) {
  ClientInfo info;
  info.address = client_address_;
  info.tls = tls;
  info.sni = std::move(sni);
  info.alpn = std::move(alpn);
  Origin origin = target_;
  origin.tls = tls;
  info.tunnel = origin;
  auto session = std::make_unique<HttpSession>(ctx_, std::move(stream), std::move(info), origin,
                                               std::move(initial));
  HttpSession* s = session.get();
  ctx_.host.adopt(std::move(session));
  s->start();
  done_ = true;
  ctx_.host.retire(this);
}

void Tunnel::end(const std::string&) {
  if (done_) return;
  done_ = true;
  ctx_.host.retire(this);
}

void Tunnel::abort(const std::string& why) {
  end(why);
}

}  // namespace wa::proxy
