// What the browser tests share: a headless Chromium with a fresh profile, the CA hash it is told
// to trust, and reading what the capture decoded.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/recording.h"

namespace wa::test {

// Headless Chromium (Debian `chromium`) with the profile folder `profile` (created by it), and
// the DevTools endpoint it reports. `extra` are more command-line flags (--proxy-server, …).
class Chromium {
 public:
  Chromium(const std::string& profile, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {"chromium",
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-quic",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--user-data-dir=" + profile,
                                     "--remote-debugging-port=0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("about:blank");
    process_ = std::make_unique<Process>(argv);
    // Chromium writes the port it bound and the browser target's path to this file, whole
    // (a temporary file renamed): "PORT\n/devtools/browser/ID".
    std::string active = profile + "/DevToolsActivePort";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      std::string text = read_text(active);
      size_t nl = text.find('\n');
      if (nl != std::string::npos && nl + 1 < text.size()) {
        std::string path = text.substr(nl + 1);
        devtools_ = "ws://127.0.0.1:" + text.substr(0, nl) + path.substr(0, path.find('\n'));
        break;
      }
      if (process_->exited() || std::chrono::steady_clock::now() > deadline) {
        process_->stop();
        throw std::runtime_error("chromium did not report its DevTools port\n" + process_->tail());
      }
      process_->wait_exit(Millis(50));
    }
  }
  ~Chromium() { process_->stop(); }
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  const std::string& devtools() const { return devtools_; }
  Process& process() { return *process_; }

 private:
  std::unique_ptr<Process> process_;
  std::string devtools_;
};

// The value `workalready ca` prints for Chromium's --ignore-certificate-errors-spki-list: the
// hash of the local CA's key, which makes Chromium accept the certificates the proxy mints.
inline std::string spki_of(const std::string& ca_dir) {
  CommandRun run = run_command({WA_EXE, "ca", "--ca-dir", ca_dir});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const std::string flag = "--ignore-certificate-errors-spki-list=";
  size_t at = run.out.find(flag);
  REQUIRE(at != std::string::npos);
  at += flag.size();
  size_t end = run.out.find_first_not_of(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", at);
  std::string spki = run.out.substr(at, end - at);
  CHECK(spki.size() == 44);  // base64 of 32 bytes
  return spki;
}

// A recorded packet's arguments as JSON (null when they do not parse).
inline nlohmann::json parse_args(const wa::store::SocketPacket& p) {
  auto parsed = nlohmann::json::parse(p.args, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json() : parsed;
}

}  // namespace wa::test
