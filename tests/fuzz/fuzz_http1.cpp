// The HTTP/1.1 parser, fed in pieces the fuzzer chooses.
// Input: one flags byte, then pieces, each a length byte and that many bytes (the last piece may
// be short). Flags: bit 0 response (else request); bits 1-2 the method responses answer (none,
// GET, HEAD, CONNECT); bit 3 small limits; bit 4 go on after upgrades; bit 5 a sink that pauses
// after every head and message.
// Properties checked (a failure traps):
// - the event log is the same whether the bytes arrive whole, in the chosen pieces, or one by
//   one (body bytes merged), including failures and their stream positions;
// - feed() never reports more bytes than it was given, and position() adds up;
// - a request head that parsed is written back by serialize_request_head and parses again to
//   the same head; a response head that can be written parses again to the same head.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http1.h"
#include "protocol/http1_writer.h"

using namespace wa;
using namespace wa::http;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Config {
  Role role = Role::request;
  const char* method = nullptr;
  Limits limits;
  bool resume_upgrades = false;
  bool pause = false;
};

struct LogSink : Sink {
  std::string log;
  std::vector<Head> heads;
  bool pause = false;
  bool in_body = false;
  uint64_t base = 0;

  Flow on_head(Head& h) override {
    in_body = false;
    log += "H" + h.method + " " + h.target + " " + std::to_string(h.status) + " " + h.reason;
    log += " " + std::to_string(int(h.framing)) + std::to_string(h.keep_alive) +
           std::to_string(h.upgrade) + std::to_string(h.head_bytes);
    for (const auto& f : h.headers)
      log += "|" + f.name + ":" + f.value;
    log += '\n';
    if (heads.size() < 4) heads.push_back(h);
    return pause ? Flow::pause : Flow::proceed;
  }
  void on_body(std::string_view b) override {
    check(!b.empty());
    if (!in_body) log += "B";
    log.append(b);
    in_body = true;
  }
  void on_trailers(Headers& t) override {
    in_body = false;
    log += "\nT";
    for (const auto& f : t)
      log += "|" + f.name + ":" + f.value;
    log += '\n';
  }
  Flow on_message_end() override {
    in_body = false;
    log += "\nE\n";
    return pause ? Flow::pause : Flow::proceed;
  }
  void on_upgrade(size_t offset, std::string_view rest) override {
    in_body = false;
    log += "\nU" + std::to_string(base + offset) + "\n";
    (void)rest;
  }
};

std::string run(const Config& cfg, const std::vector<std::string_view>& pieces,
                std::vector<Head>* heads) {
  Parser parser(cfg.role, cfg.limits);
  if (cfg.method != nullptr) {
    for (int i = 0; i < 16; ++i)
      parser.expect_response_to(cfg.method);
  }
  LogSink sink;
  sink.pause = cfg.pause;
  std::string pending;
  auto drain = [&]() {
    for (int guard = 0; guard < 1 << 20; ++guard) {
      size_t before = sink.log.size();
      uint64_t start = parser.position();
      sink.base = start;
      auto r = parser.feed(pending, sink);
      if (!r) {
        check(parser.error_position() == start + parser.error_offset());
        check(parser.error_offset() <= pending.size());
        sink.log += "\nX" + std::string(errc_name(r.error().code)) + " " + r.error().why + " " +
                    std::to_string(parser.error_position()) + "\n";
        return false;
      }
      check(*r <= pending.size());
      check(parser.position() == start + *r);
      pending.erase(0, *r);
      if (parser.upgraded()) {
        if (!cfg.resume_upgrades) return false;
        parser.resume_after_upgrade();
        continue;
      }
      if (*r == 0 && sink.log.size() == before) return true;
    }
    check(false);
    return false;
  };
  bool going = true;
  for (auto piece : pieces) {
    pending.append(piece);
    if (!(going = drain())) break;
  }
  if (going) {
    check(pending.empty());
    auto r = parser.finish(sink);
    sink.log += r.ok() ? "\nF\n" : "\nF" + r.error().why + "\n";
  }
  if (heads != nullptr) *heads = std::move(sink.heads);
  return sink.log;
}

bool same_head(const Head& a, const Head& b) {
  return a.method == b.method && a.target == b.target && a.status == b.status &&
         a.reason == b.reason && a.version == b.version && a.headers == b.headers;
}

void check_round_trip(const Config& cfg, const Head& h) {
  auto text = cfg.role == Role::request ? serialize_request_head(h) : serialize_response_head(h);
  if (cfg.role == Role::request) check(text.ok());
  if (!text) return;
  Config plain = cfg;
  plain.pause = false;
  plain.limits = Limits{};
  std::vector<Head> again;
  run(plain, {*text}, &again);
  check(!again.empty() && same_head(again.front(), h));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Config cfg;
  uint8_t flags = data[0];
  cfg.role = (flags & 1) != 0 ? Role::response : Role::request;
  static const char* const kMethods[] = {nullptr, "GET", "HEAD", "CONNECT"};
  cfg.method = kMethods[(flags >> 1) & 3];
  if ((flags & 8) != 0) {
    cfg.limits.max_head_bytes = 96;
    cfg.limits.max_headers = 4;
    cfg.limits.max_body_bytes = 16;
  }
  cfg.resume_upgrades = (flags & 16) != 0;
  cfg.pause = (flags & 32) != 0;

  std::vector<std::string_view> pieces;
  std::string whole;
  for (size_t at = 1; at < size;) {
    size_t n = data[at++];
    n = std::min(n, size - at);
    std::string_view piece(reinterpret_cast<const char*>(data) + at, n);
    pieces.push_back(piece);
    whole.append(piece);
    at += n;
  }

  std::vector<Head> heads;
  std::string expected = run(cfg, {whole}, &heads);
  check(run(cfg, pieces, nullptr) == expected);
  if (whole.size() <= 2048) {
    std::vector<std::string_view> ones;
    for (size_t i = 0; i < whole.size(); ++i)
      ones.push_back(std::string_view(whole).substr(i, 1));
    check(run(cfg, ones, nullptr) == expected);
  }
  if (!heads.empty()) check_round_trip(cfg, heads.front());
  return 0;
}
