#include "net/openssl.h"

#include <openssl/err.h>
#include <openssl/pem.h>

namespace wa::net {

std::shared_ptr<X509> share(X509Ptr certificate) {
  return std::shared_ptr<X509>(certificate.release(), X509_free);
}

std::shared_ptr<EVP_PKEY> share(EvpPkeyPtr key) {
  return std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
}

std::vector<X509Ptr> certificates_from_pem(std::string_view pem) {
  std::vector<X509Ptr> certificates;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return certificates;
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(certificate);
  }
  // The loop ends on "no start line" at the end of the text: not an error.
  ERR_clear_error();
  return certificates;
}

Outcome<CertifiedKey> certified_key_from_pem(std::string_view chain_pem, std::string_view key_pem) {
  std::vector<X509Ptr> certificates = certificates_from_pem(chain_pem);
  if (certificates.empty()) return Error{ErrorKind::setup, 0, "no PEM certificate found"};
  BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    return Error{ErrorKind::setup, 0,
                 "private key: " + take_openssl_error("no PEM private key found")};
  }
  if (X509_check_private_key(certificates[0].get(), key.get()) != 1) {
    ERR_clear_error();
    return Error{ErrorKind::setup, 0, "private key does not match the certificate"};
  }
  CertifiedKey result;
  result.certificate = share(std::move(certificates[0]));
  result.key = share(std::move(key));
  for (size_t i = 1; i < certificates.size(); ++i) {
    result.chain.push_back(share(std::move(certificates[i])));
  }
  return result;
}

std::string take_openssl_error(std::string_view fallback) {
  unsigned long code = ERR_get_error();
  std::string text;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    text = reason ? reason : "OpenSSL error " + std::to_string(ERR_GET_REASON(code));
  } else {
    text = std::string(fallback);
  }
  ERR_clear_error();
  return text;
}

}  // namespace wa::net
