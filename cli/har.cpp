#include <string>

#include "cli/not_built.h"

namespace wa::cli {

void add_har(CLI::App& app) {
  auto* har = app.add_subcommand("har", "Export or import HAR 1.2 files");
  har->require_subcommand(1);
  static std::string db = "captures/workalready.sqlite", recording, out, in;
  auto* exp = har->add_subcommand("export", "Write one recording as HAR 1.2");
  exp->add_option("--db", db, "Capture file")->capture_default_str();
  exp->add_option("RECORDING", recording, "Recording id or name")->required();
  exp->add_option("-o", out, "Output file")->required();
  set_action(exp, not_built("har export"));
  auto* imp = har->add_subcommand("import", "Import a HAR file as a new recording");
  imp->add_option("FILE", in, "HAR file")->required();
  imp->add_option("--db", db, "Capture file")->capture_default_str();
  set_action(imp, not_built("har import"));
}

}  // namespace wa::cli
