#include "cli/replay_setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "replay/secret_book.h"
#include "storage/noise_rules.h"
#include "storage/reader.h"

namespace wa::cli {

Result<std::vector<replay::Prepared>> load_recordings(const ReplayInputs& in,
                                                      replay::RunnerOptions& options) {
  if (!in.rules_file.empty()) {
    std::ifstream file(in.rules_file, std::ios::binary);
    if (!file) return fail(Errc::setup, in.rules_file + ": cannot be read");
    std::stringstream text;
    text << file.rdbuf();
    auto rules = replay::parse_rules(text.str(), in.rules_file);
    if (!rules) return rules.error();
    options.rules = std::move(*rules);
  }
  auto reader = store::CaptureReader::open(in.db);
  if (!reader) return reader.error();
  std::vector<store::Id> ids;
  if (in.recordings.empty()) {
    auto all = reader->recordings();
    if (!all) return all.error();
    for (const auto& r : *all)
      ids.push_back(r.recording.id);
    if (ids.empty()) return fail(Errc::setup, in.db + " holds no recordings");
  } else {
    for (const std::string& name : in.recordings) {
      auto r = reader->find_recording(name);
      if (!r) return r.error();
      ids.push_back(r->id);
    }
  }
  std::vector<replay::Prepared> out;
  for (store::Id id : ids) {
    auto data = reader->load(id);
    if (!data) return data.error();
    replay::RunnerOptions per = options;
    if (in.use_stored_noise) {
      auto stored = store::load_noise_rules(reader->database(), id);
      if (!stored) return stored.error();
      for (const auto& rule : *stored)
        per.noise.push_back(replay::from_store(rule));
    }
    auto origins = replay::OriginMap::make(replay::main_origin_of(*data), in.target, in.maps);
    if (!origins) return origins.error();
    auto prepared = replay::prepare(std::move(*data), *origins, per);
    if (!prepared) return prepared.error();
    out.push_back(std::move(*prepared));
  }
  return out;
}

Result<unsigned> parse_report_mode(const std::string& text) {
  auto bad = [&] {
    return fail(Errc::setup,
                "--report-mode " + text + ": expected octal permission bits such as 0600 or 0644");
  };
  if (text.empty() || text.size() > 4) return bad();
  unsigned mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return bad();
    mode = mode * 8 + unsigned(c - '0');
  }
  if (mode > 0777) return bad();
  return mode;
}

Result<void> write_file(const std::string& path, const std::string& text, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(mode));
  if (fd < 0) return fail(Errc::setup, path + ": cannot be written: " + std::strerror(errno));
  // The umask narrowed a new file's bits, and an existing file kept its own: set them.
  bool ok = ::fchmod(fd, mode_t(mode)) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += size_t(n);
  }
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) return fail(Errc::setup, path + ": cannot be written: " + std::strerror(err));
  return {};
}

Result<void> write_reports(const replay::RunReport& report, const std::string& json,
                           const std::string& junit, const std::string& html, unsigned mode) {
  if (!json.empty())
    if (auto r = write_file(json, replay::to_json(report), mode); !r) return r;
  if (!junit.empty())
    if (auto r = write_file(junit, replay::to_junit(report), mode); !r) return r;
  if (!html.empty())
    if (auto r = write_file(html, replay::to_html(report), mode); !r) return r;
  return {};
}

replay::SecretBook learn_secrets(const std::vector<const std::vector<replay::Prepared>*>& prepared,
                                 const std::vector<const replay::RunReport*>& reports) {
  replay::SecretBook book;
  for (const auto* list : prepared)
    for (const replay::Prepared& p : *list) {
      replay::learn_correlated(book, *p.correlations);
      replay::learn_recording(book, p.script->data);
    }
  for (const replay::RunReport* report : reports)
    for (const replay::SessionResult& s : report->sessions)
      replay::learn_session(book, s);
  return book;
}

replay::SecretBook hide_secrets(replay::RunReport& report,
                                const std::vector<const std::vector<replay::Prepared>*>& prepared) {
  replay::SecretBook book = learn_secrets(prepared, {&report});
  replay::redact_report(report, book);
  return book;
}

void add_secret_options(CLI::App* sub, SecretOptions& options) {
  sub->add_flag("--show-secrets", options.show,
                "Show session secrets (cookie values, credential headers, tokens in URLs and "
                "bodies, correlated values) in the console and the reports; by default each is "
                "shown as a placeholder such as «cookie sid #1»");
  sub->add_option("--report-mode", options.mode,
                  "Permission bits of the report files, octal (default 0600)");
}

std::function<void(size_t, size_t)> progress_bar(const char* what) {
  if (!isatty(STDERR_FILENO)) return {};
  return [what](size_t done, size_t total) {
    if (total < 2) return;
    constexpr size_t kWidth = 30;
    size_t filled = total ? done * kWidth / total : kWidth;
    std::fprintf(stderr, "\r%s [%s%s] %zu/%zu", what, std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), done, total);
    if (done == total) std::fputc('\n', stderr);
    std::fflush(stderr);
  };
}

bool stdout_is_tty() {
  return isatty(STDOUT_FILENO) != 0;
}

Result<uint64_t> parse_deadline(const std::string& text) {
  auto bad = [&] {
    return fail(Errc::setup, "--deadline " + text +
                                 ": expected a duration such as 90s, 10m, 1h or 1500 "
                                 "(milliseconds), more than 0 and at most a week");
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  if (digits == 0 || digits > 12) return bad();
  uint64_t n = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  uint64_t scale = 0;
  if (unit.empty() || unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  constexpr uint64_t kWeekMs = uint64_t{7} * 24 * 3'600'000;
  if (scale == 0 || n == 0 || n > kWeekMs / scale) return bad();
  return n * scale;
}

int64_t deadline_from_now(uint64_t ms) {
  if (ms == 0) return 0;
  return int64_t(uv_hrtime() / 1000) + int64_t(ms) * 1000;
}

void add_deadline_option(CLI::App* sub, std::string& text) {
  sub->add_option("--deadline", text,
                  "Time limit of the whole run (every copy, every session, every pass): 90s, "
                  "10m, 1h, or milliseconds. When it passes, the run stops where it is "
                  "(connections closed), prints its summary with a line saying so, writes the "
                  "reports asked for (sessions marked cut short) and exits 1");
}

}  // namespace wa::cli
