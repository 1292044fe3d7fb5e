#include "protocol/engineio_session.h"

namespace wa::eio {

Direction ping_direction(Version version) {
  // PROTOCOLS.md §1: v3 (socket.io 2) clients ping, v4 servers ping (heartbeat reversal).
  return version == Version::v3 ? Direction::to_server : Direction::to_client;
}

const char* traffic_name(Traffic traffic) {
  switch (traffic) {
    case Traffic::application:
      return "application";
    case Traffic::open:
      return "open";
    case Traffic::close:
      return "close";
    case Traffic::heartbeat:
      return "heartbeat";
    case Traffic::probe:
      return "probe";
    case Traffic::upgrade:
      return "upgrade";
    case Traffic::noop:
      return "noop";
  }
  return "unknown";
}

Traffic classify(const Packet& packet) {
  switch (packet.type) {
    case PacketType::open:
      return Traffic::open;
    case PacketType::close:
      return Traffic::close;
    case PacketType::ping:
    case PacketType::pong:
      return is_probe(packet) ? Traffic::probe : Traffic::heartbeat;
    case PacketType::message:
      return Traffic::application;
    case PacketType::upgrade:
      return Traffic::upgrade;
    case PacketType::noop:
      return Traffic::noop;
  }
  return Traffic::application;
}

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::opening:
      return "opening";
    case Phase::polling:
      return "polling";
    case Phase::probing:
      return "probing";
    case Phase::websocket:
      return "websocket";
    case Phase::closed:
      return "closed";
  }
  return "unknown";
}

Observation SessionTracker::observe(Transport transport, Direction direction,
                                    const Packet& packet) {
  const bool on_ws = transport == Transport::websocket;
  switch (classify(packet)) {
    case Traffic::open:
      return on_open(transport, direction, packet);

    case Traffic::close:
      phase_ = Phase::closed;
      return result(Traffic::close);

    case Traffic::heartbeat:
      return result(Traffic::heartbeat, check_heartbeat(transport, direction, packet));

    case Traffic::probe:
      if (packet.type == PacketType::ping) {
        if (!on_ws) return result(Traffic::probe, "probe on the polling transport");
        if (direction != Direction::to_server)
          return result(Traffic::probe, "probe from the server");
        if (phase_ != Phase::polling && phase_ != Phase::probing) {
          return result(Traffic::probe, "probe outside the polling phase");
        }
        // A second probe (a new WebSocket after a failed one) restarts the upgrade.
        phase_ = Phase::probing;
        probe_answered_ = false;
        return result(Traffic::probe);
      }
      if (!on_ws) return result(Traffic::probe, "probe answer on the polling transport");
      if (direction != Direction::to_client) {
        return result(Traffic::probe, "probe answer from the client");
      }
      if (phase_ != Phase::probing) return result(Traffic::probe, "probe answer without a probe");
      probe_answered_ = true;
      return result(Traffic::probe);

    case Traffic::upgrade: {
      if (!on_ws) return result(Traffic::upgrade, "upgrade on the polling transport");
      if (direction != Direction::to_server) {
        return result(Traffic::upgrade, "upgrade from the server");
      }
      if (phase_ == Phase::websocket || phase_ == Phase::closed) {
        return result(Traffic::upgrade, "upgrade after the session left polling");
      }
      std::string_view why;
      if (phase_ != Phase::probing || !probe_answered_) why = "upgrade before an answered probe";
      // The client has switched whatever we saw before: follow it.
      phase_ = Phase::websocket;
      transport_ = Transport::websocket;
      return result(Traffic::upgrade, why);
    }

    case Traffic::noop:
      // Servers send 6 to release a pending GET (upgrade, close) and python-engineio also on
      // the WebSocket right after 5; clients never do.
      if (direction == Direction::to_server) return result(Traffic::noop, "noop from the client");
      return result(Traffic::noop);

    case Traffic::application:
      if (phase_ == Phase::opening) {
        return result(Traffic::application, "message before the open packet");
      }
      if (phase_ == Phase::closed) return result(Traffic::application, "message after close");
      if (on_ws && phase_ == Phase::polling) {
        return result(Traffic::application, "message on a WebSocket that has not probed");
      }
      return result(Traffic::application);
  }
  return result(Traffic::application);
}

Observation SessionTracker::on_open(Transport transport, Direction direction,
                                    const Packet& packet) {
  std::string_view why;
  if (direction != Direction::to_client) {
    why = "open packet from the client";
  } else if (phase_ != Phase::opening) {
    why = "second open packet in one session";
  }
  bool parsed = false;
  if (!packet.binary) {
    auto handshake = parse_handshake(packet.data);
    parsed = handshake.ok();
    if (parsed && !handshake_) handshake_ = std::move(handshake).value();
  }
  if (!parsed && why.empty()) why = "open packet data is not a handshake";
  if (phase_ == Phase::opening && direction == Direction::to_client) {
    // WebSocket-only clients get the open packet as the first frame (PROTOCOLS.md §1).
    transport_ = transport;
    phase_ = transport == Transport::websocket ? Phase::websocket : Phase::polling;
  }
  return result(Traffic::open, why);
}

std::string_view SessionTracker::check_heartbeat(Transport, Direction direction,
                                                 const Packet& packet) const {
  if (phase_ == Phase::opening) return "heartbeat before the open packet";
  const Direction pinger = ping_direction(version_);
  if (packet.type == PacketType::ping && direction != pinger) {
    return version_ == Version::v3 ? "ping from the server in Engine.IO v3"
                                   : "ping from the client in Engine.IO v4";
  }
  if (packet.type == PacketType::pong && direction == pinger) {
    return version_ == Version::v3 ? "pong from the client in Engine.IO v3"
                                   : "pong from the server in Engine.IO v4";
  }
  return {};
}

void SessionTracker::transport_closed(Transport transport) {
  if (transport == Transport::websocket) {
    if (phase_ == Phase::probing) {
      // The probe failed: the session carries on polling (engine.io-client falls back).
      phase_ = Phase::polling;
      probe_answered_ = false;
    } else if (phase_ == Phase::websocket) {
      phase_ = Phase::closed;
    }
    return;
  }
  if (phase_ != Phase::websocket) phase_ = Phase::closed;
}

}  // namespace wa::eio
