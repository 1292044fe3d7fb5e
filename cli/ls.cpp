#include <cstdio>
#include <string>

#include "cli/command.h"
#include "storage/reader.h"
#include "storage/timeline.h"

namespace wa::cli {

void add_ls(CLI::App& app) {
  auto* sub = app.add_subcommand("ls", "List the recordings of a capture file");
  static std::string db = "captures/workalready.sqlite";
  sub->add_option("--db", db, "Capture file")->capture_default_str();
  set_action(sub, [] {
    auto reader = store::CaptureReader::open(db);
    if (!reader) return usage_error(reader.error().why);
    auto recordings = reader->recordings();
    if (!recordings) return usage_error(recordings.error().why);
    std::fputs(store::format_recording_list(*recordings).c_str(), stdout);
    return int{kOk};
  });
}

}  // namespace wa::cli
