#include <string>

#include "cli/not_built.h"

namespace wa::cli {

void add_ca(CLI::App& app) {
  auto* sub = app.add_subcommand("ca", "Create the local CA if missing; print how to trust it");
  static std::string ca_dir;
  sub->add_option("--ca-dir", ca_dir, "Folder of the local CA (default ~/.workalready)");
  set_action(sub, not_built("ca"));
}

}  // namespace wa::cli
