#include "storage/headers.h"

#include <nlohmann/json.hpp>

#include "protocol/text.h"

namespace wa::store {

namespace {

// RFC 8259 §7: quote, backslash and control characters must be escaped; everything else in
// valid UTF-8 may appear as is.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += '\\';
      out += s[i];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

}  // namespace

std::string encode_headers(const Headers& headers) {
  std::string out;
  size_t estimate = 2;
  for (const Header& h : headers)
    estimate += h.name.size() + h.value.size() + 8;
  out.reserve(estimate);
  out += '[';
  bool first = true;
  for (const Header& h : headers) {
    if (!first) out += ',';
    first = false;
    out += '[';
    if (text::is_valid_utf8(h.name) && text::is_valid_utf8(h.value)) {
      append_json_string(out, h.name);
      out += ',';
      append_json_string(out, h.value);
    } else {
      append_json_string(out, text::base64_encode(h.name));
      out += ',';
      append_json_string(out, text::base64_encode(h.value));
      out += ",\"base64\"";
    }
    out += ']';
  }
  out += ']';
  return out;
}

Result<Headers> decode_headers(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    return fail(Errc::bad_encoding, "header list is not a JSON array");
  }
  Headers headers;
  headers.reserve(doc.size());
  for (const auto& pair : doc) {
    bool plain = pair.is_array() && pair.size() == 2;
    bool coded = pair.is_array() && pair.size() == 3 && pair[2] == "base64";
    if (!(plain || coded) || !pair[0].is_string() || !pair[1].is_string()) {
      return fail(Errc::bad_encoding, "header entry is not [name, value]");
    }
    Header h{pair[0].get<std::string>(), pair[1].get<std::string>()};
    if (coded) {
      auto name = text::base64_decode(h.name);
      auto value = text::base64_decode(h.value);
      if (!name || !value) return fail(Errc::bad_encoding, "header entry has bad base64");
      h = Header{std::move(*name), std::move(*value)};
    }
    headers.push_back(std::move(h));
  }
  return headers;
}

}  // namespace wa::store
