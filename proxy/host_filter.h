// Host lists given as shell globs (--include, --exclude, --no-intercept).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wa::proxy {

// Whether `host` matches any of the globs (fnmatch, case-insensitive; IPv6 without brackets).
bool matches_any(const std::vector<std::string>& globs, std::string_view host);

// --include/--exclude: recorded unless excluded, and only what is included when there is an
// include list.
bool is_recorded(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
                 std::string_view host);

}  // namespace wa::proxy
