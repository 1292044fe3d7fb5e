#include <ctime>
#include <iostream>
#include <string>

#include "cli/command.h"
#include "proxy/ca.h"

namespace wa::cli {

void add_ca(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "ca", "Create the local CA if missing; print its path and how to trust it");
  static std::string ca_dir;
  sub->add_option("--ca-dir", ca_dir, "Folder of the local CA (default ~/.workalready)");
  set_action(sub, [] {
    std::string dir = ca_dir;
    if (dir.empty()) {
      auto fallback = proxy::CertificateAuthority::default_dir();
      if (!fallback) return usage_error(fallback.error().why);
      dir = *fallback;
    }
    auto ca = proxy::CertificateAuthority::load_or_create(dir, std::time(nullptr));
    if (!ca) return usage_error(ca.error().why);
    for (const auto& warning : ca->warnings())
      std::cerr << "workalready: warning: " << warning << "\n";
    if (ca->created()) std::cout << "Created a new local CA in " << dir << "\n\n";
    std::cout << proxy::trust_instructions(*ca);
    return int(kOk);
  });
}

}  // namespace wa::cli
