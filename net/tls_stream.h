// TLS over any Stream, through OpenSSL memory BIOs (never the socket): ciphertext read from the
// transport is written into one BIO, ciphertext OpenSSL produces is taken from the other and
// written to the transport. The transport is usually a TcpConnection; it may be another stream.
//
// The handshake callback runs once: success, or an Error whose kind tells a certificate the
// client side did not trust (tls_verify) from a certificate the peer did not trust
// (tls_cert_rejected: the browser rejected our minted certificate) from anything else.
// Failures during the handshake go to that callback only; after it, to on_error.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/openssl.h"
#include "net/stream.h"
#include "net/tls_context.h"

namespace wa::net {

class TlsStream final : public Stream {
 public:
  using HandshakeCallback = std::function<void(Outcome<void> result)>;

  // Client side. `host` is sent as SNI unless it is an IP literal (RFC 6066 §3), and, when the
  // context verifies, checked against the certificate's DNS or IP subjectAltNames (RFC 6125).
  static Owned<TlsStream> client(Owned<Stream> transport, std::shared_ptr<TlsContext> context,
                                 std::string_view host, HandshakeCallback done);

  struct ServerStart {
    // Bytes already read from the transport, such as the ClientHello the proxy sniffed at the
    // start of a CONNECT tunnel; they are processed before anything read later.
    std::string already_read = {};
    // Overrides the context's chooser for this connection (to fall back on the CONNECT host
    // when the client sends no SNI, for instance).
    CertificateChooser choose = {};
  };
  // Server side.
  static Owned<TlsStream> server(Owned<Stream> transport, std::shared_ptr<TlsContext> context,
                                 HandshakeCallback done, ServerStart start);

  // Stream. Data is delivered only after the handshake; writes made before it are queued and
  // sent when it completes. write_ref() bytes are encrypted (copied) at once once the
  // handshake is done, so TLS never holds them longer than the call.
  void start(StreamHandler handler) override;
  void pause() override;
  void resume() override;
  void write(std::string bytes, WriteCallback done = {}) override;
  void write_ref(std::string_view bytes, WriteCallback done = {}) override;
  // Sends close_notify (RFC 8446 §6.1), then half-closes the transport.
  void shutdown(WriteCallback done = {}) override;
  size_t queued_bytes() const override;
  void set_idle_timeout(uint64_t ms) override;
  Loop& loop() const override { return loop_; }

  bool handshake_done() const { return handshake_ok_; }
  // The negotiated ALPN protocol ("http/1.1"), empty when none was agreed.
  const std::string& alpn() const { return alpn_; }
  // Server: the SNI name the client sent ("" if none). Client: the host given.
  const std::string& server_name() const { return server_name_; }
  // "TLSv1.3", "TLSv1.2".
  std::string version() const;

 private:
  struct PendingWrite {
    std::string bytes;
    WriteCallback done;
  };

  TlsStream(Owned<Stream> transport, std::shared_ptr<TlsContext> context, HandshakeCallback done);
  ~TlsStream() override = default;
  void close(CloseCallback done) override;

  bool setup_ssl();
  void start_transport();
  void on_cipher(std::string_view bytes);
  void on_transport_end();
  void on_transport_error(const Error& error);
  void pump();
  bool step_handshake();
  void read_plain();
  void write_plain(std::string_view bytes, WriteCallback done);
  void send_shutdown(WriteCallback done);
  void flush(WriteCallback done);
  void release_burst_buffer(BIO* bio);
  void update_transport_reading();
  Error handshake_error();
  Error record_error();
  void fail(Error error);
  void fail_later(Error error);
  void report(Error error);
  void deliver_data(std::string_view bytes);
  void deliver_end();
  void end_dispatch();

  static void on_pump(void* arg);
  static void on_free(void* arg);
  static int on_certificate(SSL* ssl, void* arg);
  static void on_info(const SSL* ssl, int where, int value);

  Loop& loop_;
  Owned<Stream> transport_;
  std::shared_ptr<TlsContext> context_;
  SslPtr ssl_;
  BIO* cipher_in_ = nullptr;   // owned by ssl_: what the peer sent, for OpenSSL to read
  BIO* cipher_out_ = nullptr;  // owned by ssl_: what OpenSSL produced, for the transport
  HandshakeCallback handshake_callback_;
  CertificateChooser choose_;
  StreamHandler handler_;
  std::optional<StreamHandler> next_handler_;
  std::deque<PendingWrite> pending_;  // writes made before the handshake completed
  size_t pending_bytes_ = 0;
  std::optional<WriteCallback> pending_shutdown_;
  std::optional<Error> pending_error_;
  CloseCallback closed_;
  Deferred pump_task_{&on_pump, this};
  Deferred free_task_{&on_free, this};

  std::string host_;  // client: the name verified
  std::string server_name_;
  std::string alpn_;
  std::string chooser_failure_;
  int alert_received_ = -1;  // the last fatal alert description the peer sent

  bool server_ = false;
  bool handshake_ok_ = false;
  bool started_ = false;
  bool paused_ = false;
  bool transport_reading_ = true;
  bool transport_ended_ = false;
  bool ended_ = false;          // the peer's data is over (close_notify or transport end)
  bool end_delivered_ = false;  // the current handler was told of it
  bool failed_ = false;
  bool closing_ = false;
  bool dispatching_ = false;
  bool shutdown_sent_ = false;
  bool sent_flight_ = false;  // handshake bytes went out (server: our certificate)
};

}  // namespace wa::net
