#include "protocol/secret_names.h"

#include <array>
#include <string>

#include "protocol/text.h"

namespace wa::secrets {

namespace {

// Words that hold a credential word without being one.
constexpr std::array<std::string_view, 6> kLookAlikes = {"author", "keyboard", "keyword",
                                                         "monkey", "turkey",   "donkey"};

constexpr std::array<std::string_view, 11> kParts = {"token",   "secret",     "key",      "auth",
                                                     "session", "sessid",     "csrf",     "xsrf",
                                                     "passw",   "credential", "signature"};

constexpr std::array<std::string_view, 7> kWhole = {"sid", "pass",   "pwd",       "jwt",
                                                    "otp", "cookie", "set-cookie"};

}  // namespace

bool credential_name(std::string_view name) {
  if (name.empty()) return false;
  std::string n = text::to_lower(name);
  for (std::string_view whole : kWhole)
    if (n == whole) return true;
  // Look-alike words are blanked out before the parts are searched for.
  for (std::string_view look : kLookAlikes)
    for (size_t at = n.find(look); at != std::string::npos; at = n.find(look, at + 1)) {
      // "authorization", "authorise": the credential word, not the look-alike.
      if (look == "author" && n.compare(at + look.size(), 1, "i") == 0) continue;
      n.replace(at, look.size(), std::string(look.size(), ' '));
    }
  for (std::string_view part : kParts)
    if (n.find(part) != std::string::npos) return true;
  // "connect.sid", "io_sid": a sid after a separator.
  if (n.size() > 4 && n.ends_with("sid")) {
    char before = n[n.size() - 4];
    return before == '.' || before == '_' || before == '-';
  }
  return false;
}

}  // namespace wa::secrets
