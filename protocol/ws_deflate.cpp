#include "protocol/ws_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>

#include "protocol/text.h"

namespace wa::ws {

namespace {

// RFC 9110 §5.6.2 tchar.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

class ExtensionScanner {
 public:
  explicit ExtensionScanner(std::string_view s) : s_(s) {}

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void advance() { ++pos_; }
  void skip_ows() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t'))
      ++pos_;
  }
  std::string_view token() {
    size_t start = pos_;
    while (!at_end() && is_tchar(s_[pos_]))
      ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // RFC 9110 §5.6.4 quoted-string, positioned on the opening quote; nullopt if unterminated.
  std::optional<std::string> quoted() {
    std::string out;
    ++pos_;
    while (!at_end()) {
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) return std::nullopt;
        c = s_[pos_++];
      }
      out.push_back(c);
    }
    return std::nullopt;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

Failure bad_header(std::string why) {
  return fail(Errc::ws_handshake, std::move(why));
}

// RFC 7692 §7.1.2.1: "a decimal integer value without leading zeros between 8 and 15".
std::optional<int> parse_window_bits(std::string_view v) {
  if (v.empty() || v.size() > 2 || v[0] == '0') return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) return std::nullopt;
  return n;
}

enum class Param { server_nct, client_nct, server_bits, client_bits, unknown };

Param classify(std::string_view name) {
  if (text::iequals(name, "server_no_context_takeover")) return Param::server_nct;
  if (text::iequals(name, "client_no_context_takeover")) return Param::client_nct;
  if (text::iequals(name, "server_max_window_bits")) return Param::server_bits;
  if (text::iequals(name, "client_max_window_bits")) return Param::client_bits;
  return Param::unknown;
}

// The parameters of one permessage-deflate element, each seen at most once (§7.1: "MUST NOT
// include more than one").
struct SeenParams {
  bool server_nct = false, client_nct = false;
  bool server_bits = false, client_bits = false;
  std::optional<int> server_bits_value, client_bits_value;
};

Result<SeenParams> read_params(const Extension& e) {
  if (!text::iequals(e.name, kPermessageDeflate)) {
    return bad_header("not a permessage-deflate element: " + e.name);
  }
  SeenParams seen;
  for (const auto& p : e.params) {
    Param kind = classify(p.name);
    bool* flag = nullptr;
    switch (kind) {
      case Param::server_nct:
        flag = &seen.server_nct;
        break;
      case Param::client_nct:
        flag = &seen.client_nct;
        break;
      case Param::server_bits:
        flag = &seen.server_bits;
        break;
      case Param::client_bits:
        flag = &seen.client_bits;
        break;
      case Param::unknown:
        return bad_header("unknown permessage-deflate parameter " + p.name);
    }
    if (*flag) return bad_header("repeated permessage-deflate parameter " + p.name);
    *flag = true;
    if (kind == Param::server_nct || kind == Param::client_nct) {
      if (p.value) return bad_header(p.name + " takes no value");
      continue;
    }
    if (!p.value) {
      // Only client_max_window_bits may appear bare, and only in an offer (checked by callers).
      if (kind == Param::server_bits) return bad_header("server_max_window_bits needs a value");
      continue;
    }
    auto bits = parse_window_bits(*p.value);
    if (!bits) return bad_header("bad " + p.name + " value '" + *p.value + "'");
    (kind == Param::server_bits ? seen.server_bits_value : seen.client_bits_value) = bits;
  }
  return seen;
}

}  // namespace

Result<std::vector<Extension>> parse_extensions(std::string_view header_value) {
  std::vector<Extension> out;
  ExtensionScanner scan(header_value);
  while (true) {
    scan.skip_ows();
    if (scan.at_end()) break;
    if (scan.peek() == ',') {
      scan.advance();
      continue;
    }
    Extension ext;
    ext.name = std::string(scan.token());
    if (ext.name.empty()) return bad_header("extension name expected");
    scan.skip_ows();
    while (scan.peek() == ';') {
      scan.advance();
      scan.skip_ows();
      ExtensionParam param;
      param.name = std::string(scan.token());
      if (param.name.empty()) return bad_header("extension parameter name expected");
      scan.skip_ows();
      if (scan.peek() == '=') {
        scan.advance();
        scan.skip_ows();
        if (scan.peek() == '"') {
          auto v = scan.quoted();
          // RFC 6455 §9.1: the unescaped quoted value must still be a token.
          if (!v || !is_token(*v)) return bad_header("bad quoted extension parameter value");
          param.value = std::move(*v);
        } else {
          std::string_view v = scan.token();
          if (v.empty()) return bad_header("extension parameter value expected");
          param.value = std::string(v);
        }
        scan.skip_ows();
      }
      ext.params.push_back(std::move(param));
    }
    if (!scan.at_end() && scan.peek() != ',')
      return bad_header("unexpected character in extensions");
    out.push_back(std::move(ext));
  }
  return out;
}

std::string format_extension(const Extension& extension) {
  std::string out = extension.name;
  for (const auto& p : extension.params) {
    out += "; ";
    out += p.name;
    if (p.value) {
      out += '=';
      if (is_token(*p.value)) {
        out += *p.value;
      } else {
        out += '"';
        for (char c : *p.value) {
          if (c == '"' || c == '\\') out += '\\';
          out += c;
        }
        out += '"';
      }
    }
  }
  return out;
}

Result<DeflateOffer> parse_deflate_offer(const Extension& offer) {
  auto seen = read_params(offer);
  if (!seen) return seen.error();
  DeflateOffer o;
  o.server_no_context_takeover = seen->server_nct;
  o.client_no_context_takeover = seen->client_nct;
  o.server_max_window_bits = seen->server_bits_value;
  o.client_max_window_bits = seen->client_bits;
  o.client_max_window_bits_value = seen->client_bits_value;
  return o;
}

Extension deflate_offer_extension(const DeflateOffer& offer) {
  Extension e{std::string(kPermessageDeflate), {}};
  if (offer.server_no_context_takeover) e.params.push_back({"server_no_context_takeover", {}});
  if (offer.client_no_context_takeover) e.params.push_back({"client_no_context_takeover", {}});
  if (offer.server_max_window_bits) {
    e.params.push_back({"server_max_window_bits", std::to_string(*offer.server_max_window_bits)});
  }
  if (offer.client_max_window_bits || offer.client_max_window_bits_value) {
    std::optional<std::string> v;
    if (offer.client_max_window_bits_value) v = std::to_string(*offer.client_max_window_bits_value);
    e.params.push_back({"client_max_window_bits", v});
  }
  return e;
}

std::optional<DeflateAgreement> negotiate_deflate(std::string_view offer_header_value,
                                                  const DeflatePolicy& policy) {
  auto extensions = parse_extensions(offer_header_value);
  if (!extensions) return std::nullopt;
  for (const auto& ext : *extensions) {
    if (!text::iequals(ext.name, kPermessageDeflate)) continue;
    auto offer = parse_deflate_offer(ext);
    if (!offer) continue;  // §7.1: decline an invalid offer, try the next one
    DeflateAgreement a;
    DeflateParams& p = a.params;
    a.response.name = std::string(kPermessageDeflate);
    // §7.1.1.1: asked for, it must be granted; not asked for, a server may still announce it.
    p.server_no_context_takeover =
        offer->server_no_context_takeover || policy.server_no_context_takeover;
    if (p.server_no_context_takeover)
      a.response.params.push_back({"server_no_context_takeover", {}});
    // §7.1.1.2: a server may always require it; echoing the client's own hint costs nothing.
    p.client_no_context_takeover =
        offer->client_no_context_takeover || policy.client_no_context_takeover;
    if (p.client_no_context_takeover)
      a.response.params.push_back({"client_no_context_takeover", {}});
    // §7.1.2.1: the same or a smaller value than asked; a server may announce it unasked.
    p.server_max_window_bits = std::clamp(
        std::min(policy.server_max_window_bits, offer->server_max_window_bits.value_or(15)), 8, 15);
    if (offer->server_max_window_bits || p.server_max_window_bits < 15) {
      a.response.params.push_back(
          {"server_max_window_bits", std::to_string(p.server_max_window_bits)});
    }
    // §7.1.2.2: only a client that sent client_max_window_bits can be told a limit; its own
    // value, if any, already caps its window.
    int client_cap = offer->client_max_window_bits_value.value_or(15);
    if (offer->client_max_window_bits) {
      p.client_max_window_bits =
          std::clamp(std::min(policy.client_max_window_bits, client_cap), 8, 15);
      if (p.client_max_window_bits < 15) {
        a.response.params.push_back(
            {"client_max_window_bits", std::to_string(p.client_max_window_bits)});
      }
    } else {
      p.client_max_window_bits = client_cap;
    }
    return a;
  }
  return std::nullopt;
}

Result<DeflateParams> accept_deflate_response(const Extension& response,
                                              const DeflateOffer& offered) {
  auto seen = read_params(response);
  if (!seen) return seen.error();
  DeflateParams p;
  p.server_no_context_takeover = seen->server_nct;
  if (offered.server_no_context_takeover && !seen->server_nct) {
    return bad_header("server_no_context_takeover was asked for but not granted");
  }
  p.client_no_context_takeover = seen->client_nct || offered.client_no_context_takeover;
  if (offered.server_max_window_bits) {
    if (!seen->server_bits)
      return bad_header("server_max_window_bits was asked for but not granted");
    if (*seen->server_bits_value > *offered.server_max_window_bits) {
      return bad_header("server_max_window_bits larger than asked");
    }
  }
  p.server_max_window_bits = seen->server_bits_value.value_or(15);
  if (seen->client_bits) {
    if (!offered.client_max_window_bits) {
      return bad_header("client_max_window_bits in the response but not in the offer");
    }
    if (!seen->client_bits_value) return bad_header("client_max_window_bits needs a value");
    if (offered.client_max_window_bits_value &&
        *seen->client_bits_value > *offered.client_max_window_bits_value) {
      return bad_header("client_max_window_bits larger than offered");
    }
    p.client_max_window_bits = *seen->client_bits_value;
  } else {
    p.client_max_window_bits = offered.client_max_window_bits_value.value_or(15);
  }
  return p;
}

Result<DeflateParams> read_deflate_response(const Extension& response) {
  if (!text::iequals(response.name, kPermessageDeflate)) {
    return bad_header("not a permessage-deflate element: " + response.name);
  }
  DeflateParams p;
  for (const auto& param : response.params) {
    std::optional<int> bits;
    if (param.value) bits = parse_window_bits(*param.value);
    switch (classify(param.name)) {
      case Param::server_nct:
        p.server_no_context_takeover = true;
        break;
      case Param::client_nct:
        p.client_no_context_takeover = true;
        break;
      case Param::server_bits:
        p.server_max_window_bits = bits.value_or(15);
        break;
      case Param::client_bits:
        p.client_max_window_bits = bits.value_or(15);
        break;
      case Param::unknown:
        break;
    }
  }
  return p;
}

// ---- Inflater ----

namespace {
// zlib counts in uInt; larger inputs go in pieces.
constexpr size_t kMaxZlibChunk = 1u << 30;
constexpr std::array<unsigned char, 4> kTail = {0x00, 0x00, 0xff, 0xff};
}  // namespace

struct Inflater::Stream {
  z_stream z{};
};

Inflater::Inflater(int window_bits, bool no_context_takeover)
    : window_bits_(std::clamp(window_bits, 8, 15)), no_context_takeover_(no_context_takeover) {}
Inflater::Inflater(Inflater&&) noexcept = default;
Inflater& Inflater::operator=(Inflater&&) noexcept = default;
Inflater::~Inflater() {
  if (stream_) inflateEnd(&stream_->z);
}

namespace {

// The sink of the string form: appends, refusing output past max_size.
Inflater::Sink append_to(std::string& out, size_t max_size) {
  return [&out, max_size](std::string_view piece) -> Result<void> {
    if (out.size() + piece.size() > max_size || out.size() + piece.size() < out.size()) {
      return fail(Errc::ws_message_too_large,
                  "inflated message over " + std::to_string(max_size) + " bytes");
    }
    out.append(piece);
    return {};
  };
}

}  // namespace

Result<void> Inflater::run(std::string_view compressed, const Sink& sink) {
  if (!stream_) {
    auto s = std::make_unique<Stream>();
    // Negative window bits: raw deflate, no zlib header (RFC 7692 §7.2.2).
    if (inflateInit2(&s->z, -window_bits_) != Z_OK) {
      return fail(Errc::ws_deflate, "cannot create a zlib inflate stream");
    }
    stream_ = std::move(s);
  }
  z_stream& z = stream_->z;
  std::array<unsigned char, 16384> buf;
  while (!compressed.empty() && !ended_) {
    size_t piece = std::min(compressed.size(), kMaxZlibChunk);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    z.avail_in = static_cast<uInt>(piece);
    do {
      z.next_out = buf.data();
      z.avail_out = static_cast<uInt>(buf.size());
      int rc = inflate(&z, Z_SYNC_FLUSH);
      size_t produced = buf.size() - z.avail_out;
      if (produced > 0) {
        auto taken = sink(std::string_view(reinterpret_cast<const char*>(buf.data()), produced));
        if (!taken) return taken;
      }
      if (rc == Z_STREAM_END) {
        // §7.2.3.4: a sender may end a message with a BFINAL block; what follows it in this
        // message (at least our own 00 00 ff ff tail) is not part of the stream.
        ended_ = true;
        break;
      }
      if (rc == Z_BUF_ERROR) break;  // all input consumed, nothing more to produce
      if (rc != Z_OK) {
        return fail(Errc::ws_deflate, std::string("inflate: ") + (z.msg ? z.msg : "bad data"));
      }
    } while (z.avail_in > 0 || z.avail_out == 0);
    compressed.remove_prefix(piece);
  }
  return {};
}

Result<void> Inflater::feed(std::string_view compressed, std::string& out, size_t max_size) {
  return feed(compressed, append_to(out, max_size));
}

Result<void> Inflater::finish(std::string& out, size_t max_size) {
  return finish(append_to(out, max_size));
}

Result<void> Inflater::feed(std::string_view compressed, const Sink& sink) {
  if (compressed.empty()) return {};
  fed_ = true;
  return run(compressed, sink);
}

Result<void> Inflater::finish(const Sink& sink) {
  // An empty payload is not a flushed deflate stream (the empty message compresses to 00,
  // §7.2.3.6), and its tail alone would leave the stream inside a stored block header; nothing
  // is lost by reading nothing as the empty message.
  if (!fed_) return {};
  fed_ = false;
  auto r = run(std::string_view(reinterpret_cast<const char*>(kTail.data()), kTail.size()), sink);
  if (!r) return r;
  z_stream& z = stream_->z;
  // After the tail a sender's sync flush leaves the stream between blocks (zlib: data_type has
  // 128 when inflate stopped at a block boundary). Anywhere else, the message was cut or is not
  // deflate, and the next message would decode against garbage.
  if (!ended_ && (z.data_type & 128) == 0) {
    return fail(Errc::ws_deflate, "message does not end on a deflate block boundary");
  }
  if (no_context_takeover_) {
    inflateReset(&z);
  } else if (ended_) {
    // The sender ended its stream but keeps its window (context takeover): carry our window
    // into the next stream as a preset dictionary.
    std::array<unsigned char, 32768> window;
    uInt len = 0;
    inflateGetDictionary(&z, window.data(), &len);
    inflateReset(&z);
    if (len > 0) inflateSetDictionary(&z, window.data(), len);
  }
  ended_ = false;
  return {};
}

// ---- Deflater ----

struct Deflater::Stream {
  z_stream z{};
};

Deflater::Deflater(int window_bits, bool no_context_takeover, int level, int mem_level)
    : window_bits_(std::clamp(window_bits, 8, 15)),
      no_context_takeover_(no_context_takeover),
      level_(std::clamp(level, 0, 9)),
      mem_level_(std::clamp(mem_level, 1, 9)) {}
Deflater::Deflater(Deflater&&) noexcept = default;
Deflater& Deflater::operator=(Deflater&&) noexcept = default;
Deflater::~Deflater() {
  if (stream_) deflateEnd(&stream_->z);
}

Result<void> Deflater::compress(std::string_view message, std::string& out) {
  if (!can_compress()) return fail(Errc::ws_deflate, "zlib cannot compress with an 8-bit window");
  if (message.empty()) {
    // An empty stored block minus its 00 00 ff ff (§7.2.3.6). zlib would emit nothing for an
    // empty flush right after another flush.
    out.push_back('\0');
    return {};
  }
  if (!stream_) {
    auto s = std::make_unique<Stream>();
    if (deflateInit2(&s->z, level_, Z_DEFLATED, -window_bits_, mem_level_, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      return fail(Errc::ws_deflate, "cannot create a zlib deflate stream");
    }
    stream_ = std::move(s);
  }
  z_stream& z = stream_->z;
  const size_t start = out.size();
  std::array<unsigned char, 16384> buf;
  while (!message.empty()) {
    size_t piece = std::min(message.size(), kMaxZlibChunk);
    message.remove_prefix(piece);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data() - piece));
    z.avail_in = static_cast<uInt>(piece);
    // Only the last piece is flushed; earlier ones just feed the compressor.
    int flush = message.empty() ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    do {
      z.next_out = buf.data();
      z.avail_out = static_cast<uInt>(buf.size());
      int rc = deflate(&z, flush);
      if (rc != Z_OK && rc != Z_BUF_ERROR) return fail(Errc::ws_deflate, "deflate failed");
      out.append(reinterpret_cast<const char*>(buf.data()), buf.size() - z.avail_out);
    } while (z.avail_out == 0 || z.avail_in > 0);
  }
  // §7.2.1: the sync flush ends with an empty stored block, 00 00 ff ff; drop those 4 octets.
  std::string_view produced(out.data() + start, out.size() - start);
  if (produced.size() < 4 ||
      produced.substr(produced.size() - 4) != std::string_view("\0\0\xff\xff", 4)) {
    return fail(Errc::ws_deflate, "deflate output does not end with a sync flush");
  }
  out.resize(out.size() - 4);
  if (no_context_takeover_) deflateReset(&z);
  return {};
}

}  // namespace wa::ws
