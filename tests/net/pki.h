// A throw-away PKI for the TLS tests, made in the test with OpenSSL: an ECDSA P-256 CA and
// leaves signed by it, for the names and addresses a test needs.
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "net/openssl.h"

namespace wa::net::testing {

inline EvpPkeyPtr make_p256_key() {
  return EvpPkeyPtr(EVP_EC_gen("P-256"));
}

inline void add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (extension != nullptr) {
    X509_add_ext(certificate, extension, -1);
    X509_EXTENSION_free(extension);
  }
}

inline std::string to_pem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

inline std::string key_to_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

struct TestCa {
  std::shared_ptr<X509> certificate;
  std::shared_ptr<EVP_PKEY> key;
  std::string pem;
};

inline X509Ptr new_certificate(EVP_PKEY* key, const std::string& common_name, long serial) {
  X509Ptr certificate(X509_new());
  X509_set_version(certificate.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 7 * 86400);
  X509_set_pubkey(certificate.get(), key);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return certificate;
}

inline TestCa make_ca(const std::string& common_name) {
  EvpPkeyPtr key = make_p256_key();
  X509Ptr certificate = new_certificate(key.get(), common_name, 1);
  X509_set_issuer_name(certificate.get(), X509_get_subject_name(certificate.get()));
  add_extension(certificate.get(), certificate.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(certificate.get(), certificate.get(), NID_key_usage,
                "critical,keyCertSign,cRLSign");
  add_extension(certificate.get(), certificate.get(), NID_subject_key_identifier, "hash");
  X509_sign(certificate.get(), key.get(), EVP_sha256());
  TestCa ca;
  ca.pem = to_pem(certificate.get());
  ca.certificate = share(std::move(certificate));
  ca.key = share(std::move(key));
  return ca;
}

// A leaf for `alt_names`, subjectAltName syntax: "DNS:localhost,IP:127.0.0.1".
inline CertifiedKey make_leaf(const TestCa& ca, const std::string& alt_names, long serial = 2) {
  EvpPkeyPtr key = make_p256_key();
  X509Ptr certificate = new_certificate(key.get(), "leaf", serial);
  X509_set_issuer_name(certificate.get(), X509_get_subject_name(ca.certificate.get()));
  add_extension(certificate.get(), ca.certificate.get(), NID_basic_constraints,
                "critical,CA:FALSE");
  add_extension(certificate.get(), ca.certificate.get(), NID_key_usage,
                "critical,digitalSignature");
  add_extension(certificate.get(), ca.certificate.get(), NID_ext_key_usage, "serverAuth");
  add_extension(certificate.get(), ca.certificate.get(), NID_subject_alt_name, alt_names);
  add_extension(certificate.get(), ca.certificate.get(), NID_authority_key_identifier,
                "keyid:always");
  X509_sign(certificate.get(), ca.key.get(), EVP_sha256());
  CertifiedKey leaf;
  leaf.certificate = share(std::move(certificate));
  leaf.key = share(std::move(key));
  return leaf;
}

}  // namespace wa::net::testing
