// A WebSocket after its 101: the bytes of each direction are relayed as they arrive (frames are
// never re-encoded, so the peers see exactly what the other sent) and observed on the side by a
// decoder that reassembles messages, inflates permessage-deflate and hands each message to the
// recorder. The decoder observes (ws::DecoderOptions::observe): a message over the size is kept
// capped with its length and hash, a frame a peer would refuse is recorded as it came and
// marked, and recording goes on. Only when a direction's frames can no longer be found (a frame
// header that does not parse) does its recording stop: the capture marks where, the connection
// row says why, and one console line says so. Relaying goes on either way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/stream.h"
#include "protocol/websocket.h"
#include "proxy/context.h"

namespace wa::proxy {

class WebSocketRelay final : public Session {
 public:
  // `extensions` is the 101's Sec-WebSocket-Extensions; `client_rest` / `upstream_rest` are
  // bytes each side sent after its handshake message, in the same reads.
  WebSocketRelay(ProxyContext& ctx, net::Owned<net::Stream> client,
                 net::Owned<net::Stream> upstream, store::Id connection_id, store::Id exchange_id,
                 std::string url, std::string target, const std::string& extensions,
                 std::string client_rest, std::string upstream_rest);
  ~WebSocketRelay() override;

  void start();
  void abort(const std::string& why) override;

 private:
  struct Side {
    net::Owned<net::Stream> stream;
    ws::Decoder decoder;
    store::Direction direction;  // of what this side sends
    bool ended = false;          // it sent its FIN
    bool paused = false;         // reading paused: the other side's queue is full
    bool decoding = true;        // false once its frames could no longer be read
    std::string lost;            // why, then
    uint64_t messages = 0;       // recorded
    uint64_t invalid = 0;        // of them, frames a peer would refuse
    std::string rest;
  };

  void on_data(Side& from, Side& to, std::string_view bytes);
  void on_end(Side& from, Side& to);
  void on_error(const net::Error& error);
  void on_drained(Side& from);
  void observe(Side& from, std::string_view bytes);
  void finish(const std::string& why);

  ProxyContext& ctx_;
  Side client_, upstream_;
  store::Id connection_id_;
  store::Id exchange_id_;
  std::string url_, target_;
  uint64_t messages_ = 0;
  bool done_ = false;
  std::vector<ws::Message> scratch_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wa::proxy
