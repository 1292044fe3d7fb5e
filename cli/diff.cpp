#include <string>
#include <vector>

#include "cli/not_built.h"

namespace wa::cli {

void add_diff(CLI::App& app) {
  auto* sub = app.add_subcommand("diff", "Replay against two builds and report differences");
  static std::string db = "captures/workalready.sqlite", a, b, a2, html;
  static std::vector<std::string> recordings;
  sub->add_option("--db", db, "Capture file")->capture_default_str();
  sub->add_option("RECORDING", recordings, "Recording ids or names (default: all)");
  sub->add_option("--a", a, "URL of build A")->required();
  sub->add_option("--b", b, "URL of build B")->required();
  sub->add_option("--a2", a2, "A second instance of A, to learn noise from");
  sub->add_option("--report-html", html, "Write a self-contained HTML report");
  set_action(sub, not_built("diff"));
}

}  // namespace wa::cli
