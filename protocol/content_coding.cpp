#include "protocol/content_coding.h"

#include <brotli/decode.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <limits>

#include "protocol/text.h"

namespace wa::coding {

const char* coding_name(Coding coding) {
  switch (coding) {
    case Coding::gzip:
      return "gzip";
    case Coding::deflate:
      return "deflate";
    case Coding::br:
      return "br";
  }
  return "?";
}

Result<std::vector<Coding>> parse_content_encoding(std::string_view value) {
  std::vector<Coding> out;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view name = text::trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (name.empty() || text::iequals(name, "identity")) continue;
    if (text::iequals(name, "gzip") || text::iequals(name, "x-gzip")) {
      out.push_back(Coding::gzip);
    } else if (text::iequals(name, "deflate")) {
      out.push_back(Coding::deflate);
    } else if (text::iequals(name, "br")) {
      out.push_back(Coding::br);
    } else {
      return fail(Errc::bad_encoding, "unknown content coding '" + std::string(name) + "'");
    }
  }
  return out;
}

// One coding's decompressor. Each counts its own output against the limit, so that an
// intermediate stage of stacked codings cannot balloon either.
class Decoder::Stage {
 public:
  explicit Stage(size_t limit) : limit_(limit) {}
  virtual ~Stage() = default;
  // Decodes `in` entirely, appending to `out`.
  virtual Result<void> feed(std::string_view in, std::string& out) = 0;
  // The input has ended: the stream must have ended too.
  virtual Result<void> finish() = 0;

 protected:
  Result<void> emit(const unsigned char* bytes, size_t n, std::string& out) {
    if (n > limit_ - produced_) {
      return fail(Errc::limit, "more than " + std::to_string(limit_) + " bytes once decoded");
    }
    out.append(reinterpret_cast<const char*>(bytes), n);
    produced_ += n;
    return {};
  }

 private:
  size_t limit_;
  size_t produced_ = 0;
};

namespace {

constexpr size_t kChunk = 16384;
// zlib counts in uInt; larger inputs go in pieces.
constexpr size_t kMaxZlibInput = size_t{1} << 30;

// RFC 1950 §2.2: CM 8 (deflate) with a window of at most 32 KiB, and FCHECK making the first
// two bytes a multiple of 31. Raw deflate starting with these two bytes would need a non-final
// stored block with nonzero padding bits, which no encoder writes.
bool is_zlib_header(unsigned char cmf, unsigned char flg) {
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256u + flg) % 31 == 0;
}

class ZlibStage final : public Decoder::Stage {
 public:
  ZlibStage(Coding coding, size_t limit) : Stage(limit), coding_(coding) {}
  ~ZlibStage() override {
    if (state_ != State::start) inflateEnd(&z_);
  }

  Result<void> feed(std::string_view in, std::string& out) override {
    if (in.empty()) return {};
    seen_input_ = true;
    if (state_ == State::start) {
      if (coding_ == Coding::deflate && sniffed_.size() + in.size() < 2) {
        sniffed_.append(in);
        return {};
      }
      auto ready = start(in);
      if (!ready) return ready;
      if (!sniffed_.empty()) {
        std::string held = std::move(sniffed_);
        sniffed_.clear();
        auto r = inflate_all(held, out);
        if (!r) return r;
      }
    }
    return inflate_all(in, out);
  }

  Result<void> finish() override {
    if (!seen_input_ || state_ == State::between_members || state_ == State::ended) return {};
    return fail(Errc::incomplete,
                std::string(coding_name(coding_)) + " data ends before its compressed stream does");
  }

 private:
  enum class State { start, in_stream, between_members, ended };

  Result<void> start(std::string_view in) {
    int window_bits = 15 + 32;  // gzip: zlib detects the gzip header (and a zlib one)
    if (coding_ == Coding::deflate) {
      auto byte = [&](size_t i) {
        return static_cast<unsigned char>(i < sniffed_.size() ? sniffed_[i]
                                                              : in[i - sniffed_.size()]);
      };
      window_bits = is_zlib_header(byte(0), byte(1)) ? 15 : -15;
    }
    if (inflateInit2(&z_, window_bits) != Z_OK) {
      return fail(Errc::bad_encoding, "cannot create a zlib inflate stream");
    }
    state_ = State::in_stream;
    return {};
  }

  Result<void> corrupt(const char* detail) const {
    return fail(Errc::bad_encoding,
                std::string("corrupt ") + coding_name(coding_) + " data (" + detail + ")");
  }

  Result<void> inflate_all(std::string_view in, std::string& out) {
    std::array<unsigned char, kChunk> buffer;
    while (!in.empty()) {
      if (state_ == State::ended) {
        return corrupt("bytes after the end of the stream");
      }
      if (state_ == State::between_members) {
        // RFC 1952 §2.2: a gzip file is a series of members.
        inflateReset(&z_);
        state_ = State::in_stream;
      }
      size_t piece = std::min(in.size(), kMaxZlibInput);
      z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
      z_.avail_in = static_cast<uInt>(piece);
      while (true) {
        z_.next_out = buffer.data();
        z_.avail_out = static_cast<uInt>(buffer.size());
        int rc = inflate(&z_, Z_NO_FLUSH);
        auto emitted = emit(buffer.data(), buffer.size() - z_.avail_out, out);
        if (!emitted) return emitted;
        if (rc == Z_STREAM_END) {
          state_ = coding_ == Coding::gzip ? State::between_members : State::ended;
          break;
        }
        if (rc == Z_NEED_DICT) return corrupt("needs a preset dictionary");
        if (rc == Z_BUF_ERROR) break;  // no progress possible: all input taken
        if (rc != Z_OK) return corrupt(z_.msg ? z_.msg : "inflate failed");
        if (z_.avail_in == 0 && z_.avail_out != 0) break;
      }
      in.remove_prefix(piece - z_.avail_in);
    }
    return {};
  }

  Coding coding_;
  z_stream z_{};
  State state_ = State::start;
  std::string sniffed_;  // deflate: the first byte, until the second tells zlib from raw
  bool seen_input_ = false;
};

class BrotliStage final : public Decoder::Stage {
 public:
  explicit BrotliStage(size_t limit)
      : Stage(limit), state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
  ~BrotliStage() override {
    if (state_) BrotliDecoderDestroyInstance(state_);
  }

  Result<void> feed(std::string_view in, std::string& out) override {
    if (in.empty()) return {};
    if (!state_) return fail(Errc::bad_encoding, "cannot create a brotli decoder");
    seen_input_ = true;
    if (done_)
      return fail(Errc::bad_encoding, "corrupt br data (bytes after the end of the stream)");
    size_t avail_in = in.size();
    auto next_in = reinterpret_cast<const uint8_t*>(in.data());
    std::array<uint8_t, kChunk> buffer;
    while (true) {
      size_t avail_out = buffer.size();
      uint8_t* next_out = buffer.data();
      BrotliDecoderResult rc = BrotliDecoderDecompressStream(state_, &avail_in, &next_in,
                                                             &avail_out, &next_out, nullptr);
      auto emitted = emit(buffer.data(), buffer.size() - avail_out, out);
      if (!emitted) return emitted;
      if (rc == BROTLI_DECODER_RESULT_ERROR) {
        return fail(Errc::bad_encoding,
                    std::string("corrupt br data (") +
                        BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state_)) + ")");
      }
      if (rc == BROTLI_DECODER_RESULT_SUCCESS) {
        done_ = true;
        if (avail_in > 0) {
          return fail(Errc::bad_encoding, "corrupt br data (bytes after the end of the stream)");
        }
        return {};
      }
      if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return {};
      // BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: go round with an empty buffer.
    }
  }

  Result<void> finish() override {
    if (!seen_input_ || done_) return {};
    return fail(Errc::incomplete, "br data ends before its compressed stream does");
  }

 private:
  BrotliDecoderState* state_;
  bool seen_input_ = false;
  bool done_ = false;
};

size_t intermediate_limit(size_t max_output) {
  constexpr size_t kSlack = 64 * 1024;
  size_t max = std::numeric_limits<size_t>::max();
  if (max_output > (max - kSlack) / 2) return max;
  return 2 * max_output + kSlack;
}

}  // namespace

Decoder::Decoder(std::vector<std::unique_ptr<Stage>> stages, size_t max_output)
    : stages_(std::move(stages)),
      between_(stages_.empty() ? 0 : stages_.size() - 1),
      max_output_(max_output) {}
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;
Decoder::~Decoder() = default;

Result<Decoder> Decoder::make(std::string_view content_encoding, size_t max_output) {
  auto codings = parse_content_encoding(content_encoding);
  if (!codings) return codings.error();
  std::vector<std::unique_ptr<Stage>> stages;
  // The sender applied them in the order listed; they come off in reverse.
  for (auto it = codings->rbegin(); it != codings->rend(); ++it) {
    // An inner layer is compressed data, which can be a little larger than what it holds
    // (incompressible bytes, gzip headers); the last stage's output is the body itself.
    size_t limit = it + 1 == codings->rend() ? max_output : intermediate_limit(max_output);
    if (*it == Coding::br) {
      stages.push_back(std::make_unique<BrotliStage>(limit));
    } else {
      stages.push_back(std::make_unique<ZlibStage>(*it, limit));
    }
  }
  return Decoder(std::move(stages), max_output);
}

Result<void> Decoder::fail_with(Failure failure) {
  failure_ = std::make_unique<Failure>(failure);
  return failure;
}

Result<void> Decoder::run(std::string_view bytes, bool last, std::string& out) {
  if (failure_) return *failure_;
  if (finished_) return fail_with(wa::fail(Errc::bad_encoding, "body fed after its end"));
  finished_ = last;
  if (stages_.empty()) {
    if (bytes.size() > max_output_ - produced_) {
      return fail_with(
          wa::fail(Errc::limit, "more than " + std::to_string(max_output_) + " bytes"));
    }
    out.append(bytes);
    produced_ += bytes.size();
    return {};
  }
  std::string_view input = bytes;
  for (size_t i = 0; i < stages_.size(); ++i) {
    bool final_stage = i + 1 == stages_.size();
    std::string& output = final_stage ? out : between_[i];
    size_t before = output.size();
    auto r = stages_[i]->feed(input, output);
    if (r && last) r = stages_[i]->finish();
    if (!r) return fail_with(r.error());
    if (i > 0) between_[i - 1].clear();
    if (final_stage) produced_ += output.size() - before;
    if (!final_stage) input = between_[i];
  }
  return {};
}

Result<void> Decoder::feed(std::string_view bytes, std::string& out) {
  return run(bytes, false, out);
}

Result<void> Decoder::finish(std::string& out) {
  return run({}, true, out);
}

Result<std::string> decode_all(std::string_view content_encoding, std::string_view body,
                               size_t max_output) {
  auto decoder = Decoder::make(content_encoding, max_output);
  if (!decoder) return decoder.error();
  std::string out;
  if (decoder->identity()) {
    if (body.size() > max_output) {
      return fail(Errc::limit, "more than " + std::to_string(max_output) + " bytes");
    }
    return std::string(body);
  }
  auto r = decoder->feed(body, out);
  if (r) r = decoder->finish(out);
  if (!r) return r.error();
  return out;
}

}  // namespace wa::coding
