// Socket.IO packets, protocol v4 (socket.io 2.x) and v5 (socket.io 3/4, Flask-SocketIO 5).
//
// Sans-I/O. The seam with Engine.IO (protocol/engineio.h): a Socket.IO text packet is the string
// after an Engine.IO message's `4`; binary attachments are the raw bytes of the binary Engine.IO
// messages that follow it in the same direction (whatever the transport: polling `b<base64>`,
// v3 `04`-prefixed frames, WebSocket binary frames; Engine.IO strips its own framing).
//
// Wire form (PROTOCOLS.md §2, observed on socket.io 2.5/4.8 and Flask-SocketIO 5.3):
//   <type>[<attachments>-][<nsp>,][<ack id>][<JSON>]
// with the namespace and its comma present only when the namespace is not "/", and the comma
// kept even when nothing follows it (`40/admin,`). Ack ids count per namespace and per
// direction: pair an ACK with the EVENT of the same id and namespace sent the other way.
//
// Which payloads are accepted follows the reference parsers (socket.io-parser 3.x for v4,
// 4.x for v5) rather than the docs; see decode() and Decoder for the details.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"
#include "protocol/socketio_json.h"

namespace wa::sio {

enum class PacketType : uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,  // v5 CONNECT_ERROR; v4 calls it ERROR (same digit, other payloads)
  binary_event = 5,
  binary_ack = 6,
};

// "CONNECT", "EVENT", …; type 4 is "ERROR" for v4 and "CONNECT_ERROR" for v5.
const char* type_name(PacketType type, int protocol_version);

struct Packet {
  PacketType type = PacketType::event;
  std::string nsp = "/";             // namespace, "/" by default; never empty after decode
  std::optional<std::string> query;  // v4 only: `?…` carried in the nsp (`40/admin?token=adm,`)
  std::optional<uint64_t> id;        // ack id
  std::optional<Json> data;          // the JSON payload, absent when the packet has none
  // Binary packets only: the JSON keeps its {"_placeholder":true,"num":N} objects, and
  // attachments[N] holds the bytes of attachment N. On decode, complete packets always hold
  // exactly as many attachments as the header announced.
  std::vector<std::string> attachments;

  bool operator==(const Packet&) const = default;
};

struct Limits {
  size_t max_packet_bytes = 16u << 20;  // one text packet
  size_t max_attachments = 256;         // the `N-` of one packet (reference parsers default to 10)
  size_t max_attachment_bytes = 64u << 20;  // all attachments of one packet together
  size_t max_json_depth = kDefaultMaxJsonDepth;
};

// Decodes one text packet. For binary types, attachments is empty and the caller (or Decoder)
// collects the announced number of binary messages; `attachments_expected` receives N.
// What is accepted follows the reference parsers (socket.io-parser 3.4 for v4, 4.2 for v5): a
// payload of the wrong shape fails with Errc::sio_malformed, as the parser throws and the
// server closes the connection:
//   v5: CONNECT a plain object or none; DISCONNECT none; CONNECT_ERROR a string or an object;
//       EVENT/BINARY_EVENT an array whose first element is a string or a number;
//       ACK/BINARY_ACK an array.
//   v4: the same, except that CONNECT and ERROR also take arrays and null (JavaScript's
//       `typeof … === "object"`).
// Node also refuses reserved event names ("connect", "disconnect", …) in v5; python-socketio
// does not, and we keep them, since a recording should show what was sent.
// A binary packet must announce at least one attachment (`5-[…]`, `50-[…]` are illegal).
// A digit right after the type/namespace always starts the ack id, never the payload.
// `protocol_version` is 4 or 5; anything else is treated as 5.
Result<Packet> decode(std::string_view text, int protocol_version, const Limits& limits = {},
                      size_t* attachments_expected = nullptr);

struct Encoded {
  std::string text;                      // the Engine.IO message payload, without the `4`
  std::vector<std::string> attachments;  // binary Engine.IO messages to send after it, in order
};

// Encodes a packet. The attachment count in the header is attachments.size(). Fails with
// Errc::sio_malformed when the packet cannot be framed unambiguously: a namespace that does not
// start with '/' or holds ',', a query holding ',', attachments on a non-binary type, a
// placeholder whose num has no attachment, or a payload that would read back as an ack id (a
// non-negative number).
Result<Encoded> encode(const Packet& packet);

// Reassembles packets from one direction of one Engine.IO session.
//
// A BINARY_EVENT/BINARY_ACK with N attachments is complete after N binary messages, which may
// arrive in later polls or POSTs or after the upgrade to WebSocket (PROTOCOLS.md §2 gotcha 7).
// As in both reference parsers (socket.io-parser 3.4 and 4.2, checked), a text packet while
// attachments are awaited is an error ("got plaintext data when reconstructing a packet"; the
// server closes the connection), and so is a binary message that nothing awaits. After an
// error the incomplete packet is dropped and the next message is decoded afresh, so that a
// recorder can go on reading a connection the server would have closed. Placeholders are
// checked when the last attachment arrives: each must name an attachment that came.
class Decoder {
 public:
  explicit Decoder(int protocol_version, Limits limits = {});

  // One text Engine.IO message (the part after `4`). Yields the packet when it is complete,
  // nullopt when it now awaits attachments.
  Result<std::optional<Packet>> feed_text(std::string_view text);
  // One binary Engine.IO message: the next attachment of the awaited packet.
  Result<std::optional<Packet>> feed_binary(std::string_view bytes);

  bool awaiting() const { return pending_.has_value(); }
  size_t attachments_missing() const {
    return pending_ ? expected_ - pending_->attachments.size() : 0;
  }
  int protocol_version() const { return version_; }
  // Forgets an incomplete packet (e.g. when the Engine.IO session closes).
  void reset() { pending_.reset(); }

 private:
  int version_;
  Limits limits_;
  std::optional<Packet> pending_;
  size_t expected_ = 0;
  size_t pending_bytes_ = 0;
};

// --- Helpers for the store and the replayer ---------------------------------------------------

bool is_event(const Packet& p);  // EVENT or BINARY_EVENT
bool is_ack(const Packet& p);    // ACK or BINARY_ACK

// An event's name: data[0] when it is a string (v5 also allows a number there: no name then).
std::optional<std::string> event_name(const Packet& p);
// An event's arguments (data after the name, or all of data when there is no string name);
// an ack's arguments (all of data). An empty array for other packets.
Json event_args(const Packet& p);

// {"_placeholder":true,"num":N}, the stand-in for attachment N in a binary packet's JSON.
Json placeholder(size_t num);
// The number of placeholder objects in a value, at any depth.
size_t count_placeholders(const Json& value);

// Builders for client packets. Arguments that hold placeholders need BINARY_* and attachments.
Packet make_event(std::string nsp, std::string name, Json args, std::optional<uint64_t> id = {});
Packet make_ack(std::string nsp, uint64_t id, Json args);
Packet make_connect(std::string nsp, std::optional<Json> auth = {});

// The server's CONNECT reply in v5: {"sid":"…"}, plus "pid" with connection state recovery
// (socket.io 4: every server EVENT then carries a trailing offset argument). nullopt when the
// packet is not a CONNECT or carries no string sid (v4 replies never do).
struct ConnectReply {
  std::string sid;
  std::optional<std::string> pid;
};
std::optional<ConnectReply> connect_reply(const Packet& p);

// A CONNECT_ERROR (v5) / ERROR (v4) payload, whatever its shape (PROTOCOLS.md §2 table):
//   v5 object {"message","data"?}  → message, data
//   string "Unable to connect"     → message (socket.io 2 always; Flask-SocketIO in v5 too)
//   v4 object or other value        → data only (socket.io 2 sends err.data without message)
struct ConnectError {
  std::string message;
  Json data;  // null when absent
};
ConnectError connect_error(const Packet& p, int protocol_version);

}  // namespace wa::sio
