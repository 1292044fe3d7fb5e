#include "replay/text_place.h"

#include <algorithm>
#include <vector>

namespace wa::replay {
namespace {

constexpr uint32_t kShapeLetters = kShapeHexLower | kShapeLower | kShapeHexUpper | kShapeUpper;
constexpr uint32_t kShapeBase64 = kShapePlus | kShapeSlash | kShapeEquals;
constexpr uint32_t kShapeBase64Url = kShapeDash | kShapeUnderscore;
// A line break ends a left boundary when the line gives this much before the value.
constexpr size_t kEnoughOfALine = 8;

uint32_t byte_shape(unsigned char c) {
  if (c >= '0' && c <= '9') return kShapeDigit;
  if (c >= 'a' && c <= 'f') return kShapeHexLower;
  if (c >= 'g' && c <= 'z') return kShapeLower;
  if (c >= 'A' && c <= 'F') return kShapeHexUpper;
  if (c >= 'G' && c <= 'Z') return kShapeUpper;
  switch (c) {
    case '-':
      return kShapeDash;
    case '_':
      return kShapeUnderscore;
    case '+':
      return kShapePlus;
    case '/':
      return kShapeSlash;
    case '=':
      return kShapeEquals;
    case '.':
      return kShapeDot;
    default:
      return kShapeOther;
  }
}

// Every position of `needle` in `text`, overlapping ones included.
std::vector<size_t> positions(std::string_view text, std::string_view needle) {
  std::vector<size_t> out;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1))
    out.push_back(at);
  return out;
}

}  // namespace

uint32_t shape_of(std::string_view value) {
  uint32_t shape = 0;
  for (char c : value)
    shape |= byte_shape(static_cast<unsigned char>(c));
  return shape;
}

bool same_shape(uint32_t recorded, size_t recorded_length, std::string_view live) {
  if (live.empty()) return false;
  if (live.size() * 2 < recorded_length || live.size() > recorded_length * 2 + 1) return false;
  uint32_t allowed = recorded;
  bool hex = (recorded & (kShapeLower | kShapeUpper)) == 0 &&
             !((recorded & kShapeHexLower) && (recorded & kShapeHexUpper));
  if (recorded & kShapeLetters) {
    if (!hex) {
      // Letters beyond hex: any letter and digit; a mixed-case token is of the base64
      // family, whose signs a sample may lack.
      allowed |= kShapeLetters | kShapeDigit;
      bool mixed = (recorded & (kShapeLower | kShapeHexLower)) &&
                   (recorded & (kShapeUpper | kShapeHexUpper));
      if (mixed || (recorded & (kShapeBase64 | kShapeBase64Url)))
        allowed |= kShapeBase64 | kShapeBase64Url;
    } else {
      allowed |= kShapeDigit;  // hex stays hex, in the case it was written in
    }
  }
  return (shape_of(live) & ~allowed) == 0;
}

TextPlace learn_place(std::string_view text, size_t offset, size_t spelled_length,
                      Spelling spelling, std::string_view value) {
  TextPlace place;
  place.offset = offset;
  place.text_size = text.size();
  place.spelling = spelling;
  place.length = value.size();
  place.alphabet = shape_of(value);
  size_t start = offset > TextPlace::kLeftBytes ? offset - TextPlace::kLeftBytes : 0;
  std::string_view left = text.substr(start, offset - start);
  size_t line = left.rfind('\n');
  if (line != std::string_view::npos && left.size() - line - 1 >= kEnoughOfALine)
    left.remove_prefix(line + 1);
  place.left = std::string(left);
  std::string_view right = text.substr(std::min(text.size(), offset + spelled_length));
  right = right.substr(0, TextPlace::kRightBytes);
  size_t end = right.find('\n');
  if (end != std::string_view::npos) right = right.substr(0, std::max<size_t>(end, 1));
  place.right = std::string(right);
  std::vector<size_t> at = positions(text, place.left);
  place.occurrences = int(at.size());
  auto mine = std::find(at.begin(), at.end(), offset - place.left.size());
  place.occurrence = mine == at.end() ? 0 : int(mine - at.begin());
  return place;
}

std::optional<PlacedValue> read_place(const TextPlace& place, std::string_view live) {
  // The left boundary, whole, then the part of it after the last token with a digit (likely
  // another dynamic value), then ever shorter tails of it.
  std::vector<std::string_view> lefts = {place.left};
  std::string_view full = place.left;
  size_t digit = full.find_last_of("0123456789");
  if (digit != std::string_view::npos) {
    size_t after = digit + 1;
    while (after < full.size() && is_token_byte(static_cast<unsigned char>(full[after])))
      ++after;
    if (full.size() - after >= 2) lefts.push_back(full.substr(after));
  }
  for (size_t n : {size_t(16), size_t(8), TextPlace::kMinLeftBytes})
    if (n < full.size()) lefts.push_back(full.substr(full.size() - n));
  std::string_view left;
  std::vector<size_t> at;
  if (full.empty()) at.push_back(0);  // the value opens the text
  for (std::string_view candidate : lefts) {
    if (candidate.empty() || !at.empty()) continue;
    at = positions(live, candidate);
    if (at.empty()) continue;
    left = candidate;
    break;
  }
  if (at.empty()) return std::nullopt;
  bool whole = left.size() == full.size();
  size_t pos = 0;
  if (whole && int(at.size()) == place.occurrences && place.occurrence < int(at.size())) {
    pos = at[size_t(place.occurrence)];
  } else {
    // The occurrence nearest the recorded position, relative to the length of the text.
    double target = place.text_size == 0
                        ? 0.0
                        : double(place.offset) / double(place.text_size) * double(live.size());
    auto distance = [&](size_t p) {
      double end = double(p + left.size());
      return end > target ? end - target : target - end;
    };
    pos = *std::min_element(at.begin(), at.end(),
                            [&](size_t a, size_t b) { return distance(a) < distance(b); });
  }
  size_t start = pos + left.size();
  size_t end = live.size();
  if (!place.right.empty()) {
    std::string_view right = std::string_view(place.right).substr(0, 2);
    end = live.find(right, start);
    if (end == std::string_view::npos && right.size() > 1) end = live.find(right[0], start);
    if (end == std::string_view::npos) return std::nullopt;
  }
  if (end == start) return std::nullopt;
  auto value = unspell(live.substr(start, end - start), place.spelling);
  if (!value || value->empty()) return std::nullopt;
  PlacedValue out;
  out.same_shape = same_shape(place.alphabet, place.length, *value);
  out.value = std::move(*value);
  return out;
}

}  // namespace wa::replay
