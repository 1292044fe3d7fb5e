#include "net/tls_stream.h"

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>

#include "net/address.h"

namespace wa::net {

namespace {

// RFC 8446 §6.2 names of the alerts a peer sends when it does not accept a certificate.
const char* certificate_alert_name(int alert) {
  switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
      return "bad_certificate";
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
      return "unsupported_certificate";
    case SSL_AD_CERTIFICATE_REVOKED:
      return "certificate_revoked";
    case SSL_AD_CERTIFICATE_EXPIRED:
      return "certificate_expired";
    case SSL_AD_CERTIFICATE_UNKNOWN:
      return "certificate_unknown";
    case SSL_AD_UNKNOWN_CA:
      return "unknown_ca";
    default:
      return nullptr;
  }
}

std::string alert_text(int alert) {
  if (const char* name = certificate_alert_name(alert)) return name;
  return SSL_alert_desc_string_long(alert);
}

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

}  // namespace

TlsStream::TlsStream(Owned<Stream> transport, std::shared_ptr<TlsContext> context,
                     HandshakeCallback done)
    : loop_(transport->loop()),
      transport_(std::move(transport)),
      context_(std::move(context)),
      handshake_callback_(std::move(done)) {}

Owned<TlsStream> TlsStream::client(Owned<Stream> transport, std::shared_ptr<TlsContext> context,
                                   std::string_view host, HandshakeCallback done) {
  Owned<TlsStream> stream(new TlsStream(std::move(transport), std::move(context), std::move(done)));
  stream->host_ = std::string(strip_brackets(host));
  stream->server_name_ = stream->host_;
  if (stream->setup_ssl()) {
    SSL* ssl = stream->ssl_.get();
    SSL_set_connect_state(ssl);
    bool ip = is_ip_literal(stream->host_);
    bool named = !ip && !stream->host_.empty();
    if (named && SSL_set_tlsext_host_name(ssl, stream->host_.c_str()) != 1) {
      stream->fail_later(Error{ErrorKind::setup, 0, "SNI: " + take_openssl_error("invalid name")});
    }
    if (stream->context_->verifies_peer()) {
      // Without a name to check, a valid chain for any name would pass: refuse instead.
      int set = ip      ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), stream->host_.c_str())
                : named ? SSL_set1_host(ssl, stream->host_.c_str())
                        : 0;
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (set != 1) {
        stream->fail_later(
            Error{ErrorKind::setup, 0, "cannot verify the certificate of '" + stream->host_ + "'"});
      }
    }
  }
  stream->start_transport();
  return stream;
}

Owned<TlsStream> TlsStream::server(Owned<Stream> transport, std::shared_ptr<TlsContext> context,
                                   HandshakeCallback done, ServerStart start) {
  Owned<TlsStream> stream(new TlsStream(std::move(transport), std::move(context), std::move(done)));
  stream->server_ = true;
  stream->choose_ = std::move(start.choose);
  if (stream->setup_ssl()) {
    SSL* ssl = stream->ssl_.get();
    SSL_set_accept_state(ssl);
    // The certificate callback runs after the ClientHello's extensions are parsed, SNI included,
    // and before a certificate is selected: the place to mint one for the name.
    SSL_set_cert_cb(ssl, on_certificate, stream.get());
    if (!start.already_read.empty()) {
      BIO_write(stream->cipher_in_, start.already_read.data(),
                static_cast<int>(start.already_read.size()));
    }
  }
  stream->start_transport();
  return stream;
}

bool TlsStream::setup_ssl() {
  if (!context_ || context_->is_server() != server_) {
    fail_later(Error{ErrorKind::setup, 0, "TLS context is for the other side"});
    return false;
  }
  ssl_.reset(SSL_new(context_->native()));
  cipher_in_ = BIO_new(BIO_s_mem());
  cipher_out_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !cipher_in_ || !cipher_out_) {
    BIO_free(cipher_in_);
    BIO_free(cipher_out_);
    cipher_in_ = cipher_out_ = nullptr;
    ssl_.reset();
    fail_later(Error{ErrorKind::setup, 0, "SSL_new: " + take_openssl_error("out of memory")});
    return false;
  }
  // An empty input BIO means "wait for more" (retry), not end of file: the end of the peer's
  // data is learnt from the transport, never from the BIO.
  BIO_set_mem_eof_return(cipher_in_, -1);
  BIO_set_mem_eof_return(cipher_out_, -1);
  SSL_set_bio(ssl_.get(), cipher_in_, cipher_out_);
  SSL_set_app_data(ssl_.get(), this);
  SSL_set_info_callback(ssl_.get(), on_info);
  return true;
}

void TlsStream::start_transport() {
  transport_->start({.on_data = [this](std::string_view bytes) { on_cipher(bytes); },
                     .on_end = [this] { on_transport_end(); },
                     .on_error = [this](const Error& error) { on_transport_error(error); }});
  // The handshake needs the peer's bytes whatever the transport's owner did before (the proxy
  // pauses a tunnel while it sniffs the first bytes).
  transport_->resume();
  transport_reading_ = true;
  // The first flight (the client's ClientHello, or the server's answer to bytes already read)
  // goes out from the loop, never inside the factory.
  pump_task_.schedule(loop_);
}

void TlsStream::on_cipher(std::string_view bytes) {
  if (closing_ || failed_ || !ssl_) return;
  // Reading from the transport is paused whenever plaintext cannot be delivered, so the input
  // BIO holds at most one transport read (64 KiB) that is not yet decrypted.
  BIO_write(cipher_in_, bytes.data(), static_cast<int>(bytes.size()));
  pump();
}

void TlsStream::on_transport_end() {
  if (closing_ || failed_) return;
  transport_ended_ = true;
  transport_reading_ = false;
  pump();
}

void TlsStream::on_transport_error(const Error& error) {
  if (!handshake_ok_) {
    Error during = error;
    during.why = "TLS handshake: " + error.why;
    fail(std::move(during));
    return;
  }
  fail(error);
}

void TlsStream::on_pump(void* arg) {
  auto* self = static_cast<TlsStream*>(arg);
  if (self->closing_) return;
  if (self->pending_error_) {
    Error error = std::move(*self->pending_error_);
    self->pending_error_.reset();
    self->report(std::move(error));
    return;
  }
  self->pump();
}

void TlsStream::pump() {
  if (closing_ || failed_ || !ssl_) return;
  if (!handshake_ok_ && !step_handshake()) return;
  read_plain();
}

bool TlsStream::step_handshake() {
  ERR_clear_error();
  int status = SSL_do_handshake(ssl_.get());
  int error = status == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), status);
  // The next flight, or the alert that ends a failed handshake.
  flush({});
  if (status != 1) {
    if (error == SSL_ERROR_WANT_READ) {
      if (!transport_ended_) return false;
      // Some clients that do not trust the certificate hang up without an alert; say whether
      // ours had been sent, so the proxy can hint at it.
      Error closed{ErrorKind::tls_handshake, 0,
                   server_ && sent_flight_
                       ? "the peer closed the connection during the TLS handshake, after our "
                         "certificate"
                       : "the peer closed the connection during the TLS handshake"};
      if (alert_received_ >= 0) closed = handshake_error();
      fail(std::move(closed));
      return false;
    }
    fail(handshake_error());
    return false;
  }
  handshake_ok_ = true;
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &protocol, &length);
  if (protocol != nullptr) alpn_.assign(reinterpret_cast<const char*>(protocol), length);
  if (server_) {
    const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
    if (name != nullptr) server_name_ = name;
  }
  // Writes made during the handshake go out now, in order.
  while (!pending_.empty() && !failed_) {
    PendingWrite next = std::move(pending_.front());
    pending_.pop_front();
    pending_bytes_ -= next.bytes.size();
    write_plain(next.bytes, std::move(next.done));
  }
  if (pending_shutdown_ && !failed_) {
    WriteCallback done = std::move(*pending_shutdown_);
    pending_shutdown_.reset();
    send_shutdown(std::move(done));
  }
  update_transport_reading();
  HandshakeCallback callback = std::move(handshake_callback_);
  handshake_callback_ = nullptr;
  if (callback) callback(Outcome<void>());
  return !closing_ && !failed_;
}

void TlsStream::read_plain() {
  if (ended_ && !end_delivered_ && started_ && !paused_) deliver_end();
  while (started_ && !paused_ && !closing_ && !failed_ && !ended_) {
    // One TLS record holds at most 16 KiB of plaintext (RFC 8446 §5.1).
    char plain[16 * 1024];
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), plain, sizeof plain);
    if (n > 0) {
      deliver_data(std::string_view(plain, static_cast<size_t>(n)));
      continue;
    }
    int error = SSL_get_error(ssl_.get(), n);
    // Post-handshake messages may want an answer (a TLS 1.3 KeyUpdate, RFC 8446 §4.6.3).
    flush({});
    if (error == SSL_ERROR_WANT_READ) {
      release_burst_buffer(cipher_in_);  // everything it held has been taken
      // The transport ended without close_notify. Browsers accept that from real servers, and
      // HTTP/1.1 framing, not TLS, tells a complete message from a cut one.
      if (transport_ended_) deliver_end();
      return;
    }
    if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify
      deliver_end();
      return;
    }
    fail(record_error());
    return;
  }
}

void TlsStream::write(std::string bytes, WriteCallback done) {
  if (closing_ || failed_) return;
  if (!handshake_ok_) {
    pending_bytes_ += bytes.size();
    pending_.push_back({std::move(bytes), std::move(done)});
    return;
  }
  write_plain(bytes, std::move(done));
}

void TlsStream::write_ref(std::string_view bytes, WriteCallback done) {
  if (closing_ || failed_) return;
  if (!handshake_ok_) {
    pending_bytes_ += bytes.size();
    pending_.push_back({std::string(bytes), std::move(done)});
    return;
  }
  write_plain(bytes, std::move(done));
}

void TlsStream::write_plain(std::string_view bytes, WriteCallback done) {
  if (shutdown_sent_) return;
  if (bytes.empty()) {
    transport_->write(std::string(), std::move(done));
    return;
  }
  // Encrypted and handed to the transport 256 KiB at a time: a large write then never needs a
  // second copy of itself in the output BIO, and SSL_write's int length is never exceeded.
  constexpr size_t kChunk = 256 * 1024;
  for (size_t offset = 0; offset < bytes.size(); offset += kChunk) {
    size_t n = std::min(kChunk, bytes.size() - offset);
    ERR_clear_error();
    // With memory BIOs SSL_write never waits: the output BIO grows, and flush() drains it.
    if (SSL_write(ssl_.get(), bytes.data() + offset, static_cast<int>(n)) <= 0) {
      fail_later(record_error());
      return;
    }
    bool last = offset + n == bytes.size();
    flush(last ? std::move(done) : WriteCallback());
  }
}

void TlsStream::flush(WriteCallback done) {
  if (!transport_ || !ssl_) return;
  size_t pending = BIO_ctrl_pending(cipher_out_);
  if (pending == 0) return;
  if (!handshake_ok_) sent_flight_ = true;
  std::string cipher(pending, '\0');
  BIO_read(cipher_out_, cipher.data(), static_cast<int>(pending));
  transport_->write(std::move(cipher), std::move(done));
  release_burst_buffer(cipher_out_);
}

// A memory BIO keeps the largest buffer it ever needed. One that grew in a burst (a large write,
// a 64 KiB transport read) is swapped for a fresh BIO once drained, so that 1,000 idle
// connections do not each hold the buffer of their biggest moment.
void TlsStream::release_burst_buffer(BIO* bio) {
  constexpr size_t kKeep = 32 * 1024;
  BUF_MEM* memory = nullptr;
  if (BIO_ctrl_pending(bio) != 0 || BIO_get_mem_ptr(bio, &memory) != 1 || memory == nullptr ||
      memory->max <= kKeep) {
    return;
  }
  BIO* fresh = BIO_new(BIO_s_mem());
  if (fresh == nullptr) return;
  BIO_set_mem_eof_return(fresh, -1);
  // The SSL object frees the BIO it is given a replacement for.
  if (bio == cipher_out_) {
    SSL_set0_wbio(ssl_.get(), fresh);
    cipher_out_ = fresh;
  } else {
    SSL_set0_rbio(ssl_.get(), fresh);
    cipher_in_ = fresh;
  }
}

void TlsStream::shutdown(WriteCallback done) {
  if (closing_ || failed_) return;
  if (!handshake_ok_) {
    pending_shutdown_ = std::move(done);
    return;
  }
  send_shutdown(std::move(done));
}

void TlsStream::send_shutdown(WriteCallback done) {
  if (shutdown_sent_) return;
  shutdown_sent_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // queues close_notify; the peer's answer is not awaited
  ERR_clear_error();
  flush({});
  transport_->shutdown(std::move(done));
}

size_t TlsStream::queued_bytes() const {
  return pending_bytes_ + (transport_ ? transport_->queued_bytes() : 0);
}

void TlsStream::set_idle_timeout(uint64_t ms) {
  if (!closing_ && transport_) transport_->set_idle_timeout(ms);
}

std::string TlsStream::version() const {
  return ssl_ ? SSL_get_version(ssl_.get()) : "";
}

void TlsStream::start(StreamHandler handler) {
  if (closing_) return;
  if (dispatching_) {
    next_handler_ = std::move(handler);
  } else {
    handler_ = std::move(handler);
  }
  started_ = true;
  end_delivered_ = false;  // a new handler hears of an end that came before it
  update_transport_reading();
  pump_task_.schedule(loop_);  // plaintext or an end that arrived before start()
}

void TlsStream::pause() {
  if (closing_) return;
  paused_ = true;
  update_transport_reading();
}

void TlsStream::resume() {
  if (closing_) return;
  paused_ = false;
  update_transport_reading();
  // Records already decrypted or buffered wait in OpenSSL: deliver them from the loop.
  pump_task_.schedule(loop_);
}

// The transport is read during the handshake whatever the owner does, and after it only while
// the owner takes plaintext: otherwise records would pile up in the input BIO.
void TlsStream::update_transport_reading() {
  if (!transport_ || transport_ended_) return;
  bool want = !failed_ && !closing_ && (!handshake_ok_ || (started_ && !paused_));
  if (want == transport_reading_) return;
  transport_reading_ = want;
  if (want) {
    transport_->resume();
  } else {
    transport_->pause();
  }
}

int TlsStream::on_certificate(SSL* ssl, void* arg) {
  auto* self = static_cast<TlsStream*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  self->server_name_ = name ? name : "";
  const TlsServerOptions& options = self->context_->server_options();
  const CertificateChooser& choose = self->choose_ ? self->choose_ : options.choose;
  std::optional<CertifiedKey> key = choose ? choose(self->server_name_) : options.certificate;
  if (!key || !key->certificate || !key->key) {
    self->chooser_failure_ = self->server_name_.empty()
                                 ? "no certificate for a client that sent no SNI"
                                 : "no certificate for '" + self->server_name_ + "'";
    return 0;
  }
  if (SSL_use_certificate(ssl, key->certificate.get()) != 1 ||
      SSL_use_PrivateKey(ssl, key->key.get()) != 1) {
    self->chooser_failure_ = "certificate rejected: " + take_openssl_error("unusable");
    return 0;
  }
  if (!key->chain.empty()) {
    STACK_OF(X509)* chain = sk_X509_new_null();
    for (const std::shared_ptr<X509>& certificate : key->chain) {
      sk_X509_push(chain, certificate.get());
    }
    int status = SSL_set1_chain(ssl, chain);  // takes its own references
    sk_X509_free(chain);
    if (status != 1) {
      self->chooser_failure_ = "certificate chain rejected: " + take_openssl_error("unusable");
      return 0;
    }
  }
  return 1;
}

void TlsStream::on_info(const SSL* ssl, int where, int value) {
  if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT) return;
  // value: level << 8 | description (RFC 5246 §7.2); close_notify is a warning, not a failure.
  if ((value >> 8) != SSL3_AL_FATAL) return;
  auto* self = static_cast<TlsStream*>(SSL_get_app_data(ssl));
  if (self != nullptr) self->alert_received_ = value & 0xff;
}

Error TlsStream::handshake_error() {
  if (!server_ && context_->verifies_peer()) {
    long result = SSL_get_verify_result(ssl_.get());
    if (result != X509_V_OK) {
      ERR_clear_error();
      return Error{ErrorKind::tls_verify, static_cast<int>(result),
                   "certificate verify failed for '" + host_ +
                       "': " + X509_verify_cert_error_string(result)};
    }
  }
  if (alert_received_ >= 0) {
    ERR_clear_error();
    if (certificate_alert_name(alert_received_) != nullptr) {
      return Error{ErrorKind::tls_cert_rejected, alert_received_,
                   "the peer rejected our certificate: alert " + alert_text(alert_received_)};
    }
    return Error{ErrorKind::tls_handshake, alert_received_,
                 "TLS handshake failed: the peer sent alert " + alert_text(alert_received_)};
  }
  if (!chooser_failure_.empty()) {
    ERR_clear_error();
    return Error{ErrorKind::tls_handshake, 0, "TLS handshake failed: " + chooser_failure_};
  }
  return Error{ErrorKind::tls_handshake, 0,
               "TLS handshake failed: " + take_openssl_error("unexpected end of handshake")};
}

Error TlsStream::record_error() {
  if (alert_received_ >= 0) {
    ERR_clear_error();
    return Error{ErrorKind::tls, alert_received_,
                 "TLS: the peer sent alert " + alert_text(alert_received_)};
  }
  return Error{ErrorKind::tls, 0, "TLS: " + take_openssl_error("record error")};
}

// Errors found in a callback of the transport (or of the loop) are reported at once; errors
// found inside a method the owner called wait for the loop (closable.h).
void TlsStream::fail(Error error) {
  if (failed_ || closing_) return;
  failed_ = true;
  update_transport_reading();
  report(std::move(error));
}

void TlsStream::fail_later(Error error) {
  if (failed_ || closing_) return;
  failed_ = true;
  pending_error_ = std::move(error);
  pump_task_.schedule(loop_);
}

void TlsStream::report(Error error) {
  if (closing_) return;
  if (!handshake_ok_) {
    HandshakeCallback callback = std::move(handshake_callback_);
    handshake_callback_ = nullptr;
    if (callback) callback(Outcome<void>(std::move(error)));
    return;
  }
  if (!started_) {
    pending_error_ = std::move(error);
    return;
  }
  if (!handler_.on_error) return;
  dispatching_ = true;
  handler_.on_error(error);
  end_dispatch();
}

void TlsStream::deliver_data(std::string_view bytes) {
  if (!handler_.on_data) return;
  dispatching_ = true;
  handler_.on_data(bytes);
  end_dispatch();
}

void TlsStream::deliver_end() {
  ended_ = true;
  if (end_delivered_) return;
  end_delivered_ = true;
  if (!handler_.on_end) return;
  dispatching_ = true;
  handler_.on_end();
  end_dispatch();
}

void TlsStream::end_dispatch() {
  dispatching_ = false;
  if (next_handler_ && !closing_) {
    handler_ = std::move(*next_handler_);
    next_handler_.reset();
  }
}

void TlsStream::close(CloseCallback done) {
  if (closing_) return;
  closing_ = true;
  closed_ = std::move(done);
  pump_task_.cancel();
  if (!transport_) {
    free_task_.schedule(loop_);
    return;
  }
  // This object is freed once its transport is: the transport's callbacks point here.
  net::close(std::move(transport_), [this] { on_free(this); });
}

void TlsStream::on_free(void* arg) {
  auto* self = static_cast<TlsStream*>(arg);
  CloseCallback done = std::move(self->closed_);
  delete self;
  if (done) done();
}

}  // namespace wa::net
