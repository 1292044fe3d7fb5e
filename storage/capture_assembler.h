// What a recording derives from raw traffic, whoever saw the traffic: cookie events from the
// Cookie and Set-Cookie headers of an exchange, and Engine.IO / Socket.IO sessions and packets
// decoded from polling exchanges and WebSocket messages (protocol/socket_traffic.h).
//
// The recording proxy feeds it live; HAR import feeds it a file's entries. Both get the same
// rows, so a session saved from DevTools replays like one recorded through the proxy.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/socket_traffic.h"
#include "storage/model.h"

namespace wa::store {

// Hands out row ids (the CaptureWriter's new_*_id, or a counter).
struct IdSource {
  std::function<Id()> session, packet, cookie;
};

class CaptureAssembler {
 public:
  explicit CaptureAssembler(IdSource ids) : ids_(std::move(ids)) {}

  // Cookie events of a finished exchange (its id set), in header order.
  std::vector<CookieEvent> cookies(const Exchange& exchange) const;

  // Sessions and packets decoded from a finished exchange, when it is socket traffic. The
  // bodies are given separately: the row may hold only what was kept of them, while these are
  // what the decoder should read; `*_complete` false when they were cut.
  std::vector<CaptureEvent> exchange(const Exchange& exchange, std::string_view request_body,
                                     bool request_complete, std::string_view response_body,
                                     bool response_complete);

  // A WebSocket on the connection that `upgrade_exchange_id` switched, for request target
  // `target`; its data messages (already written with their ids); its end.
  void websocket_opened(Id upgrade_exchange_id, std::string_view target);
  std::vector<CaptureEvent> websocket_message(const WsMessage& message, std::string_view payload);
  std::vector<CaptureEvent> websocket_closed(Id upgrade_exchange_id);

  // Packets still waiting for attachments at the end of the capture.
  std::vector<CaptureEvent> finish();

  // Socket.IO events and acks among the packets produced so far.
  uint64_t socket_events() const { return socket_events_; }

 private:
  void convert(traffic::Observed observed, std::vector<CaptureEvent>& out);

  IdSource ids_;
  traffic::Observer observer_;
  std::map<std::string, Id> sessions_;  // Engine.IO / 0.9 sid -> session row
  std::map<Id, bool> sockets_;          // upgrade exchanges whose WebSocket is socket traffic
  uint64_t socket_events_ = 0;
};

}  // namespace wa::store
