// Session secrets in what `replay` prints and writes, and in `har export --redact`: a fixture
// session (built as a HAR and imported) holds a session cookie, a Bearer token, an X-Api-Key,
// a `?token=` query, a JSON `{"password": …}` body and a Socket.IO auth payload. Replayed against
// the Express test app it fails (the app answers some requests differently), so the reports show
// differences. None of the secrets may appear in the console or in any report file, unless
// --show-secrets; report files are 0600 unless --report-mode; a redacted HAR holds none of
// them, is 0600, and imports back.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;

namespace {

constexpr Millis kTimeout = 120000ms;

// The recorded secrets.
const std::string kCookie = "s%3ArecordedSessionId123.SignatureAbcdef";
const std::string kBearer = "bearer-abcdef-0123456789";
const std::string kApiKey = "apikey-0123456789abcdef";
const std::string kQueryToken = "query-token-9876543210";
const std::string kPassword = "json-password-Secret42";
const std::string kAuthToken = "0123456789abcdef0123456789abcdef";
const std::string kOtherToken = "fedcba9876543210fedcba9876543210";
const std::string kSessionSecret = "recorded-session-secret-xyz";
const std::string kEioSid = "recordedEioSid0001";

const std::vector<std::string>& all_secrets() {
  static const std::vector<std::string> all = {
      kCookie,        kBearer,     kApiKey,
      kQueryToken,    kPassword,   kAuthToken,
      kSessionSecret, kOtherToken, "s:recordedSessionId123.SignatureAbcdef"};
  return all;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// The live secrets the app hands out: express-session cookies and 32-hex tokens.
size_t live_like(const std::string& text) {
  static const std::regex pattern("s%3A[A-Za-z0-9_-]{20,}|(^|[^0-9a-f])[0-9a-f]{32}([^0-9a-f]|$)");
  size_t n = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), pattern);
       it != std::sregex_iterator(); ++it)
    ++n;
  // The recorded tokens are of that form too.
  return n - std::min(n, occurrences(text, kAuthToken) + occurrences(text, kOtherToken));
}

json header(const std::string& name, const std::string& value) {
  return json{{"name", name}, {"value", value}};
}

json entry(int ms, const std::string& method, const std::string& url, json request_headers,
           std::string request_body, std::string mime, int status, json response_headers,
           std::string response_body, std::string response_mime) {
  char when[64];
  std::snprintf(when, sizeof when, "2026-01-01T00:00:%02d.%03dZ", ms / 1000, ms % 1000);
  json request{{"method", method},          {"url", url},
               {"httpVersion", "HTTP/1.1"}, {"headers", request_headers},
               {"cookies", json::array()},  {"queryString", json::array()},
               {"headersSize", -1},         {"bodySize", request_body.size()}};
  if (!request_body.empty()) request["postData"] = json{{"mimeType", mime}, {"text", request_body}};
  json response{
      {"status", status},
      {"statusText", ""},
      {"httpVersion", "HTTP/1.1"},
      {"headers", response_headers},
      {"cookies", json::array()},
      {"content",
       {{"size", response_body.size()}, {"mimeType", response_mime}, {"text", response_body}}},
      {"redirectURL", ""},
      {"headersSize", -1},
      {"bodySize", response_body.size()}};
  return json{{"startedDateTime", when}, {"time", 5},
              {"request", request},      {"response", response},
              {"cache", json::object()}, {"timings", {{"send", 0}, {"wait", 5}, {"receive", 0}}}};
}

// The fixture session as a HAR document.
std::string fixture_har() {
  const std::string o = "http://127.0.0.1:1";
  const std::string cookie = "connect.sid=" + kCookie;
  json entries = json::array();
  entries.push_back(entry(
      100, "POST", o + "/login",
      {header("Host", "127.0.0.1:1"), header("Content-Type", "application/x-www-form-urlencoded")},
      "username=alice", "application/x-www-form-urlencoded", 303,
      {header("Set-Cookie", cookie + "; Path=/; HttpOnly"), header("Location", "/")}, "", ""));
  entries.push_back(
      entry(200, "GET", o + "/api/token",
            {header("Host", "127.0.0.1:1"), header("Cookie", cookie),
             header("Authorization", "Bearer " + kBearer), header("X-Api-Key", kApiKey)},
            "", "", 200, {header("Content-Type", "application/json")},
            json{{"token", kAuthToken}}.dump(), "application/json"));
  // Asked again, the recording's answer differs from the first one; the live server's does not.
  entries.push_back(entry(250, "GET", o + "/api/token",
                          {header("Host", "127.0.0.1:1"), header("Cookie", cookie)}, "", "", 200,
                          {header("Content-Type", "application/json")},
                          json{{"token", kOtherToken}}.dump(), "application/json"));
  entries.push_back(entry(
      300, "GET", o + "/api/me?token=" + kQueryToken,
      {header("Host", "127.0.0.1:1"), header("Cookie", cookie), header("X-Api-Key", kApiKey)}, "",
      "", 200, {header("Content-Type", "application/json")},
      json{{"username", "alice"}, {"sessionSecret", kSessionSecret}}.dump(), "application/json"));
  entries.push_back(entry(400, "POST", o + "/api/settings",
                          {header("Host", "127.0.0.1:1"), header("Cookie", cookie),
                           header("Content-Type", "application/json")},
                          json{{"password", kPassword}, {"theme", "dark"}}.dump(),
                          "application/json", 404, {header("Content-Type", "application/json")},
                          json{{"error", "no such setting"}, {"password", kPassword}}.dump(),
                          "application/json"));
  const std::string eio = o + "/socket.io/?EIO=4&transport=polling";
  entries.push_back(entry(
      500, "GET", eio + "&t=a1", {header("Host", "127.0.0.1:1"), header("Cookie", cookie)}, "", "",
      200, {header("Content-Type", "text/plain; charset=UTF-8")},
      "0{\"sid\":\"" + kEioSid +
          "\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}",
      "text/plain"));
  entries.push_back(entry(600, "POST", eio + "&t=a2&sid=" + kEioSid,
                          {header("Host", "127.0.0.1:1"), header("Cookie", cookie),
                           header("Content-Type", "text/plain;charset=UTF-8")},
                          "40{\"token\":\"" + kAuthToken + "\"}", "text/plain", 200,
                          {header("Content-Type", "text/html")}, "ok", "text/html"));
  entries.push_back(entry(700, "GET", eio + "&t=a3&sid=" + kEioSid,
                          {header("Host", "127.0.0.1:1"), header("Cookie", cookie)}, "", "", 200,
                          {header("Content-Type", "text/plain; charset=UTF-8")},
                          "40{\"sid\":\"recordedSioSid0001\"}\x1e"
                          "42[\"welcome\",{\"username\":\"alice\"}]",
                          "text/plain"));
  return json{{"log",
               {{"version", "1.2"},
                {"creator", {{"name", "fixture"}, {"version", "1"}}},
                {"pages", json::array()},
                {"entries", entries}}}}
      .dump(1);
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 01000;
  return unsigned(st.st_mode & 0777);
}

struct Fixture {
  TempDir dir;
  std::string db = dir.file("capture.sqlite");
  Fixture() {
    write_text(dir.file("fixture.har"), fixture_har());
    CommandRun imported = run_command(
        {WA_EXE, "har", "import", dir.file("fixture.har"), "--db", db, "--name", "secrets"});
    INFO(imported.out << imported.err);
    REQUIRE(imported.exit_code == 0);
  }
};

struct Replayed {
  CommandRun run;
  std::vector<std::string> files;  // json, junit, html
  std::string everything() const {
    std::string all = run.out + run.err;
    for (const std::string& f : files)
      all += read_text(f);
    return all;
  }
};

Replayed replay(Fixture& f, const App& app, const std::string& tag,
                std::vector<std::string> more = {}) {
  Replayed r;
  r.files = {f.dir.file(tag + ".json"), f.dir.file(tag + ".xml"), f.dir.file(tag + ".html")};
  std::vector<std::string> argv = {WA_EXE,          "replay",     "--db",           f.db,
                                   "--target",      app.origin(), "--timeout",      "3000",
                                   "--report-json", r.files[0],   "--report-junit", r.files[1],
                                   "--report-html", r.files[2]};
  argv.insert(argv.end(), more.begin(), more.end());
  r.run = run_command(argv, {}, kTimeout);
  return r;
}

}  // namespace

TEST_CASE("replay reports hide the session's secrets unless --show-secrets; files are 0600") {
  Fixture f;
  App app({.kind = AppKind::express_v4, .auth = "token"});

  Replayed hidden = replay(f, app, "hidden");
  INFO(hidden.run.out << hidden.run.err);
  REQUIRE(hidden.run.exit_code == 1);  // the replay fails: the reports show differences
  std::string all = hidden.everything();
  for (const std::string& secret : all_secrets()) {
    INFO("secret: " << secret);
    CHECK(occurrences(all, secret) == 0);
  }
  CHECK(live_like(all) == 0);
  CHECK(occurrences(all, "«") > 0);
  CHECK(occurrences(hidden.run.out, "«field sessionsecret #1»") > 0);
  CHECK(occurrences(read_text(hidden.files[0]), "«field password #1»") > 0);
  for (const std::string& file : hidden.files) {
    INFO(file);
    CHECK(occurrences(read_text(file), "«") > 0);
    CHECK(mode_of(file) == 0600);
  }

  Replayed shown = replay(f, app, "shown", {"--show-secrets", "--report-mode", "0644"});
  INFO(shown.run.out << shown.run.err);
  REQUIRE(shown.run.exit_code == 1);
  std::string visible = shown.everything();
  CHECK(occurrences(visible, kSessionSecret) > 0);
  // The body difference shows an excerpt that may cut the password's last bytes.
  CHECK(occurrences(visible, kPassword.substr(0, 20)) > 0);
  CHECK(occurrences(visible, "«") == 0);
  for (const std::string& file : shown.files) {
    INFO(file);
    CHECK(mode_of(file) == 0644);
  }

  // diff: the same rules for its console and reports.
  App b({.kind = AppKind::express_v4, .auth = "token", .variant = "payload"});
  for (bool show : {false, true}) {
    std::string report = f.dir.file(show ? "diff-shown.json" : "diff-hidden.json");
    std::vector<std::string> argv = {WA_EXE,      "diff",       "--db",          f.db,
                                     "--a",       app.origin(), "--b",           b.origin(),
                                     "--timeout", "3000",       "--report-json", report};
    if (show) argv.insert(argv.end(), {"--show-secrets", "--report-mode", "0640"});
    CommandRun diff = run_command(argv, {}, kTimeout);
    INFO(diff.out << diff.err);
    CHECK((diff.exit_code == 0 || diff.exit_code == 1));
    json parsed = json::parse(read_text(report), nullptr, false);
    CHECK((parsed.is_object() && parsed.value("command", "") == "diff"));
    if (!show) {
      std::string text = diff.out + diff.err + read_text(report);
      for (const std::string& secret : all_secrets()) {
        INFO("secret: " << secret);
        CHECK(occurrences(text, secret) == 0);
      }
    }
    CHECK(mode_of(report) == (show ? 0640u : 0600u));
  }
  b.stop();

  CommandRun bad = run_command(
      {WA_EXE, "replay", "--db", f.db, "--target", app.origin(), "--report-mode", "0999"});
  CHECK(bad.exit_code == 2);
  CHECK(count_lines(bad.err) == 1);
  CHECK(occurrences(bad.err, "--report-mode") == 1);
  app.stop();
}

TEST_CASE("har export --redact leaves none of the secrets, writes 0600, and imports back") {
  Fixture f;
  std::string out = f.dir.file("redacted.har");
  CommandRun exported =
      run_command({WA_EXE, "har", "export", "secrets", "--db", f.db, "--redact", "-o", out});
  INFO(exported.out << exported.err);
  REQUIRE(exported.exit_code == 0);
  std::string text = read_text(out);
  for (const std::string& secret : all_secrets()) {
    INFO("secret: " << secret);
    CHECK(occurrences(text, secret) == 0);
  }
  CHECK(occurrences(text, kEioSid) == 0);  // the sid= query parameter, and the open packet
  CHECK(occurrences(text, "REDACTED-cookie-connect.sid-1") > 0);
  CHECK(occurrences(text, "Bearer REDACTED-header-authorization-1") == 1);
  CHECK(occurrences(text, "REDACTED-query-token-1") > 0);
  CHECK(occurrences(text, "REDACTED-field-password-1") > 0);
  // The token /api/token answered, and the CONNECT packet's auth payload that sends it back.
  CHECK(occurrences(text, "REDACTED-field-token-1") == 2);
  CHECK(occurrences(text, "username=alice") > 0);  // what is no secret stays
  CHECK(mode_of(out) == 0600);

  std::string db2 = f.dir.file("reimported.sqlite");
  CommandRun imported = run_command({WA_EXE, "har", "import", out, "--db", db2, "--name", "back"});
  INFO(imported.out << imported.err);
  CHECK(imported.exit_code == 0);
  CHECK(occurrences(imported.out, "imported 8 entries") == 1);

  // It replays as the original does: the placeholders are correlated where the values were.
  {
    App app({.kind = AppKind::express_v4, .auth = "token"});
    auto failures = [&](const std::string& db, const std::string& name) {
      std::string report = f.dir.file(name + "-replay.json");
      CommandRun run = run_command({WA_EXE, "replay", "--db", db, "--target", app.origin(),
                                    "--timeout", "3000", "--report-json", report},
                                   {}, kTimeout);
      INFO(run.out << run.err);
      CHECK(run.exit_code == 1);
      json r = json::parse(read_text(report), nullptr, false);
      size_t n = 0;
      if (r.is_object())
        for (const auto& s : r["sessions"])
          for (const auto& d : s["differences"])
            if (!d.value("noise", false)) ++n;
      return n;
    };
    size_t original = failures(f.db, "original");
    CHECK(original > 0);
    CHECK(failures(db2, "redacted") == original);
    app.stop();
  }

  std::string plain = f.dir.file("plain.har");
  CommandRun unredacted = run_command(
      {WA_EXE, "har", "export", "secrets", "--db", f.db, "-o", plain, "--report-mode", "644"});
  CHECK(unredacted.exit_code == 0);
  CHECK(mode_of(plain) == 0644);
  CHECK(occurrences(read_text(plain), kPassword) > 0);

  CommandRun bad = run_command(
      {WA_EXE, "har", "export", "secrets", "--db", f.db, "-o", plain, "--report-mode", "rw"});
  CHECK(bad.exit_code == 2);
  CHECK(count_lines(bad.err) == 1);
}
