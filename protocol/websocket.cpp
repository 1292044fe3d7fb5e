#include "protocol/websocket.h"

#include <wslay/wslay.h>

#include <algorithm>
#include <cassert>
#include <cstring>

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

}  // namespace

// ---- Decoder ----

struct Decoder::Impl {
  explicit Impl(DecoderOptions o) : options(std::move(o)) {
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
  Result<void> start_frame(const wslay_frame_iocb& iocb);
  Result<void> payload(const wslay_frame_iocb& iocb);
  Result<void> end_frame(std::vector<Message>& out);
  Result<void> end_close(Message& m);
  Result<void> die(Failure f) {
    failure = std::move(f);
    return *failure;
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

  // The data message being assembled, and a control frame (which may sit between its
  // fragments, §5.4).
  bool in_message = false;
  Message data;
  Message control;
  std::optional<Inflater> inflater;
};

Result<void> Decoder::Impl::feed(std::string_view bytes, std::vector<Message>& out) {
  if (failure) return *failure;
  if (!ctx) return die(fail(Errc::limit, "cannot allocate a wslay frame context"));
  if (bytes.empty()) return {};
  if (closed) return die(protocol_error("bytes after a close frame"));
  fed += bytes.size();
  in = bytes;
  while (true) {
    wslay_frame_iocb iocb{};
    ssize_t r = wslay_frame_recv(ctx, &iocb);
    if (r == WSLAY_ERR_WANT_READ) {
      // wslay asks for more only once every byte offered to it is in its buffer; anything else
      // would silently drop bytes, so it is reported rather than assumed.
      if (!in.empty()) return die(protocol_error("frame layer stalled with input left"));
      break;
    }
    if (r < 0) {
      return die(protocol_error(r == WSLAY_ERR_PROTO
                                    ? "malformed frame header (length encoding or control frame)"
                                    : "frame layer error " + std::to_string(r)));
    }
    if (!in_frame) {
      if (auto s = start_frame(iocb); !s) return die(s.error());
    }
    if (auto s = payload(iocb); !s) return die(s.error());
    if (frame_left == 0) {
      if (auto s = end_frame(out); !s) return die(s.error());
    }
  }
  in = {};
  if (closed && fed > framed) return die(protocol_error("bytes after a close frame"));
  return {};
}

Result<void> Decoder::Impl::start_frame(const wslay_frame_iocb& iocb) {
  if (closed) return protocol_error("frame after a close frame");
  // §5.2: RSV1-3 must be 0 unless an extension defines them; permessage-deflate defines RSV1
  // only (RFC 7692 §6).
  if (iocb.rsv & (WSLAY_RSV2_BIT | WSLAY_RSV3_BIT)) return protocol_error("RSV2 or RSV3 set");
  if (!is_known_opcode(iocb.opcode)) {
    return protocol_error("reserved opcode " + std::to_string(iocb.opcode));
  }
  const auto op = static_cast<Opcode>(iocb.opcode);
  const bool rsv1 = (iocb.rsv & WSLAY_RSV1_BIT) != 0;
  // §5.1: a client masks every frame, a server none.
  if (options.require_masking) {
    const bool want_mask = options.sender == Role::client;
    if ((iocb.mask != 0) != want_mask) {
      return protocol_error(want_mask ? "unmasked frame from a client"
                                      : "masked frame from a server");
    }
  }
  const uint64_t wire = header_size(iocb.payload_length, iocb.mask != 0) + iocb.payload_length;
  framed += wire;
  in_frame = true;
  frame_fin = iocb.fin != 0;
  frame_opcode = op;
  frame_left = iocb.payload_length;

  if (is_control(op)) {
    // §5.5: control frames are final and carry at most 125 bytes (wslay checks both too).
    if (!frame_fin) return protocol_error("fragmented control frame");
    if (iocb.payload_length > 125) return protocol_error("control frame over 125 bytes");
    // RFC 7692 §6.1: RSV1 marks compressed data messages only.
    if (rsv1) return protocol_error("RSV1 set on a control frame");
    control = Message{};
    control.opcode = op;
    control.frames = 1;
    control.wire_size = wire;
    return {};
  }
  if (op == Opcode::continuation) {
    if (!in_message) return protocol_error("continuation frame without a message to continue");
    // RFC 7692 §6.1: RSV1 is set on the first frame of a message only.
    if (rsv1) return protocol_error("RSV1 set on a continuation frame");
  } else {
    if (in_message) return protocol_error("new data frame inside a fragmented message (§5.4)");
    if (rsv1 && !options.deflate) return protocol_error("RSV1 set without permessage-deflate");
    in_message = true;
    data = Message{};
    data.opcode = op;
    data.compressed = rsv1;
    if (rsv1 && !inflater) {
      // Created with the first compressed message: a connection that never compresses never
      // pays for a zlib stream.
      const DeflateParams& p = *options.deflate;
      const bool no_takeover = options.sender == Role::client ? p.client_no_context_takeover
                                                              : p.server_no_context_takeover;
      inflater.emplace(15, no_takeover);
    }
  }
  ++data.frames;
  data.wire_size += wire;
  if (!data.compressed) {
    // Refuse before buffering: the announced length alone tells.
    if (iocb.payload_length > options.max_message_size - data.payload.size()) {
      return fail(Errc::ws_message_too_large,
                  "message over " + std::to_string(options.max_message_size) + " bytes");
    }
    if (frame_fin && data.frames == 1) {
      data.payload.reserve(std::min<uint64_t>(iocb.payload_length, kMaxReserve));
    }
  }
  return {};
}

Result<void> Decoder::Impl::payload(const wslay_frame_iocb& iocb) {
  frame_left -= iocb.data_length;
  if (iocb.data_length == 0) return {};
  std::string_view chunk(reinterpret_cast<const char*>(iocb.data), iocb.data_length);
  if (is_control(frame_opcode)) {
    control.payload.append(chunk);
    return {};
  }
  if (!data.compressed) {
    data.payload.append(chunk);
    return {};
  }
  return inflater->feed(chunk, data.payload, options.max_message_size);
}

Result<void> Decoder::Impl::end_close(Message& m) {
  // §5.5.1: an empty body means no status (reported as 1005, §7.1.5); otherwise a 2-byte code
  // and a UTF-8 reason.
  closed = true;
  if (m.payload.empty()) {
    m.close_code = close_code::no_status;
    return {};
  }
  if (m.payload.size() == 1) return protocol_error("close frame with a 1-byte body");
  m.close_code = static_cast<uint16_t>((static_cast<uint8_t>(m.payload[0]) << 8) |
                                       static_cast<uint8_t>(m.payload[1]));
  if (!is_valid_close_code(m.close_code)) {
    return protocol_error("invalid close code " + std::to_string(m.close_code));
  }
  m.payload.erase(0, 2);
  if (!text::is_valid_utf8(m.payload)) return fail(Errc::bad_encoding, "close reason is not UTF-8");
  return {};
}

Result<void> Decoder::Impl::end_frame(std::vector<Message>& out) {
  in_frame = false;
  if (is_control(frame_opcode)) {
    if (frame_opcode == Opcode::close) {
      if (auto s = end_close(control); !s) return s;
    }
    out.push_back(std::move(control));
    control = Message{};
    return {};
  }
  if (!frame_fin) return {};
  if (data.compressed) {
    if (auto s = inflater->finish(data.payload, options.max_message_size); !s) return s;
  }
  // §5.6, §8.1: a text message is UTF-8 as a whole (a fragment may end inside a character).
  if (data.opcode == Opcode::text && !text::is_valid_utf8(data.payload)) {
    return fail(Errc::bad_encoding, "text message is not valid UTF-8");
  }
  in_message = false;
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
