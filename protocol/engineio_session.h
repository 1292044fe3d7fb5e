// The transport sequence of one Engine.IO session, as an observer sees it, and the split of its
// packets into application traffic and transport chatter. Sans-I/O: the caller feeds packets
// it has decoded (protocol/engineio_payload.h, protocol/engineio.h) with the transport and
// direction they travelled; nothing here parses bytes except the open packet's JSON.
//
// The sequence (PROTOCOLS.md §1 "Upgrade sequence", both versions):
//   polling handshake (open packet on a GET) -> a WebSocket with the same sid: C> 2probe,
//   S> 3probe -> S> 6 releases the pending GET -> C> 5 on the WebSocket -> all traffic on the
//   WebSocket. python-engineio also sends 6 on the WebSocket right after 5. WebSocket-only
//   clients get the open packet as the first frame. Packets queued during the upgrade may come
//   out on either transport, so messages on both are application traffic while probing.
//
// Heartbeats: v3 clients ping and servers pong; v4 servers ping and clients pong. Recorders skip
// them and replayers answer them live: only `application` traffic is the application's.
//
// The tracker is lenient, as an observer must be (GETs and POSTs overlap, a capture may start
// late): a packet out of sequence is classified all the same and flagged with a reason.
#pragma once

#include <optional>
#include <string_view>

#include "protocol/engineio.h"

namespace wa::eio {

enum class Direction : uint8_t { to_server, to_client };

// Who sends pings (not probes): v3 the client, v4 the server.
Direction ping_direction(Version version);

enum class Traffic : uint8_t {
  application,  // a message packet: Socket.IO text or a binary attachment
  open,         // the handshake
  close,        // the close packet
  heartbeat,    // ping or pong other than the probe
  probe,        // 2probe / 3probe
  upgrade,      // 5
  noop,         // 6
};

const char* traffic_name(Traffic traffic);

// What a packet is from its type and data alone, without the session's history.
Traffic classify(const Packet& packet);

enum class Phase : uint8_t {
  opening,    // no open packet seen yet
  polling,    // long-polling, no probe yet
  probing,    // a WebSocket sent 2probe; polling carries traffic until the upgrade
  websocket,  // upgraded, or opened on the WebSocket
  closed,     // a close packet, or the WebSocket (or a dead polling session) went away
};

const char* phase_name(Phase phase);

struct Observation {
  Traffic traffic = Traffic::application;
  Phase phase = Phase::opening;  // after this packet
  std::string_view unexpected;   // empty, or why the packet does not fit (a static string)
};

class SessionTracker {
 public:
  explicit SessionTracker(Version version) : version_(version) {}

  // One packet seen on `transport` going in `direction`, in the order the observer saw them.
  Observation observe(Transport transport, Direction direction, const Packet& packet);

  // The WebSocket closed (a failed probe falls back to polling; after the upgrade the session
  // ends), or a polling request learnt the session is gone (HTTP 400 "Session ID unknown").
  void transport_closed(Transport transport);

  Version version() const { return version_; }
  Phase phase() const { return phase_; }
  // The transport application traffic goes over now: websocket once upgraded (or opened
  // there), polling before.
  Transport transport() const { return transport_; }
  // From the open packet, once seen and parsed.
  const std::optional<Handshake>& handshake() const { return handshake_; }

 private:
  Observation on_open(Transport transport, Direction direction, const Packet& packet);
  std::string_view check_heartbeat(Transport transport, Direction direction,
                                   const Packet& packet) const;
  Observation result(Traffic traffic, std::string_view unexpected = {}) const {
    return Observation{traffic, phase_, unexpected};
  }

  Version version_;
  Phase phase_ = Phase::opening;
  Transport transport_ = Transport::polling;
  bool probe_answered_ = false;
  std::optional<Handshake> handshake_;
};

}  // namespace wa::eio
