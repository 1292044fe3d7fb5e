#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

namespace wa::net {

namespace {

Outcome<std::string> alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& protocol : protocols) {
    if (protocol.empty() || protocol.size() > 255) {
      return Error{ErrorKind::setup, 0, "ALPN protocol names are 1 to 255 bytes"};
    }
    wire += static_cast<char>(protocol.size());
    wire += protocol;
  }
  return wire;
}

// Settings both sides share.
Outcome<SslCtxPtr> new_context(const SSL_METHOD* method) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx) return Error{ErrorKind::setup, 0, "SSL_CTX_new: " + take_openssl_error("failed")};
  // TLS 1.0 and 1.1 are deprecated (RFC 8996).
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Renegotiation is a CPU sink for a peer to pull on and nothing here needs it.
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their 2 x 16 KiB record buffers back, so 1,000 open connections do
  // not hold 32 MiB of empty buffers.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

}  // namespace

Outcome<std::shared_ptr<TlsContext>> TlsContext::client(const TlsClientOptions& options) {
  auto ctx = new_context(TLS_client_method());
  if (!ctx) return ctx.error();
  auto wire = alpn_wire(options.alpn);
  if (!wire) return wire.error();
  std::shared_ptr<TlsContext> context(new TlsContext());
  context->ctx_ = std::move(ctx).value();
  context->verify_ = options.verify;
  context->alpn_wire_ = std::move(wire).value();
  SSL_CTX* native = context->ctx_.get();
  if (!context->alpn_wire_.empty()) {
    // Returns 0 on success, unlike most of OpenSSL.
    if (SSL_CTX_set_alpn_protos(native,
                                reinterpret_cast<const unsigned char*>(context->alpn_wire_.data()),
                                static_cast<unsigned>(context->alpn_wire_.size())) != 0) {
      return Error{ErrorKind::setup, 0, "ALPN: " + take_openssl_error("cannot be set")};
    }
  }
  if (options.verify) {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    if (options.default_verify_paths && SSL_CTX_set_default_verify_paths(native) != 1) {
      // Missing default files are not fatal: extra trust anchors may be all that is used.
      ERR_clear_error();
    }
    if (!options.trust_pem.empty()) {
      std::vector<X509Ptr> anchors = certificates_from_pem(options.trust_pem);
      if (anchors.empty()) return Error{ErrorKind::setup, 0, "trust anchors: no PEM certificate"};
      X509_STORE* store = SSL_CTX_get_cert_store(native);
      for (X509Ptr& anchor : anchors) {
        if (X509_STORE_add_cert(store, anchor.get()) != 1) ERR_clear_error();  // duplicate
      }
    }
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  }
  return context;
}

Outcome<std::shared_ptr<TlsContext>> TlsContext::server(TlsServerOptions options) {
  auto ctx = new_context(TLS_server_method());
  if (!ctx) return ctx.error();
  auto wire = alpn_wire(options.alpn);
  if (!wire) return wire.error();
  std::shared_ptr<TlsContext> context(new TlsContext());
  context->ctx_ = std::move(ctx).value();
  context->server_ = true;
  context->alpn_wire_ = std::move(wire).value();
  context->server_options_ = std::move(options);
  SSL_CTX* native = context->ctx_.get();
  // No session resumption: every handshake goes through certificate selection, so a cached
  // session for one SNI name can never carry a connection to another; interception does not
  // need the round trip it saves.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_alpn_select_cb(native, on_alpn_select, context.get());
  return context;
}

int TlsContext::on_alpn_select(SSL*, const unsigned char** out, unsigned char* out_length,
                               const unsigned char* in, unsigned int in_length, void* arg) {
  auto* self = static_cast<TlsContext*>(arg);
  if (self->alpn_wire_.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  // Our list first: the server's preference decides (RFC 7301 §3.2).
  int status = SSL_select_next_proto(
      &selected, out_length, reinterpret_cast<const unsigned char*>(self->alpn_wire_.data()),
      static_cast<unsigned>(self->alpn_wire_.size()), in, in_length);
  if (status != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace wa::net
