#include "replay/json_diff.h"

#include <unordered_map>

namespace wa::replay {
namespace {

constexpr std::string_view kAbsent = "(absent)";

std::optional<size_t> array_index(std::string_view token) {
  if (token.empty() || token.size() > 18) return std::nullopt;
  if (token.size() > 1 && token[0] == '0') return std::nullopt;
  size_t n = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + size_t(c - '0');
  }
  return n;
}

bool numbers_equal(const Json& a, const Json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    // Signed and unsigned 64-bit integers: compare exactly, not through double.
    if (a.is_number_unsigned() && b.is_number_unsigned())
      return a.get<uint64_t>() == b.get<uint64_t>();
    if (!a.is_number_unsigned() && !b.is_number_unsigned())
      return a.get<int64_t>() == b.get<int64_t>();
    const Json& u = a.is_number_unsigned() ? a : b;
    const Json& s = a.is_number_unsigned() ? b : a;
    return s.get<int64_t>() >= 0 && uint64_t(s.get<int64_t>()) == u.get<uint64_t>();
  }
  return a.get<double>() == b.get<double>();
}

void diff(const Json& e, const Json& a, std::string& path, std::vector<JsonDifference>& out,
          size_t max) {
  if (out.size() >= max) return;
  auto report = [&](std::string exp, std::string act) {
    if (out.size() < max) out.push_back({path, std::move(exp), std::move(act)});
  };
  if (e.is_number() && a.is_number()) {
    if (!numbers_equal(e, a)) report(json_excerpt(e), json_excerpt(a));
    return;
  }
  if (e.type() != a.type()) {
    report(json_excerpt(e), json_excerpt(a));
    return;
  }
  size_t mark = path.size();
  if (e.is_object()) {
    // ordered_json finds members by linear search; index the larger objects so that a wide
    // object costs linear time, not quadratic (see protocol/socketio_json.h).
    auto index = [](const Json& object) {
      std::unordered_map<std::string_view, const Json*> keys;
      if (object.size() > 16) {
        keys.reserve(object.size());
        for (auto it = object.begin(); it != object.end(); ++it)
          keys.emplace(it.key(), &it.value());
      }
      return keys;
    };
    auto e_keys = index(e), a_keys = index(a);
    auto lookup = [](const Json& object, const auto& keys, const std::string& key) -> const Json* {
      if (object.size() > 16) {
        auto it = keys.find(key);
        return it == keys.end() ? nullptr : it->second;
      }
      auto it = object.find(key);
      return it == object.end() ? nullptr : &*it;
    };
    for (auto it = e.begin(); it != e.end(); ++it) {
      path = pointer_append(path, it.key());
      if (const Json* other = lookup(a, a_keys, it.key())) {
        diff(it.value(), *other, path, out, max);
      } else {
        report(json_excerpt(it.value()), std::string(kAbsent));
      }
      path.resize(mark);
    }
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (lookup(e, e_keys, it.key())) continue;
      path = pointer_append(path, it.key());
      report(std::string(kAbsent), json_excerpt(it.value()));
      path.resize(mark);
    }
    return;
  }
  if (e.is_array()) {
    size_t n = std::max(e.size(), a.size());
    for (size_t i = 0; i < n && out.size() < max; ++i) {
      path = pointer_append(path, i);
      if (i >= a.size()) {
        report(json_excerpt(e[i]), std::string(kAbsent));
      } else if (i >= e.size()) {
        report(std::string(kAbsent), json_excerpt(a[i]));
      } else {
        diff(e[i], a[i], path, out, max);
      }
      path.resize(mark);
    }
    return;
  }
  if (e != a) report(json_excerpt(e), json_excerpt(a));
}

}  // namespace

std::string pointer_append(std::string_view base, std::string_view key) {
  std::string out(base);
  out += '/';
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string pointer_append(std::string_view base, size_t index) {
  return std::string(base) + "/" + std::to_string(index);
}

std::optional<std::vector<std::string>> split_pointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') return std::nullopt;
  std::string token;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    if (pointer[i] == '~') {
      if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))
        return std::nullopt;
      token += pointer[i + 1] == '0' ? '~' : '/';
      ++i;
      continue;
    }
    token += pointer[i];
  }
  return tokens;
}

const Json* resolve_pointer(const Json& document, std::string_view pointer) {
  auto tokens = split_pointer(pointer);
  if (!tokens) return nullptr;
  const Json* at = &document;
  for (const std::string& token : *tokens) {
    if (at->is_object()) {
      auto it = at->find(token);
      if (it == at->end()) return nullptr;
      at = &*it;
    } else if (at->is_array()) {
      auto index = array_index(token);
      if (!index || *index >= at->size()) return nullptr;
      at = &(*at)[*index];
    } else {
      return nullptr;
    }
  }
  return at;
}

bool pointer_covers(std::string_view pattern, std::string_view path) {
  auto p = split_pointer(pattern);
  auto d = split_pointer(path);
  if (!p || !d || p->size() > d->size()) return false;
  for (size_t i = 0; i < p->size(); ++i) {
    if ((*p)[i] != "*" && (*p)[i] != (*d)[i]) return false;
  }
  return true;
}

void json_diff(const Json& expected, const Json& actual, std::vector<JsonDifference>& out,
               std::string_view base, size_t max) {
  std::string path(base);
  diff(expected, actual, path, out, max);
}

bool json_equal(const Json& a, const Json& b) {
  std::vector<JsonDifference> out;
  json_diff(a, b, out, "", 1);
  return out.empty();
}

std::string text_excerpt(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t cut = limit;
  // Back up to the start of a UTF-8 character so the excerpt stays valid text.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  return std::string(text.substr(0, cut)) + "…";
}

std::string json_excerpt(const Json& value, size_t limit) {
  return text_excerpt(sio::dump_json(value), limit);
}

}  // namespace wa::replay
