// A TCP connection on the loop: the Stream implementation over uv_tcp_t.
//
// Made by TcpListener (accepted) or net::connect (connect.h); owned through Owned<>, freed
// after libuv's close callbacks (closable.h). TCP_NODELAY is on: the proxy writes whole
// messages and Nagle's algorithm would hold small responses back by up to 40 ms.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "net/address.h"
#include "net/stream.h"

namespace wa::net {

class TcpConnection final : public Stream {
 public:
  void start(StreamHandler handler) override;
  void pause() override;
  void resume() override;
  void write(std::string bytes, WriteCallback done = {}) override;
  void write_ref(std::string_view bytes, WriteCallback done = {}) override;
  // With nothing queued, one writev: only what the kernel does not take is copied.
  void write_copy(std::initializer_list<std::string_view> parts) override;
  void shutdown(WriteCallback done = {}) override;
  // libuv's own count (uv_stream_get_write_queue_size): bytes not yet accepted by the kernel.
  size_t queued_bytes() const override;
  void set_idle_timeout(uint64_t ms) override;
  Loop& loop() const override { return loop_; }

  void set_nodelay(bool on);
  // Taken when the connection was established, so still known after the peer has gone.
  const std::optional<Address>& peer_address() const { return peer_; }
  const std::optional<Address>& local_address() const { return local_; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  friend class TcpListener;
  friend class ConnectRequest;
  struct WriteRequest;

  explicit TcpConnection(Loop& loop);
  ~TcpConnection() override = default;
  void close(CloseCallback done) override;

  // For ConnectRequest: starts connecting; `connected` gets the libuv status, unless closed.
  int connect_to(const Address& to, std::function<void(int status)> connected);

  void remember_addresses();
  uv_stream_t* uv_stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  void submit(WriteRequest* request, const char* data, size_t size);
  void update_reading();
  bool waiting() const;
  void fail(Error error);
  void fail_later(Error error);
  void deliver_data(std::string_view bytes);
  void deliver_end();
  void deliver_error(const Error& error);
  void end_dispatch();

  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_write(uv_write_t* req, int status);
  static void on_shutdown(uv_shutdown_t* req, int status);
  static void on_connect(uv_connect_t* req, int status);
  static void on_idle(uv_timer_t* timer);
  static void on_closed(uv_handle_t* handle);
  static void on_later(void* arg);

  Loop& loop_;
  uv_tcp_t tcp_;
  uv_timer_t idle_timer_;
  uv_connect_t connect_req_;
  uv_shutdown_t shutdown_req_;
  Deferred later_{&on_later, this};

  StreamHandler handler_;
  std::optional<StreamHandler> next_handler_;  // start() from inside a callback
  std::function<void(int)> connected_;
  WriteCallback shutdown_done_;
  CloseCallback closed_;
  std::optional<Error> pending_error_;
  std::optional<Address> peer_;
  std::optional<Address> local_;

  uint64_t idle_ms_ = 0;
  uint64_t last_activity_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
  int open_handles_ = 0;

  bool started_ = false;        // start() was called
  bool paused_ = false;         // the owner paused reading
  bool uv_reading_ = false;     // uv_read_start is in effect
  bool ended_ = false;          // the peer's FIN arrived
  bool end_delivered_ = false;  // the current handler was told of it
  bool failed_ = false;         // an error was (or is about to be) reported
  bool closing_ = false;        // close() was called
  bool dispatching_ = false;    // inside one of the handler's callbacks
  bool timer_ready_ = false;    // idle_timer_ is initialised (and must be closed)
  bool shutting_down_ = false;
};

}  // namespace wa::net
