// Socket.IO 0.9 ("protocol 1"): handshake, transport paths, frames and xhr-polling payloads.
//
// Sans-I/O. Facts from PROTOCOLS.md §3 (socket.io 0.9.19 server, 0.9.16-17 clients, Chromium):
//   handshake  GET <resource>/1/?t=… → `sid:heartbeat timeout:close timeout:transports`
//              (JSONP: `?jsonp=N` → `io.j[N]("…");`); refusals are bodies, not JSON
//   transport  <resource>/1/<transport>/<sid>[?query]: the sid is in the PATH
//   frame      `type:id[+]:endpoint[:data]`, split on the first three ':' only
//   payload    one frame bare, several as `\ufffd<len>\ufffd<frame>…`, len in UTF-16 units
// Engine.IO is not involved: frames travel as WebSocket text messages or polling bodies.
//
// Frames decode in two steps: decode_frame() splits the framing losslessly (encode_frame() gives
// back the same bytes), content() interprets the data field by type. decode() does both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/result.h"
#include "protocol/socketio_json.h"

namespace wa::sio09 {

using Json = wa::sio::Json;

enum class FrameType : uint8_t {
  disconnect = 0,
  connect = 1,
  heartbeat = 2,
  message = 3,
  json = 4,
  event = 5,
  ack = 6,
  error = 7,
  noop = 8,
};

const char* type_name(FrameType type);  // "disconnect", "connect", …

struct Limits {
  size_t max_frame_bytes = 16u << 20;  // one frame, and one polling body
  size_t max_payload_frames = 10000;   // frames in one polling body
  size_t max_json_depth = wa::sio::kDefaultMaxJsonDepth;
};

// --- Frames -----------------------------------------------------------------------------------

struct Frame {
  FrameType type = FrameType::noop;
  // A message id asks for an ack. With user_ack ('+' after the id, `5:1+::…`) the receiver's
  // callback answers with arguments (`6:::1+[…]`); without it (`3:2::…`) the library acks at
  // once with no arguments (`6:::2`). Ids count per endpoint (PROTOCOLS.md §3 gotcha 2).
  // Leading zeros of an id (`3:02::`, never sent by the reference clients) are not kept.
  std::optional<uint64_t> id;
  bool user_ack = false;
  std::string endpoint;             // the namespace, "" for the default one
  std::optional<std::string> data;  // after the third ':'; absent when there is none (`1::`)

  bool operator==(const Frame&) const = default;
};

// Splits `type:id[+]:endpoint[:data]`. The type is one digit 0-8; the id digits only; '+'
// needs an id; the endpoint holds no ':'; the data is everything after the third ':' and may
// hold ':'. Text must be valid UTF-8. Errors: Errc::sio09_malformed, Errc::limit.
Result<Frame> decode_frame(std::string_view text, const Limits& limits = {});

// The frame's bytes. Fails (Errc::sio09_malformed) on an endpoint holding ':' or '+' without
// an id, which would not read back as the same frame.
Result<std::string> encode_frame(const Frame& frame);

// --- Frame content, by type (variant index == FrameType value) ----------------------------------

struct Disconnect {};
struct Connect {
  std::string query;  // from data `?x=1` (PROTOCOLS.md §3 gotcha 1), without the '?'
};
struct Heartbeat {};
struct Message {
  std::string text;
};
struct JsonMessage {
  Json value;
};
struct Event {
  std::string name;
  Json args = Json::array();  // absent in the frame when empty, as the reference encoder does
};
struct Ack {
  uint64_t id = 0;            // the message id acknowledged
  Json args = Json::array();  // after '+'; empty for a library ack (`6:::2`)
};
struct Error {
  // List indexes, as on the wire (`7:::1+0`): reason 0 transport not supported, 1 client not
  // handshaken, 2 unauthorized; advice 0 reconnect (PROTOCOLS.md §3 gotcha 4; docs show text).
  std::string reason;
  std::string advice;
};
struct Noop {};

using Content =
    std::variant<Disconnect, Connect, Heartbeat, Message, JsonMessage, Event, Ack, Error, Noop>;

// Interprets the data field. Strict where the reference parser is silently lossy: a JSON or
// event frame without valid JSON, an event without a string name or with non-array args, an
// ack not of the form `<id>[+<JSON array>]` fail with Errc::sio09_malformed. Data on
// disconnect, heartbeat and noop frames is ignored, as the server does.
Result<Content> content(const Frame& frame, const Limits& limits = {});

struct Decoded {
  Frame frame;
  Content content;
};
Result<Decoded> decode(std::string_view text, const Limits& limits = {});

// A frame carrying `content`, with the data field written as socket.io 0.9's encoder writes it
// (empty message text, empty event/ack args and an empty connect query are left out).
Frame make_frame(const Content& content, std::string endpoint = {}, std::optional<uint64_t> id = {},
                 bool user_ack = false);

// The ack the library sends at once for a frame with an id and no '+': `6:<endpoint>:<id>`.
// nullopt for frames that need no ack or whose ack comes from the user's callback.
std::optional<Frame> automatic_ack(const Frame& frame);

// "transport not supported", "client not handshaken", "unauthorized"; "reconnect"; nullptr for
// an unknown index.
const char* error_reason_name(std::string_view index);
const char* error_advice_name(std::string_view index);

// --- xhr-polling payloads ---------------------------------------------------------------------

// Splits a polling body into frames. A body not starting with U+FFFD (EF BF BD) is one bare
// frame; otherwise it must be an exact sequence of `\ufffd<decimal UTF-16 length>\ufffd<frame>`.
// Any inconsistency (a length counted in code points or bytes that ends inside a character or
// a surrogate pair, or lands anywhere but on the next U+FFFD or the end) fails the whole body:
// the server was seen to drop such a POST entirely (PROTOCOLS.md §3), so no frame of it is
// reported as delivered. An empty body is zero frames. Frames are returned undecoded.
Result<std::vector<std::string>> decode_payload(std::string_view body, const Limits& limits = {});

// One frame bare, several framed (an empty list gives an empty body), as the server does; a
// lone frame that is empty or starts with U+FFFD (no valid frame does) is framed, so that it
// reads back as itself.
// Fails (Errc::sio09_malformed) when a framed frame is not valid UTF-8: its length is undefined.
Result<std::string> encode_payload(const std::vector<std::string>& frames);

// --- Handshake --------------------------------------------------------------------------------

struct Handshake {
  std::string sid;
  // Seconds. The heartbeat field is empty when heartbeats are disabled; the interval itself is
  // not on the wire (PROTOCOLS.md §3 gotcha 3).
  std::optional<uint64_t> heartbeat_timeout;
  std::optional<uint64_t> close_timeout;
  std::vector<std::string> transports;  // in the server's order of preference
  std::optional<uint64_t> jsonp;        // N of `io.j[N](…);` when the JSONP form was used

  bool operator==(const Handshake&) const = default;
};

// Parses a 200 handshake body, plain or JSONP.
Result<Handshake> parse_handshake(std::string_view body);
std::string encode_handshake(const Handshake& handshake);

enum class RefusalKind {
  handshake_error,       // 500 `handshake error`: the authorization callback failed
  unauthorized,          // 403 `handshake unauthorized`: the callback said false
  bad_origin,            // 403 `handshake bad origin`
  protocol_unsupported,  // 500 `Protocol version not supported.`: e.g. /socket.io/2/
  other,
};

struct Refusal {
  RefusalKind kind = RefusalKind::other;
  int status = 0;
  std::string message;
};

// A refused handshake: any non-200 status (the body is the message), or a 200 JSONP
// `io.j[N](new Error("…"));`. nullopt for a 200 that is not a JSONP error.
std::optional<Refusal> parse_refusal(int status, std::string_view body);

// --- Paths ------------------------------------------------------------------------------------

struct Path {
  uint64_t protocol = 1;
  std::string transport;  // empty for the handshake
  std::string sid;        // empty for the handshake
  std::string query;      // after '?', without it; "" when none

  bool is_handshake() const { return transport.empty() && sid.empty(); }
  bool operator==(const Path&) const = default;
};

// Parses a request target (`/socket.io/1/websocket/<sid>?x=1`, `/socket.io/1/?t=…`) under
// `resource` the way the 0.9 server does: the resource prefix, then up to three non-empty
// segments protocol/transport/sid and an optional trailing '/'. nullopt when the target is not
// under the resource, or its protocol segment is not a number (static files such as
// /socket.io/socket.io.js).
std::optional<Path> parse_path(std::string_view target, std::string_view resource = "/socket.io");
// `<resource>/<protocol>/` for a handshake, `<resource>/<protocol>/<transport>/<sid>` otherwise,
// then `?<query>` when there is one.
std::string make_path(const Path& path, std::string_view resource = "/socket.io");

}  // namespace wa::sio09
