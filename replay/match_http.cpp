// Matching HTTP responses (replay/matcher.h, "HTTP").
#include <algorithm>
#include <optional>

#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/body.h"
#include "replay/correlation.h"
#include "replay/json_diff.h"
#include "replay/match_normaliser.h"
#include "replay/matcher.h"

namespace wa::replay {

using namespace match_detail;

namespace {

std::string path_of(const store::Exchange& x) {
  auto u = url::parse(x.url);
  if (!u) return x.url;
  return u->path.empty() ? "/" : u->path;
}

// Content-Type compared as media type and parameters without case or spaces: RFC 9110 §8.3.1
// makes type, subtype, parameter names and the charset value case-insensitive.
std::string media_type_key(std::string_view v) {
  std::string out;
  for (char c : lower(v))
    if (c != ' ' && c != '\t') out += c;
  return out;
}

// A Location resolved against its request's URL (RFC 9110 §10.2.2), so that "/a" and
// "http://host/a" compare equal.
std::string absolute_location(std::string_view location, std::string_view request_url) {
  auto base = url::parse(request_url);
  if (!base) return std::string(location);
  auto resolved = url::resolve(*base, location);
  return resolved ? url::serialise(*resolved) : std::string(location);
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (true) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? end : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return lines;
}

bool continuation(std::string_view s, size_t i) {
  return i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
}

// Characters of context shown either side of the first difference in a line of text.
constexpr size_t kContext = 60;

// Up to kContext characters of `line` either side of byte `at` (a character's first byte),
// with "…" where the line goes on. Two lines equal before `at` give excerpts that line up.
std::string around(std::string_view line, size_t at) {
  size_t from = at;
  for (size_t n = 0; n < kContext && from > 0; ++n) {
    --from;
    while (from > 0 && continuation(line, from))
      --from;
  }
  size_t to = at;
  for (size_t n = 0; n < kContext && to < line.size(); ++n) {
    ++to;
    while (continuation(line, to))
      ++to;
  }
  return (from > 0 ? "…" : "") + std::string(line.substr(from, to - from)) +
         (to < line.size() ? "…" : "");
}

// The first differing line, named by its number and the column (in characters, from 1) where
// the two first differ, and shown around that column: a token at column 980 of a minified page
// is what the report shows.
void compare_text(std::string_view expected, std::string_view actual, Difference base,
                  std::vector<Difference>& out) {
  if (expected == actual) return;
  auto e = lines_of(expected), a = lines_of(actual);
  for (size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
    if (i < e.size() && i < a.size() && e[i] == a[i]) continue;
    base.path = "body line " + std::to_string(i + 1);
    if (i >= e.size() || i >= a.size()) {
      base.expected = i < e.size() ? around(e[i], 0) : std::string(kAbsent);
      base.actual = i < a.size() ? around(a[i], 0) : std::string(kAbsent);
      out.push_back(std::move(base));
      return;
    }
    size_t at = 0;
    while (at < e[i].size() && at < a[i].size() && e[i][at] == a[i][at])
      ++at;
    // Back to the first byte of the character they differ in (equal bytes before it).
    while (at > 0 && (continuation(e[i], at) || continuation(a[i], at)))
      --at;
    size_t column = 1;
    for (size_t k = 0; k < at; ++k)
      column += continuation(e[i], k) ? 0 : 1;
    base.path += ", column " + std::to_string(column);
    base.expected = around(e[i], at);
    base.actual = around(a[i], at);
    out.push_back(std::move(base));
    return;
  }
  // Only line endings differ.
  base.path = "body";
  base.expected = text_excerpt(expected);
  base.actual = text_excerpt(actual);
  out.push_back(std::move(base));
}

// Values the server issued for one response alone: a token of a response header that the body
// of the same response repeats, such as the nonce of a Content-Security-Policy that the page's
// inline scripts carry. Each recorded one is paired with the live response's token at the same
// place of the same header, when the live body repeats that one in turn; both then compare as
// the same placeholder. Only looked for when the bodies differ.
std::vector<ValuePair> per_response_values(const store::Exchange& recorded,
                                           const store::Exchange& live, std::string_view e_body,
                                           std::string_view a_body) {
  std::vector<ValuePair> out;
  // "'nonce-abc'" is one token; the body repeats only what follows "nonce-".
  auto issued = [](std::string_view token) {
    constexpr std::string_view kNonce = "nonce-";
    return token.starts_with(kNonce) ? token.substr(kNonce.size()) : token;
  };
  for (const auto& h : recorded.response_headers) {
    const store::Header* same = nullptr;
    for (const auto& l : live.response_headers) {
      if (text::iequals(l.name, h.name)) {
        same = &l;
        break;
      }
    }
    if (!same || same->value == h.value) continue;
    auto e_tokens = value_tokens(h.value), a_tokens = value_tokens(same->value);
    if (e_tokens.size() != a_tokens.size()) continue;
    for (size_t i = 0; i < e_tokens.size(); ++i) {
      std::string_view e = issued(e_tokens[i]), a = issued(a_tokens[i]);
      if (e == a || !worth_correlating(e) || !worth_correlating(a)) continue;
      if (e_body.find(e) == std::string_view::npos || a_body.find(a) == std::string_view::npos)
        continue;
      out.push_back({e, a, kPerResponseValue});
    }
  }
  return out;
}

}  // namespace

// ---- HTTP -----------------------------------------------------------------------------------

std::string endpoint_of(const store::Exchange& x) {
  return x.method + " " + path_of(x);
}

std::string where_of(const store::Exchange& x) {
  std::string target = x.url;
  if (auto u = url::parse(x.url)) target = u->target();
  return x.method + " " + text_excerpt(target, 80);
}

std::vector<Difference> compare_response(const store::Exchange& recorded,
                                         const store::Exchange& live, const MatchContext& ctx,
                                         const HttpMatchOptions& options) {
  std::vector<Difference> out;
  Difference base;
  // where_of() and endpoint_of(), from one parse of the URL.
  if (auto u = url::parse(recorded.url)) {
    base.where = recorded.method + " " + text_excerpt(u->target(), 80);
    base.scope = recorded.method + " " + (u->path.empty() ? std::string("/") : u->path);
  } else {
    base.where = recorded.method + " " + text_excerpt(recorded.url, 80);
    base.scope = recorded.method + " " + recorded.url;
  }

  if (recorded.status != live.status) {
    Difference d = base;
    d.kind = DiffKind::status;
    d.path = "status";
    d.expected = recorded.status ? std::to_string(recorded.status) : "no response";
    d.actual = live.status ? std::to_string(live.status)
                           : "no response" + (live.error.empty() ? "" : " (" + live.error + ")");
    out.push_back(std::move(d));
    mark_noise(out, ctx);
    return out;
  }
  if (!recorded.has_response()) return out;

  MatchNormaliser n(ctx, base.scope);
  for (const std::string& name : options.headers) {
    if (ctx.noise && ctx.noise->covers_header(base.scope, name)) continue;
    std::string e(header_value(recorded.response_headers, name));
    std::string a(header_value(live.response_headers, name));
    bool e_has = false, a_has = false;
    for (const auto& h : recorded.response_headers)
      e_has = e_has || text::iequals(h.name, name);
    for (const auto& h : live.response_headers)
      a_has = a_has || text::iequals(h.name, name);
    if (!e_has && !a_has) continue;
    std::string lname = lower(name);
    if (lname == "content-type") {
      e = media_type_key(e);
      a = media_type_key(a);
    } else if (lname == "location") {
      e = absolute_location(e, recorded.url);
      if (options.map_url) e = options.map_url(e);
      if (!live.url.empty()) a = absolute_location(a, live.url);
    }
    e = n.text(e, false);
    a = n.text(a, true);
    if (e_has == a_has && e == a) continue;
    Difference d = base;
    d.kind = DiffKind::header;
    d.path = "header " + lname;
    d.expected = e_has ? text_excerpt(e) : std::string(kAbsent);
    d.actual = a_has ? text_excerpt(a) : std::string(kAbsent);
    out.push_back(std::move(d));
  }

  Difference body = base;
  body.kind = DiffKind::body;
  body.path = "body";
  const store::Payload& rp = recorded.response_body;
  const store::Payload& lp = live.response_body;
  if (rp.is_unknown()) {
    // The recording does not hold this body (an imported HAR without it): not compared.
    mark_noise(out, ctx);
    return out;
  }
  if (rp.truncated() || lp.truncated()) {
    // The recorder kept the length and hash of the whole body as received, and so does the
    // replay client of a live body over its cap (CappedBody): compared by them alone.
    auto whole = [](const store::Payload& p) {
      return std::pair{p.truncated() ? p.full_length : static_cast<std::int64_t>(p.bytes.size()),
                       p.truncated() ? p.sha256 : sha256_hex(p.bytes)};
    };
    auto [e_length, e_hash] = whole(rp);
    auto [a_length, a_hash] = whole(lp);
    if (e_length != a_length || e_hash != a_hash) {
      body.expected = size_and_hash(e_length, e_hash);
      body.actual = size_and_hash(a_length, a_hash);
      out.push_back(std::move(body));
    }
    mark_noise(out, ctx);
    return out;
  }
  // The same bytes under the same coding decode alike (or fail alike, and then compare as
  // equal bytes): no difference, without decoding a large script twice per copy.
  if (rp.bytes == lp.bytes && recorded.response_encoding == live.response_encoding) {
    mark_noise(out, ctx);
    return out;
  }
  auto e_body = decode_content(rp.bytes, recorded.response_encoding);
  auto a_body = decode_content(lp.bytes, live.response_encoding);
  if (e_body && a_body && *e_body == *a_body) {
    mark_noise(out, ctx);
    return out;
  }
  // Per-response values become placeholders as correlated ones do: a normaliser that knows
  // them too (rarely any: only when a header's token recurs in the body).
  std::vector<ValuePair> with_response_values;
  MatchContext response_ctx;
  std::optional<MatchNormaliser> response_n;
  if (e_body && a_body) {
    std::vector<ValuePair> own = per_response_values(recorded, live, *e_body, *a_body);
    if (!own.empty()) {
      with_response_values.assign(ctx.values.begin(), ctx.values.end());
      with_response_values.insert(with_response_values.end(), own.begin(), own.end());
      response_ctx = {with_response_values, ctx.noise, spell_values(with_response_values)};
      response_n.emplace(response_ctx, base.scope);
    }
  }
  const MatchNormaliser& bn = response_n ? *response_n : n;

  std::string_view content_type = header_value(recorded.response_headers, "content-type");
  BodyKind kind = e_body ? body_kind(content_type, *e_body) : BodyKind::binary;
  if (!a_body) kind = BodyKind::binary;
  if (kind == BodyKind::empty && a_body && !a_body->empty())
    kind = body_kind(header_value(live.response_headers, "content-type"), *a_body);

  std::optional<Json> e_doc, a_doc;
  if (kind == BodyKind::json) {
    auto e_parsed = sio::parse_json(*e_body, Errc::bad_encoding);
    auto a_parsed = sio::parse_json(*a_body, Errc::bad_encoding);
    if (e_parsed && a_parsed) {
      e_doc = std::move(*e_parsed);
      a_doc = std::move(*a_parsed);
    } else if (e_parsed || a_parsed) {
      body.expected = e_parsed ? text_excerpt(*e_body) : "(not JSON) " + text_excerpt(*e_body);
      body.actual = a_parsed ? text_excerpt(*a_body) : "(not JSON) " + text_excerpt(*a_body);
      out.push_back(std::move(body));
      mark_noise(out, ctx);
      return out;
    } else {
      kind = BodyKind::text;  // labelled JSON, neither is: compare as text
    }
  }
  switch (kind) {
    case BodyKind::empty:
      break;
    case BodyKind::json: {
      std::vector<JsonDifference> diffs;
      json_diff(bn.json(*e_doc, false), bn.json(*a_doc, true), diffs);
      for (auto& jd : diffs) {
        Difference d = base;
        d.kind = DiffKind::json;
        d.path = std::move(jd.path);
        d.expected = std::move(jd.expected);
        d.actual = std::move(jd.actual);
        out.push_back(std::move(d));
      }
      break;
    }
    case BodyKind::html:
    case BodyKind::text:
      compare_text(bn.text(*e_body, false), bn.text(*a_body, true), body, out);
      break;
    case BodyKind::binary:
      if (rp.bytes != lp.bytes && (!e_body || !a_body || *e_body != *a_body)) {
        body.expected = size_and_hash(std::int64_t(rp.bytes.size()), sha256_hex(rp.bytes));
        body.actual = size_and_hash(std::int64_t(lp.bytes.size()), sha256_hex(lp.bytes));
        out.push_back(std::move(body));
      }
      break;
  }
  mark_noise(out, ctx);
  return out;
}
}  // namespace wa::replay
