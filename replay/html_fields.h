// The values an HTML page hands the browser to send back: hidden form inputs
// (`<input type="hidden" name=… value=…>`, what CSRF tokens and view states ride in) and meta
// tags (`<meta name="csrf-token" content=…>`, which scripts read and put in a header).
//
// Not an HTML parser: a tolerant scan of start tags as the HTML Living Standard tokenizes them
// (§13.2.5: case-insensitive tag and attribute names; values double-quoted, single-quoted or
// unquoted; the first of duplicate attributes wins), skipping comments and the contents of
// <script>, <style>, <textarea> and <title>. Character references in values are decoded for the
// common named ones and every numeric one, since the browser sends the decoded value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wa::replay {

struct HtmlField {
  enum class Kind : uint8_t { hidden_input, meta } kind = Kind::hidden_input;
  std::string name;    // the input's name; the meta's name (or property, or http-equiv)
  std::string value;   // the input's value; the meta's content; decoded
  int occurrence = 0;  // among fields of the same kind and name in the page, from 0
};

// The fields of a page in document order, at most `max_fields` of them.
std::vector<HtmlField> html_fields(std::string_view html, size_t max_fields = 4096);

// Decodes character references (&amp; &lt; &gt; &quot; &apos; &nbsp; &sol; &equals; &plus;
// &grave; &colon; &#NN; &#xHH;; an invalid code point as U+FFFD); anything else is kept as
// written.
std::string decode_html_entities(std::string_view text);

}  // namespace wa::replay
