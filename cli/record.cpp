#include <string>
#include <vector>

#include "cli/not_built.h"

namespace wa::cli {

void add_record(CLI::App& app) {
  auto* sub = app.add_subcommand("record", "Run the recording proxy until SIGINT/SIGTERM");
  static std::string listen = "127.0.0.1:8080", db = "captures/workalready.sqlite", name,
                     upstream, ca_dir;
  static std::vector<std::string> include, exclude;
  static bool allow_remote = false;
  sub->add_option("--listen", listen, "Address to listen on")->capture_default_str();
  sub->add_option("--db", db, "Capture file")->capture_default_str();
  sub->add_option("--name", name, "Label of the recording");
  sub->add_option("--upstream", upstream, "Reverse-proxy mode: the server URL");
  sub->add_option("--ca-dir", ca_dir, "Folder of the local CA (default ~/.workalready)");
  sub->add_option("--include", include, "Hosts to record (glob, repeatable)");
  sub->add_option("--exclude", exclude, "Hosts not to record (glob, repeatable)");
  sub->add_flag("--allow-remote", allow_remote, "Allow listening on a non-loopback address");
  set_action(sub, not_built("record"));
}

}  // namespace wa::cli
