// What the recording-proxy tests share: `workalready record` run as a child process, a
// temporary folder, commands run to completion (curl, openssl), a test PKI made with the
// openssl CLI, and lookups into the capture file a recording wrote.
//
// Header-only: each integration test executable is built from its own file and harness.cpp.
#pragma once

#include <doctest/doctest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "storage/model.h"
#include "storage/reader.h"
#include "tests/integration/harness.h"

namespace wa::test {

// ---------------------------------------------------------------------------------------------
// A folder under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/wa-proxy-test-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  // Removed with everything in it, unless WA_KEEP_TEMP is set (to look at a failed test's files).
  ~TempDir() {
    if (const char* keep = std::getenv("WA_KEEP_TEMP"); keep && *keep) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_text(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// ---------------------------------------------------------------------------------------------
// A command run to completion.
struct CommandRun {
  int exit_code = -1;  // -1: it was still running at the timeout and was killed
  std::string out, err;
};

inline CommandRun run_command(std::vector<std::string> argv, std::vector<Env> env = {},
                              Millis timeout = 60000ms) {
  Process p(std::move(argv), std::move(env));
  auto code = p.wait_exit(timeout);
  p.stop();
  return CommandRun{code.value_or(-1), p.out(), p.err()};
}

// The numbers in `text`, in order ("recorded 3 exchanges, 0 WebSocket messages" → {3, 0}).
// `text` as JSON, or null when it is not JSON.
inline nlohmann::json parse_json(std::string_view text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json() : parsed;
}

inline std::vector<long long> numbers_in(std::string_view text) {
  std::vector<long long> found;
  for (size_t i = 0; i < text.size();) {
    if (text[i] < '0' || text[i] > '9') {
      ++i;
      continue;
    }
    long long n = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
      n = n * 10 + (text[i] - '0');
    found.push_back(n);
  }
  return found;
}

inline int count_lines(std::string_view text, std::string_view containing = {}) {
  int n = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.find(containing) != std::string_view::npos) ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// `workalready record --listen 127.0.0.1:0 --db DB ARGS...`, ready once it printed its
// `listening on` line (the port it bound is read from that line).
class RecordingProxy {
 public:
  // `launcher` goes before the command (e.g. `prlimit --nofile=256:256`).
  RecordingProxy(std::string db, std::vector<std::string> args, std::vector<Env> env = {},
                 std::vector<std::string> launcher = {})
      : db_(std::move(db)) {
    std::vector<std::string> argv = std::move(launcher);
    for (const char* part : {WA_EXE, "record", "--listen", "127.0.0.1:0", "--db"})
      argv.push_back(part);
    argv.push_back(db_);
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<Process>(std::move(argv), std::move(env));
    // No std::regex here: GCC 12 warns inside <regex> when it is compiled with ASan.
    const std::string_view ready = "workalready: listening on 127.0.0.1:";
    auto line = process_->wait_for_prefix(ready, 60000ms);
    if (!line) {
      process_->stop();
      throw std::runtime_error("workalready record did not start\n" + process_->tail());
    }
    port_ = std::atoi(line->c_str() + ready.size());
  }

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string origin() const { return "http://" + address(); }
  const std::string& db() const { return db_; }
  Process& process() { return *process_; }

  // SIGINT (Ctrl-C) or another signal: returns the exit code (-1 when it did not exit in
  // time).
  int interrupt(int sig = SIGINT, Millis timeout = 30000ms) {
    process_->signal(sig);
    auto code = process_->wait_exit(timeout);
    int result = code.value_or(-1);
    process_->stop();
    return result;
  }

  // The `workalready: recorded N exchanges, ...` line, once it exited.
  std::string summary() const {
    std::string out = process_->out();
    size_t at = out.rfind("workalready: recorded ");
    if (at == std::string::npos) return {};
    return out.substr(at, out.find('\n', at) - at);
  }

 private:
  std::string db_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A test PKI made with the openssl CLI: a CA and a leaf for 127.0.0.1 and localhost that the
// apps serve HTTPS with. The proxy trusts the CA through SSL_CERT_FILE, as a user's would.
struct TestPki {
  std::string ca_cert, ca_key, leaf_cert, leaf_key;
};

inline TestPki make_test_pki(const TempDir& dir) {
  TestPki pki{dir.file("test-ca.pem"), dir.file("test-ca.key"), dir.file("leaf.pem"),
              dir.file("leaf.key")};
  auto openssl = [](std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    CommandRun r = run_command(args);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
  };
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", pki.ca_key, "-out", pki.ca_cert, "-days", "30", "-subj",
           "/CN=Work Already integration test CA", "-addext", "basicConstraints=critical,CA:TRUE",
           "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  std::string csr = dir.file("leaf.csr"), ext = dir.file("leaf.ext");
  openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", pki.leaf_key, "-out", csr, "-subj", "/CN=test app leaf"});
  write_text(ext,
             "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
             "basicConstraints=critical,CA:FALSE\n"
             "keyUsage=critical,digitalSignature\n"
             "extendedKeyUsage=serverAuth\n");
  openssl({"x509", "-req", "-in", csr, "-CA", pki.ca_cert, "-CAkey", pki.ca_key, "-CAcreateserial",
           "-out", pki.leaf_cert, "-days", "30", "-extfile", ext});
  return pki;
}

// ---------------------------------------------------------------------------------------------
// The capture file, read back through storage/reader.h.

// The latest recording of `db`; fails the test case when it cannot be read.
inline store::RecordingData load_capture(const std::string& db) {
  auto reader = store::CaptureReader::open(db);
  if (!reader) throw std::runtime_error(reader.error().why);
  auto recording = reader->find_recording("");
  if (!recording) throw std::runtime_error(recording.error().why);
  auto data = reader->load(recording->id);
  if (!data) throw std::runtime_error(data.error().why);
  return std::move(*data);
}

// The single number a query on the capture file returns (count(*)), -1 when it cannot be read.
inline int64_t count_rows(const std::string& db, const char* sql) {
  sqlite3* handle = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(handle, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      n = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(handle);
  return n;
}

// "http://h:1/a/b?x" → "/a/b?x".
inline std::string path_of(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  size_t slash = url.find('/', scheme + 3);
  return slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
}

inline std::string header_of(const store::Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(h.name[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return h.value;
  }
  return {};
}

// The first exchange with this method whose path starts with `path_prefix`, or null.
inline const store::Exchange* find_exchange(const store::RecordingData& data,
                                            std::string_view method, std::string_view path_prefix) {
  for (const auto& x : data.exchanges) {
    if (x.method == method && path_of(x.url).rfind(path_prefix, 0) == 0) return &x;
  }
  return nullptr;
}

inline const store::Exchange* exchange_by_id(const store::RecordingData& data, store::Id id) {
  for (const auto& x : data.exchanges) {
    if (x.id == id) return &x;
  }
  return nullptr;
}

inline std::vector<const store::CookieEvent*> cookies_of(const store::RecordingData& data,
                                                         store::Id exchange_id,
                                                         store::CookieKind kind) {
  std::vector<const store::CookieEvent*> found;
  for (const auto& c : data.cookies) {
    if (c.exchange_id == exchange_id && c.kind == kind) found.push_back(&c);
  }
  return found;
}

// Socket.IO events of that name in that direction, in capture order.
inline std::vector<const store::SocketPacket*> events_named(const store::RecordingData& data,
                                                            std::string_view name,
                                                            store::Direction direction) {
  std::vector<const store::SocketPacket*> found;
  for (const auto& p : data.packets) {
    if (p.event == name && p.direction == direction) found.push_back(&p);
  }
  return found;
}

// Everything worth printing when a capture assertion fails.
inline std::string describe(const store::RecordingData& data) {
  std::string text;
  for (const auto& x : data.exchanges) {
    text += "exchange " + std::to_string(x.id) + " conn " + std::to_string(x.connection_id) + " " +
            x.method + " " + x.url + " " + std::to_string(x.status) +
            (x.error.empty() ? "" : " (" + x.error_code + ": " + x.error + ")") + "\n";
  }
  for (const auto& s : data.sessions) {
    text += "session " + std::to_string(s.id) + " sid " + s.sid + " " +
            store::to_string(s.protocol) + " handshake " +
            (s.handshake_exchange_id ? std::to_string(*s.handshake_exchange_id) : "-") + "\n";
  }
  for (const auto& p : data.packets) {
    text += "packet " + std::to_string(p.id) + " session " +
            (p.session_id ? std::to_string(*p.session_id) : "-") + " " +
            store::to_string(p.direction) + " " + store::to_string(p.transport) + " sio " +
            (p.sio_type ? std::to_string(*p.sio_type) : "-") + " event '" + p.event + "' ack " +
            (p.ack_id ? std::to_string(*p.ack_id) : "-") + " args " + p.args + "\n";
  }
  for (const auto& c : data.cookies) {
    text += std::string("cookie ") + store::to_string(c.kind) + " on " +
            std::to_string(c.exchange_id) + " " + c.name + "=" + c.value + "\n";
  }
  return text;
}

}  // namespace wa::test
