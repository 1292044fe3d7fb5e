#include <string>
#include <vector>

#include "cli/not_built.h"

namespace wa::cli {

void add_replay(CLI::App& app) {
  auto* sub = app.add_subcommand("replay", "Replay recordings against a server and compare");
  static std::string db = "captures/workalready.sqlite", target, rules, json, junit, html;
  static std::vector<std::string> recordings, maps;
  static bool calibrate = false;
  static int concurrency = 1, repeat = 1;
  sub->add_option("--db", db, "Capture file")->capture_default_str();
  sub->add_option("RECORDING", recordings, "Recording ids or names (default: all)");
  sub->add_option("--target", target, "URL that the recording's main origin maps to")->required();
  sub->add_option("--map", maps, "ORIGIN=URL for further origins (repeatable)");
  sub->add_option("--rules", rules, "Rules file (JSON): extract/substitute and noise rules");
  sub->add_flag("--calibrate", calibrate, "Replay twice and store what differs as noise rules");
  sub->add_option("--concurrency", concurrency, "Sessions at once")->check(CLI::PositiveNumber);
  sub->add_option("--repeat", repeat, "Copies of each session")->check(CLI::PositiveNumber);
  sub->add_option("--report-json", json, "Write a JSON report");
  sub->add_option("--report-junit", junit, "Write a JUnit XML report");
  sub->add_option("--report-html", html, "Write a self-contained HTML report");
  set_action(sub, not_built("replay"));
}

}  // namespace wa::cli
