// The local certificate authority that TLS interception signs with.
//
// DESIGN.md: ECDSA P-256, created on first use under --ca-dir (default ~/.workalready), the
// folder 0700 and the key 0600. An existing key that group or others can access is refused, an
// existing folder they can access is warned about (as ssh treats ~/.ssh and its keys). Leaf
// certificates are minted per host name (the SNI name, or the CONNECT host when the client sends no
// SNI) with a matching subjectAltName — DNS for names, IP for address literals — and cached, so a
// browser that opens twenty connections to one host costs one signature.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/openssl.h"
#include "protocol/result.h"

namespace wa::proxy {

// A minted leaf: shared, because TLS contexts built from it may outlive a cache eviction.
struct LeafCertificate {
  std::shared_ptr<X509> cert;
  std::shared_ptr<EVP_PKEY> key;
};

class CertificateAuthority {
 public:
  // Loads the CA from `dir`, or creates it there (folder 0700, key 0600) when neither file
  // exists. `now_unix` is the current time in seconds, for the validity period.
  static Result<CertificateAuthority> load_or_create(const std::string& dir, int64_t now_unix);

  // The folder used when --ca-dir is not given: $HOME/.workalready.
  static Result<std::string> default_dir();

  const std::string& cert_path() const { return cert_path_; }
  const std::string& key_path() const { return key_path_; }
  X509* cert() const { return cert_.get(); }
  // The CA certificate, to send after a leaf: a client that pins the CA's key
  // (--ignore-certificate-errors-spki-list) finds it in the chain.
  std::shared_ptr<X509> shared_cert() const { return cert_; }
  std::string cert_pem() const;

  // base64(SHA-256(SubjectPublicKeyInfo)) of the CA key: the value Chromium's
  // --ignore-certificate-errors-spki-list takes.
  std::string spki_sha256_base64() const;

  // A leaf certificate for `host` (a DNS name or an IPv4/IPv6 literal, brackets allowed),
  // minted on first use and cached. Valid from a day before `now_unix` for 397 days (CA/B
  // Forum limit that Chromium enforces for leaves).
  Result<LeafCertificate> leaf_for(std::string_view host, int64_t now_unix);

  // Whether a created CA is new in this process (for the first-use hint on the console).
  bool created() const { return created_; }

  // What the caller should print before going on, one line each: an existing CA folder that
  // group or others can access. (A key they can read fails load_or_create instead.)
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  CertificateAuthority() = default;

  std::string cert_path_, key_path_;
  std::shared_ptr<X509> cert_;
  net::EvpPkeyPtr key_;
  // One key pair serves every leaf: generating a P-256 key per host would double the cost of
  // minting, and the leaf key never leaves this process.
  std::shared_ptr<EVP_PKEY> leaf_key_;
  std::unordered_map<std::string, LeafCertificate> leaves_;
  bool created_ = false;
  std::vector<std::string> warnings_;
};

// The text `workalready ca` prints: where the CA is and how to trust it in each client.
std::string trust_instructions(const CertificateAuthority& ca);

}  // namespace wa::proxy
