// WebSocket framing (RFC 6455) on wslay's frame layer, with permessage-deflate (RFC 7692).
//
// Three pieces, all sans-I/O:
//   Decoder      bytes of ONE direction in, whole messages out. It never produces bytes, so the
//                recording proxy can observe each direction of a relayed connection with it.
//   FrameWriter  frames out, masked with an injected mask source in the client role.
//   Endpoint     a client or server end of a connection: a Decoder for the peer's frames, a
//                FrameWriter for ours, pong replies, the close handshake (§7.1.2, §5.5.1),
//                fragmentation and compression of what it sends.
//
// wslay's frame layer checks the length encoding and control-frame size only; everything else
// §5 asks (reserved bits and opcodes, masking direction, fragmentation order, close payloads,
// UTF-8 of text) is checked here. Every failure is sticky: once feed() fails, the stream is
// unusable and every later call returns the same Failure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"
#include "protocol/ws_deflate.h"

namespace wa::ws {

enum class Role : uint8_t { client, server };

inline Role peer_of(Role role) {
  return role == Role::client ? Role::server : Role::client;
}

// RFC 6455 §5.2; the other values are reserved and rejected.
enum class Opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xa,
};

inline bool is_control(Opcode op) {
  return (static_cast<uint8_t>(op) & 0x8) != 0;
}

// Status codes of RFC 6455 §7.4.1 used by the code; any value is_valid_close_code() accepts may
// be sent and received.
namespace close_code {
inline constexpr uint16_t normal = 1000;
inline constexpr uint16_t going_away = 1001;  // what browsers send when a page goes away
inline constexpr uint16_t protocol_error = 1002;
inline constexpr uint16_t unsupported_data = 1003;
inline constexpr uint16_t no_status = 1005;  // never on the wire: a Close frame without a code
inline constexpr uint16_t abnormal = 1006;   // never on the wire: the TCP connection just ended
inline constexpr uint16_t invalid_payload = 1007;
inline constexpr uint16_t policy_violation = 1008;
inline constexpr uint16_t too_big = 1009;
inline constexpr uint16_t internal_error = 1011;
}  // namespace close_code

// §7.4: may this code appear in a Close frame? 1000-1003 and 1007-1011 (RFC 6455), 1012-1014
// (registered later in the IANA WebSocket Close Code Number registry), 3000-4999 (libraries and
// applications). 1004 is reserved; 1005, 1006 and 1015 are never sent; the rest of 0-2999 is
// reserved and 5000+ is undefined.
bool is_valid_close_code(uint16_t code);

// The status an endpoint sends when it fails the connection for this reason (§7.4.1): 1009 for
// a message too large, 1007 for invalid UTF-8, 1002 for everything else.
uint16_t close_code_for(const Failure& failure);

// A complete message of one direction, or one control frame.
struct Message {
  Opcode opcode = Opcode::text;  // text, binary, close, ping or pong (never continuation)
  // text/binary: the reassembled message, inflated if it was compressed (text is valid UTF-8);
  // ping/pong: the application data; close: the reason (valid UTF-8, possibly empty).
  std::string payload;
  bool compressed = false;  // it arrived permessage-deflate compressed (RSV1, RFC 7692 §6)
  uint16_t close_code = 0;  // close only: the status code, or 1005 when the frame had none
  uint64_t wire_size = 0;   // bytes its frames took on the wire, headers included
  uint32_t frames = 0;      // how many frames carried it (more than 1: it was fragmented)

  // Observer decoders only (DecoderOptions::observe); always 0 / empty otherwise.
  // Payload bytes past max_message_size that were counted but not kept; when there were any,
  // the SHA-256 (hex) of the whole payload.
  uint64_t dropped = 0;
  std::string sha256;
  // Why a peer would have failed the connection over this message or frame ("" if it would
  // not): invalid UTF-8, a reserved opcode or bit, a bad close code, an oversized control
  // frame, a payload that does not inflate... For a reserved opcode, `opcode` holds it as sent.
  std::string invalid;
};

// 16 MiB: far above any Socket.IO message, far below wslay's 2 GiB default.
inline constexpr size_t kDefaultMaxMessageSize = size_t{16} << 20;

struct DecoderOptions {
  Role sender = Role::client;  // who wrote these bytes: client frames are masked (§5.1)
  size_t max_message_size = kDefaultMaxMessageSize;  // payload after inflation
  // The agreed permessage-deflate parameters, if any. Without them RSV1 is a protocol error.
  // Decompression always uses a 15-bit window: it reads every stream a smaller window reads, so
  // an observer never rejects what the real peer would accept.
  std::optional<DeflateParams> deflate;
  // §5.1 masking rules. An observer that would rather record a sloppy peer than stop may relax
  // them; an Endpoint never does.
  bool require_masking = true;
  // An observer in the middle (the recording proxy) goes on where a peer would fail the
  // connection: a message over max_message_size keeps its first max_message_size bytes and is
  // counted and hashed past them (Message::dropped, ::sha256); a frame or message that breaks a
  // rule of §5 (or a payload that does not inflate) is reported with Message::invalid, and
  // decoding carries on with the next frame. Only a frame header that cannot be parsed (wslay's
  // length checks) still ends the stream; the failure then is reported as a last Message, with
  // opcode continuation, an empty payload and `invalid` saying why.
  bool observe = false;
};

// Decodes the frames of one direction into messages. Control frames are reported as they come,
// even between the fragments of a data message (§5.4), so the order of `out` is the order of
// completion. Nothing after a Close frame is accepted (§5.5.1). Movable.
class Decoder {
 public:
  explicit Decoder(DecoderOptions options = {});
  Decoder(Decoder&&) noexcept;
  Decoder& operator=(Decoder&&) noexcept;
  ~Decoder();

  // Consumes all of `bytes` (in any split) and appends each completed message to `out`.
  // Messages completed before a failure are appended before it is returned.
  Result<void> feed(std::string_view bytes, std::vector<Message>& out);

  bool closed() const;       // a Close frame was decoded
  bool failed() const;       // feed() has failed; the Decoder is dead
  bool mid_message() const;  // inside a frame or between the fragments of a message: if the
                             // connection ends now, the last message is incomplete

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Four mask bytes per frame (§5.3): they must be unpredictable on a real connection, so the
// caller injects them (RAND_bytes in production, a counter in tests).
using MaskSource = std::function<std::array<uint8_t, 4>()>;

// One frame as the writer sends it. `rsv` is the three reserved bits as RSV1<<2|RSV2<<1|RSV3,
// and `opcode` is raw so that tests can produce frames a Decoder must reject.
struct Frame {
  bool fin = true;
  uint8_t rsv = 0;
  uint8_t opcode = static_cast<uint8_t>(Opcode::text);
  std::string_view payload;
};

inline constexpr uint8_t kRsv1 = 0x4;

// Serialises frames through wslay_frame_send. Masked iff a mask source is given. Movable.
class FrameWriter {
 public:
  explicit FrameWriter(MaskSource mask = {});
  FrameWriter(FrameWriter&&) noexcept;
  FrameWriter& operator=(FrameWriter&&) noexcept;
  ~FrameWriter();

  // Appends the frame to `out`. Fails (Errc::ws_protocol) only for a control frame over 125
  // bytes, which §5.5 forbids and wslay refuses to write.
  Result<void> write(const Frame& frame, std::string& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct EndpointOptions {
  Role role = Role::client;
  size_t max_message_size = kDefaultMaxMessageSize;
  std::optional<DeflateParams> deflate;  // as agreed in the handshake
  MaskSource mask;                       // required in the client role
  bool auto_pong = true;                 // answer each ping with a pong (§5.5.2); pings are
                                         // reported either way
  int deflate_level = 6;                 // zlib level for what this end compresses
};

struct SendOptions {
  size_t fragment_size = 0;  // payload bytes per frame (after compression); 0: one frame
  bool compress = true;      // compress when permessage-deflate was agreed (RFC 7692 §6 lets an
                             // endpoint leave any message uncompressed)
};

class Endpoint {
 public:
  enum class State {
    open,     // both ways
    closing,  // we sent a Close and wait for the peer's (§7.1.2)
    closed,   // both Close frames are through; the TCP connection may go (the server first)
    failed,   // the peer broke the protocol; a Close with close_code_for() is queued if we had
              // not sent one yet
  };

  explicit Endpoint(EndpointOptions options);
  Endpoint(Endpoint&&) noexcept;
  Endpoint& operator=(Endpoint&&) noexcept;
  ~Endpoint();

  // The peer's bytes. Appends its messages to `out` and queues our answers: a pong per ping
  // (with auto_pong, while we have not sent a Close) and the echo of a Close (§5.5.1).
  Result<void> feed(std::string_view bytes, std::vector<Message>& out);

  // A data message. Fails (Errc::ws_protocol) once we sent a Close or after a failure, and
  // with Errc::bad_encoding for text that is not UTF-8.
  Result<void> send(Opcode opcode, std::string_view payload, const SendOptions& options = {});
  Result<void> send_text(std::string_view text, const SendOptions& options = {}) {
    return send(Opcode::text, text, options);
  }
  Result<void> send_binary(std::string_view bytes, const SendOptions& options = {}) {
    return send(Opcode::binary, bytes, options);
  }
  Result<void> ping(std::string_view payload = {});  // at most 125 bytes (§5.5)
  Result<void> pong(std::string_view payload = {});  // unsolicited: a heartbeat (§5.5.3)

  // Starts (or, after the peer's Close, has already finished) the close handshake. `code` must
  // pass is_valid_close_code(), or be 1005 to send a Close without a status (as Node clients
  // do), and the reason must be UTF-8 of at most 123 bytes.
  Result<void> close(uint16_t code = close_code::normal, std::string_view reason = {});

  // The bytes to write to the peer, in order; taking them empties the queue.
  std::string take_output();
  bool has_output() const;

  State state() const;
  std::optional<uint16_t> peer_close_code() const;  // the peer's Close status, once received

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wa::ws
