// Forward mode (`workalready record` without --upstream), driven by curl: absolute-form HTTP
// requests, CONNECT tunnels whose TLS is intercepted with the local CA while the upstream's
// certificate is verified through SSL_CERT_FILE, --include/--exclude (what is left out is
// relayed but not recorded), and --no-intercept (tunnelled untouched: the client sees the
// app's own certificate).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include "tests/integration/recording.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

struct CurlResult {
  int exit_code = -1;
  int status = 0;  // the last response's status; 0 when none came
  std::string body, out, err;
};

// curl through the proxy; `args` are further options and the URL(s). Bodies of every response
// are written to stdout, then the last status on a line of its own.
CurlResult curl(const RecordingProxy& proxy, std::vector<std::string> args, const TempDir& dir) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time",   "30", "--noproxy",
                                   "",     "-x",  proxy.origin(), "-w", "\n%{http_code}",
                                   "-o",   "-"};
  argv.insert(argv.end(), args.begin(), args.end());
  // The test's own environment must not add or bypass a proxy, nor point at a trust store.
  CommandRun run = run_command(argv, {{"http_proxy", ""},
                                      {"https_proxy", ""},
                                      {"HTTPS_PROXY", ""},
                                      {"NO_PROXY", ""},
                                      {"no_proxy", ""},
                                      {"CURL_HOME", dir.path()}});
  CurlResult r{run.exit_code, 0, {}, run.out, run.err};
  size_t nl = run.out.rfind('\n');
  if (nl != std::string::npos) {
    r.status = std::atoi(run.out.c_str() + nl + 1);
    r.body = run.out.substr(0, nl);
  }
  return r;
}

std::string tail(RecordingProxy& proxy) {
  return proxy.process().tail();
}

const store::Exchange* find_url(const store::RecordingData& data, std::string_view method,
                                std::string_view url) {
  for (const auto& x : data.exchanges) {
    if (x.method == method && x.url == url) return &x;
  }
  return nullptr;
}

const store::Connection* connection_by_id(const store::RecordingData& data, store::Id id) {
  for (const auto& c : data.connections) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

}  // namespace

TEST_CASE(
    "forward: absolute-form requests are relayed with keep-alive, cookies and Engine.IO "
    "recorded") {
  TempDir dir;
  App app({.kind = AppKind::express_v4});
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--ca-dir", dir.file("ca")});
  std::string jar = dir.file("cookies.txt");
  std::string base = app.origin();

  // Sign in, then two requests on one kept-alive connection to the proxy, carrying the cookie.
  CurlResult login =
      curl(proxy, {"-c", jar, "--data", "username=gina&password=secret", base + "/login"}, dir);
  INFO(login.out << login.err << tail(proxy));
  REQUIRE(login.exit_code == 0);
  CHECK(login.status == 303);
  CurlResult both = curl(
      proxy, {"-b", jar, base + "/api/me", "-o", "-", base + "/socket.io/?EIO=4&transport=polling"},
      dir);
  REQUIRE(both.exit_code == 0);
  CHECK(both.status == 200);
  CHECK(both.out.find(R"({"username":"gina"})") != std::string::npos);
  CHECK(both.out.find(R"("sid":)") != std::string::npos);

  REQUIRE(proxy.interrupt() == 0);
  CHECK(proxy.summary().find("recorded 3 exchanges") != std::string::npos);
  store::RecordingData data = load_capture(db);
  INFO(describe(data));
  CHECK(data.recording.mode == "forward");

  const store::Exchange* post = find_url(data, "POST", base + "/login");
  REQUIRE(post != nullptr);
  CHECK(post->status == 303);
  CHECK(post->request_body.bytes == "username=gina&password=secret");
  auto set = cookies_of(data, post->id, store::CookieKind::set);
  REQUIRE(set.size() == 1);
  CHECK(set[0]->name == "connect.sid");

  const store::Exchange* me = find_url(data, "GET", base + "/api/me");
  const store::Exchange* handshake =
      find_url(data, "GET", base + "/socket.io/?EIO=4&transport=polling");
  REQUIRE(me != nullptr);
  REQUIRE(handshake != nullptr);
  CHECK(me->status == 200);
  CHECK(me->response_body.bytes == R"({"username":"gina"})");
  // Kept alive: both went over one client connection, in order.
  CHECK(me->connection_id == handshake->connection_id);
  CHECK(me->seq == 0);
  CHECK(handshake->seq == 1);
  CHECK(me->connection_id != post->connection_id);
  const store::Connection* conn = connection_by_id(data, me->connection_id);
  REQUIRE(conn != nullptr);
  CHECK(conn->closed_us.has_value());
  // The origin-form target went upstream, the absolute URL into the recording.
  for (const auto* x : {me, handshake}) {
    auto sent = cookies_of(data, x->id, store::CookieKind::sent);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0]->value == set[0]->value);
  }
  REQUIRE(data.sessions.size() == 1);
  CHECK(data.sessions[0].handshake_exchange_id == std::optional<store::Id>(handshake->id));
  CHECK(data.sessions[0].protocol == store::SocketProtocol::eio4);
}

TEST_CASE(
    "forward: CONNECT to an HTTPS app is intercepted; the upstream is verified through "
    "SSL_CERT_FILE") {
  TempDir dir;
  TestPki pki = make_test_pki(dir);
  App app({.kind = AppKind::express_v4, .tls_cert = pki.leaf_cert, .tls_key = pki.leaf_key});
  std::string ca_dir = dir.file("ca");
  std::string ca_cert = ca_dir + "/workalready-ca.pem";
  std::string base = app.origin();
  REQUIRE(base.rfind("https://", 0) == 0);

  SUBCASE("trusted upstream: the session goes through and is recorded") {
    std::string db = dir.file("capture.sqlite");
    RecordingProxy proxy(db, {"--ca-dir", ca_dir}, {{"SSL_CERT_FILE", pki.ca_cert}});
    // The CA was created on first use, private.
    struct stat st {};
    REQUIRE(::stat(ca_dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat((ca_dir + "/workalready-ca.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    std::string jar = dir.file("cookies.txt");
    CurlResult login = curl(proxy,
                            {"--cacert", ca_cert, "-c", jar, "--data",
                             "username=hank&password=secret", base + "/login"},
                            dir);
    INFO(login.out << login.err << tail(proxy));
    REQUIRE(login.exit_code == 0);
    CHECK(login.status == 303);
    CurlResult me = curl(proxy, {"--cacert", ca_cert, "-b", jar, base + "/api/me"}, dir);
    REQUIRE(me.exit_code == 0);
    CHECK(me.status == 200);
    CHECK(me.body == R"({"username":"hank"})");
    // curl trusts only our CA here: the certificate it saw was minted by the proxy.
    CurlResult other = curl(proxy, {"--cacert", pki.ca_cert, base + "/api/me"}, dir);
    CHECK(other.exit_code == 60);

    REQUIRE(proxy.interrupt() == 0);
    store::RecordingData data = load_capture(db);
    INFO(describe(data));
    const store::Exchange* post = find_url(data, "POST", base + "/login");
    REQUIRE(post != nullptr);
    CHECK(post->status == 303);
    CHECK(cookies_of(data, post->id, store::CookieKind::set).size() == 1);
    const store::Exchange* got = find_url(data, "GET", base + "/api/me");
    REQUIRE(got != nullptr);
    CHECK(got->response_body.bytes == R"({"username":"hank"})");
    CHECK(cookies_of(data, got->id, store::CookieKind::sent).size() == 1);
    const store::Connection* conn = connection_by_id(data, got->connection_id);
    REQUIRE(conn != nullptr);
    CHECK(conn->tls);
    CHECK(conn->server_host == "127.0.0.1");
    CHECK(conn->server_port == app.port());
  }

  SUBCASE("untrusted upstream: 502 naming the certificate failure, recorded") {
    std::string db = dir.file("capture.sqlite");
    std::string empty = dir.file("empty.pem");
    write_text(empty, "");
    RecordingProxy proxy(db, {"--ca-dir", ca_dir},
                         {{"SSL_CERT_FILE", empty}, {"SSL_CERT_DIR", dir.file("no-such-dir")}});
    CurlResult r = curl(proxy, {"--cacert", ca_cert, base + "/api/me"}, dir);
    INFO(r.out << r.err << tail(proxy));
    REQUIRE(r.exit_code == 0);
    CHECK(r.status == 502);
    CHECK(r.body.find("certificate verify failed") != std::string::npos);
    REQUIRE(proxy.interrupt() == 0);
    store::RecordingData data = load_capture(db);
    const store::Exchange* got = find_url(data, "GET", base + "/api/me");
    REQUIRE(got != nullptr);
    CHECK(got->status == 502);
    CHECK(got->error.find("certificate verify failed") != std::string::npos);
    CHECK(!got->error_code.empty());
  }
}

TEST_CASE("forward: --include and --exclude choose what is recorded; the rest is relayed") {
  TempDir dir;
  App app({.kind = AppKind::express_v4});
  std::string by_ip = "http://127.0.0.1:" + std::to_string(app.port());
  std::string by_name = "http://localhost:" + std::to_string(app.port());

  struct Run {
    std::vector<std::string> args;
    std::string recorded, left_out;
  };
  const Run runs[] = {Run{{"--include", "local*"}, by_name, by_ip},
                      Run{{"--exclude", "127.0.0.*"}, by_name, by_ip},
                      Run{{"--include", "*", "--exclude", "localhost"}, by_ip, by_name}};
  int index = 0;
  for (const Run& run : runs) {
    CAPTURE(run.args[1]);
    std::string db = dir.file("capture-" + std::to_string(index++) + ".sqlite");
    std::vector<std::string> args = run.args;
    args.insert(args.end(), {"--ca-dir", dir.file("ca")});
    RecordingProxy proxy(db, args);
    for (const std::string& base : {run.recorded, run.left_out}) {
      CurlResult r = curl(proxy, {"--data", "username=ivy&password=x", base + "/login"}, dir);
      INFO(r.out << r.err << tail(proxy));
      REQUIRE(r.exit_code == 0);
      CHECK(r.status == 303);  // relayed either way
    }
    REQUIRE(proxy.interrupt() == 0);
    std::string out = proxy.process().out();
    CHECK(out.find("POST " + run.left_out + "/login 303") != std::string::npos);
    CHECK(count_lines(out, "(not recorded)") == 1);
    CHECK(count_lines(out, "POST " + run.left_out + "/login 303") ==
          count_lines(out, "(not recorded)"));
    store::RecordingData data = load_capture(db);
    INFO(describe(data));
    REQUIRE(data.exchanges.size() == 1);
    CHECK(data.exchanges[0].url == run.recorded + "/login");
    CHECK(data.cookies.size() == 1);
  }
}

TEST_CASE("forward: --no-intercept hosts are tunnelled untouched") {
  TempDir dir;
  TestPki pki = make_test_pki(dir);
  App app({.kind = AppKind::express_v4, .tls_cert = pki.leaf_cert, .tls_key = pki.leaf_key});
  std::string db = dir.file("capture.sqlite");
  RecordingProxy proxy(db, {"--ca-dir", dir.file("ca"), "--no-intercept", "localhost"},
                       {{"SSL_CERT_FILE", pki.ca_cert}});
  std::string tunnelled = "https://localhost:" + std::to_string(app.port());
  std::string intercepted = "https://127.0.0.1:" + std::to_string(app.port());

  // Trusting only the app's own CA works for the tunnelled host: the client saw the app's
  // certificate, issued by the test CA.
  CurlResult r =
      curl(proxy, {"--cacert", pki.ca_cert, "-w", "%{certs}", tunnelled + "/api/me"}, dir);
  INFO(r.out << r.err << tail(proxy));
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Issuer:CN = Work Already integration test CA") != std::string::npos);
  CHECK(r.out.find("Subject:CN = test app leaf") != std::string::npos);
  CHECK(r.out.find(R"({"error":"not signed in"})") != std::string::npos);  // the app's answer
  // The same CA does not work for an intercepted host.
  CurlResult other = curl(proxy, {"--cacert", pki.ca_cert, intercepted + "/api/me"}, dir);
  CHECK(other.exit_code == 60);
  CurlResult through = curl(
      proxy, {"--cacert", dir.file("ca") + "/workalready-ca.pem", intercepted + "/api/me"}, dir);
  CHECK(through.status == 401);

  REQUIRE(proxy.interrupt() == 0);
  // The console shows the tunnel, since no exchange line can.
  CHECK(count_lines(proxy.process().out(), "CONNECT localhost:" + std::to_string(app.port()) +
                                               " tunnelled untouched, ") == 1);
  store::RecordingData data = load_capture(db);
  INFO(describe(data));
  // Nothing of the tunnelled host was decrypted, so nothing of it is recorded.
  REQUIRE(data.exchanges.size() == 1);
  CHECK(data.exchanges[0].url == intercepted + "/api/me");
  for (const auto& c : data.connections)
    CHECK(c.server_host != "localhost");
}
