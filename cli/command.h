// The CLI's wiring contract: each subcommand lives in its own file and registers itself on the
// CLI11 app; its action returns the process exit code (DESIGN.md: 0 matched, 1 mismatch,
// 2 usage, input or setup error).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace wa::cli {

enum ExitCode : int { kOk = 0, kMismatch = 1, kUsage = 2 };

using Action = std::function<int()>;

// Registers `sub` as a subcommand whose action runs when it is chosen.
void set_action(CLI::App* sub, Action action);

// Prints "workalready: <message>" on stderr and returns kUsage.
int usage_error(const std::string& message);

// Subcommands, one per file.
void add_record(CLI::App& app);
void add_ca(CLI::App& app);
void add_ls(CLI::App& app);
void add_show(CLI::App& app);
void add_replay(CLI::App& app);
void add_diff(CLI::App& app);
void add_har(CLI::App& app);

}  // namespace wa::cli
