#include "replay/html_fields.h"

#include <map>
#include <optional>

#include "protocol/text.h"

namespace wa::replay {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char lower(char c) {
  return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
}
std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = lower(c);
  return out;
}

struct Tag {
  std::string name;                               // lower-case
  std::map<std::string, std::string> attributes;  // lower-case names; first one wins
  size_t end = 0;                                 // just past '>'
};

// Reads the start tag whose '<' is at `at`. Returns nullopt when it is not one, and a tag with
// end == npos when the document ends inside it: as in the tokenizer (§13.2.5,
// "EOF in tag"), such a tag is dropped with everything after it, which also keeps the scan of
// a hostile page linear.
std::optional<Tag> read_tag(std::string_view html, size_t at) {
  size_t i = at + 1;
  if (i >= html.size() || !is_alpha(html[i])) return std::nullopt;
  Tag tag;
  tag.end = std::string_view::npos;
  while (i < html.size() && !is_space(html[i]) && html[i] != '>' && html[i] != '/')
    tag.name += lower(html[i++]);
  while (i < html.size()) {
    while (i < html.size() && (is_space(html[i]) || html[i] == '/'))
      ++i;
    if (i >= html.size()) break;
    if (html[i] == '>') {
      tag.end = i + 1;
      return tag;
    }
    std::string name;
    while (i < html.size() && !is_space(html[i]) && html[i] != '>' && html[i] != '/' &&
           (html[i] != '=' || name.empty()))
      name += lower(html[i++]);
    while (i < html.size() && is_space(html[i]))
      ++i;
    std::string value;
    if (i < html.size() && html[i] == '=') {
      ++i;
      while (i < html.size() && is_space(html[i]))
        ++i;
      if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
        char quote = html[i++];
        size_t close = html.find(quote, i);
        if (close == std::string_view::npos) return tag;
        value = decode_html_entities(html.substr(i, close - i));
        i = close + 1;
      } else {
        size_t start = i;
        while (i < html.size() && !is_space(html[i]) && html[i] != '>')
          ++i;
        value = decode_html_entities(html.substr(start, i - start));
      }
    }
    tag.attributes.emplace(std::move(name), std::move(value));
  }
  return tag;  // the document ended inside the tag
}

std::string_view attribute(const Tag& tag, const char* name) {
  auto it = tag.attributes.find(name);
  return it == tag.attributes.end() ? std::string_view() : std::string_view(it->second);
}
bool has_attribute(const Tag& tag, const char* name) {
  return tag.attributes.count(name) != 0;
}

// Elements whose content is raw text to the tokenizer: markup inside is not markup.
bool raw_text_element(const std::string& name) {
  return name == "script" || name == "style" || name == "textarea" || name == "title";
}

// Position just past the matching end tag, case-insensitively; npos if there is none.
size_t skip_raw_text(std::string_view html, size_t from, const std::string& name) {
  std::string closing = "</" + name;
  for (size_t i = html.find("</", from); i != std::string_view::npos; i = html.find("</", i + 2)) {
    if (i + closing.size() <= html.size() &&
        text::iequals(html.substr(i, closing.size()), closing)) {
      size_t close = html.find('>', i);
      return close == std::string_view::npos ? std::string_view::npos : close + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::string decode_html_entities(std::string_view text) {
  if (text.find('&') == std::string_view::npos) return std::string(text);
  static const std::pair<const char*, const char*> named[] = {
      {"amp", "&"},  {"lt", "<"},          {"gt", ">"},    {"quot", "\""},
      {"apos", "'"}, {"nbsp", "\xC2\xA0"}, {"sol", "/"},   {"equals", "="},
      {"plus", "+"}, {"grave", "`"},       {"colon", ":"},
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '&') {
      out += text[i++];
      continue;
    }
    size_t semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += text[i++];
      continue;
    }
    std::string_view ref = text.substr(i + 1, semi - i - 1);
    bool done = false;
    if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x' || ref[1] == 'X';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      bool ok = !digits.empty();
      for (char c : digits) {
        int d = c >= '0' && c <= '9'          ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + uint32_t(d);
        if (cp > 0x10FFFF) cp = 0x110000;  // saturate: stays invalid, never overflows
      }
      if (ok) {
        text::append_utf8(out, cp);
        done = true;
      }
    } else {
      for (const auto& [name, replacement] : named) {
        if (ref == name) {
          out += replacement;
          done = true;
          break;
        }
      }
    }
    if (done) {
      i = semi + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::vector<HtmlField> html_fields(std::string_view html, size_t max_fields) {
  std::vector<HtmlField> out;
  std::map<std::pair<int, std::string>, int> seen;  // (kind, name) → count so far
  auto add = [&](HtmlField::Kind kind, std::string name, std::string value) {
    int& n = seen[{int(kind), lowered(name)}];
    out.push_back({kind, std::move(name), std::move(value), n++});
  };
  size_t i = 0;
  while (out.size() < max_fields) {
    i = html.find('<', i);
    if (i == std::string_view::npos) break;
    if (html.substr(i, 4) == "<!--") {
      size_t close = html.find("-->", i + 4);
      if (close == std::string_view::npos) break;
      i = close + 3;
      continue;
    }
    auto tag = read_tag(html, i);
    if (!tag) {
      ++i;
      continue;
    }
    if (tag->end == std::string_view::npos) break;
    i = tag->end;
    if (tag->name == "input") {
      if (text::iequals(text::trim(attribute(*tag, "type")), "hidden") &&
          !attribute(*tag, "name").empty() && has_attribute(*tag, "value")) {
        add(HtmlField::Kind::hidden_input, std::string(attribute(*tag, "name")),
            std::string(attribute(*tag, "value")));
      }
    } else if (tag->name == "meta" && has_attribute(*tag, "content")) {
      std::string_view name = attribute(*tag, "name");
      if (name.empty()) name = attribute(*tag, "property");
      if (name.empty()) name = attribute(*tag, "http-equiv");
      if (!name.empty())
        add(HtmlField::Kind::meta, std::string(name), std::string(attribute(*tag, "content")));
    } else if (raw_text_element(tag->name)) {
      i = skip_raw_text(html, i, tag->name);
      if (i == std::string_view::npos) break;
    }
  }
  return out;
}

}  // namespace wa::replay
