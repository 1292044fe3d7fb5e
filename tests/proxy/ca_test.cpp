#include "proxy/ca.h"

#include <doctest/doctest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using wa::proxy::CertificateAuthority;

namespace {

constexpr int64_t kNow = 1795000000;  // 2026-11-18

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/wa-ca-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

// Verifies `leaf` against the CA as a TLS client would: chain, purpose and host name or IP.
bool verifies(X509* ca, X509* leaf, const char* host, bool ip) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set_time(param, kNow);
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host);
  } else {
    X509_VERIFY_PARAM_set1_host(param, host, 0);
  }
  bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

}  // namespace

TEST_CASE("the CA is created on first use with private permissions, then reloaded") {
  TempDir tmp;
  auto dir = tmp.path / "nested" / "ca";
  auto ca = CertificateAuthority::load_or_create(dir.string(), kNow);
  REQUIRE(ca.ok());
  CHECK(ca->created());
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(ca->key_path()) == 0600);
  CHECK(EVP_PKEY_is_a(X509_get0_pubkey(ca->cert()), "EC"));

  auto again = CertificateAuthority::load_or_create(dir.string(), kNow);
  REQUIRE(again.ok());
  CHECK_FALSE(again->created());
  CHECK(again->cert_pem() == ca->cert_pem());
  CHECK(again->spki_sha256_base64() == ca->spki_sha256_base64());
  CHECK(ca->spki_sha256_base64().size() == 44);
}

TEST_CASE("leaves verify for DNS names and IP literals, and are cached") {
  TempDir tmp;
  auto ca = CertificateAuthority::load_or_create(tmp.path.string(), kNow);
  REQUIRE(ca.ok());
  auto leaf = ca->leaf_for("LocalHost.", kNow);
  REQUIRE(leaf.ok());
  CHECK(verifies(ca->cert(), leaf->cert.get(), "localhost", false));
  CHECK_FALSE(verifies(ca->cert(), leaf->cert.get(), "example.com", false));
  CHECK(X509_check_private_key(leaf->cert.get(), leaf->key.get()) == 1);

  auto again = ca->leaf_for("localhost", kNow);
  REQUIRE(again.ok());
  CHECK(again->cert.get() == leaf->cert.get());

  auto v4 = ca->leaf_for("127.0.0.1", kNow);
  REQUIRE(v4.ok());
  CHECK(verifies(ca->cert(), v4->cert.get(), "127.0.0.1", true));
  auto v6 = ca->leaf_for("[::1]", kNow);
  REQUIRE(v6.ok());
  CHECK(verifies(ca->cert(), v6->cert.get(), "::1", true));

  // Chromium refuses leaves valid for more than 398 days.
  int days = 0, secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf->cert.get()),
                         X509_get0_notAfter(leaf->cert.get())) == 1);
  CHECK(days <= 398);
}

TEST_CASE("host names that could smuggle extension syntax are refused") {
  TempDir tmp;
  auto ca = CertificateAuthority::load_or_create(tmp.path.string(), kNow);
  REQUIRE(ca.ok());
  CHECK_FALSE(ca->leaf_for("a.com,IP:1.2.3.4", kNow).ok());
  CHECK_FALSE(ca->leaf_for("", kNow).ok());
  CHECK_FALSE(ca->leaf_for("bad host", kNow).ok());
}

TEST_CASE("a half-present or mismatched CA is refused with a clear reason") {
  TempDir tmp;
  auto a = tmp.path / "a", b = tmp.path / "b";
  REQUIRE(CertificateAuthority::load_or_create(a.string(), kNow).ok());
  REQUIRE(CertificateAuthority::load_or_create(b.string(), kNow).ok());
  std::filesystem::copy_file(b / "workalready-ca.key", a / "workalready-ca.key",
                             std::filesystem::copy_options::overwrite_existing);
  auto mismatched = CertificateAuthority::load_or_create(a.string(), kNow);
  REQUIRE_FALSE(mismatched.ok());
  CHECK(mismatched.error().why.find("does not belong") != std::string::npos);

  std::filesystem::remove(b / "workalready-ca.pem");
  auto half = CertificateAuthority::load_or_create(b.string(), kNow);
  REQUIRE_FALSE(half.ok());
  CHECK(half.error().why.find("exists without") != std::string::npos);

  std::ofstream(a / "workalready-ca.pem") << "not a certificate";
  auto garbage = CertificateAuthority::load_or_create(a.string(), kNow);
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().why.find("not a PEM certificate") != std::string::npos);
}

TEST_CASE("an expired CA is refused") {
  TempDir tmp;
  REQUIRE(CertificateAuthority::load_or_create(tmp.path.string(), kNow).ok());
  auto later = CertificateAuthority::load_or_create(tmp.path.string(), kNow + 3700LL * 86400);
  REQUIRE_FALSE(later.ok());
  CHECK(later.error().why.find("expired") != std::string::npos);
}
