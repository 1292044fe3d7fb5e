// permessage-deflate (RFC 7692): extension header parsing, negotiation, and the per-direction
// compressor and decompressor.
//
// Negotiation works on header VALUES (the caller joins repeated Sec-WebSocket-Extensions fields
// with ", " as RFC 9110 §5.3 allows), so this file depends on no HTTP codec. The compressor and
// decompressor are zlib raw-deflate streams; each is owned by one direction of one connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"

namespace wa::ws {

// ---- Sec-WebSocket-Extensions (RFC 6455 §9.1) ----

struct ExtensionParam {
  std::string name;
  std::optional<std::string> value;  // unquoted; nullopt when the parameter has no "=value"
};

struct Extension {
  std::string name;
  std::vector<ExtensionParam> params;
};

// Parses `extension-list`: `name; p1; p2=v, name2`. Names are kept as sent (compare them with
// text::iequals). Empty list elements are skipped (RFC 9110 §5.6.1); anything else that is not
// the grammar is a Failure (Errc::ws_handshake).
Result<std::vector<Extension>> parse_extensions(std::string_view header_value);

// The inverse, for building headers: `permessage-deflate; client_max_window_bits`.
std::string format_extension(const Extension& extension);

inline constexpr std::string_view kPermessageDeflate = "permessage-deflate";

// ---- permessage-deflate parameters (RFC 7692 §7.1) ----

// What a client asks for in one offer.
struct DeflateOffer {
  bool server_no_context_takeover = false;    // §7.1.1.1: "reset your compressor per message"
  bool client_no_context_takeover = false;    // §7.1.1.2: "I will reset mine" (a hint)
  std::optional<int> server_max_window_bits;  // §7.1.2.1: a cap on the server's window, 8..15
  // §7.1.2.2: the bare parameter says "I can honour a window limit you set"; a value also caps
  // the client's own window.
  bool client_max_window_bits = false;
  std::optional<int> client_max_window_bits_value;
};

// What both ends agreed: each side's compressor honours its own half, and the peer's
// decompressor relies on it.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

// Reads one `permessage-deflate` element of an offer. An unknown parameter, a repeated one, a
// value out of 8..15 or with leading zeros, or a value on a flag makes the offer invalid
// (§7.1: a server declines such an offer). Failure is Errc::ws_handshake.
Result<DeflateOffer> parse_deflate_offer(const Extension& offer);

// The extension element a client sends for `offer`.
Extension deflate_offer_extension(const DeflateOffer& offer);

// What a server is willing to do; the defaults accept what browsers offer unchanged.
struct DeflatePolicy {
  bool server_no_context_takeover = false;  // reset our compressor per message even if not asked
  bool client_no_context_takeover = false;  // ask the client to reset its compressor
  int server_max_window_bits = 15;          // our compressor's largest window
  int client_max_window_bits = 15;          // the largest client window we want (if it can comply)
};

struct DeflateAgreement {
  DeflateParams params;
  Extension response;  // the element for the 101's Sec-WebSocket-Extensions
};

// Server side: the first valid permessage-deflate offer in the header value, accepted under the
// policy (§5: a server accepts at most one offer per extension). nullopt when there is none
// (the response then carries no permessage-deflate, and no frame may set RSV1).
std::optional<DeflateAgreement> negotiate_deflate(std::string_view offer_header_value,
                                                  const DeflatePolicy& policy = {});

// Client side: checks the server's permessage-deflate response element against what was
// offered (§7.1.1, §7.1.2: a window larger than asked, a client_max_window_bits the client did
// not offer, an unknown or repeated parameter all fail the connection).
Result<DeflateParams> accept_deflate_response(const Extension& response,
                                              const DeflateOffer& offered);

// Lenient reading of a response element for an observer that did not make the offer: the
// parameters are checked for syntax only.
Result<DeflateParams> read_deflate_response(const Extension& response);

// ---- The codec (RFC 7692 §7.2) ----

// Decompresses the messages of one direction. A message's payload may arrive in any number of
// pieces; finish() ends it. Output beyond `max_size` bytes is a Failure
// (Errc::ws_message_too_large) before it is allocated, so a deflate bomb costs at most that.
// Movable; the zlib stream itself is created on first use (a connection that never compresses
// never pays for a window).
class Inflater {
 public:
  Inflater(int window_bits, bool no_context_takeover);
  Inflater(Inflater&&) noexcept;
  Inflater& operator=(Inflater&&) noexcept;
  ~Inflater();

  // Inflates a piece of the compressed payload, appending to `out` (which holds the message so
  // far; its size counts against max_size). Failure: Errc::ws_deflate or ws_message_too_large.
  Result<void> feed(std::string_view compressed, std::string& out, size_t max_size);

  // Ends the message: inflates the 00 00 ff ff tail the sender removed (§7.2.2), checks that the
  // stream is then between blocks, and, without context takeover, forgets the window.
  Result<void> finish(std::string& out, size_t max_size);

  // The same, handing each piece of inflated output (at most 16 KiB) to `sink` instead: for a
  // reader that keeps a prefix and only counts the rest, whatever the ratio. A sink's failure
  // ends the call with it.
  using Sink = std::function<Result<void>(std::string_view)>;
  Result<void> feed(std::string_view compressed, const Sink& sink);
  Result<void> finish(const Sink& sink);

 private:
  struct Stream;
  Result<void> run(std::string_view compressed, const Sink& sink);
  std::unique_ptr<Stream> stream_;
  int window_bits_;
  bool no_context_takeover_;
  bool ended_ = false;  // the sender ended the stream (BFINAL, §7.2.3.4) inside this message
  bool fed_ = false;    // this message had compressed bytes
};

// Compresses the messages of one direction. zlib cannot produce raw deflate with an 8-bit
// window (it silently needs 9), so with window_bits 8 can_compress() is false and the sender
// sends its messages uncompressed, which RFC 7692 §6 allows per message.
class Deflater {
 public:
  Deflater(int window_bits, bool no_context_takeover, int level = 6, int mem_level = 8);
  Deflater(Deflater&&) noexcept;
  Deflater& operator=(Deflater&&) noexcept;
  ~Deflater();

  bool can_compress() const { return window_bits_ >= 9; }

  // Appends the compressed payload of one whole message: deflate with a sync flush, then the
  // trailing 00 00 ff ff removed (§7.2.1). Failure (Errc::ws_deflate) only when zlib does.
  Result<void> compress(std::string_view message, std::string& out);

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
  int window_bits_;
  bool no_context_takeover_;
  int level_;
  int mem_level_;
};

}  // namespace wa::ws
