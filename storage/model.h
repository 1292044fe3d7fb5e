// The capture model: plain structs that the recording proxy produces, the store writes and reads
// back, and the replayer consumes. One struct per table of storage/schema.sql (see README.md for
// the meaning of every field); no behaviour beyond equality.
//
// Ids: every struct's `id` is its row id in the capture file. The proxy takes ids from the
// CaptureWriter (writer.h) synchronously, when a thing starts, so that later events can refer
// to it before it has been written; an event pushed with id 0 gets the next id at push time.
// `recording_id` is filled in by the writer.
//
// Times are integer microseconds since the Unix epoch (UTC), passed in by the caller: nothing
// here reads a clock.
//
// Optional text columns use the empty string for NULL (a missing SNI and an empty SNI are the
// same thing to every consumer); optional numbers use std::optional.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace wa::store {

using Id = std::int64_t;
using Micros = std::int64_t;

// Who sent a message or packet.
enum class Direction : std::uint8_t { client, server };
enum class Transport : std::uint8_t { polling, websocket };
// Engine.IO v3 (Socket.IO v4), Engine.IO v4 (Socket.IO v5), or the legacy Socket.IO 0.9.
enum class SocketProtocol : std::uint8_t { eio3, eio4, sio09 };
// A cookie set by the server (Set-Cookie) or sent by the client (Cookie).
enum class CookieKind : std::uint8_t { set, sent };

const char* to_string(Direction d);
const char* to_string(Transport t);
const char* to_string(SocketProtocol p);
const char* to_string(CookieKind k);

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};
// In wire order, duplicates kept: order and repetition matter to servers and to replay.
using Headers = std::vector<Header>;

// A recorded body or message payload, which the recorder may have cut at its cap. When cut,
// `full_length` and `sha256` still describe the whole thing, so a replay can tell whether the
// live one is the same without the recording holding it.
struct Payload {
  std::string bytes;  // what was kept
  // Length on the wire; bytes.size() unless cut; -1 when not known at all (a HAR that holds
  // no body for a response that had one: then `bytes` is empty and says nothing).
  std::int64_t full_length = 0;
  std::string sha256;  // lower-case hex of the whole payload; empty unless cut

  static Payload whole(std::string data) {
    Payload p;
    p.full_length = static_cast<std::int64_t>(data.size());
    p.bytes = std::move(data);
    return p;
  }
  static Payload unknown() {
    Payload p;
    p.full_length = -1;
    return p;
  }
  bool truncated() const { return full_length > static_cast<std::int64_t>(bytes.size()); }
  bool is_unknown() const { return full_length < 0; }
  bool operator==(const Payload&) const = default;
};

struct Recording {
  Id id = 0;
  std::string name;
  Micros started_us = 0;
  std::optional<Micros> ended_us;  // unset while recording, or when the recorder died
  std::string mode;                // "forward" or "reverse"
  std::string listen;              // "127.0.0.1:8080"
  std::string upstream;            // reverse mode only
  std::string tool_version;
  bool operator==(const Recording&) const = default;
};

// A client connection to the proxy and where it leads.
struct Connection {
  Id id = 0;
  Id recording_id = 0;
  std::string client_addr;  // "127.0.0.1:53422"
  std::string server_host;
  int server_port = 0;
  bool tls = false;
  std::string sni;
  std::string alpn;
  Micros opened_us = 0;
  std::optional<Micros> closed_us;  // set by a ConnectionClosed event
  std::string error;
  bool operator==(const Connection&) const = default;
};

// Sent when a connection ends; the Connection row was written when it opened.
struct ConnectionClosed {
  Id connection_id = 0;
  Micros closed_us = 0;
  std::string error;  // empty for a clean close
  bool operator==(const ConnectionClosed&) const = default;
};

// One HTTP request and its response, written once, when it is over.
struct Exchange {
  Id id = 0;
  Id recording_id = 0;
  Id connection_id = 0;
  int seq = 0;  // order on its connection, from 0
  std::string method;
  std::string url;  // absolute
  std::string http_version = "HTTP/1.1";
  Headers request_headers;
  Payload request_body;          // transfer coding removed, content coding kept
  std::string request_encoding;  // Content-Encoding codings of the request, "" if none
  int status = 0;                // 0: no response; see error
  std::string reason;
  std::string response_version;
  Headers response_headers;
  Payload response_body;
  std::string response_encoding;  // the body is kept as received: "gzip" means gzip bytes
  Micros started_us = 0;
  std::optional<Micros> first_byte_us;
  std::optional<Micros> ended_us;
  std::string error_code;  // wa::errc_name() of what went wrong, "" if nothing
  std::string error;
  bool has_response() const { return status != 0; }
  bool operator==(const Exchange&) const = default;
};

// A whole WebSocket message (fragments reassembled, permessage-deflate inflated) or a control
// frame, on the connection that the Upgrade exchange `exchange_id` switched.
struct WsMessage {
  Id id = 0;
  Id recording_id = 0;
  Id exchange_id = 0;
  Direction direction = Direction::client;
  int opcode = 1;  // RFC 6455 §5.2
  Payload payload;
  bool compressed = false;  // RSV1 was set (RFC 7692 §6)
  Micros time_us = 0;
  // "" for a message recorded as it should be; otherwise why a peer would have refused it
  // (an invalid frame, kept as it came) or why it is not whole.
  std::string error;
  bool operator==(const WsMessage&) const = default;
};

// An Engine.IO session (or Socket.IO 0.9 session), which spans polling requests and the
// WebSocket it upgrades to.
struct EioSession {
  Id id = 0;
  Id recording_id = 0;
  std::string sid;
  SocketProtocol protocol = SocketProtocol::eio4;
  Micros opened_us = 0;
  std::optional<Id> handshake_exchange_id;
  bool operator==(const EioSession&) const = default;
};

// One decoded Engine.IO packet (with its Socket.IO packet, when it carries one), or one
// Socket.IO 0.9 frame. Exactly one of ws_message_id and exchange_id is set: the raw message or
// polling exchange it came from.
struct SocketPacket {
  Id id = 0;
  Id recording_id = 0;
  std::optional<Id> session_id;
  std::optional<Id> ws_message_id;
  std::optional<Id> exchange_id;
  int position = 0;  // index in its message or polling body
  Direction direction = Direction::client;
  Transport transport = Transport::websocket;
  Micros time_us = 0;
  std::optional<int> eio_type;  // unset for Socket.IO 0.9
  std::optional<int> sio_type;
  std::string namespace_;  // "/" for the main namespace
  std::string event;       // set for events only
  std::optional<std::int64_t> ack_id;
  std::string args;          // JSON text: event/ack arguments, or the packet's payload; "" if none
  int attachment_count = 0;  // announced by the packet (`451-`)
  std::vector<std::string> attachments;  // received so far, by "num"
  std::string raw;                       // the packet as carried
  bool operator==(const SocketPacket&) const = default;
};

struct CookieEvent {
  Id id = 0;
  Id recording_id = 0;
  Id exchange_id = 0;
  CookieKind kind = CookieKind::sent;
  std::string name;
  std::string value;
  std::string domain;
  std::string path;
  std::string expires;  // the attribute as sent
  std::optional<std::int64_t> max_age;
  bool secure = false;
  bool http_only = false;
  std::string same_site;
  std::string raw;  // kind == set: the Set-Cookie field value
  bool operator==(const CookieEvent&) const = default;
};

// One Server-Sent Event (HTML Living Standard §9.2.6) of the `text/event-stream` response of
// exchange `exchange_id`, recorded as it arrived: the exchange row itself is written only when
// the stream ends (or the client goes away), so these rows refer to it by the id it was given
// when its request started.
struct SseEvent {
  Id id = 0;
  Id recording_id = 0;
  Id exchange_id = 0;
  int seq = 0;                           // order on its stream, from 0
  Micros time_us = 0;                    // when the blank line that dispatched it arrived
  std::optional<std::string> event_id;   // set only when the event's block had an `id` field
  std::string event = "message";         // the event type
  std::string data;                      // the data lines joined with "\n"
  std::optional<std::int64_t> retry_ms;  // a `retry` field of the block, in milliseconds
  bool operator==(const SseEvent&) const = default;
};

// What may differ between a recording and a replay of it (DESIGN.md, replayer: matching).
enum class NoiseKind : std::uint8_t {
  header,        // a header name, compared case-insensitively
  json_pointer,  // an RFC 6901 pointer into a JSON body or Socket.IO arguments
  regex,         // a regular expression over text bodies and frames
};
enum class RuleOrigin : std::uint8_t { calibrate, user };

const char* to_string(NoiseKind k);
const char* to_string(RuleOrigin o);

struct NoiseRule {
  Id id = 0;
  std::optional<Id> recording_id;  // unset: applies to every recording of the file
  std::string scope = "*";         // "*", an endpoint "GET /api/items", or "event chat"
  NoiseKind kind = NoiseKind::header;
  std::string pattern;
  RuleOrigin origin = RuleOrigin::calibrate;
  Micros created_us = 0;
  // The values calibration saw, one per pass (schema v4); empty for rules written by hand.
  std::vector<std::string> evidence;
  bool operator==(const NoiseRule&) const = default;
};

// What the proxy's event loop hands to the writer thread.
using CaptureEvent = std::variant<Connection, ConnectionClosed, Exchange, WsMessage, EioSession,
                                  SocketPacket, CookieEvent, SseEvent>;

}  // namespace wa::store
