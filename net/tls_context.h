// TLS configuration shared by many connections: one SSL_CTX for the client side (upstream
// connections) or the server side (intercepted browser connections).
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/error.h"
#include "net/openssl.h"

namespace wa::net {

struct TlsClientOptions {
  // Verify the server's chain and its name; false is --upstream-insecure.
  bool verify = true;
  // Trust OpenSSL's default verify paths, which honour SSL_CERT_FILE and SSL_CERT_DIR.
  bool default_verify_paths = true;
  // More trust anchors, as PEM (a test CA, a company root).
  std::string trust_pem = {};
  // ALPN protocols to offer, in order of preference (RFC 7301). The relay speaks HTTP/1.1
  // only, so that is all it offers.
  std::vector<std::string> alpn = {"http/1.1"};
};

// Picks the certificate for one handshake. Called from the ClientHello processing, after the
// SNI name is known and before any certificate is chosen, with that name ("" when the client
// sent none). nullopt refuses the handshake.
using CertificateChooser =
    std::function<std::optional<CertifiedKey>(const std::string& server_name)>;

struct TlsServerOptions {
  // The chooser for every connection (a TlsStream may override it); when empty, `certificate`
  // is presented to everyone. With neither, every connection must bring its own chooser
  // (TlsStream::ServerStart::choose), or its handshake fails with "no certificate".
  CertificateChooser choose = {};
  std::optional<CertifiedKey> certificate = {};
  // ALPN protocols accepted, in order of preference; when the client offers none of them the
  // handshake goes on without ALPN (RFC 7301 §3.2 allows it) and HTTP/1.1 is spoken.
  std::vector<std::string> alpn = {"http/1.1"};
};

class TlsContext {
 public:
  static Outcome<std::shared_ptr<TlsContext>> client(const TlsClientOptions& options);
  static Outcome<std::shared_ptr<TlsContext>> server(TlsServerOptions options);

  SSL_CTX* native() const { return ctx_.get(); }
  bool is_server() const { return server_; }
  bool verifies_peer() const { return verify_; }
  const TlsServerOptions& server_options() const { return server_options_; }

 private:
  TlsContext() = default;
  static int on_alpn_select(SSL* ssl, const unsigned char** out, unsigned char* out_length,
                            const unsigned char* in, unsigned int in_length, void* arg);

  SslCtxPtr ctx_;
  bool server_ = false;
  bool verify_ = false;
  TlsServerOptions server_options_;
  std::string alpn_wire_;  // RFC 7301 §3.1 ProtocolNameList: length-prefixed names
};

}  // namespace wa::net
