// RAII holders for OpenSSL objects, the certificate-and-key type the TLS server presents, and
// the one-line text of OpenSSL's error queue.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/error.h"

namespace wa::net {

struct OpensslFree {
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free_all(p); }
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
using SslPtr = std::unique_ptr<SSL, OpensslFree>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpensslFree>;
using X509Ptr = std::unique_ptr<X509, OpensslFree>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslFree>;
using BioPtr = std::unique_ptr<BIO, OpensslFree>;

// Shared ownership of an X509 / EVP_PKEY that already has one reference (new, or up-ref'd):
// the shared_ptr frees that reference.
std::shared_ptr<X509> share(X509Ptr certificate);
std::shared_ptr<EVP_PKEY> share(EvpPkeyPtr key);

// What a TLS server presents: the leaf certificate, its private key, and the intermediates to
// send after it (not the root). Shared, so a cached leaf can serve many connections.
struct CertifiedKey {
  std::shared_ptr<X509> certificate;
  std::shared_ptr<EVP_PKEY> key;
  std::vector<std::shared_ptr<X509>> chain;
};

// Reads a PEM certificate chain (leaf first) and a PEM private key; checks they match.
Outcome<CertifiedKey> certified_key_from_pem(std::string_view chain_pem, std::string_view key_pem);

// Every certificate in a PEM text, in order (empty when there is none or it does not parse).
std::vector<X509Ptr> certificates_from_pem(std::string_view pem);

// The reason of the first error in this thread's OpenSSL error queue ("wrong version number"),
// or `fallback` if the queue is empty; the queue is cleared either way.
std::string take_openssl_error(std::string_view fallback);

}  // namespace wa::net
