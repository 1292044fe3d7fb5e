// `workalready record`: the recording proxy, until SIGINT or SIGTERM.
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "cli/command.h"
#include "net/address.h"
#include "net/descriptors.h"
#include "net/signal_watch.h"
#include "protocol/url.h"
#include "proxy/ca.h"
#include "proxy/proxy_server.h"
#include "storage/database.h"
#include "storage/reader.h"
#include "storage/writer.h"

namespace wa::cli {
namespace {

struct RecordArgs {
  std::string listen = "127.0.0.1:8080";
  std::string db = "captures/workalready.sqlite";
  std::string name, upstream, ca_dir;
  std::vector<std::string> include, exclude, no_intercept;
  bool allow_remote = false, upstream_insecure = false, quiet = false;
  size_t max_body = size_t{4} << 20;
  uint64_t response_timeout_s = 120;
  uint64_t client_timeout_s = 120;
};

// "127.0.0.1:8080", "[::1]:8080", "localhost:0" → host and port.
Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return fail(Errc::setup, "--listen wants HOST:PORT, not '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return fail(Errc::setup, "--listen has a bad port: '" + text + "'");
  }
  if (host.empty()) host = "127.0.0.1";
  return std::pair{host, uint16_t(port)};
}

Result<proxy::Origin> parse_upstream(const std::string& text) {
  auto u = url::parse(text);
  if (!u || (u->scheme != "http" && u->scheme != "https") || u->host.empty()) {
    return fail(Errc::setup, "--upstream wants an http:// or https:// URL, not '" + text + "'");
  }
  if (!u->path.empty() && u->path != "/") {
    return fail(Errc::setup, "--upstream takes an origin without a path: '" + text + "'");
  }
  return proxy::Origin{u->is_tls(), u->host, u->effective_port()};
}

// Descriptors kept free of connections for the recording itself (net/descriptors.h).
constexpr uint64_t kDescriptorReserve = 64;

int64_t now_us() {
  return proxy::system_clock()();
}

int run_record(const RecordArgs& args) {
  auto listen = parse_listen(args.listen);
  if (!listen) return usage_error(listen.error().why);
  auto [host, port] = *listen;
  bool loopback = host == "localhost";
  if (auto address = net::Address::parse(host, port)) loopback = address->is_loopback();
  if (!loopback && !args.allow_remote) {
    return usage_error("--listen " + args.listen +
                       " is not a loopback address: anyone who reaches it could use the proxy "
                       "and read the capture; add --allow-remote if that is what you want");
  }

  proxy::ProxyOptions options;
  options.listen_host = host;
  options.listen_port = port;
  options.include = args.include;
  options.exclude = args.exclude;
  options.no_intercept = args.no_intercept;
  options.upstream_insecure = args.upstream_insecure;
  options.max_body = args.max_body;
  options.response_timeout_ms = args.response_timeout_s * 1000;
  options.client_idle_timeout_ms = args.client_timeout_s * 1000;
  options.quiet = args.quiet;
  if (!args.upstream.empty()) {
    auto upstream = parse_upstream(args.upstream);
    if (!upstream) return usage_error(upstream.error().why);
    options.upstream = *upstream;
  }

  // The CA serves forward mode's CONNECT tunnels; a reverse proxy needs none.
  std::optional<proxy::CertificateAuthority> ca;
  if (!options.upstream) {
    std::string dir = args.ca_dir;
    if (dir.empty()) {
      auto fallback = proxy::CertificateAuthority::default_dir();
      if (!fallback) return usage_error(fallback.error().why);
      dir = *fallback;
    }
    auto loaded = proxy::CertificateAuthority::load_or_create(dir, std::time(nullptr));
    if (!loaded) return usage_error(loaded.error().why);
    for (const auto& warning : loaded->warnings())
      std::cerr << "workalready: warning: " << warning << "\n";
    ca.emplace(std::move(*loaded));
  }

  std::filesystem::path db(args.db);
  if (db.has_parent_path()) {
    auto made = store::create_private_folders(db.parent_path().string());
    if (!made) return usage_error(made.error().why);
  }
  // Descriptors: as many as the hard limit allows, with a reserve the recording itself needs
  // (SQLite's journal, DNS, the CA): a flood of connections is turned away at the door rather
  // than leaving the capture unwritable.
  net::reserve_descriptors(kDescriptorReserve);
  // Said once the file has opened as a capture: a file that is not one gets its one line only.
  std::string loose_capture = store::permission_warning(args.db);
  net::Loop loop;
  proxy::Console console(stdout, args.quiet);
  proxy::Recorder recorder(nullptr, proxy::system_clock(), proxy::RecorderOptions{args.max_body});
  auto server = proxy::ProxyServer::start(loop, options, recorder, console, ca ? &*ca : nullptr);
  if (!server) return usage_error(server.error().why);

  store::Recording recording;
  recording.name = args.name.empty() ? "recording" : args.name;
  recording.started_us = now_us();
  recording.mode = options.upstream ? "reverse" : "forward";
  recording.listen = (*server)->address();
  recording.upstream = options.upstream ? options.upstream->str() : "";
  recording.tool_version = WA_VERSION;
  auto writer = store::CaptureWriter::open(args.db, recording);
  if (!writer) {
    server->reset();
    while (loop.run_once()) {
    }
    return usage_error(writer.error().why);
  }
  recorder.attach(writer->get());
  recorder.on_lost([&console](const std::string& why) {
    console.warning("the capture can no longer be written (" + why +
                    "): NOTHING from now on is recorded; stop with Ctrl-C and see the summary");
  });
  if (!loose_capture.empty()) std::cerr << "workalready: warning: " << loose_capture << "\n";

  const auto& rec = (*writer)->recording();
  std::cout << "workalready: listening on " << (*server)->address() << " ("
            << (options.upstream ? "reverse proxy to " + options.upstream->str()
                                 : std::string("forward proxy"))
            << "), recording #" << rec.id << " \"" << rec.name << "\" into " << args.db << "\n";
  if (ca) {
    std::cout << "workalready: HTTPS is intercepted with the CA " << ca->cert_path()
              << (ca->created() ? " (new: run 'workalready ca' to see how to trust it)" : "")
              << "\n";
  }
  std::cout << "workalready: stop with Ctrl-C" << std::endl;

  bool stopping = false;
  auto signals = net::SignalWatch::create(loop, {SIGINT, SIGTERM}, [&](int) {
    if (stopping) return;
    stopping = true;
    (*server)->stop(1000, [&] { loop.stop(); });
  });
  loop.run();

  signals.reset();
  std::set<std::string> rejected = (*server)->rejected_hosts();
  const uint64_t shed = (*server)->shed();
  server->reset();
  while (loop.run_once()) {
  }
  recorder.finish();
  auto closed = (*writer)->close(now_us());
  auto stats = (*writer)->stats();
  const auto& s = recorder.stats();
  // The summary counts what the file holds, not what went by.
  store::RecordedCounts in_file;
  std::string unreadable;
  if (auto reader = store::CaptureReader::open(args.db); !reader) {
    unreadable = reader.error().why;
  } else if (auto counts = reader->counts(rec.id); !counts) {
    unreadable = counts.error().why;
  } else {
    in_file = *counts;
  }
  std::cout << "workalready: recorded " << in_file.exchanges << " exchanges, "
            << in_file.ws_messages << " WebSocket messages, " << in_file.socket_events
            << " Socket.IO events, " << in_file.cookies_set << " cookies set into " << args.db
            << " (recording #" << rec.id << ")" << std::endl;
  if (s.undecodable) {
    // Kept as error packets with their reason, and the exchange or message with its bytes.
    std::cout << "workalready: " << s.undecodable
              << (s.undecodable == 1 ? " socket payload" : " socket payloads")
              << " could not be decoded; `workalready show " << rec.id << "` marks "
              << (s.undecodable == 1 ? "it" : "them") << std::endl;
  }
  if (s.ws_invalid) {
    std::cout << "workalready: " << s.ws_invalid
              << (s.ws_invalid == 1 ? " WebSocket frame" : " WebSocket frames")
              << " that a peer would refuse, recorded as sent and marked (`workalready show "
              << rec.id << "`)" << std::endl;
  }
  if (s.ws_cut) {
    std::cout << "workalready: " << s.ws_cut
              << (s.ws_cut == 1 ? " WebSocket message" : " WebSocket messages")
              << " over --max-body, recorded cut with their length and SHA-256" << std::endl;
  }
  if (shed) {
    std::cout << "workalready: " << shed << (shed == 1 ? " connection" : " connections")
              << " closed at once for lack of file descriptors (not relayed, not recorded)"
              << std::endl;
  }
  if (!rejected.empty()) {
    // The hint to trust the CA was printed at the first rejection; this says how far it went.
    std::string hosts;
    size_t shown = 0;
    for (const auto& name : rejected) {
      if (shown++ == 5) {
        hosts += ", ...";
        break;
      }
      hosts += (hosts.empty() ? "" : ", ") + name;
    }
    std::cout << "workalready: clients rejected the certificates minted for " << rejected.size()
              << (rejected.size() == 1 ? " host (" : " hosts (") << hosts
              << "): nothing of theirs was recorded" << std::endl;
  }
  if (int rc = loop.close(); rc != 0) {
    std::cerr << "workalready: handles left open at exit: " << loop.open_handles() << "\n";
  }
  // Anything relayed but not recorded fails the run: a capture that silently holds less than
  // the session is worse than none.
  if (!closed) return usage_error("the capture file was not closed cleanly: " + closed.error().why);
  if (!unreadable.empty()) return usage_error("cannot read back the capture: " + unreadable);
  if (s.lost || stats.rejected) {
    uint64_t lost = s.lost + stats.rejected;
    std::string why = !s.lost_why.empty() ? s.lost_why : stats.last_error;
    return usage_error("the recording is incomplete: " + std::to_string(lost) +
                       " capture events could not be written (" + why + ")");
  }
  if (s.ws_lost) {
    return usage_error("the recording is incomplete: the frames of " + std::to_string(s.ws_lost) +
                       " WebSocket directions could no longer be read (`workalready show " +
                       std::to_string(rec.id) + "` marks where)");
  }
  return kOk;
}

}  // namespace

void add_record(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "record",
      "Run the recording proxy until SIGINT/SIGTERM. Forward mode (default): point the browser's "
      "HTTP and HTTPS proxy at --listen; HTTPS is intercepted with the local CA (see 'workalready "
      "ca'). Reverse mode: --upstream URL, and open the app at the --listen address.");
  static RecordArgs args;
  sub->add_option("--listen", args.listen, "Address to listen on (HOST:PORT; port 0 picks one)")
      ->capture_default_str();
  sub->add_option("--db", args.db, "Capture file (created if missing)")->capture_default_str();
  sub->add_option("--name", args.name, "Label of the recording");
  sub->add_option("--upstream", args.upstream, "Reverse-proxy mode: the server's origin URL");
  sub->add_option("--ca-dir", args.ca_dir, "Folder of the local CA (default ~/.workalready)");
  sub->add_option("--include", args.include, "Record only these hosts (glob, repeatable)");
  sub->add_option("--exclude", args.exclude, "Do not record these hosts (glob, repeatable)");
  sub->add_option("--no-intercept", args.no_intercept,
                  "Tunnel these hosts' HTTPS untouched (glob, repeatable)");
  sub->add_flag("--allow-remote", args.allow_remote, "Allow listening on a non-loopback address");
  sub->add_flag("--upstream-insecure", args.upstream_insecure,
                "Do not verify upstream TLS certificates");
  sub->add_option("--max-body", args.max_body, "Bytes of each body or message recorded")
      ->capture_default_str();
  sub->add_option("--response-timeout", args.response_timeout_s,
                  "Seconds of upstream silence before a 504")
      ->capture_default_str();
  sub->add_option("--client-timeout", args.client_timeout_s,
                  "Seconds a client may stay silent, or take to send a request head, before it "
                  "is closed (0: no limit)")
      ->capture_default_str();
  sub->add_flag("--quiet", args.quiet, "No line per exchange on the console");
  set_action(sub, [] { return run_record(args); });
}

}  // namespace wa::cli
