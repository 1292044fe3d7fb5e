#include "storage/har_redact.h"

#include <algorithm>
#include <map>
#include <vector>

#include "protocol/secret_names.h"
#include "protocol/text.h"
#include "protocol/url.h"

namespace wa::store {
namespace {

using Json = nlohmann::ordered_json;

// ---- Redaction ------------------------------------------------------------------------------
//
// Two passes. The first learns every secret of the recording (Secrets::learn_recording): the
// values of credential-like headers, every cookie value, credential-like query, form and JSON
// fields, the data of Socket.IO CONNECT packets, the fields of Server-Sent Events, and what
// --redact-header and --redact-field name. Each distinct value gets one placeholder,
// "REDACTED-<kind>-<name>-<n>". The second writes every text of the HAR with the secrets at
// those places replaced, whatever their length, and then every recurrence of a secret of at
// least kMinByValue bytes, anywhere (raw, percent-encoded or JSON-escaped), by value.

constexpr size_t kMinByValue = 6;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// A name as a placeholder may hold it: token characters only.
std::string placeholder_name(std::string_view name) {
  std::string out;
  for (char c : lower(name)) {
    bool keep =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    out += keep ? c : '_';
  }
  return out.empty() ? "value" : out;
}

bool common_word(std::string_view value) {
  static const char* const kWords[] = {"true",    "false",  "null",  "undefined", "websocket",
                                       "polling", "bearer", "basic", "session",   "cookie"};
  std::string l = lower(value);
  for (const char* w : kWords)
    if (l == w) return true;
  return false;
}

bool is_scalar_secret(const Json& j) {
  return j.is_string() || j.is_number();
}

std::string scalar_text(const Json& j) {
  return j.is_string() ? j.get<std::string>() : j.dump();
}

// A Socket.IO / Engine.IO packet: its type digits (and a namespace) before the JSON. Returns
// where the JSON starts, npos when the text is no such packet or plain JSON (0).
size_t json_start(std::string_view text) {
  size_t start = text.find_first_of("[{");
  if (start == std::string_view::npos) return start;
  for (size_t i = 0; i < start; ++i) {
    char c = text[i];
    bool packet = (c >= '0' && c <= '9') || c == '/' || c == ',' || c == '-' || c == '_' ||
                  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ' ' || c == '\n' ||
                  c == '\r' || c == '\t';
    if (!packet) return std::string_view::npos;
  }
  return start;
}

// "40{…}", "40/chat,{…}": a Socket.IO CONNECT packet (its data is the auth payload).
bool connect_packet(std::string_view prefix) {
  prefix = text::trim(prefix);
  return prefix == "40" || (prefix.starts_with("40/") && prefix.ends_with(","));
}

class Secrets {
 public:
  explicit Secrets(const RedactOptions& r) : r_(r) {}

  bool active() const { return r_.enabled || !r_.headers.empty() || !r_.json_fields.empty(); }

  // The placeholder of `value`, learnt with `kind` and `name` when new ("" for "").
  const std::string& learn(std::string_view kind, std::string_view name, std::string_view value) {
    static const std::string none;
    if (value.empty()) return none;
    auto it = by_value_.find(value);
    if (it != by_value_.end()) return it->second;
    std::string label = std::string(kind) + "-" + placeholder_name(name);
    std::string ph = std::string(kRedacted) + "-" + label + "-" + std::to_string(++numbers_[label]);
    it = by_value_.emplace(std::string(value), ph).first;
    if (value.size() >= kMinByValue && !common_word(value)) {
      std::string json = Json(std::string(value)).dump();
      json = json.substr(1, json.size() - 2);
      std::string slash;
      for (char c : json)
        slash += c == '/' ? std::string("\\/") : std::string(1, c);
      for (const std::string& spelled :
           {std::string(value), url::percent_encode(value),
            url::percent_encode(value, url::Flavour::form), json, slash})
        if (spelled.size() >= kMinByValue) spelled_.emplace_back(spelled, ph);
      sorted_ = false;
    }
    return it->second;
  }

  const std::string* find(std::string_view value) const {
    auto it = by_value_.find(value);
    return it == by_value_.end() ? nullptr : &it->second;
  }

  // Whether a header's value is a credential (cookies aside).
  bool secret_header(std::string_view name) const {
    if (r_.enabled && secrets::credential_name(name)) return true;
    for (const auto& h : r_.headers)
      if (text::iequals(h, name)) return true;
    return false;
  }
  bool secret_field(std::string_view name) const {
    if (r_.enabled && secrets::credential_name(name)) return true;
    for (const auto& f : r_.json_fields)
      if (f == name) return true;
    return false;
  }
  bool cookies() const { return r_.enabled; }

  // Every known secret of kMinByValue bytes or more in `text`, in any spelling, replaced.
  std::string by_value(std::string_view text) {
    if (spelled_.empty() || text.empty()) return std::string(text);
    if (!sorted_) {
      std::stable_sort(spelled_.begin(), spelled_.end(), [](const auto& a, const auto& b) {
        return a.first.size() > b.first.size();
      });
      sorted_ = true;
    }
    std::string out(text);
    for (const auto& [spelled, ph] : spelled_) {
      for (size_t at = out.find(spelled); at != std::string::npos;
           at = out.find(spelled, at + ph.size()))
        out.replace(at, spelled.size(), ph);
    }
    return out;
  }

  // ---- Learning

  void learn_header(std::string_view name, std::string_view value) {
    if (cookies() && text::iequals(name, "cookie")) {
      for_each_cookie(value,
                      [&](std::string_view n, std::string_view v) { learn("cookie", n, v); });
    } else if (cookies() && text::iequals(name, "set-cookie")) {
      std::string_view pair = text::trim(value.substr(0, value.find(';')));
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos)
        learn("cookie", text::trim(pair.substr(0, eq)), text::trim(pair.substr(eq + 1)));
    } else if (secret_header(name)) {
      learn("header", name, credential(value));
    }
  }

  void learn_url(std::string_view u) {
    if (!r_.enabled) return;
    auto parsed = url::parse(u);
    if (!parsed || !parsed->has_query) return;
    const url::Query params(parsed->query);
    for (const auto& p : params.params())
      if (secrets::credential_name(p.name())) {
        const std::string& ph = learn("query", p.name(), p.value());
        if (!ph.empty() && p.raw_value != p.value()) by_value_.emplace(p.raw_value, ph);
      }
  }

  // A body or message: JSON (a packet's too), or a form.
  void learn_text(std::string_view t) {
    size_t start = json_start(t);
    if (start != std::string_view::npos) {
      Json parsed = Json::parse(t.substr(start), nullptr, false);
      if (!parsed.is_discarded()) {
        bool auth = r_.enabled && connect_packet(t.substr(0, start));
        walk(parsed, "", auth, auth ? "auth" : "field");
        return;
      }
    }
    if (!r_.enabled) return;
    std::string_view f = text::trim(t);
    if (f.empty() || f.find('=') == std::string_view::npos ||
        f.find_first_of(" \n<{[\"") != std::string_view::npos)
      return;
    const url::Query form(f);
    for (const auto& p : form.params())
      if (secrets::credential_name(p.name())) learn("field", p.name(), p.value());
  }

  void learn_recording(const RecordingData& rec) {
    for (const auto& x : rec.exchanges) {
      for (const auto& h : x.request_headers)
        learn_header(h.name, h.value);
      for (const auto& h : x.response_headers)
        learn_header(h.name, h.value);
      learn_url(x.url);
      for (const Payload* body : {&x.request_body, &x.response_body})
        if (!body->is_unknown() && text::is_valid_utf8(body->bytes)) learn_text(body->bytes);
    }
    if (r_.enabled)
      for (const auto& c : rec.cookies)
        learn("cookie", c.name, c.value);
    for (const auto& p : rec.packets) {
      if (p.args.empty()) continue;
      Json parsed = Json::parse(p.args, nullptr, false);
      if (parsed.is_discarded()) continue;
      bool auth = r_.enabled && p.sio_type == 0 && p.direction == Direction::client;
      walk(parsed, "", auth, auth ? "auth" : "field");
    }
    for (const auto& m : rec.ws_messages)
      if (m.opcode == 1) learn_text(m.payload.bytes);
    for (const auto& e : rec.sse_events)
      learn_text(e.data);
  }

  // ---- Writing

  std::string header(std::string_view name, std::string_view value) {
    if (cookies() && text::iequals(name, "cookie")) {
      std::string out;
      size_t start = 0;
      while (start <= value.size()) {
        size_t end = value.find(';', start);
        std::string_view pair =
            value.substr(start, end == std::string_view::npos ? value.npos : end - start);
        if (start > 0) out += ";";
        size_t eq = pair.find('=');
        if (eq == std::string_view::npos) {
          out += pair;
        } else {
          const std::string* ph = find(text::trim(pair.substr(eq + 1)));
          out += std::string(pair.substr(0, eq + 1));
          if (ph) {
            if (eq + 1 < pair.size() && pair[eq + 1] == ' ') out += ' ';
            out += *ph;
          } else {
            out += pair.substr(eq + 1);
          }
        }
        if (end == std::string_view::npos) break;
        start = end + 1;
      }
      return by_value(out);
    }
    if (cookies() && text::iequals(name, "set-cookie")) {
      size_t semi = value.find(';');
      std::string_view pair = value.substr(0, semi);
      size_t eq = pair.find('=');
      std::string out(value);
      if (eq != std::string_view::npos)
        if (const std::string* ph = find(text::trim(pair.substr(eq + 1))))
          out = std::string(pair.substr(0, eq + 1)) + *ph +
                (semi == std::string_view::npos ? "" : std::string(value.substr(semi)));
      return by_value(out);
    }
    if (secret_header(name)) {
      std::string_view cred = credential(value);
      if (const std::string* ph = find(cred))
        return std::string(value.substr(0, size_t(cred.data() - value.data()))) + *ph;
    }
    return by_value(value);
  }

  std::string url_text(std::string_view u) {
    if (!r_.enabled) return by_value(u);
    size_t q = u.find('?');
    if (q == std::string_view::npos) return by_value(u);
    size_t hash = u.find('#', q);
    url::Query query(u.substr(q + 1, hash == std::string_view::npos ? u.npos : hash - q - 1));
    for (auto& p : query.params())
      if (secrets::credential_name(p.name()))
        if (const std::string* ph = find(p.value())) p.raw_value = *ph;
    return by_value(std::string(u.substr(0, q + 1)) + query.str() +
                    (hash == std::string_view::npos ? "" : std::string(u.substr(hash))));
  }

  std::string query_value(std::string_view name, std::string_view value) {
    if (r_.enabled && secrets::credential_name(name))
      if (const std::string* ph = find(value)) return *ph;
    return by_value(value);
  }

  std::string cookie_value(std::string_view value) {
    if (cookies())
      if (const std::string* ph = find(value)) return *ph;
    return by_value(value);
  }

  // A body or message: its secret fields replaced where they are, then every secret by value.
  std::string body(std::string_view t) {
    size_t start = json_start(t);
    if (start != std::string_view::npos) {
      Json parsed = Json::parse(t.substr(start), nullptr, false);
      if (!parsed.is_discarded() &&
          replace(parsed, r_.enabled && connect_packet(t.substr(0, start))))
        return by_value(std::string(t.substr(0, start)) +
                        parsed.dump(-1, ' ', false, Json::error_handler_t::replace));
    } else if (r_.enabled) {
      std::string_view f = text::trim(t);
      if (!f.empty() && f.size() == t.size() && f.find('=') != std::string_view::npos &&
          f.find_first_of(" \n<{[\"") == std::string_view::npos) {
        url::Query form(f);
        bool changed = false;
        for (auto& p : form.params())
          if (secrets::credential_name(p.name()))
            if (const std::string* ph = find(p.value())) {
              p.raw_value = *ph;
              changed = true;
            }
        if (changed) return by_value(form.str());
      }
    }
    return by_value(t);
  }

 private:
  // The credential of a header value: after its auth scheme ("Bearer abc" → "abc").
  static std::string_view credential(std::string_view value) {
    std::string_view v = text::trim(value);
    size_t space = v.find(' ');
    if (space != std::string_view::npos && space > 0 &&
        v.find(' ', space + 1) == std::string_view::npos)
      return text::trim(v.substr(space + 1));
    return v;
  }

  template <typename F>
  static void for_each_cookie(std::string_view value, F f) {
    while (!value.empty()) {
      size_t semi = value.find(';');
      std::string_view pair = text::trim(value.substr(0, semi));
      value = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos)
        f(text::trim(pair.substr(0, eq)), text::trim(pair.substr(eq + 1)));
    }
  }

  // Learns every scalar under a secret name (or all of them, `kind` "auth": a CONNECT packet's
  // data).
  void walk(const Json& j, std::string_view key, bool secret, std::string_view kind = "field") {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it)
        walk(it.value(), it.key(), secret || secret_field(it.key()), kind);
    } else if (j.is_array()) {
      for (const Json& e : j)
        walk(e, key, secret, kind);
    } else if (secret && is_scalar_secret(j)) {
      learn(kind, key.empty() ? "data" : key, scalar_text(j));
    }
  }

  // Replaces the secret fields of `j` (every scalar under a secret name, or all of them);
  // whether it changed anything.
  bool replace(Json& j, bool secret) {
    bool changed = false;
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it)
        changed = replace(it.value(), secret || secret_field(it.key())) || changed;
    } else if (j.is_array()) {
      for (Json& e : j)
        changed = replace(e, secret) || changed;
    } else if (secret && is_scalar_secret(j)) {
      if (const std::string* ph = find(scalar_text(j))) {
        j = *ph;
        changed = true;
      }
    }
    return changed;
  }

  const RedactOptions& r_;
  std::map<std::string, std::string, std::less<>> by_value_;
  std::map<std::string, int> numbers_;
  std::vector<std::pair<std::string, std::string>> spelled_;
  bool sorted_ = true;
};

}  // namespace

struct HarRedactor::Impl : Secrets {
  using Secrets::Secrets;
};

HarRedactor::HarRedactor(const RedactOptions& options) : impl_(std::make_unique<Impl>(options)) {}
HarRedactor::~HarRedactor() = default;

bool HarRedactor::active() const {
  return impl_->active();
}
void HarRedactor::learn_recording(const RecordingData& rec) {
  impl_->learn_recording(rec);
}
std::string HarRedactor::header(std::string_view name, std::string_view value) {
  return impl_->header(name, value);
}
std::string HarRedactor::url_text(std::string_view u) {
  return impl_->url_text(u);
}
std::string HarRedactor::query_value(std::string_view name, std::string_view value) {
  return impl_->query_value(name, value);
}
std::string HarRedactor::cookie_value(std::string_view value) {
  return impl_->cookie_value(value);
}
std::string HarRedactor::body(std::string_view t) {
  return impl_->body(t);
}
std::string HarRedactor::by_value(std::string_view text) {
  return impl_->by_value(text);
}

}  // namespace wa::store
