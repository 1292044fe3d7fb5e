#include "protocol/websocket.h"

#include <wslay/wslay.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "protocol/digest.h"
#include "protocol/text.h"

namespace wa::ws {

bool is_valid_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

uint16_t close_code_for(const Failure& failure) {
  switch (failure.code) {
    case Errc::ws_message_too_large:
      return close_code::too_big;
    case Errc::bad_encoding:
      return close_code::invalid_payload;
    default:
      return close_code::protocol_error;
  }
}

namespace {

Failure protocol_error(std::string why) {
  return fail(Errc::ws_protocol, std::move(why));
}

bool is_known_opcode(uint8_t op) {
  return op <= 0x2 || (op >= 0x8 && op <= 0xa);
}

// §5.2: the frame header is 2 bytes, plus 2 or 8 for the extended length, plus 4 for the mask
// key. wslay rejects non-minimal length encodings, so this is exact.
uint64_t header_size(uint64_t payload_length, bool masked) {
  uint64_t n = 2;
  if (payload_length >= 65536) {
    n += 8;
  } else if (payload_length >= 126) {
    n += 2;
  }
  return n + (masked ? 4 : 0);
}

// Growth beyond this is left to the string's doubling, so a header that announces a large frame
// costs nothing until its bytes arrive.
constexpr size_t kMaxReserve = 64 * 1024;

// §5.2: 2 bytes, 8 of extended length, 4 of mask key.
constexpr size_t kMaxHeader = 14;

}  // namespace

// ---- Decoder ----

struct Decoder::Impl {
  explicit Impl(DecoderOptions o)
      : options(std::move(o)),
        data_bytes(options.max_message_size),
        control_bytes(std::max<size_t>(options.max_message_size, 125)) {
    wslay_frame_callbacks callbacks{};
    callbacks.send_callback = [](const uint8_t*, size_t, int, void*) -> ssize_t { return -1; };
    callbacks.recv_callback = &Impl::on_recv;
    callbacks.genmask_callback = [](uint8_t*, size_t, void*) -> int { return -1; };
    if (wslay_frame_context_init(&ctx, &callbacks, this) != 0) ctx = nullptr;
  }
  ~Impl() {
    if (ctx) wslay_frame_context_free(ctx);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // wslay pulls bytes through here into its own 4 KiB buffer. Serving straight from the
  // caller's span avoids a second copy; WOULDBLOCK once it is drained makes wslay_frame_recv
  // return WANT_READ with its parsing state kept.
  static ssize_t on_recv(uint8_t* buf, size_t len, int, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (self->in.empty()) return WSLAY_ERR_WOULDBLOCK;
    size_t n = std::min(len, self->in.size());
    std::memcpy(buf, self->in.data(), n);
    self->in.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }

  Result<void> feed(std::string_view bytes, std::vector<Message>& out);
  Result<void> start_frame(const wslay_frame_iocb& iocb, std::vector<Message>& out);
  Result<void> payload(const wslay_frame_iocb& iocb);
  Result<void> end_frame(std::vector<Message>& out);
  void end_close(Message& m);
  Result<void> end_message(std::vector<Message>& out);
  // Observer: steps over a frame whose header wslay refused but whose length reads (a control
  // frame over 125 bytes or fragmented, a non-minimal length), reporting it as an invalid
  // frame; returns the rest of `bytes` (at stream offset `at`) to read on from, or nothing
  // when the frames cannot be found any more.
  std::optional<std::string_view> step_over(std::string_view bytes, uint64_t at,
                                            std::vector<Message>& out);
  size_t skip(std::string_view bytes, std::vector<Message>& out);
  void finish_skipped(std::vector<Message>& out);
  // The frames of this direction cannot be found any more: a last Message says so to an
  // observer, and the stream fails.
  Result<void> lost(std::vector<Message>& out, Failure failed);
  Result<void> die(Failure f) {
    failure = std::move(f);
    return *failure;
  }
  // A rule of §5 broken: the stream fails, or, for an observer, the frame is marked.
  Result<void> breach(std::string why, Errc code = Errc::ws_protocol) {
    if (!options.observe) return fail(code, std::move(why));
    if (frame_invalid.empty()) frame_invalid = std::move(why);
    return {};
  }
  // Moves what was kept of a payload into the message, with the count and hash of a cut.
  static void seal(Message& m, digest::CappedBytes& bytes) {
    m.sha256 = bytes.sha256_hex();
    m.dropped = bytes.size() - bytes.kept().size();
    m.payload = bytes.take();
  }

  DecoderOptions options;
  wslay_frame_context_ptr ctx = nullptr;
  std::string_view in;  // the part of the current feed() wslay has not pulled yet
  std::optional<Failure> failure;
  bool closed = false;
  uint64_t fed = 0;     // bytes given to feed()
  uint64_t framed = 0;  // bytes covered by the frames started so far

  // The frame being read.
  bool in_frame = false;
  bool frame_fin = false;
  Opcode frame_opcode = Opcode::continuation;
  uint64_t frame_left = 0;
  bool frame_alone = false;   // reported by itself: a control frame, or a reserved opcode
  std::string frame_invalid;  // observer: the first rule this frame breaks

  // The data message being assembled, and a control frame (which may sit between its
  // fragments, §5.4). Payloads gather in CappedBytes: a peer's decoder refuses a message over
  // the limit before it is kept, an observer's keeps its prefix.
  bool in_message = false;
  Message data;
  digest::CappedBytes data_bytes;
  bool inflate_failed = false;  // observer: the rest of this message's payload is not inflated
  Message control;
  digest::CappedBytes control_bytes;
  std::optional<Inflater> inflater;

  // Observer: the bytes after `framed` that wslay holds (the start of a header), and a frame
  // being stepped over.
  std::string unframed;
  uint64_t skip_left = 0;
  uint64_t skip_at = 0;
  bool skip_masked = false;
  bool header_pending = false;  // wslay refused a header of which `unframed` holds the start
  std::array<uint8_t, 4> skip_mask{};
};

Result<void> Decoder::Impl::feed(std::string_view bytes, std::vector<Message>& out) {
  if (failure) return *failure;
  if (!ctx) return die(fail(Errc::limit, "cannot allocate a wslay frame context"));
  if (bytes.empty()) return {};
  if (closed && !options.observe) return die(protocol_error("bytes after a close frame"));
  const std::string_view chunk = bytes;
  uint64_t at = fed;  // the stream offset of bytes[0]
  fed += bytes.size();
  if (skip_left > 0) {
    size_t n = skip(bytes, out);
    bytes.remove_prefix(n);
    at += n;
  }
  if (header_pending && !bytes.empty()) {
    auto rest = step_over(bytes, at, out);
    if (!rest) return lost(out, protocol_error("malformed frame header (length encoding)"));
    at += bytes.size() - rest->size();
    bytes = *rest;
  }
  in = bytes;
  while (!bytes.empty()) {
    wslay_frame_iocb iocb{};
    ssize_t r = wslay_frame_recv(ctx, &iocb);
    if (r == WSLAY_ERR_WANT_READ) {
      // wslay asks for more only once every byte offered to it is in its buffer; anything else
      // would silently drop bytes, so it is reported rather than assumed.
      if (!in.empty()) return die(protocol_error("frame layer stalled with input left"));
      break;
    }
    if (r < 0) {
      if (options.observe && r == WSLAY_ERR_PROTO && !in_frame) {
        if (auto rest = step_over(bytes, at, out)) {
          at += bytes.size() - rest->size();
          bytes = *rest;
          in = bytes;
          continue;
        }
      }
      return lost(out,
                  protocol_error(r == WSLAY_ERR_PROTO
                                     ? "malformed frame header (length encoding or control frame)"
                                     : "frame layer error " + std::to_string(r)));
    }
    if (!in_frame) {
      if (auto s = start_frame(iocb, out); !s) return die(s.error());
    }
    if (auto s = payload(iocb); !s) return die(s.error());
    if (frame_left == 0) {
      if (auto s = end_frame(out); !s) return die(s.error());
    }
  }
  in = {};
  if (closed && fed > framed && !options.observe) {
    return die(protocol_error("bytes after a close frame"));
  }
  if (options.observe) {
    // The start of a frame header wslay holds but has not parsed: step_over() may need it.
    if (framed >= fed) {
      unframed.clear();
    } else {
      size_t n = static_cast<size_t>(std::min<uint64_t>(fed - framed, kMaxHeader));
      if (n <= chunk.size()) {
        unframed.assign(chunk.substr(chunk.size() - n));
      } else {
        unframed = unframed.substr(unframed.size() - std::min(unframed.size(), n - chunk.size())) +
                   std::string(chunk);
      }
    }
  }
  return {};
}

Result<void> Decoder::Impl::lost(std::vector<Message>& out, Failure failed) {
  if (options.observe) {
    // The frames cannot be found any more: said once, as a last message.
    Message mark;
    mark.opcode = Opcode::continuation;
    mark.invalid = failed.why + "; nothing after it in this direction is decoded";
    out.push_back(std::move(mark));
  }
  return die(std::move(failed));
}

std::optional<std::string_view> Decoder::Impl::step_over(std::string_view bytes, uint64_t at,
                                                         std::vector<Message>& out) {
  // The header starts at stream offset `framed`: in `bytes`, or in what was kept of the feeds
  // before (a header split across reads).
  std::string head;
  if (framed >= at) {
    if (framed - at > bytes.size()) return std::nullopt;
    head.assign(bytes.substr(static_cast<size_t>(framed - at), kMaxHeader));
  } else {
    size_t before = static_cast<size_t>(at - framed);
    if (before > unframed.size()) return std::nullopt;
    head = unframed.substr(unframed.size() - before) + std::string(bytes.substr(0, kMaxHeader));
  }
  // wslay may refuse a header before all of it is here (a control frame's 7-bit length says
  // enough): then the rest is awaited.
  const auto wait = [&] {
    header_pending = true;
    return bytes.substr(bytes.size());
  };
  if (head.size() < 2) return wait();
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(head[i]); };
  const bool fin = (byte(0) & 0x80) != 0;
  const uint8_t opcode = byte(0) & 0x0f;
  const bool masked = (byte(1) & 0x80) != 0;
  uint64_t length = byte(1) & 0x7f;
  size_t header = 2;
  if (length >= 126) {
    const size_t extra = length == 126 ? 2 : 8;
    if (head.size() < 2 + extra) return wait();
    length = 0;
    for (size_t i = 0; i < extra; ++i)
      length = (length << 8) | byte(2 + i);
    header += extra;
    if (length >> 63) return std::nullopt;  // §5.2: the most significant bit must be 0
  }
  if (masked) {
    if (head.size() < header + 4) return wait();
    for (size_t i = 0; i < 4; ++i)
      skip_mask[i] = byte(header + i);
    header += 4;
  }
  header_pending = false;
  const uint64_t start = framed;
  framed += header + length;
  // wslay keeps no state worth keeping once it refused a header: a new frame context reads on.
  wslay_frame_context_free(ctx);
  ctx = nullptr;
  wslay_frame_callbacks callbacks{};
  callbacks.send_callback = [](const uint8_t*, size_t, int, void*) -> ssize_t { return -1; };
  callbacks.recv_callback = &Impl::on_recv;
  callbacks.genmask_callback = [](uint8_t*, size_t, void*) -> int { return -1; };
  if (wslay_frame_context_init(&ctx, &callbacks, this) != 0) ctx = nullptr;
  if (!ctx) return std::nullopt;

  control = Message{};
  control.opcode = static_cast<Opcode>(opcode);
  control.frames = 1;
  control.wire_size = header + length;
  control.invalid = is_control(control.opcode) && !fin           ? "fragmented control frame"
                    : is_control(control.opcode) && length > 125 ? "control frame over 125 bytes"
                                                                 : "non-minimal length encoding";
  if (closed && control.invalid.empty()) control.invalid = "frame after a close frame";
  control_bytes.clear();
  frame_opcode = control.opcode;
  frame_alone = true;
  skip_masked = masked;
  skip_at = 0;
  skip_left = length;
  // The payload's first bytes: after the header, in `bytes` (the header always ends there).
  const uint64_t payload_at = start + header;
  if (payload_at < at) return std::nullopt;
  std::string_view rest = bytes.substr(std::min<uint64_t>(payload_at - at, bytes.size()));
  if (skip_left == 0) {
    finish_skipped(out);
    return rest;
  }
  rest.remove_prefix(skip(rest, out));
  return rest;
}

size_t Decoder::Impl::skip(std::string_view bytes, std::vector<Message>& out) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(skip_left, bytes.size()));
  std::string piece(bytes.substr(0, n));
  if (skip_masked) {
    for (size_t i = 0; i < n; ++i)
      piece[i] = static_cast<char>(piece[i] ^ skip_mask[(skip_at + i) % 4]);
  }
  control_bytes.append(piece);
  skip_at += n;
  skip_left -= n;
  if (skip_left == 0) finish_skipped(out);
  return n;
}

void Decoder::Impl::finish_skipped(std::vector<Message>& out) {
  seal(control, control_bytes);
  if (control.opcode == Opcode::close) end_close(control);
  out.push_back(std::move(control));
  control = Message{};
  frame_alone = false;
}

Result<void> Decoder::Impl::start_frame(const wslay_frame_iocb& iocb, std::vector<Message>& out) {
  frame_invalid.clear();
  if (closed) {
    if (auto s = breach("frame after a close frame"); !s) return s;
  }
  // §5.2: RSV1-3 must be 0 unless an extension defines them; permessage-deflate defines RSV1
  // only (RFC 7692 §6).
  if (iocb.rsv & (WSLAY_RSV2_BIT | WSLAY_RSV3_BIT)) {
    if (auto s = breach("RSV2 or RSV3 set"); !s) return s;
  }
  const bool known = is_known_opcode(iocb.opcode);
  if (!known) {
    if (auto s = breach("reserved opcode " + std::to_string(iocb.opcode)); !s) return s;
  }
  const auto op = static_cast<Opcode>(iocb.opcode);
  bool rsv1 = (iocb.rsv & WSLAY_RSV1_BIT) != 0;
  // §5.1: a client masks every frame, a server none.
  if (options.require_masking) {
    const bool want_mask = options.sender == Role::client;
    if ((iocb.mask != 0) != want_mask) {
      auto s = breach(want_mask ? "unmasked frame from a client" : "masked frame from a server");
      if (!s) return s;
    }
  }
  const uint64_t wire = header_size(iocb.payload_length, iocb.mask != 0) + iocb.payload_length;
  framed += wire;
  in_frame = true;
  frame_fin = iocb.fin != 0;
  frame_opcode = op;
  frame_left = iocb.payload_length;
  frame_alone = is_control(op) || !known;

  if (frame_alone) {
    if (is_control(op)) {
      // §5.5: control frames are final and carry at most 125 bytes (wslay checks both too).
      if (!frame_fin) {
        if (auto s = breach("fragmented control frame"); !s) return s;
      }
      if (iocb.payload_length > 125) {
        if (auto s = breach("control frame over 125 bytes"); !s) return s;
      }
    }
    // RFC 7692 §6.1: RSV1 marks compressed data messages only.
    if (rsv1) {
      if (auto s = breach("RSV1 set on a control frame"); !s) return s;
    }
    control = Message{};
    control.opcode = op;
    control.frames = 1;
    control.wire_size = wire;
    control_bytes.clear();
    return {};
  }
  if (op == Opcode::continuation) {
    if (!in_message) {
      if (auto s = breach("continuation frame without a message to continue"); !s) return s;
      // An observer keeps it as a message of its own.
      in_message = true;
      data = Message{};
      data.opcode = Opcode::continuation;
      data_bytes.clear();
      inflate_failed = false;
    }
    // RFC 7692 §6.1: RSV1 is set on the first frame of a message only.
    if (rsv1) {
      if (auto s = breach("RSV1 set on a continuation frame"); !s) return s;
    }
  } else {
    if (in_message) {
      if (!options.observe) {
        return protocol_error("new data frame inside a fragmented message (§5.4)");
      }
      // An observer reports the unfinished message as it stands; the new one is not at fault.
      if (data.invalid.empty())
        data.invalid = "cut short by a new message before its last fragment";
      if (auto s = end_message(out); !s) return s;
    }
    if (rsv1 && !options.deflate) {
      if (auto s = breach("RSV1 set without permessage-deflate"); !s) return s;
      rsv1 = false;  // an observer keeps the payload as it came
    }
    in_message = true;
    data = Message{};
    data.opcode = op;
    data.compressed = rsv1;
    data_bytes.clear();
    inflate_failed = false;
    if (rsv1 && !inflater) {
      // Created with the first compressed message: a connection that never compresses never
      // pays for a zlib stream.
      const DeflateParams& p = *options.deflate;
      const bool no_takeover = options.sender == Role::client ? p.client_no_context_takeover
                                                              : p.server_no_context_takeover;
      inflater.emplace(15, no_takeover);
    }
  }
  if (data.invalid.empty()) data.invalid = frame_invalid;
  ++data.frames;
  data.wire_size += wire;
  if (!data.compressed) {
    // Refuse before buffering: the announced length alone tells.
    if (!options.observe &&
        iocb.payload_length > options.max_message_size - data_bytes.kept().size()) {
      return fail(Errc::ws_message_too_large,
                  "message over " + std::to_string(options.max_message_size) + " bytes");
    }
    if (frame_fin && data.frames == 1)
      data_bytes.reserve(std::min<uint64_t>(iocb.payload_length, kMaxReserve));
  }
  return {};
}

Result<void> Decoder::Impl::payload(const wslay_frame_iocb& iocb) {
  frame_left -= iocb.data_length;
  if (iocb.data_length == 0) return {};
  std::string_view chunk(reinterpret_cast<const char*>(iocb.data), iocb.data_length);
  if (frame_alone) {
    control_bytes.append(chunk);
    return {};
  }
  if (!data.compressed) {
    data_bytes.append(chunk);
    return {};
  }
  if (inflate_failed) return {};
  auto inflated = inflater->feed(chunk, [this](std::string_view piece) -> Result<void> {
    if (!options.observe && piece.size() > options.max_message_size - data_bytes.kept().size()) {
      return fail(Errc::ws_message_too_large,
                  "inflated message over " + std::to_string(options.max_message_size) + " bytes");
    }
    data_bytes.append(piece);
    return {};
  });
  if (inflated || !options.observe) return inflated;
  inflate_failed = true;
  if (data.invalid.empty()) data.invalid = "does not inflate: " + inflated.error().why;
  return {};
}

void Decoder::Impl::end_close(Message& m) {
  // §5.5.1: an empty body means no status (reported as 1005, §7.1.5); otherwise a 2-byte code
  // and a UTF-8 reason. Only an observer gets here with a broken one: it is marked and kept as
  // it came (a 1-byte body stays the payload, with "no status").
  closed = true;
  if (m.payload.empty()) {
    m.close_code = close_code::no_status;
    return;
  }
  if (m.payload.size() == 1) {
    m.close_code = close_code::no_status;
    if (m.invalid.empty()) m.invalid = "close frame with a 1-byte body";
    return;
  }
  m.close_code = static_cast<uint16_t>((static_cast<uint8_t>(m.payload[0]) << 8) |
                                       static_cast<uint8_t>(m.payload[1]));
  m.payload.erase(0, 2);
  if (!is_valid_close_code(m.close_code) && m.invalid.empty()) {
    m.invalid = "invalid close code " + std::to_string(m.close_code);
  }
  if (!text::is_valid_utf8(m.payload) && m.invalid.empty() && m.dropped == 0) {
    m.invalid = "close reason is not UTF-8";
  }
}

Result<void> Decoder::Impl::end_frame(std::vector<Message>& out) {
  in_frame = false;
  if (frame_alone) {
    if (control.invalid.empty()) control.invalid = frame_invalid;
    seal(control, control_bytes);
    if (frame_opcode == Opcode::close) {
      end_close(control);
      // A peer fails the connection over a broken Close (§7.1.7).
      if (!options.observe && !control.invalid.empty()) {
        return fail(control.invalid.find("UTF-8") != std::string::npos ? Errc::bad_encoding
                                                                       : Errc::ws_protocol,
                    control.invalid);
      }
    }
    out.push_back(std::move(control));
    control = Message{};
    return {};
  }
  if (data.invalid.empty()) data.invalid = frame_invalid;
  if (!frame_fin) return {};
  return end_message(out);
}

Result<void> Decoder::Impl::end_message(std::vector<Message>& out) {
  if (data.compressed) {
    if (!inflate_failed) {
      auto finished = inflater->finish([this](std::string_view piece) -> Result<void> {
        if (!options.observe &&
            piece.size() > options.max_message_size - data_bytes.kept().size()) {
          return fail(
              Errc::ws_message_too_large,
              "inflated message over " + std::to_string(options.max_message_size) + " bytes");
        }
        data_bytes.append(piece);
        return {};
      });
      if (!finished) {
        if (!options.observe) return finished;
        inflate_failed = true;
        if (data.invalid.empty()) data.invalid = "does not inflate: " + finished.error().why;
      }
    }
    // An observer starts the next message on a fresh stream: with context takeover it may not
    // read either, and then says so.
    if (inflate_failed) inflater.reset();
  }
  seal(data, data_bytes);
  // §5.6, §8.1: a text message is UTF-8 as a whole (a fragment may end inside a character). A
  // cut one is not judged by its prefix.
  if (data.opcode == Opcode::text && data.dropped == 0 && !inflate_failed &&
      !text::is_valid_utf8(data.payload)) {
    if (!options.observe) return fail(Errc::bad_encoding, "text message is not valid UTF-8");
    if (data.invalid.empty()) data.invalid = "text message is not valid UTF-8";
  }
  in_message = false;
  inflate_failed = false;
  out.push_back(std::move(data));
  data = Message{};
  return {};
}

Decoder::Decoder(DecoderOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;
Decoder::~Decoder() = default;

Result<void> Decoder::feed(std::string_view bytes, std::vector<Message>& out) {
  return impl_->feed(bytes, out);
}
bool Decoder::closed() const {
  return impl_->closed;
}
bool Decoder::failed() const {
  return impl_->failure.has_value();
}
bool Decoder::mid_message() const {
  return impl_->in_message || impl_->in_frame || impl_->fed > impl_->framed;
}

// ---- FrameWriter ----

struct FrameWriter::Impl {
  explicit Impl(MaskSource m) : mask(std::move(m)) {
    wslay_frame_callbacks callbacks{};
    callbacks.send_callback = &Impl::on_send;
    callbacks.recv_callback = [](uint8_t*, size_t, int, void*) -> ssize_t { return -1; };
    callbacks.genmask_callback = &Impl::on_genmask;
    if (wslay_frame_context_init(&ctx, &callbacks, this) != 0) ctx = nullptr;
  }
  ~Impl() {
    if (ctx) wslay_frame_context_free(ctx);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  static ssize_t on_send(const uint8_t* data, size_t len, int, void* user) {
    auto* self = static_cast<Impl*>(user);
    self->out->append(reinterpret_cast<const char*>(data), len);
    return static_cast<ssize_t>(len);
  }
  static int on_genmask(uint8_t* buf, size_t len, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (!self->mask || len != 4) return -1;
    const std::array<uint8_t, 4> key = self->mask();
    std::memcpy(buf, key.data(), 4);
    return 0;
  }

  MaskSource mask;
  wslay_frame_context_ptr ctx = nullptr;
  std::string* out = nullptr;
};

FrameWriter::FrameWriter(MaskSource mask) : impl_(std::make_unique<Impl>(std::move(mask))) {}
FrameWriter::FrameWriter(FrameWriter&&) noexcept = default;
FrameWriter& FrameWriter::operator=(FrameWriter&&) noexcept = default;
FrameWriter::~FrameWriter() = default;

Result<void> FrameWriter::write(const Frame& frame, std::string& out) {
  if (!impl_->ctx) return fail(Errc::limit, "cannot allocate a wslay frame context");
  if ((frame.opcode & 0x8) && frame.payload.size() > 125) {
    return protocol_error("control frame payload over 125 bytes");
  }
  wslay_frame_iocb iocb{};
  iocb.fin = frame.fin ? 1 : 0;
  iocb.rsv = frame.rsv & 0x7;
  iocb.opcode = frame.opcode & 0xf;
  iocb.mask = impl_->mask ? 1 : 0;
  iocb.payload_length = frame.payload.size();
  iocb.data = reinterpret_cast<const uint8_t*>(frame.payload.data());
  iocb.data_length = frame.payload.size();
  impl_->out = &out;
  // Our send callback takes everything, so one call writes the whole frame.
  ssize_t r = wslay_frame_send(impl_->ctx, &iocb);
  impl_->out = nullptr;
  if (r < 0 || static_cast<size_t>(r) != frame.payload.size()) {
    return protocol_error("wslay_frame_send failed: " + std::to_string(r));
  }
  return {};
}

// ---- Endpoint ----

struct Endpoint::Impl {
  explicit Impl(EndpointOptions o)
      : options(std::move(o)),
        decoder(
            DecoderOptions{peer_of(options.role), options.max_message_size, options.deflate, true}),
        writer(options.role == Role::client ? options.mask : MaskSource{}) {
    assert(options.role == Role::server || options.mask);
    if (options.deflate) {
      const DeflateParams& p = *options.deflate;
      const bool client = options.role == Role::client;
      deflater.emplace(client ? p.client_max_window_bits : p.server_max_window_bits,
                       client ? p.client_no_context_takeover : p.server_no_context_takeover,
                       options.deflate_level);
    }
  }

  Result<void> write_control(Opcode op, std::string_view payload) {
    return writer.write(Frame{true, 0, static_cast<uint8_t>(op), payload}, output);
  }
  Result<void> write_close(uint16_t code, std::string_view reason) {
    std::string body;
    if (code != close_code::no_status) {
      body.push_back(static_cast<char>(code >> 8));
      body.push_back(static_cast<char>(code & 0xff));
      body.append(reason);
    }
    close_sent = true;
    return write_control(Opcode::close, body);
  }
  Result<void> usable() const {
    if (failure) return *failure;
    if (close_sent) return protocol_error("a close frame was already sent");
    return {};
  }

  EndpointOptions options;
  Decoder decoder;
  FrameWriter writer;
  std::optional<Deflater> deflater;
  std::string output;
  std::string scratch;  // the compressed payload of the message being sent
  std::optional<Failure> failure;
  bool close_sent = false;
  std::optional<uint16_t> peer_close;
};

Endpoint::Endpoint(EndpointOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Endpoint::Endpoint(Endpoint&&) noexcept = default;
Endpoint& Endpoint::operator=(Endpoint&&) noexcept = default;
Endpoint::~Endpoint() = default;

Result<void> Endpoint::feed(std::string_view bytes, std::vector<Message>& out) {
  Impl& s = *impl_;
  if (s.failure) return *s.failure;
  const size_t first = out.size();
  auto r = s.decoder.feed(bytes, out);
  // Messages decoded before a failure are answered like any others.
  for (size_t i = first; i < out.size(); ++i) {
    const Message& m = out[i];
    if (m.opcode == Opcode::ping && s.options.auto_pong && !s.close_sent) {
      // §5.5.2: the pong carries the ping's application data.
      (void)s.write_control(Opcode::pong, m.payload);
    } else if (m.opcode == Opcode::close) {
      s.peer_close = m.close_code;
      // §5.5.1: answer a Close with a Close, typically echoing the status code.
      if (!s.close_sent) (void)s.write_close(m.close_code, {});
    }
  }
  if (!r) {
    s.failure = r.error();
    // §7.1.7: fail the connection, telling the peer why when we still may.
    if (!s.close_sent) (void)s.write_close(close_code_for(r.error()), {});
    return r;
  }
  return {};
}

Result<void> Endpoint::send(Opcode opcode, std::string_view payload, const SendOptions& options) {
  Impl& s = *impl_;
  if (auto u = s.usable(); !u) return u;
  if (opcode != Opcode::text && opcode != Opcode::binary) {
    return protocol_error("send() takes text or binary; use ping, pong or close");
  }
  if (opcode == Opcode::text && !text::is_valid_utf8(payload)) {
    return fail(Errc::bad_encoding, "text message is not valid UTF-8");
  }
  std::string_view body = payload;
  const bool compress = options.compress && s.deflater && s.deflater->can_compress();
  if (compress) {
    s.scratch.clear();
    if (auto c = s.deflater->compress(payload, s.scratch); !c) return c;
    body = s.scratch;
  }
  // §5.4: the first frame carries the opcode (and RSV1, RFC 7692 §6.1), the rest continue it.
  const size_t step =
      options.fragment_size ? options.fragment_size : std::max<size_t>(body.size(), 1);
  size_t offset = 0;
  do {
    const size_t n = std::min(step, body.size() - offset);
    Frame f;
    f.fin = offset + n == body.size();
    f.rsv = offset == 0 && compress ? kRsv1 : 0;
    f.opcode = static_cast<uint8_t>(offset == 0 ? opcode : Opcode::continuation);
    f.payload = body.substr(offset, n);
    if (auto w = s.writer.write(f, s.output); !w) return w;
    offset += n;
  } while (offset < body.size());
  return {};
}

Result<void> Endpoint::ping(std::string_view payload) {
  Impl& s = *impl_;
  if (auto u = s.usable(); !u) return u;
  return s.write_control(Opcode::ping, payload);
}

Result<void> Endpoint::pong(std::string_view payload) {
  Impl& s = *impl_;
  if (auto u = s.usable(); !u) return u;
  return s.write_control(Opcode::pong, payload);
}

Result<void> Endpoint::close(uint16_t code, std::string_view reason) {
  Impl& s = *impl_;
  if (auto u = s.usable(); !u) return u;
  if (code == close_code::no_status) {
    if (!reason.empty()) return protocol_error("a close without a status cannot carry a reason");
  } else if (!is_valid_close_code(code)) {
    return protocol_error("close code " + std::to_string(code) + " may not be sent (§7.4)");
  }
  // §5.5: 125 bytes of body, 2 of which are the code.
  if (reason.size() > 123) return protocol_error("close reason over 123 bytes");
  if (!text::is_valid_utf8(reason)) return fail(Errc::bad_encoding, "close reason is not UTF-8");
  return s.write_close(code, reason);
}

std::string Endpoint::take_output() {
  std::string out;
  out.swap(impl_->output);
  return out;
}

bool Endpoint::has_output() const {
  return !impl_->output.empty();
}

Endpoint::State Endpoint::state() const {
  const Impl& s = *impl_;
  if (s.failure) return State::failed;
  if (s.close_sent && s.peer_close) return State::closed;
  if (s.close_sent) return State::closing;
  return State::open;
}

std::optional<uint16_t> Endpoint::peer_close_code() const {
  return impl_->peer_close;
}

}  // namespace wa::ws
