// The command-line contract of DESIGN.md, checked on the built binary: every command is listed,
// bad usage is one line on stderr with exit code 2.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <initializer_list>
#include <string>

namespace {

struct Run {
  int code = -1;
  std::string out, err;
};

// Runs the built workalready with `args` (shell words), capturing stdout and stderr.
Run run(const std::string& args) {
  std::string err_file = std::string(WA_BINARY_DIR) + "/cli_test.stderr";
  std::string cmd = std::string("'") + WA_EXE + "' " + args + " 2>'" + err_file + "'";
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* f = std::fopen(err_file.c_str(), "r")) {
    while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0)
      r.err.append(buf.data(), n);
    std::fclose(f);
  }
  std::remove(err_file.c_str());
  return r;
}

int lines(const std::string& s) {
  int count = 0;
  for (char c : s)
    count += c == '\n';
  return count;
}

}  // namespace

TEST_CASE("--help lists every command of the contract") {
  Run r = run("--help");
  CHECK(r.code == 0);
  for (const char* command : {"record", "ca", "ls", "show", "replay", "diff", "har"}) {
    CAPTURE(command);
    CHECK(r.out.find(std::string("\n  ") + command + " ") != std::string::npos);
  }
  Run har = run("har --help");
  CHECK(har.code == 0);
  CHECK(har.out.find("export") != std::string::npos);
  CHECK(har.out.find("import") != std::string::npos);
}

TEST_CASE("bad usage is one line on stderr and exit code 2") {
  for (const char* args : {"", "no-such-command", "replay", "replay --target",
                           "replay --target http://x --concurrency 0", "har", "ls --nope"}) {
    CAPTURE(args);
    Run r = run(args);
    CHECK(r.code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.rfind("workalready: ", 0) == 0);
  }
}

TEST_CASE("replay and diff refuse bad input with one line and exit code 2") {
  const std::string missing = std::string(WA_BINARY_DIR) + "/no-such-capture.sqlite";
  struct Case {
    std::string args;
    std::string says;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"replay --db '" + missing + "' --target http://127.0.0.1:1", "no-such-capture"},
           {"replay --db '" + missing + "' --target http://127.0.0.1:1 --pace slow", "--pace"},
           {"replay --db '" + missing + "' --target http://127.0.0.1:1 --rules /nonexistent.json",
            "/nonexistent.json"},
           {"diff --db '" + missing + "' --a http://127.0.0.1:1 --b http://127.0.0.1:2",
            "no-such-capture"},
           {"diff --a http://127.0.0.1:1", "--b"},
       }) {
    CAPTURE(c.args);
    Run r = run(c.args);
    CHECK(r.code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.rfind("workalready: ", 0) == 0);
    CHECK(r.err.find(c.says) != std::string::npos);
  }
}
