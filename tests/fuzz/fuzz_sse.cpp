// Fuzzes the Server-Sent Events parser. The first two bytes choose the setup, the rest is the
// stream:
//   [0] chunking: 0 feeds everything at once, n splits the input into pieces of 1..n bytes
//   [1] limits: line and data maximum, 2^(n % 16 + 4) bytes
// Properties checked beyond "no crash": the events, comment count and last event ID do not
// depend on the chunking (nor does a failure); every string is valid UTF-8; no data holds a CR
// or LF that was not a data-line join; types are never empty; ids hold no NUL or line end.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/sse.h"
#include "protocol/text.h"

#include "tests/fuzz/chunks.h"

using namespace wa::sse;

namespace {

struct Log {
  std::vector<Event> events;
  std::uint64_t comments = 0;
  std::string last_event_id;
  bool failed = false;
  bool operator==(const Log&) const = default;
};

using wa::fuzz::chunks;

Log parse_pieces(const Limits& limits, const std::vector<std::string_view>& pieces) {
  Parser p(limits);
  Log log;
  for (std::string_view piece : pieces) {
    if (!p.feed(piece, log.events)) {
      log.failed = true;
      if (p.feed("\n\n", log.events)) abort();  // sticky
      break;
    }
  }
  p.finish();
  log.comments = p.comments();
  log.last_event_id = p.last_event_id();
  return log;
}

void check_event(const Event& e, const Limits& limits) {
  if (!wa::text::is_valid_utf8(e.data) || !wa::text::is_valid_utf8(e.type)) abort();
  if (e.type.empty() || e.type.find_first_of("\r\n") != std::string::npos) abort();
  if (e.data.find('\r') != std::string::npos) abort();
  if (e.data.size() > limits.max_data_bytes) abort();
  if (e.id) {
    if (!wa::text::is_valid_utf8(*e.id)) abort();
    if (e.id->find_first_of(std::string_view("\0\r\n", 3)) != std::string::npos) abort();
  }
  if (e.retry_ms && *e.retry_ms < 0) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  uint8_t setup[2] = {0, 0};
  for (int i = 0; i < 2 && !input.empty(); ++i) {
    setup[i] = static_cast<uint8_t>(input[0]);
    input.remove_prefix(1);
  }
  Limits limits;
  limits.max_line_bytes = size_t{1} << (setup[1] % 16 + 4);
  limits.max_data_bytes = limits.max_line_bytes;

  Log whole = parse_pieces(limits, {input});
  for (const Event& e : whole.events)
    check_event(e, limits);
  if (setup[0] != 0 && !(parse_pieces(limits, chunks(input, setup[0])) == whole)) abort();
  return 0;
}
