// The recording proxy: a listener whose connections become HttpSessions, the upstream pool, TLS
// interception, and an orderly stop.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "net/tcp_listener.h"
#include "net/timer.h"
#include "proxy/context.h"

namespace wa::proxy {

class ProxyServer final : public SessionHost {
 public:
  // `ca` may be null (no interception: CONNECT tunnels are relayed blind).
  static Result<std::unique_ptr<ProxyServer>> start(net::Loop& loop, const ProxyOptions& options,
                                                    Recorder& recorder, Console& console,
                                                    CertificateAuthority* ca);
  ~ProxyServer() override;

  uint16_t port() const { return listener_->port(); }
  std::string address() const { return listener_->address().to_string(); }

  // Stops accepting at once; lets exchanges in flight finish for up to `grace_ms`, then ends
  // every session (recording what was cut). `done` runs when nothing is left open.
  void stop(uint64_t grace_ms, std::function<void()> done);

  size_t sessions() const { return sessions_.size(); }
  // Hosts whose minted certificate a client rejected (see ProxyContext::rejected_hosts).
  const std::set<std::string>& rejected_hosts() const { return ctx_.rejected_hosts; }
  // Connections closed as soon as accepted for lack of file descriptors (net/descriptors.h).
  uint64_t shed() const { return shed_; }

  void adopt(std::unique_ptr<Session> session) override;
  void retire(Session* session) override;

 private:
  ProxyServer(net::Loop& loop, const ProxyOptions& options, Recorder& recorder, Console& console,
              CertificateAuthority* ca, std::shared_ptr<net::TlsContext> upstream_tls,
              std::shared_ptr<net::TlsContext> intercept_tls);
  void on_accept(net::Owned<net::TcpConnection> connection);
  void on_shed();
  void reap();
  void check_stopped();

  net::Loop& loop_;
  ProxyOptions options_;
  UpstreamPool pool_;
  ProxyContext ctx_;
  net::Owned<net::TcpListener> listener_;
  std::map<Session*, std::unique_ptr<Session>> sessions_;
  std::vector<Session*> retired_;
  net::Deferred reaper_{[](void* self) { static_cast<ProxyServer*>(self)->reap(); }, this};
  net::Owned<net::Timer> grace_;
  std::function<void()> stopped_;
  bool stopping_ = false;
  uint64_t shed_ = 0;
  uint64_t next_shed_report_ = 10;
};

}  // namespace wa::proxy
