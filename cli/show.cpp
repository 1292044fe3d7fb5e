#include <cstdio>
#include <string>

#include "cli/command.h"
#include "storage/reader.h"
#include "storage/timeline.h"

namespace wa::cli {

void add_show(CLI::App& app) {
  auto* sub = app.add_subcommand("show", "Print a readable timeline of one recording");
  static std::string db = "captures/workalready.sqlite", recording;
  sub->add_option("--db", db, "Capture file")->capture_default_str();
  sub->add_option("RECORDING", recording, "Recording id or name (default: the latest)");
  set_action(sub, [] {
    auto reader = store::CaptureReader::open(db);
    if (!reader) return usage_error(reader.error().why);
    auto found = reader->find_recording(recording);
    if (!found) return usage_error(found.error().why);
    auto data = reader->load(found->id);
    if (!data) return usage_error(data.error().why);
    std::fputs(store::format_timeline(*data).c_str(), stdout);
    return int{kOk};
  });
}

}  // namespace wa::cli
