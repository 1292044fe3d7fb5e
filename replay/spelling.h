// How a server-issued value is spelled where the client sends it back, and whole-token search
// and replace of those spellings.
//
// A value recurs in client traffic as it was issued (a cookie, a header), percent-encoded in a
// URL or a form body (RFC 3986 §2.1; the WHATWG application/x-www-form-urlencoded serializer
// writes a space as '+'), or escaped inside a JSON string (RFC 8259 §7; Python writes non-ASCII
// as \uXXXX and some servers write '/' as "\/"). Pages spell what they issue in HTML text and
// attributes with character references (HTML Living Standard §13.1.4: escape-html writes
// &#39;, Handlebars &#x27; and &#x3D;) and in inline scripts as JavaScript's escape() writes it,
// for the page to unescape('…'). A value may also travel base64-encoded (RFC 4648 §4, §5: a
// credential in a header, a token inside a URL), encoded on its own. The replayer finds each
// spelling in recorded text and writes the live value back in the same spelling, so the server
// sees what a browser would have sent.
//
// Whole tokens only. A value matches where it is not glued to more token characters (ASCII
// letters and digits, '-', '_', non-ASCII bytes) on a side where the value itself begins or ends
// with one: "abc123" is found in "id=abc123&x" and "abc123.png" but not in "xabc1234". A
// percent-escape or a JSON escape just before the value ("s%3Aabc123", "\nabc123") counts as a
// separator, since it stands for one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wa::replay {

enum class Spelling : uint8_t {
  raw,         // as issued
  url,         // percent-encoded like encodeURIComponent (URL path and query, cookies)
  form,        // application/x-www-form-urlencoded: like url, but space is '+' and !'()~ escaped
  json,        // inside a JSON string: '"', '\' and control characters escaped
  json_slash,  // the same with '/' written "\/"
  json_ascii,  // the same with non-ASCII written \uXXXX (Python's json.dumps default)
  html,        // HTML text or attribute: & < > " ' as &amp; &lt; &gt; &quot; &#39;
  html_hex,    // the same as Handlebars writes it: ' = ` as &#x27; &#x3D; &#x60;
  js_escape,   // JavaScript escape(): all but A-Z a-z 0-9 @*_+-./ as %XX or %uXXXX
  base64,      // the value's bytes in base64 (RFC 4648 §4), padded
  base64url,   // in base64url (RFC 4648 §5), unpadded, as JWTs and URLs carry it
};
inline constexpr int kSpellingCount = int(Spelling::base64url) + 1;
const char* spelling_name(Spelling s);  // "raw", "URL-encoded", …

// `value` written in spelling `s`.
std::string spell(std::string_view value, Spelling s);

// The value that `text` spells in spelling `s`; nullopt when `text` is not a valid spelling
// (a broken escape). Lenient where decoders are: every HTML character reference form (&#NN;,
// &#xHH;, the named ones a value can hold) is read, whichever the writer chose.
std::optional<std::string> unspell(std::string_view text, Spelling s);

struct SpelledValue {
  Spelling spelling = Spelling::raw;
  std::string text;
};
// The distinct spellings of a value, raw first; a spelling identical to an earlier one is left
// out, so an ASCII token without special characters has exactly one.
std::vector<SpelledValue> spellings(std::string_view value);

// ASCII letters and digits, '-', '_', and every byte of a non-ASCII character.
bool is_token_byte(unsigned char c);

// Whether text[pos, pos + len) is a whole token in the sense above.
bool whole_token_at(std::string_view text, size_t pos, size_t len);

// Offsets of the whole-token occurrences of `needle`, left to right, not overlapping.
std::vector<size_t> find_whole(std::string_view text, std::string_view needle);

struct Replacement {
  std::string_view from;
  std::string_view to;
};
// Replaces the whole-token occurrences of every `from` in one pass. Where occurrences overlap,
// the leftmost wins, then the longest; replaced text is never searched again. `count`, when
// given, receives the number of replacements.
std::string replace_whole(std::string_view text, std::span<const Replacement> replacements,
                          size_t* count = nullptr);

// Many needles searched in many texts at once, for the correlation pass over a whole recording:
// needles of kKeyBytes or more are found through a hash of their first kKeyBytes bytes, so a
// scan costs one lookup per byte of text whatever the number of needles; shorter needles (only
// explicit rules produce them) are searched one by one.
class NeedleSet {
 public:
  static constexpr size_t kKeyBytes = 6;

  // Adds a needle with a caller's tag; returns false (and adds nothing) for an empty needle.
  bool add(std::string needle, uint32_t tag);
  size_t size() const { return needles_.size(); }

  // Calls hit(tag, offset, length) for every whole-token occurrence of every needle in `text`.
  void scan(std::string_view text,
            const std::function<void(uint32_t tag, size_t offset, size_t length)>& hit) const;

 private:
  struct Needle {
    std::string text;
    uint32_t tag;
  };
  std::vector<Needle> needles_;
  // The first kKeyBytes bytes of a needle packed into an integer → indices into needles_.
  std::unordered_map<uint64_t, std::vector<uint32_t>> by_key_;
  std::vector<uint32_t> short_;  // needles under kKeyBytes
  // A bitset of the first two bytes of every keyed needle: most text positions stop here.
  std::vector<uint64_t> first_pairs_ = std::vector<uint64_t>(65536 / 64);
};

}  // namespace wa::replay
