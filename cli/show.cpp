#include <string>

#include "cli/not_built.h"

namespace wa::cli {

void add_show(CLI::App& app) {
  auto* sub = app.add_subcommand("show", "Print a readable timeline of one recording");
  static std::string db = "captures/workalready.sqlite", recording;
  sub->add_option("--db", db, "Capture file")->capture_default_str();
  sub->add_option("RECORDING", recording, "Recording id or name (default: the latest)");
  set_action(sub, not_built("show"));
}

}  // namespace wa::cli
