// workalready: record, replay and diff web sessions that live across HTTP and Socket.IO.
#include <cstdio>
#include <exception>
#include <map>

#include "cli/command.h"

namespace wa::cli {
namespace {
std::map<CLI::App*, Action>& actions() {
  static std::map<CLI::App*, Action> table;
  return table;
}
}  // namespace

void set_action(CLI::App* sub, Action action) { actions()[sub] = std::move(action); }

int usage_error(const std::string& message) {
  std::fprintf(stderr, "workalready: %s\n", message.c_str());
  return kUsage;
}

}  // namespace wa::cli

int main(int argc, char** argv) {
  using namespace wa::cli;
  CLI::App app{
      "workalready: record browser sessions (HTTP, WebSocket, Engine.IO/Socket.IO, cookies) "
      "through an intercepting proxy into SQLite, replay them against a server with every "
      "server-issued identifier rewritten, and diff two builds.",
      "workalready"};
  app.set_version_flag("--version", WA_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 everything matched; 1 a mismatch was found; 2 usage, input or setup error.\n"
      "Run 'workalready COMMAND --help' for the options of one command.");
  add_record(app);
  add_ca(app);
  add_ls(app);
  add_show(app);
  add_replay(app);
  add_diff(app);
  add_har(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, not CLI11's multi-line banner.
    return usage_error(e.what());
  }
  for (CLI::App* sub : app.get_subcommands()) {
    // The deepest chosen subcommand carries the action (`har export`).
    CLI::App* leaf = sub;
    while (!leaf->get_subcommands().empty()) leaf = leaf->get_subcommands().front();
    auto it = actions().find(leaf);
    if (it == actions().end()) return usage_error("missing subcommand for " + sub->get_name());
    try {
      return it->second();
    } catch (const std::exception& e) {
      return usage_error(e.what());
    }
  }
  return kUsage;
}
