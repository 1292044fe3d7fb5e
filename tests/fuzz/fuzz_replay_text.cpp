// The replayer's readers of recorded and live text: hidden inputs and meta tags in HTML, value
// spellings with whole-token search and replace, JSON structural diff, the rules file, and
// content decoding. The first byte picks one; the rest is its input. Properties checked (a
// failure traps):
// - every whole-token occurrence find_whole reports is one the one-pass NeedleSet scan reports,
//   and replace_whole replaces exactly those;
// - json_diff finds nothing between a value and itself, and json_equal is symmetric;
// - a parsed rules file holds only noise rules that check_noise_rule accepts;
// - every spelling of a value reads back as that value (unspell(spell(v)) == v);
// - a text place learned anywhere in a recorded text reads a live text without fault, and a
//   value it reads is never empty.
//
// tests/fuzz/CMakeLists.txt links wa_protocol only, and these sources need nothing else of
// ours, so they are compiled into the target here.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "replay/body.cpp"
#include "replay/html_fields.cpp"
#include "replay/json_diff.cpp"
#include "replay/rules.cpp"
#include "replay/socket_event.cpp"
#include "replay/spelling.cpp"
#include "replay/text_place.cpp"

using namespace wa;
using namespace wa::replay;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void tokens(std::string_view input) {
  size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return;
  std::string_view needle = input.substr(0, nl), text = input.substr(nl + 1);
  auto found = find_whole(text, needle);
  NeedleSet set;
  if (!set.add(std::string(needle), 7)) return;
  std::set<size_t> scanned;
  set.scan(text, [&](uint32_t tag, size_t offset, size_t length) {
    check(tag == 7 && length == needle.size() && text.substr(offset, length) == needle);
    scanned.insert(offset);
  });
  for (size_t at : found)
    check(scanned.count(at) == 1);
  Replacement r{needle, "\x01"};
  size_t n = 0;
  std::string replaced = replace_whole(text, {&r, 1}, &n);
  check(n == found.size());
  for (const auto& s : spellings(needle))
    (void)find_whole(text, s.text);
}

void json(std::string_view input) {
  size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return;
  auto a = sio::parse_json(input.substr(0, nl), Errc::bad_encoding);
  auto b = sio::parse_json(input.substr(nl + 1), Errc::bad_encoding);
  if (!a || !b) return;
  std::vector<JsonDifference> out;
  json_diff(*a, *a, out);
  check(out.empty());
  check(json_equal(*a, *b) == json_equal(*b, *a));
  json_diff(*a, *b, out, "", 100);
  for (const auto& d : out) {
    check(split_pointer(d.path).has_value());
    (void)pointer_covers(d.path, d.path);
  }
}

void rules(std::string_view input) {
  // Regexes are compiled by std::regex, whose own recursion is not what this target tests.
  if (input.find("regex") != std::string_view::npos || input.find("url") != std::string_view::npos)
    return;
  auto r = parse_rules(input, "fuzz");
  if (!r) return;
  for (const auto& n : r->noise)
    check(check_noise_rule(n).ok());
  for (const auto& s : r->substitute)
    (void)r->may_substitute(s.name, Part::header, s.header);
}

void spelled(std::string_view value) {
  for (const auto& s : spellings(value)) {
    auto back = unspell(s.text, s.spelling);
    check(back.has_value() && *back == value);
  }
  for (int s = 0; s < kSpellingCount; ++s)
    (void)unspell(value, Spelling(s));
}

// "<offset byte><length byte><recorded>\n<live>": a value at that place of the recorded text.
void place(std::string_view input) {
  if (input.size() < 2) return;
  size_t offset = static_cast<unsigned char>(input[0]),
         length = static_cast<unsigned char>(input[1]);
  input.remove_prefix(2);
  size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return;
  std::string_view recorded = input.substr(0, nl), live = input.substr(nl + 1);
  if (offset >= recorded.size() || length == 0) return;
  length = std::min(length, recorded.size() - offset);
  for (int s = 0; s < kSpellingCount; ++s) {
    auto value = unspell(recorded.substr(offset, length), Spelling(s));
    if (!value || value->empty()) continue;
    TextPlace p = learn_place(recorded, offset, length, Spelling(s), *value);
    check(p.occurrences == 0 || p.occurrence < p.occurrences);
    if (auto v = read_place(p, live)) check(!v->value.empty());
    (void)read_place(p, recorded);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      for (const auto& f : html_fields(input))
        check(!f.name.empty());
      (void)decode_html_entities(input);
      break;
    case 1:
      tokens(input);
      break;
    case 2:
      json(input);
      break;
    case 3:
      rules(input);
      break;
    case 4:
      (void)decode_content(input, "gzip", 1 << 20);
      (void)decode_content(input, "deflate", 1 << 20);
      (void)body_kind("", input);
      break;
    case 5:
      spelled(input);
      break;
    case 6:
      place(input);
      break;
  }
  return 0;
}
