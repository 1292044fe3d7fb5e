// Engine.IO v3 and v4 packets: the text and WebSocket encodings of one packet, the open packet's
// handshake JSON, and the Engine.IO parameters of a request URL.
//
// Sans-I/O and stateless. An Engine.IO packet is {type, data bytes, binary}; Socket.IO rides in
// `message` packets on top of this seam. Polling payloads (many packets in one HTTP body) are in
// protocol/engineio_payload.h, the transport sequence of a session (polling, probe, upgrade,
// websocket) and the heartbeat/application split are in protocol/engineio_session.h.
//
// Facts follow /work/shared/PROTOCOLS.md §1 (bytes captured from socket.io 2.5 = Engine.IO v3,
// socket.io 4.8 and python-engineio 4.3 = Engine.IO v4) where they differ from the official
// protocol documents.
//
// Errors: input that does not decode returns Errc::eio_malformed with a one-line reason; input
// over a configured Limits value returns Errc::limit. Nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/result.h"

namespace wa::eio {

enum class Version : uint8_t { v3 = 3, v4 = 4 };

// The packet type is the first character of a text packet ('0'..'6') and the first byte of a v3
// binary packet (0..6).
enum class PacketType : uint8_t {
  open = 0,     // server: the handshake JSON (see Handshake)
  close = 1,    // either side, ends the session
  ping = 2,     // v3: the client pings; v4: the server pings; "probe" data on a new WebSocket
  pong = 3,     // the answer to a ping, with the same data
  message = 4,  // application data: a Socket.IO packet, or a binary attachment
  upgrade = 5,  // client, on the WebSocket after a successful probe
  noop = 6,     // server, releases a pending poll during upgrade and close
};

// "open", "close", ... for logs.
const char* packet_type_name(PacketType type);

// One Engine.IO packet. `data` holds the bytes after the type: UTF-8 text when !binary, raw
// bytes when binary (already decoded from base64 where the wire used it). On the wire only
// message packets are binary in practice; v4 can only carry binary messages.
struct Packet {
  PacketType type = PacketType::message;
  std::string data;
  bool binary = false;

  friend bool operator==(const Packet&, const Packet&) = default;
};

// True for `2probe` and `3probe`, the WebSocket probe of the upgrade sequence.
bool is_probe(const Packet& packet);

// Size limits against hostile input. Length prefixes are checked against these and against the
// bytes actually present before anything is allocated.
struct Limits {
  size_t max_payload = size_t{64} << 20;  // bytes of one polling body or WebSocket message
  size_t max_packet = size_t{64} << 20;   // bytes of one packet's data
  size_t max_packets = 100'000;           // packets in one polling body
};

// --- One packet as text --------------------------------------------------------------------
//
// `<type digit><data>`, e.g. `4hello`, `2probe`, `0{"sid":...}`. A text packet starting with
// `b` is binary data in base64: v4 `b<base64>` is a binary message (no type digit, `bAQID/w==`
// is <01 02 03 ff>); v3 `b<type digit><base64>` (`b4AQID/w==`), used by clients that asked for
// `b64=1`. Text data must be valid UTF-8.

Result<Packet> decode_packet(Version version, std::string_view text, const Limits& limits = {});

// The text form; binary packets become base64 (`b...` / `b4...`). Fails on a v4 binary packet
// that is not a message and on text data that is not valid UTF-8.
Result<std::string> encode_packet(Version version, const Packet& packet);

// --- One packet per WebSocket message --------------------------------------------------------
//
// Text messages hold the text form above. Binary messages hold a binary packet: v4 the raw
// attachment bytes (type message implied: <01 02 03 ff>), v3 the raw type byte 04 then the
// bytes (<04 01 02 03 ff>). PROTOCOLS.md §1 "WebSocket framing".

struct WsMessage {
  std::string payload;
  bool binary = false;  // the WebSocket opcode: binary (2) or text (1)

  friend bool operator==(const WsMessage&, const WsMessage&) = default;
};

Result<Packet> decode_ws_message(Version version, std::string_view payload, bool binary,
                                 const Limits& limits = {});
Result<WsMessage> encode_ws_message(Version version, const Packet& packet);

// --- The open packet ------------------------------------------------------------------------
//
// Node (v3, v4) sends sid, upgrades, pingInterval, pingTimeout (v4 adds maxPayload); python
// puts pingTimeout first and omits maxPayload. Keys are read by name; keys this codec does not
// know are kept, in wire order, with their values as compact JSON text.

struct Handshake {
  std::string sid;
  std::vector<std::string> upgrades;  // ["websocket"] on polling, [] when opened on WebSocket
  uint64_t ping_interval_ms = 25000;
  uint64_t ping_timeout_ms = 20000;
  std::optional<uint64_t> max_payload;                     // v4 Node only
  std::vector<std::pair<std::string, std::string>> extra;  // unknown key -> JSON value text

  friend bool operator==(const Handshake&, const Handshake&) = default;
};

// `json` is the open packet's data (after the `0`). sid, pingInterval and pingTimeout are
// required; upgrades defaults to none.
Result<Handshake> parse_handshake(std::string_view json);

// Compact JSON in Node's key order, extras last. Extra values are inserted verbatim and must be
// JSON text (as parse_handshake leaves them).
std::string encode_handshake(const Handshake& handshake);

// --- The request URL ------------------------------------------------------------------------

enum class Transport : uint8_t { polling, websocket };

const char* transport_name(Transport transport);

// Engine.IO's query parameters (PROTOCOLS.md §1): EIO, transport, sid, b64 and the JSONP index
// j. User parameters come first in real URLs, so when a name repeats the last one wins.
struct Query {
  std::optional<Version> version;      // EIO=3|4; absent or another value: nullopt
  std::optional<Transport> transport;  // polling|websocket; other values: nullopt
  std::string sid;                     // empty on the handshake request
  bool b64 = false;                    // v3 `b64=<non-empty>`: binary travels as base64 text
  std::optional<uint32_t> jsonp;       // v3 `j=N`: JSONP polling with callback ___eio[N]

  friend bool operator==(const Query&, const Query&) = default;
};

// `target` is a request target (`/socket.io/?EIO=4&transport=polling`), a full URL, or a bare
// query string (with or without `?`). Values are percent-decoded; this never fails.
Query parse_query(std::string_view target);

}  // namespace wa::eio
