// What a recording derives from raw traffic, whoever saw the traffic: cookie events from the
// Cookie and Set-Cookie headers of an exchange, and Engine.IO / Socket.IO sessions and packets
// decoded from polling exchanges and WebSocket messages (protocol/socket_traffic.h).
//
// The recording proxy feeds it live; HAR import feeds it a file's entries. Both get the same
// rows, so a session saved from DevTools replays like one recorded through the proxy.
#pragma once

#include <cstddef>
#include <cstdint>
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

// A packet row that did not decode keeps what text it had and says why at the end of `raw`,
// "<text> (error: <why>)": the capture schema has no column of its own for it. The reason, or
// "" for a packet that decoded.
std::string_view undecodable_reason(const SocketPacket& row);
// The same rows as an SQL condition on socket_packets, for counting them in a query.
inline constexpr const char* kUndecodablePacketSql =
    "(CAST(raw AS TEXT) GLOB '(error: *)' OR CAST(raw AS TEXT) GLOB '* (error: *)')";

// The most a polling body may hold once its Content-Encoding is removed: far above Engine.IO's
// default maxPayload (1 MB), and a bound on what a compression bomb costs.
inline constexpr size_t kMaxDecodedPollingBody = 16u << 20;

class CaptureAssembler {
 public:
  // What the bodies given to exchange() are: the bytes as sent, which are decoded from their
  // Content-Encoding before Engine.IO reads them (the proxy), or bodies that may have been
  // decoded already although their headers still name a coding (HAR 1.2 content.text is
  // decoded; this tool's own export keeps the bytes as sent): one that does not decode is then
  // read as it is.
  enum class Bodies : uint8_t { as_sent, maybe_decoded };

  explicit CaptureAssembler(IdSource ids, Bodies bodies = Bodies::as_sent)
      : ids_(std::move(ids)), bodies_(bodies) {}

  // Cookie events of a finished exchange (its id set), in header order.
  std::vector<CookieEvent> cookies(const Exchange& exchange) const;

  // Sessions and packets decoded from a finished exchange, when it is socket traffic. The
  // bodies are given separately: the row may hold only what was kept of them, while these are
  // what the decoder should read; `*_complete` false when they were cut. A body that does not
  // decode from its Content-Encoding becomes a packet that says so (undecodable_reason).
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
  Bodies bodies_;
  traffic::Observer observer_;
  std::map<std::string, Id> sessions_;  // Engine.IO / 0.9 sid -> session row
  std::map<Id, bool> sockets_;          // upgrade exchanges whose WebSocket is socket traffic
  uint64_t socket_events_ = 0;
};

}  // namespace wa::store
