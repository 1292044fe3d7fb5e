// URL parsing, resolution, normalisation, serialisation, queries and substitution.
// Input: "<reference>" or "<base>\n<reference>". Properties checked (a failure traps):
// - serialise(parse(x)) parses back to the same Url;
// - normalise is idempotent, and stable through a serialise/parse round trip;
// - a resolved reference serialises to text that parses and normalises to the same Url;
// - a Query re-serialises byte for byte; percent-encoding round-trips; canonical IPv6 text is
//   its own canonical form.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/url.h"

using namespace wa::url;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void exercise(const Url& u, std::string_view input) {
  std::string text = serialise(u);
  auto back = parse_reference(text);
  check(back.ok() && *back == u);

  Url n = normalise(u);
  check(normalise(n) == n);
  auto reparsed = parse_reference(serialise(n));
  check(reparsed.ok() && normalise(*reparsed) == n);

  (void)origin(u);
  (void)u.host_header();
  (void)u.target();
  (void)u.effective_port();

  if (u.has_query) {
    Query q(u.query);
    check(q.str() == u.query);
    for (const auto& p : q.params())
      (void)q.get(p.name());
    q.set("sid", input.substr(0, 8));
    q.add(input.substr(0, 3), "v");
    (void)q.remove("EIO");
    check(Query(q.str()).str() == q.str());
  }
  if (input.size() >= 2) {
    Url copy = u;
    (void)substitute(copy, input.substr(input.size() / 2, 3), input.substr(0, 4));
    check(parse_reference(serialise(copy)).ok());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto u = parse_reference(input)) exercise(*u, input);
  (void)parse(input);
  if (auto o = parse_origin_form(input))
    check(o->target() == std::string(input.empty() ? "/" : input));
  (void)parse_authority_form(input);

  size_t newline = input.find('\n');
  if (newline != std::string_view::npos) {
    auto base = parse(input.substr(0, newline));
    if (base) {
      auto t = resolve(*base, input.substr(newline + 1));
      if (t) {
        check(t->is_absolute());
        auto again = parse_reference(serialise(*t));
        check(again.ok() && normalise(*again) == normalise(*t));
      }
      (void)map_origin(input.substr(newline + 1), *base, *base);
    }
  }

  for (Flavour f : {Flavour::component, Flavour::form}) {
    auto decoded = percent_decode(percent_encode(input, f), f);
    check(decoded.ok() && *decoded == input);
    (void)percent_decode_lenient(input, f);
  }
  if (auto v6 = canonical_ipv6(input)) check(canonical_ipv6(*v6) == v6);
  (void)remove_dot_segments(input);
  return 0;
}
