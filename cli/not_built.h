// Commands of the DESIGN.md contract whose engine is not built yet say so and exit 2.
#pragma once

#include <string>

#include "cli/command.h"

namespace wa::cli {

inline Action not_built(std::string command) {
  return [command] {
    return usage_error("'" + command + "' is not built yet in this version");
  };
}

}  // namespace wa::cli
