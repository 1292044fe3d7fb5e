// A CONNECT tunnel after the proxy's 200: the first bytes the client sends decide what it
// carries. A TLS ClientHello is intercepted: the client gets a certificate minted for its SNI
// name (or the CONNECT host) and signed by the local CA, and an HttpSession serves what it sends
// inside, relaying to the CONNECT target over TLS. Anything else is HTTP in the clear (browsers
// tunnel ws:// through CONNECT). Hosts on the no-intercept list, or every host when there is no
// CA, are relayed blind, byte for byte.
#pragma once

#include <memory>
#include <string>

#include "net/relay.h"
#include "net/tls_stream.h"
#include "proxy/context.h"

namespace wa::proxy {

class Tunnel final : public Session {
 public:
  Tunnel(ProxyContext& ctx, net::Owned<net::Stream> client, std::string client_address,
         Origin target, std::string rest);
  ~Tunnel() override;

  void start();
  void abort(const std::string& why) override;

 private:
  void sniff();
  void intercept();
  void relay_blind();
  void serve_http(net::Owned<net::Stream> stream, bool tls, std::string sni, std::string alpn,
                  std::string initial);
  void end(const std::string& why);

  ProxyContext& ctx_;
  net::Owned<net::Stream> client_;
  std::string client_address_;
  Origin target_;
  std::string buffered_;  // bytes read while sniffing
  net::Owned<net::TlsStream> tls_;
  net::Owned<net::ConnectRequest> connecting_;
  net::Owned<net::Relay> relay_;
  bool done_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wa::proxy
