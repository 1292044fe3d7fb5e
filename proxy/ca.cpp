#include "proxy/ca.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "protocol/text.h"

namespace wa::proxy {
namespace {

constexpr const char* kCertFile = "workalready-ca.pem";
constexpr const char* kKeyFile = "workalready-ca.key";
constexpr const char* kCaName = "Work Already local CA";
constexpr long kDay = 24 * 60 * 60;
constexpr size_t kMaxCachedLeaves = 4096;

Failure setup_error(std::string why) {
  return fail(Errc::setup, std::move(why));
}

// The most recent OpenSSL error as text, for messages that must say more than "failed".
std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// "0755": a mode as chmod takes it.
std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", unsigned(mode & 07777));
  return text;
}

// The permission bits of `path` that give group or others any access (ssh's test for keys),
// or 0 when there are none or the path cannot be looked at.
mode_t open_bits(const std::string& path, mode_t* mode) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  *mode = st.st_mode;
  return st.st_mode & 077;
}

// mkdir -p, with 0700 for every folder it creates.
Result<void> make_private_dir(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i != dir.size() && dir[i] != '/') continue;
    std::string part = dir.substr(0, i);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      return setup_error("cannot create " + part + ": " + std::strerror(errno));
    }
  }
  return {};
}

// Writes `text` to `path` with `mode`, through a temporary file and a rename, so a crash never
// leaves half a key behind.
Result<void> write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return setup_error("cannot write " + tmp + ": " + std::strerror(errno));
  ::fchmod(fd, mode);  // the umask may have narrowed it further; never widen past `mode`
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return setup_error("cannot write " + tmp + ": " + std::strerror(errno));
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return setup_error("cannot write " + path + ": " + std::strerror(errno));
  }
  return {};
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? size_t(n) : 0);
}

std::string pem_of_key(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::string out = bio_text(bio);
  BIO_free(bio);
  return out;
}

std::string pem_of_cert(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  std::string out = bio_text(bio);
  BIO_free(bio);
  return out;
}

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

bool set_random_serial(X509* cert) {
  BIGNUM* bn = BN_new();
  // 127 bits keeps the DER INTEGER positive and within RFC 5280's 20 octets.
  bool ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

bool set_validity(X509* cert, int64_t now_unix, long days_before, long days_after) {
  time_t now = static_cast<time_t>(now_unix);
  return X509_time_adj_ex(X509_getm_notBefore(cert), -int(days_before), 0, &now) &&
         X509_time_adj_ex(X509_getm_notAfter(cert), int(days_after), 0, &now);
}

net::X509Ptr make_ca_cert(EVP_PKEY* key, int64_t now_unix) {
  net::X509Ptr cert(X509_new());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(kCaName), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("Work Already"), -1, -1, 0);
  bool ok = X509_set_version(cert.get(), 2) && set_random_serial(cert.get()) &&
            X509_set_issuer_name(cert.get(), name) && set_validity(cert.get(), now_unix, 1, 3650) &&
            X509_set_pubkey(cert.get(), key) &&
            add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE") &&
            add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign") &&
            add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash") &&
            add_extension(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always") &&
            X509_sign(cert.get(), key, EVP_sha256()) > 0;
  return ok ? std::move(cert) : nullptr;
}

// "localhost", "[::1]", "Example.COM." → the name as it goes into the certificate, and whether
// it is an IP literal. Refuses anything that is neither a host name nor an address, so nothing
// odd reaches OpenSSL's extension-string parser.
Result<std::pair<std::string, bool>> normalise_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253) return setup_error("not a host name");
  std::string h(host);
  unsigned char addr[16];
  if (::inet_pton(AF_INET, h.c_str(), addr) == 1 || ::inet_pton(AF_INET6, h.c_str(), addr) == 1) {
    return std::pair{h, true};
  }
  for (char& c : h) {
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
              c == '_' || c == '*';
    if (!ok) return setup_error("not a host name: " + std::string(host));
  }
  return std::pair{h, false};
}

}  // namespace

Result<std::string> CertificateAuthority::default_dir() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) return setup_error("HOME is not set; pass --ca-dir");
  return std::string(home) + "/.workalready";
}

Result<CertificateAuthority> CertificateAuthority::load_or_create(const std::string& dir,
                                                                  int64_t now_unix) {
  CertificateAuthority ca;
  ca.cert_path_ = dir + "/" + kCertFile;
  ca.key_path_ = dir + "/" + kKeyFile;
  bool have_cert = file_exists(ca.cert_path_), have_key = file_exists(ca.key_path_);
  if (have_cert != have_key) {
    return setup_error((have_cert ? ca.cert_path_ : ca.key_path_) + " exists without " +
                       (have_cert ? ca.key_path_ : ca.cert_path_) +
                       "; restore it or remove both to create a new CA");
  }
  // As ssh does: a folder others can look into is worth a warning (the certificate in it is
  // public, the key must not be), a key they can read is refused, since anyone who has it can
  // read and forge every intercepted connection of a browser that trusts this CA.
  mode_t mode = 0;
  if (open_bits(dir, &mode) != 0) {
    ca.warnings_.push_back("the CA folder " + dir + " is accessible by group or others (mode " +
                           mode_text(mode) + "); run chmod 700 " + dir);
  }
  if (have_key && open_bits(ca.key_path_, &mode) != 0) {
    return setup_error("the CA key " + ca.key_path_ + " is accessible by group or others (mode " +
                       mode_text(mode) + "); run chmod 600 " + ca.key_path_);
  }
  if (!have_cert) {
    if (auto made = make_private_dir(dir); !made) return made.error();
    ca.key_.reset(EVP_EC_gen("P-256"));
    if (!ca.key_) return setup_error("cannot generate the CA key: " + openssl_error());
    ca.cert_ = net::share(make_ca_cert(ca.key_.get(), now_unix));
    if (!ca.cert_) return setup_error("cannot create the CA certificate: " + openssl_error());
    if (auto w = write_file(ca.key_path_, pem_of_key(ca.key_.get()), 0600); !w) return w.error();
    if (auto w = write_file(ca.cert_path_, pem_of_cert(ca.cert_.get()), 0644); !w) {
      return w.error();
    }
    ca.created_ = true;
  } else {
    FILE* f = std::fopen(ca.key_path_.c_str(), "r");
    if (!f) return setup_error("cannot read " + ca.key_path_ + ": " + std::strerror(errno));
    ca.key_.reset(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    if (!ca.key_) return setup_error(ca.key_path_ + " is not a PEM private key");
    f = std::fopen(ca.cert_path_.c_str(), "r");
    if (!f) return setup_error("cannot read " + ca.cert_path_ + ": " + std::strerror(errno));
    ca.cert_ = net::share(net::X509Ptr(PEM_read_X509(f, nullptr, nullptr, nullptr)));
    std::fclose(f);
    if (!ca.cert_) return setup_error(ca.cert_path_ + " is not a PEM certificate");
    if (X509_check_private_key(ca.cert_.get(), ca.key_.get()) != 1) {
      ERR_clear_error();
      return setup_error(ca.key_path_ + " does not belong to " + ca.cert_path_);
    }
    time_t now = static_cast<time_t>(now_unix);
    if (X509_cmp_time(X509_get0_notAfter(ca.cert_.get()), &now) <= 0) {
      return setup_error("the CA in " + dir +
                         " has expired; remove its two files to make a new one");
    }
  }
  EVP_PKEY* leaf_key = EVP_EC_gen("P-256");
  if (!leaf_key) return setup_error("cannot generate a leaf key: " + openssl_error());
  ca.leaf_key_.reset(leaf_key, EVP_PKEY_free);
  return ca;
}

std::string CertificateAuthority::cert_pem() const {
  return pem_of_cert(cert_.get());
}

std::string CertificateAuthority::spki_sha256_base64() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) return {};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, size_t(len), digest);
  OPENSSL_free(der);
  return text::base64_encode(
      std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

Result<LeafCertificate> CertificateAuthority::leaf_for(std::string_view host, int64_t now_unix) {
  auto normal = normalise_host(host);
  if (!normal) return normal.error();
  const auto& [name, is_ip] = *normal;
  if (auto it = leaves_.find(name); it != leaves_.end()) return it->second;

  net::X509Ptr cert(X509_new());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (name.size() <= 64) {  // RFC 5280 ub-common-name; the SAN carries the name regardless
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  }
  std::string san = (is_ip ? "IP:" : "DNS:") + name;
  bool ok = X509_set_version(cert.get(), 2) && set_random_serial(cert.get()) &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) &&
            set_validity(cert.get(), now_unix, 1, 397) &&
            X509_set_pubkey(cert.get(), leaf_key_.get()) &&
            add_extension(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE") &&
            add_extension(cert.get(), cert_.get(), NID_key_usage, "critical,digitalSignature") &&
            add_extension(cert.get(), cert_.get(), NID_ext_key_usage, "serverAuth") &&
            add_extension(cert.get(), cert_.get(), NID_subject_alt_name, san) &&
            add_extension(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid") &&
            X509_sign(cert.get(), key_.get(), EVP_sha256()) > 0;
  if (!ok) return setup_error("cannot mint a certificate for " + name + ": " + openssl_error());

  if (leaves_.size() >= kMaxCachedLeaves) leaves_.clear();
  LeafCertificate leaf{std::shared_ptr<X509>(cert.release(), X509_free), leaf_key_};
  leaves_.emplace(name, leaf);
  return leaf;
}

std::string trust_instructions(const CertificateAuthority& ca) {
  const std::string& pem = ca.cert_path();
  std::string out;
  out += "CA certificate: " + pem + "\n";
  out += "CA key:         " + ca.key_path() + "  (private: anyone with it can intercept you)\n";
  out += "\nTrust it in the client you record with:\n";
  out += "  Chromium/Chrome on Linux (NSS; certutil is in Debian's libnss3-tools):\n";
  out +=
      "    certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n 'Work Already local CA' -i " + pem + "\n";
  out += "  Chromium without installing anything (a throwaway profile only):\n";
  out += "    chromium --ignore-certificate-errors-spki-list=" + ca.spki_sha256_base64() + "\n";
  out += "  Firefox (a profile's folder):\n";
  out += "    certutil -d sql:PROFILE_DIR -A -t C,, -n 'Work Already local CA' -i " + pem + "\n";
  out += "  The system store (Debian, Ubuntu; curl, wget and most tools):\n";
  out += "    sudo cp " + pem +
         " /usr/local/share/ca-certificates/workalready.crt && sudo update-ca-certificates\n";
  out += "  Node.js:\n";
  out += "    export NODE_EXTRA_CA_CERTS=" + pem + "\n";
  out += "  Python (ssl, urllib; requests uses the second):\n";
  out += "    export SSL_CERT_FILE=" + pem + "  REQUESTS_CA_BUNDLE=" + pem + "\n";
  out += "  curl, once:\n";
  out += "    curl --cacert " + pem + " --proxy http://127.0.0.1:8080 https://...\n";
  return out;
}

}  // namespace wa::proxy
