#include <string>

#include "cli/not_built.h"

namespace wa::cli {

void add_ls(CLI::App& app) {
  auto* sub = app.add_subcommand("ls", "List the recordings of a capture file");
  static std::string db = "captures/workalready.sqlite";
  sub->add_option("--db", db, "Capture file")->capture_default_str();
  set_action(sub, not_built("ls"));
}

}  // namespace wa::cli
