// `workalready har export` and `workalready har import`.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/replay_setup.h"
#include "storage/har.h"
#include "storage/reader.h"

namespace wa::cli {
namespace {

struct HarArgs {
  std::string db = "captures/workalready.sqlite";
  std::string recording, out, in, name;
  bool redact = false;
  std::vector<std::string> redact_headers, redact_fields;
  std::string mode;  // --report-mode
};

int run_export(const HarArgs& args) {
  unsigned mode = kReportMode;
  if (!args.mode.empty()) {
    auto parsed = parse_report_mode(args.mode);
    if (!parsed) return usage_error(parsed.error().why);
    mode = *parsed;
  }
  if (!std::filesystem::exists(args.db)) return usage_error("no capture file at " + args.db);
  auto reader = store::CaptureReader::open(args.db);
  if (!reader) return usage_error(reader.error().why);
  auto recording = reader->find_recording(args.recording);
  if (!recording) return usage_error(recording.error().why);
  auto data = reader->load(recording->id);
  if (!data) return usage_error(data.error().why);
  store::RedactOptions redact{args.redact, args.redact_headers, args.redact_fields};
  std::string text = store::export_har(*data, redact).dump(2);
  if (auto written = write_file(args.out, text + "\n", mode); !written)
    return usage_error(written.error().why);
  std::cout << "wrote " << data->exchanges.size() << " entries of recording #" << recording->id
            << " \"" << recording->name << "\" to " << args.out << "\n";
  return kOk;
}

int run_import(const HarArgs& args) {
  std::ifstream in(args.in, std::ios::binary);
  if (!in) return usage_error("cannot read " + args.in);
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::path db(args.db);
  if (db.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(db.parent_path(), ec);
  }
  std::string name = args.name.empty() ? std::filesystem::path(args.in).stem().string() : args.name;
  auto imported = store::import_har(text.str(), args.db, name);
  if (!imported) return usage_error(args.in + ": " + imported.error().why);
  std::cout << "imported " << imported->entries << " entries, " << imported->ws_messages
            << " WebSocket messages, " << imported->socket_events
            << " Socket.IO events as recording #" << imported->recording_id << " \"" << name
            << "\" into " << args.db << "\n";
  return kOk;
}

}  // namespace

void add_har(CLI::App& app) {
  auto* har = app.add_subcommand("har", "Export or import HAR 1.2 files");
  har->require_subcommand(1);
  static HarArgs args;
  auto* exp = har->add_subcommand(
      "export", "Write one recording as HAR 1.2, WebSocket messages as Chromium's DevTools does");
  exp->add_option("--db", args.db, "Capture file")->capture_default_str();
  exp->add_option("RECORDING", args.recording, "Recording id or name")->required();
  exp->add_option("-o,--output", args.out, "Output file")->required();
  exp->add_flag("--redact", args.redact,
                "Replace every secret with a placeholder (REDACTED-cookie-sid-1): cookie values, "
                "credential-like headers (Authorization, X-Api-Key, …), URL query, form and JSON "
                "fields (token, password, key, secret, session, csrf, …), the Socket.IO CONNECT "
                "data (auth), and every later recurrence of those values anywhere; the HAR still "
                "imports and replays");
  exp->add_option("--redact-header", args.redact_headers, "Also replace this header (repeatable)");
  exp->add_option("--redact-field", args.redact_fields,
                  "Also replace this JSON field in bodies and messages (repeatable)");
  exp->add_option("--report-mode", args.mode,
                  "Permission bits of the HAR file, octal (default 0600)");
  set_action(exp, [] { return run_export(args); });
  auto* imp = har->add_subcommand(
      "import", "Import a HAR file (DevTools, Playwright, workalready) as a new recording");
  imp->add_option("FILE", args.in, "HAR file")->required();
  imp->add_option("--db", args.db, "Capture file (created if missing)")->capture_default_str();
  imp->add_option("--name", args.name, "Name of the new recording (default: the file's name)");
  set_action(imp, [] { return run_import(args); });
}

}  // namespace wa::cli
