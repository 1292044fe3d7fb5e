// The harness itself (processes, the tap) and the test apps of tests/apps, each driven by the
// real Socket.IO client of its version: every later integration test stands on these.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <tuple>

#include "tests/integration/harness.h"

using namespace wa::test;
using nlohmann::json;

namespace {

// Whether a process exists and is not a zombie (a killed grandchild lingers as a zombie until
// init reaps it).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

std::vector<json> of_type(const ClientRun& run, const std::string& type) {
  std::vector<json> found;
  for (const auto& line : run.lines) {
    if (line.value("type", "") == type) found.push_back(line);
  }
  return found;
}

std::vector<json> events(const ClientRun& run, const std::string& name) {
  std::vector<json> found;
  for (const auto& line : of_type(run, "event")) {
    if (line.value("name", "") == name) found.push_back(line["args"]);
  }
  return found;
}

// A full session: welcome with the user's name, every chat acknowledged with a distinct id and
// broadcast back with its sender.
void check_chat_session(const ClientRun& run, const std::string& user, int chats,
                        bool welcome = true) {
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  auto welcomes = events(run, "welcome");
  if (welcome) {
    REQUIRE(welcomes.size() == 1);
    CHECK(welcomes[0][0]["username"] == user);
  } else {
    CHECK(welcomes.empty());
  }
  auto acks = of_type(run, "ack");
  REQUIRE(acks.size() == size_t(chats));
  std::set<int> ids;
  for (const auto& ack : acks) {
    CHECK(ack["ack"]["ok"] == true);
    ids.insert(ack["ack"]["id"].get<int>());
  }
  CHECK(ids.size() == size_t(chats));
  int mine = 0;
  for (const auto& chat : events(run, "chat"))
    mine += chat[0]["from"] == user;
  CHECK(mine == chats);
  CHECK(of_type(run, "done").size() == 1);
}

ClientRun chat(const App& app, std::vector<std::string> args) {
  std::vector<std::string> all = {"--url", app.origin()};
  all.insert(all.end(), args.begin(), args.end());
  return run_chat_client(all);
}

// A one-connection echo server on loopback: returns what it read, after echoing it.
class EchoServer {
 public:
  EchoServer() {
    fd_ = listen_loopback(4, port_);
    thread_ = std::thread([this] {
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      char buf[8192];
      ssize_t n;
      while ((n = ::recv(conn, buf, sizeof buf, 0)) > 0) {
        for (ssize_t sent = 0; sent < n;) {
          ssize_t m = ::send(conn, buf + sent, size_t(n - sent), MSG_NOSIGNAL);
          if (m <= 0) break;
          sent += m;
        }
      }
      ::close(conn);
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(port));
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

}  // namespace

TEST_SUITE("harness") {
  TEST_CASE("a process's output lines are awaited in order and its exit code is kept") {
    Process p(
        {"/bin/sh", "-c", "echo one; echo oops >&2; echo 'LISTENING 4242'; echo two; exit 7"});
    auto line = p.wait_for_prefix("LISTENING ", 5000ms);
    REQUIRE(line);
    CHECK(*line == "LISTENING 4242");
    auto starts_with_t = [](const std::string& text) { return text.starts_with("t"); };
    CHECK(p.wait_for_line(starts_with_t, 5000ms) == std::optional<std::string>("two"));
    // Lines before the last match are not looked at again; the stream ends: no match.
    CHECK_FALSE(p.wait_for_prefix("one", 5000ms));
    CHECK(p.wait_exit(5000ms) == std::optional<int>(7));
    CHECK(p.stop() == 7);
    CHECK(p.err() == "oops\n");
  }

  TEST_CASE("waiting for a line that never comes times out") {
    Process p({"sleep", "30"});
    auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(p.wait_for_prefix("LISTENING", 200ms));
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK_FALSE(p.wait_exit(50ms));
    CHECK(p.stop() == 128 + SIGTERM);
  }

  TEST_CASE("stop ends the whole process group, grandchildren included") {
    pid_t grandchild = 0;
    {
      Process p({"/bin/sh", "-c", "trap '' TERM; sleep 60 & echo $!; wait"});
      auto digits = [](const std::string& line) {
        return !line.empty() && line.find_first_not_of("0123456789") == std::string::npos;
      };
      auto line = p.wait_for_line(digits, 5000ms);
      REQUIRE(line);
      grandchild = std::stoi(*line);
      CHECK(alive(grandchild));
      // The shell ignores SIGTERM: stop has to escalate to SIGKILL.
      CHECK(p.stop(300ms) == 128 + SIGKILL);
    }
    for (int i = 0; i < 200 && alive(grandchild); ++i)
      std::this_thread::sleep_for(10ms);
    CHECK_FALSE(alive(grandchild));
  }

  TEST_CASE("a program that does not exist is a clear error") {
    CHECK_THROWS_WITH_AS(Process({"/nonexistent/program"}),
                         doctest::Contains("cannot start /nonexistent/program"),
                         std::runtime_error);
    CHECK_THROWS_AS(Process({"no-such-program-anywhere"}), std::runtime_error);
  }

  TEST_CASE("the environment given is added to the child's") {
    Process p({"/bin/sh", "-c", "echo \"$WA_HARNESS_VALUE\""}, {{"WA_HARNESS_VALUE", "forty two"}});
    CHECK(p.wait_for_prefix("forty two", 5000ms));
  }

  TEST_CASE("free_port gives a bindable loopback port") {
    int port = free_port();
    CHECK(port > 0);
    CHECK(port < 65536);
  }

  TEST_CASE("the tap relays both ways with half-close and records every byte") {
    EchoServer echo;
    TcpTap tap(echo.port());
    std::string sent(3 << 20, '\0');  // more than the tap buffers, so backpressure is exercised
    for (size_t i = 0; i < sent.size(); ++i)
      sent[i] = char(i * 131 + (i >> 11));
    int fd = connect_to(tap.port());
    std::string received;
    std::thread reader([&] {
      char buf[65536];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
        received.append(buf, size_t(n));
    });
    for (size_t off = 0; off < sent.size();) {
      ssize_t n = ::send(fd, sent.data() + off, sent.size() - off, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      off += size_t(n);
    }
    ::shutdown(fd, SHUT_WR);  // the echo server sees EOF only through the tap's half-close
    reader.join();
    ::close(fd);
    CHECK(received == sent);
    REQUIRE(tap.wait_all_closed(5000ms));
    auto connections = tap.connections();
    REQUIRE(connections.size() == 1);
    CHECK(connections[0].client_to_server == sent);
    CHECK(connections[0].server_to_client == sent);
    CHECK(connections[0].error.empty());
    std::string replayed;
    uint64_t last_seq = 0;
    bool first = true;
    for (const auto& chunk : tap.chunks()) {
      CHECK((first || chunk.seq > last_seq));
      first = false;
      last_seq = chunk.seq;
      if (chunk.direction == Direction::server_to_client) replayed += chunk.bytes;
    }
    CHECK(replayed == sent);
  }

  TEST_CASE("the tap reports a target that refuses") {
    int closed_port = free_port();
    TcpTap tap(closed_port);
    int fd = connect_to(tap.port());
    char c;
    CHECK(::recv(fd, &c, 1, 0) <= 0);
    ::close(fd);
    REQUIRE(tap.wait_all_closed(5000ms));
    auto connections = tap.connections();
    REQUIRE(connections.size() == 1);
    CHECK(connections[0].error.find("connect to the target") != std::string::npos);
  }
}

TEST_SUITE("apps") {
  TEST_CASE("express_v4: pages, login, and every auth mode with the socket.io 4 client") {
    App app({.kind = AppKind::express_v4});
    auto page = http_request(app.port(), "GET", "/");
    CHECK(page.status == 200);
    CHECK(page.body.find("id=\"login-form\"") != std::string::npos);
    auto login = http_request(app.port(), "POST", "/login",
                              {{"Content-Type", "application/x-www-form-urlencoded"}},
                              "username=alice&password=x");
    CHECK(login.status == 303);
    CHECK(login.header("location") == "/");
    REQUIRE(login.set_cookies().size() == 1);
    std::string cookie = login.set_cookies()[0].substr(0, login.set_cookies()[0].find(';'));
    CHECK(cookie.rfind("connect.sid=", 0) == 0);
    auto home = http_request(app.port(), "GET", "/", {{"Cookie", cookie}});
    CHECK(home.body.find("/socket.io/socket.io.js") != std::string::npos);
    CHECK(home.body.find("window.chat") != std::string::npos);
    auto me = http_request(app.port(), "GET", "/api/me", {{"Cookie", cookie}});
    CHECK(json::parse(me.body) == json{{"username", "alice"}});
    CHECK(http_request(app.port(), "GET", "/api/me").status == 401);
    CHECK(http_request(app.port(), "GET", "/socket.io/socket.io.js").status == 200);

    check_chat_session(chat(app, {"--user", "alice"}), "alice", 2);
    check_chat_session(chat(app, {"--user", "bob", "--transport", "polling"}), "bob", 2);
    check_chat_session(chat(app, {"--user", "carol", "--transport", "websocket"}), "carol", 2);
    auto refused = chat(app, {"--no-login"});
    CHECK(refused.exit_code == 3);
    REQUIRE(of_type(refused, "refused").size() == 1);
    CHECK(of_type(refused, "refused")[0]["message"] == "unauthorized");
  }

  TEST_CASE("express_v4 token and query modes") {
    App token({.kind = AppKind::express_v4, .auth = "token"});
    check_chat_session(chat(token, {"--auth", "token"}), "alice", 2);
    CHECK(chat(token, {"--auth", "cookie"}).exit_code == 3);
    App query({.kind = AppKind::express_v4, .auth = "query"});
    check_chat_session(chat(query, {"--auth", "query", "--transport", "polling", "--chats", "1"}),
                       "alice", 1);
    CHECK(chat(query, {"--auth", "token"}).exit_code == 3);
  }

  TEST_CASE("express_v4 variants change what the replay tests look at") {
    SUBCASE("payload") {
      App app({.kind = AppKind::express_v4, .variant = "payload"});
      auto run = chat(app, {"--chats", "1"});
      check_chat_session(run, "alice", 1);
      CHECK(events(run, "welcome")[0][0] == json{{"username", "alice"}, {"role", "member"}});
    }
    SUBCASE("status") {
      App app({.kind = AppKind::express_v4, .variant = "status"});
      auto run = chat(app, {"--chats", "1"});
      check_chat_session(run, "alice", 1);
      CHECK(of_type(run, "login")[0]["status"] == 200);
    }
    SUBCASE("noevent") {
      App app({.kind = AppKind::express_v4, .variant = "noevent"});
      check_chat_session(chat(app, {"--chats", "1", "--no-welcome"}), "alice", 1, false);
    }
    SUBCASE("extraevent") {
      App app({.kind = AppKind::express_v4, .variant = "extraevent"});
      auto run = chat(app, {"--chats", "1"});
      check_chat_session(run, "alice", 1);
      REQUIRE(events(run, "notice").size() == 1);
    }
    SUBCASE("noise") {
      App app({.kind = AppKind::express_v4, .variant = "noise"});
      auto login =
          http_request(app.port(), "POST", "/login",
                       {{"Content-Type", "application/x-www-form-urlencoded"}}, "username=alice");
      std::string cookie = login.set_cookies().at(0).substr(0, login.set_cookies()[0].find(';'));
      auto a = json::parse(http_request(app.port(), "GET", "/api/me", {{"Cookie", cookie}}).body);
      auto b = json::parse(http_request(app.port(), "GET", "/api/me", {{"Cookie", cookie}}).body);
      CHECK(a["username"] == "alice");
      CHECK(a.contains("time"));
      CHECK(a["nonce"] != b["nonce"]);
    }
  }

  TEST_CASE("the other apps share the variants") {
    for (const auto& each : {std::tuple{AppKind::express_v2, "v2", "payload"},
                             std::tuple{AppKind::flask, "v4", "extraevent"},
                             std::tuple{AppKind::sio09, "v09", "status"}}) {
      // Not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
      AppKind kind = std::get<0>(each);
      const char* flavor = std::get<1>(each);
      const char* variant = std::get<2>(each);
      CAPTURE(app_name(kind));
      App app({.kind = kind, .variant = variant});
      auto run = chat(app, {"--flavor", flavor, "--chats", "1"});
      check_chat_session(run, "alice", 1);
      if (std::string(variant) == "payload") {
        CHECK(events(run, "welcome")[0][0] == json{{"username", "alice"}, {"role", "member"}});
      } else if (std::string(variant) == "extraevent") {
        CHECK(events(run, "notice").size() == 1);
      } else {
        CHECK(of_type(run, "login")[0]["status"] == 200);
      }
    }
  }

  TEST_CASE("an app restarted keeps its port and forgets its sessions") {
    App app({.kind = AppKind::express_v4});
    int port = app.port();
    auto login =
        http_request(port, "POST", "/login",
                     {{"Content-Type", "application/x-www-form-urlencoded"}}, "username=alice");
    std::string cookie = login.set_cookies().at(0).substr(0, login.set_cookies()[0].find(';'));
    CHECK(http_request(port, "GET", "/api/me", {{"Cookie", cookie}}).status == 200);
    app.restart();
    CHECK(app.port() == port);
    CHECK(http_request(port, "GET", "/api/me", {{"Cookie", cookie}}).status == 401);
  }

  TEST_CASE("express_v2 with the socket.io 2 client; anonymous handshakes get 403") {
    App app({.kind = AppKind::express_v2});
    check_chat_session(chat(app, {"--flavor", "v2"}), "alice", 2);
    check_chat_session(chat(app, {"--flavor", "v2", "--transport", "polling", "--chats", "1"}),
                       "alice", 1);
    check_chat_session(chat(app, {"--flavor", "v2", "--transport", "websocket", "--chats", "1"}),
                       "alice", 1);
    CHECK(chat(app, {"--flavor", "v2", "--no-login"}).exit_code == 3);
    auto handshake = http_request(app.port(), "GET", "/socket.io/?EIO=3&transport=polling");
    CHECK(handshake.status == 403);
    CHECK(json::parse(handshake.body) == json{{"code", 4}, {"message", "Forbidden"}});
    // The browser client served is the 2.x one (socket.io 2 next to an npm alias would serve 4.x).
    auto script = http_request(app.port(), "GET", "/client/socket.io.js");
    CHECK(script.status == 200);
    CHECK(script.body.find("Socket.IO v2.") != std::string::npos);

    App query({.kind = AppKind::express_v2, .auth = "query"});
    check_chat_session(chat(query, {"--flavor", "v2", "--auth", "query", "--chats", "1"}), "alice",
                       1);
  }

  TEST_CASE("flask with the socket.io 4 client; anonymous sockets are rejected") {
    App app({.kind = AppKind::flask});
    auto login =
        http_request(app.port(), "POST", "/login",
                     {{"Content-Type", "application/x-www-form-urlencoded"}}, "username=alice");
    CHECK(login.status == 303);
    CHECK(login.set_cookies().at(0).rfind("session=", 0) == 0);
    check_chat_session(chat(app, {}), "alice", 2);
    check_chat_session(chat(app, {"--transport", "polling", "--chats", "1"}), "alice", 1);
    check_chat_session(chat(app, {"--transport", "websocket", "--chats", "1"}), "alice", 1);
    auto refused = chat(app, {"--no-login"});
    CHECK(refused.exit_code == 3);
    REQUIRE(of_type(refused, "refused").size() == 1);
    CHECK(of_type(refused, "refused")[0]["message"] == "Connection rejected by server");

    App token({.kind = AppKind::flask, .auth = "token"});
    check_chat_session(chat(token, {"--auth", "token", "--chats", "1"}), "alice", 1);
  }

  TEST_CASE("sio09 with the socket.io 0.9 client; anonymous handshakes get 500") {
    App app({.kind = AppKind::sio09});
    check_chat_session(chat(app, {"--flavor", "v09", "--transport", "websocket"}), "alice", 2);
    check_chat_session(chat(app, {"--flavor", "v09", "--transport", "polling"}), "alice", 2);
    auto refused = chat(app, {"--flavor", "v09", "--no-login"});
    CHECK(refused.exit_code == 3);
    auto handshake = http_request(app.port(), "GET", "/socket.io/1/?t=1");
    CHECK(handshake.status == 500);
    CHECK(handshake.body == "handshake error");

    App query({.kind = AppKind::sio09, .auth = "query"});
    check_chat_session(chat(query, {"--flavor", "v09", "--auth", "query", "--chats", "1"}), "alice",
                       1);
  }

  TEST_CASE("HTTPS when given a certificate") {
    std::string dir = build_path("apps_test_tls");
    std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
    Process openssl({"/bin/sh", "-c",
                     "mkdir -p '" + dir + "' && openssl req -x509 -newkey ec -pkeyopt " +
                         "ec_paramgen_curve:P-256 -nodes -keyout '" + key + "' -out '" + cert +
                         "' -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"});
    REQUIRE(openssl.wait_exit(30000ms) == std::optional<int>(0));
    for (AppKind kind : {AppKind::express_v4, AppKind::flask}) {
      CAPTURE(app_name(kind));
      App app({.kind = kind, .tls_cert = cert, .tls_key = key});
      CHECK(app.origin().rfind("https://", 0) == 0);
      check_chat_session(chat(app, {"--insecure", "--chats", "1"}), "alice", 1);
    }
  }
}
