#include "proxy/host_filter.h"

#include <fnmatch.h>

namespace wa::proxy {

bool matches_any(const std::vector<std::string>& globs, std::string_view host) {
  std::string h(host);
  for (const auto& glob : globs) {
    if (::fnmatch(glob.c_str(), h.c_str(), FNM_CASEFOLD) == 0) return true;
  }
  return false;
}

bool is_recorded(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
                 std::string_view host) {
  if (!include.empty() && !matches_any(include, host)) return false;
  return !matches_any(exclude, host);
}

}  // namespace wa::proxy
