#include "protocol/sse.h"

#include <cstring>

#include "protocol/text.h"

namespace wa::sse {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The Encoding Standard's UTF-8 decode (§9.2.5 decodes the stream with it): every maximal
// invalid subpart becomes one U+FFFD, so what comes out is always valid UTF-8. Line ends are
// ASCII and ASCII bytes are never swallowed by an invalid sequence, so decoding line by line
// gives what decoding the whole stream would.
void append_decoded(std::string_view in, std::string& out) {
  if (text::is_valid_utf8(in)) {
    out.append(in);
    return;
  }
  size_t i = 0;
  while (i < in.size()) {
    auto b = static_cast<unsigned char>(in[i]);
    if (b < 0x80) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    size_t needed = 0;
    unsigned char lower = 0x80, upper = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      needed = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      needed = 2;
      if (b == 0xE0) lower = 0xA0;
      if (b == 0xED) upper = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      needed = 3;
      if (b == 0xF0) lower = 0x90;
      if (b == 0xF4) upper = 0x8F;
    } else {
      out.append(kReplacement);
      ++i;
      continue;
    }
    size_t j = i + 1;
    size_t seen = 0;
    while (seen < needed && j < in.size()) {
      auto c = static_cast<unsigned char>(in[j]);
      if (c < lower || c > upper) break;
      lower = 0x80;
      upper = 0xBF;
      ++seen;
      ++j;
    }
    if (seen == needed) {
      out.append(in.substr(i, j - i));
    } else {
      out.append(kReplacement);  // the byte that broke the sequence is read again
    }
    i = j;
  }
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool is_event_stream(std::string_view content_type) {
  std::string_view essence = content_type.substr(0, content_type.find(';'));
  return text::iequals(text::trim(essence), kContentType);
}

Result<void> Parser::feed(std::string_view bytes, std::vector<Event>& out) {
  if (failure_) return *failure_;
  // §9.2.5: one leading BOM is ignored. It may arrive a byte at a time.
  while (bom_seen_ < kBom.size() && !bytes.empty()) {
    if (bytes[0] != kBom[bom_seen_]) {
      // Not a BOM after all: the bytes held back are ordinary input.
      std::string_view held = kBom.substr(0, bom_seen_);
      bom_seen_ = kBom.size();
      if (!held.empty()) {
        if (auto r = feed(held, out); !r) return r;
      }
      break;
    }
    ++bom_seen_;
    bytes.remove_prefix(1);
  }
  if (bom_seen_ < kBom.size()) return {};

  while (!bytes.empty()) {
    if (after_cr_ && bytes[0] == '\n') bytes.remove_prefix(1);  // the LF of a CRLF
    after_cr_ = false;
    size_t end = bytes.find_first_of("\r\n");
    std::string_view piece = bytes.substr(0, end);
    if (line_.size() + piece.size() > limits_.max_line_bytes) {
      failure_ = fail(Errc::limit, "event stream line over " +
                                       std::to_string(limits_.max_line_bytes) + " bytes");
      return *failure_;
    }
    if (end == std::string_view::npos) {
      line_.append(piece);
      return {};
    }
    Result<void> r = {};
    if (line_.empty()) {
      r = line(piece, out);  // the whole line is in this chunk: no copy
    } else {
      line_.append(piece);
      r = line(line_, out);
      line_.clear();
    }
    if (!r) {
      failure_ = r.error();
      return r;
    }
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
  }
  return {};
}

void Parser::finish() {
  line_.clear();
  data_.clear();
  has_data_ = false;
  type_.clear();
  id_in_block_ = false;
  retry_in_block_.reset();
  after_cr_ = false;
}

// §9.2.6: one line, without its line end.
Result<void> Parser::line(std::string_view bytes, std::vector<Event>& out) {
  if (bytes.empty()) {
    dispatch(out);
    return {};
  }
  if (bytes[0] == ':') {
    ++comments_;
    return {};
  }
  std::string decoded;
  append_decoded(bytes, decoded);
  std::string_view text = decoded;
  size_t colon = text.find(':');
  std::string_view name = text.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = text.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (name == "data" && data_.size() + value.size() + 1 > limits_.max_data_bytes) {
    return fail(Errc::limit,
                "event stream data over " + std::to_string(limits_.max_data_bytes) + " bytes");
  }
  field(name, value);
  return {};
}

void Parser::field(std::string_view name, std::string_view value) {
  if (name == "event") {
    type_.assign(value);
  } else if (name == "data") {
    // The standard appends the value and an LF, then drops the last LF at dispatch; joining
    // with LF is the same.
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) {
      id_buffer_.assign(value);
      id_in_block_ = true;
    }
  } else if (name == "retry") {
    // Digits only; a value too large for 64 bits is ignored like any other invalid one.
    if (all_digits(value) && value.size() <= 18) {
      std::int64_t ms = 0;
      for (char c : value)
        ms = ms * 10 + (c - '0');
      reconnection_ms_ = ms;
      retry_in_block_ = ms;
    }
  }
  // Any other field name is ignored.
}

// §9.2.6 "dispatch the event".
void Parser::dispatch(std::vector<Event>& out) {
  last_event_id_ = id_buffer_;  // step 1, even for a block without data
  if (!has_data_) {
    ++empty_blocks_;
  } else {
    Event e;
    if (id_in_block_) e.id = last_event_id_;
    if (!type_.empty()) e.type = type_;
    e.data = std::move(data_);
    e.retry_ms = retry_in_block_;
    out.push_back(std::move(e));
  }
  data_.clear();
  has_data_ = false;
  type_.clear();
  id_in_block_ = false;
  retry_in_block_.reset();
}

Result<std::vector<Event>> parse(std::string_view stream, const Limits& limits) {
  Parser parser(limits);
  std::vector<Event> out;
  if (auto r = parser.feed(stream, out); !r) return r.error();
  parser.finish();
  return out;
}

}  // namespace wa::sse
