#include "protocol/http1.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wa;
using namespace wa::http;

namespace {

std::string escaped(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

const char* framing_name(Framing f) {
  switch (f) {
    case Framing::none:
      return "none";
    case Framing::length:
      return "length";
    case Framing::chunked:
      return "chunked";
    case Framing::until_close:
      return "until_close";
  }
  return "?";
}

// Records every event as a line of text. Adjacent body pieces are merged, because how body bytes
// are cut into pieces is the one thing that may depend on how the input was split.
struct LogSink : Sink {
  std::string log;
  std::vector<Head> heads;
  std::string body;  // all body bytes, for checks
  bool pause_after_head = false;
  bool pause_after_end = false;
  uint64_t base = 0;  // stream position of the buffer being fed
  std::optional<uint64_t> upgrade_at;
  bool in_body = false;

  void line(const std::string& s) {
    in_body = false;
    log += s;
    log += '\n';
  }
  Flow on_head(Head& h) override {
    std::string s = "head ";
    if (h.is_request()) {
      s += h.method + " " + h.target;
    } else {
      s += std::to_string(h.status) + " [" + h.reason + "]";
    }
    s += " HTTP/" + std::to_string(h.version.major) + "." + std::to_string(h.version.minor);
    s += std::string(" framing=") + framing_name(h.framing);
    s += " cl=" + (h.content_length ? std::to_string(*h.content_length) : std::string("-"));
    s += " keep=" + std::to_string(h.keep_alive) + " up=" + std::to_string(h.upgrade);
    s += " continue=" + std::to_string(h.expect_continue);
    s += " bytes=" + std::to_string(h.head_bytes);
    for (const auto& f : h.headers)
      s += "\n  " + escaped(f.name) + ": " + escaped(f.value);
    line(s);
    heads.push_back(h);
    return pause_after_head ? Flow::pause : Flow::proceed;
  }
  void on_body(std::string_view bytes) override {
    CHECK_FALSE(bytes.empty());
    body.append(bytes);
    if (!in_body) log += "body ";
    // Remove the newline of the previous body piece so that pieces merge into one line.
    if (in_body) log.pop_back();
    log += escaped(bytes);
    log += '\n';
    in_body = true;
  }
  void on_trailers(Headers& trailers) override {
    std::string s = "trailers";
    for (const auto& f : trailers)
      s += "\n  " + escaped(f.name) + ": " + escaped(f.value);
    line(s);
  }
  Flow on_message_end() override {
    line("end");
    return pause_after_end ? Flow::pause : Flow::proceed;
  }
  void on_upgrade(size_t offset, std::string_view rest) override {
    upgrade_at = base + offset;
    line("upgrade @" + std::to_string(base + offset));
    (void)rest;
  }
};

struct Options {
  Limits limits;
  std::vector<std::string> expect;  // methods for expect_response_to
  bool finish = false;              // call finish() at the end of the input
  bool resume_upgrades = false;     // call resume_after_upgrade() and go on
  bool pause = false;               // the sink pauses after every head and message
};

// Feeds `input` cut into `pieces` (lengths; the rest goes last) and returns the event log, with
// the bytes after an upgrade and any failure at the end.
std::string run(Role role, std::string_view input, const std::vector<size_t>& pieces,
                const Options& opt) {
  Parser parser(role, opt.limits);
  for (const auto& m : opt.expect)
    parser.expect_response_to(m);
  LogSink sink;
  sink.pause_after_head = sink.pause_after_end = opt.pause;
  std::vector<std::string_view> parts;
  size_t at = 0;
  for (size_t n : pieces) {
    parts.push_back(input.substr(at, n));
    at += n;
  }
  parts.push_back(input.substr(at));
  std::string pending;  // unconsumed bytes carried to the next piece
  // Feeds `pending` until the parser takes nothing more and says nothing more. Returns false
  // when the run is over (a failure or an upgrade).
  auto drain = [&](size_t next_part) {
    for (int guard = 0; guard < 100000; ++guard) {
      size_t before = sink.log.size();
      sink.base = parser.position();
      auto r = parser.feed(pending, sink);
      if (!r) {
        sink.line(std::string("error ") + errc_name(r.error().code) + " [" + r.error().why + "] @" +
                  std::to_string(parser.error_position()));
        CHECK(parser.error_position() == sink.base + parser.error_offset());
        return false;
      }
      pending.erase(0, *r);
      if (parser.upgraded()) {
        if (!opt.resume_upgrades) {
          std::string rest = pending;
          for (size_t j = next_part; j < parts.size(); ++j)
            rest.append(parts[j]);
          sink.line("rest " + escaped(rest));
          return false;
        }
        parser.resume_after_upgrade();
        continue;
      }
      if (*r == 0 && sink.log.size() == before) return true;
    }
    FAIL("the parser never stopped");
    return false;
  };
  for (size_t i = 0; i < parts.size(); ++i) {
    pending.append(parts[i]);
    if (!drain(i + 1)) return sink.log;
  }
  CHECK(pending.empty());
  if (opt.finish) {
    auto r = parser.finish(sink);
    if (!r)
      sink.line(std::string("finish ") + errc_name(r.error().code) + " [" + r.error().why + "]");
  }
  return sink.log;
}

// The event log of `input` fed whole, after checking that every split of it at one byte, the
// byte-by-byte feed, and a sink that pauses after each head and message all give the same log.
std::string parse(Role role, std::string_view input, const Options& opt = {}) {
  std::string whole = run(role, input, {}, opt);
  for (size_t i = 1; i < input.size(); ++i) {
    std::string split = run(role, input, {i}, opt);
    if (split != whole) {
      CHECK_MESSAGE(split == whole, "split at byte " << i);
      break;
    }
  }
  std::vector<size_t> ones(input.size(), 1);
  CHECK_MESSAGE(run(role, input, ones, opt) == whole, "byte by byte");
  Options paused = opt;
  paused.pause = true;
  CHECK_MESSAGE(run(role, input, {}, paused) == whole, "pausing sink");
  CHECK_MESSAGE(run(role, input, ones, paused) == whole, "pausing sink, byte by byte");
  return whole;
}

// The single Head a message yields.
Head head_of(Role role, std::string_view input, const Options& opt = {}) {
  Parser parser(role, opt.limits);
  for (const auto& m : opt.expect)
    parser.expect_response_to(m);
  LogSink sink;
  auto r = parser.feed(input, sink);
  REQUIRE(r.ok());
  REQUIRE(sink.heads.size() >= 1);
  return sink.heads.front();
}

std::string error_of(const std::string& log) {
  auto at = log.rfind("error ");
  return at == std::string::npos ? std::string() : log.substr(at);
}

constexpr Role kReq = Role::request;
constexpr Role kResp = Role::response;

const char kChromeGet[] =
    "GET /app/index.html?lang=en HTTP/1.1\r\n"
    "Host: localhost:5000\r\n"
    "Connection: keep-alive\r\n"
    "Cache-Control: max-age=0\r\n"
    "sec-ch-ua: \"Chromium\";v=\"120\", \"Not_A Brand\";v=\"8\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
    "Sec-Fetch-Site: none\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Cookie: session=eyJfZnJlc2giOmZhbHNlfQ.ZXqK9w.abc; io=Xk2lY8sQ_AAAB\r\n"
    "\r\n";

}  // namespace

TEST_CASE("http1: a Chromium GET with many headers keeps order, case and values") {
  std::string log = parse(kReq, kChromeGet);
  Head h = head_of(kReq, kChromeGet);
  CHECK(h.method == "GET");
  CHECK(h.target == "/app/index.html?lang=en");
  CHECK(h.version == Version{1, 1});
  REQUIRE(h.headers.size() == 16);
  CHECK(h.headers[0] == Header{"Host", "localhost:5000"});
  CHECK(h.headers[3].name == "sec-ch-ua");
  CHECK(h.headers[3].value == "\"Chromium\";v=\"120\", \"Not_A Brand\";v=\"8\"");
  CHECK(h.headers[15] ==
        Header{"Cookie", "session=eyJfZnJlc2giOmZhbHNlfQ.ZXqK9w.abc; io=Xk2lY8sQ_AAAB"});
  CHECK(h.framing == Framing::none);
  CHECK_FALSE(h.content_length);
  CHECK(h.keep_alive);
  CHECK_FALSE(h.upgrade);
  CHECK(h.head_bytes == sizeof(kChromeGet) - 1);
  CHECK(find_header(h.headers, "user-agent")->starts_with("Mozilla/5.0"));
  CHECK(has_token(h.headers, "ACCEPT-ENCODING", "br"));
  CHECK(log.ends_with("end\n"));
}

TEST_CASE("http1: POST with a Content-Length body") {
  std::string msg =
      "POST /login HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: 27\r\n\r\nusername=alice&password=pw";
  msg += "x";  // 27 bytes of body
  std::string log = parse(kReq, msg);
  CHECK(log ==
        "head POST /login HTTP/1.1 framing=length cl=27 keep=1 up=0 continue=0 bytes=102\n"
        "  Host: a\n  Content-Type: application/x-www-form-urlencoded\n  Content-Length: 27\n"
        "body username=alice&password=pwx\n"
        "end\n");
}

TEST_CASE("http1: chunked body with extensions and trailers (RFC 9112 §7.1)") {
  const char msg[] =
      "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n"
      "4;name=value\r\nWiki\r\n"
      "5\r\npedia\r\n"
      "E;a=\"quoted\";b\r\n in\r\n\r\nchunks.\r\n"
      "0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\nX-Checksum: abc\r\n\r\n";
  std::string log = parse(kReq, msg);
  CHECK(log ==
        "head POST /upload HTTP/1.1 framing=chunked cl=- keep=1 up=0 continue=0 bytes=80\n"
        "  Host: a\n  Transfer-Encoding: chunked\n  Trailer: Expires\n"
        "body Wikipedia in\\x0d\\x0a\\x0d\\x0achunks.\n"
        "trailers\n  Expires: Wed, 21 Oct 2015 07:28:00 GMT\n  X-Checksum: abc\n"
        "end\n");
  // The same body in a response.
  std::string resp =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;name=value\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n";
  CHECK(parse(kResp, resp) ==
        "head 200 [OK] HTTP/1.1 framing=chunked cl=- keep=1 up=0 continue=0 bytes=47\n"
        "  Transfer-Encoding: chunked\n"
        "body Wikipedia\n"
        "trailers\n  X-T: 1\n"
        "end\n");
}

TEST_CASE("http1: pipelined requests on one keep-alive connection") {
  std::string msg =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
      "DELETE /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n"
      "GET /d HTTP/1.0\r\n\r\n";
  std::string log = parse(kReq, msg);
  CHECK(log ==
        "head GET /a HTTP/1.1 framing=none cl=- keep=1 up=0 continue=0 bytes=28\n  Host: h\n"
        "end\n"
        "head POST /b HTTP/1.1 framing=length cl=3 keep=1 up=0 continue=0 bytes=48\n"
        "  Host: h\n  Content-Length: 3\n"
        "body xyz\n"
        "end\n"
        "head DELETE /c HTTP/1.1 framing=chunked cl=- keep=1 up=0 continue=0 bytes=59\n"
        "  Host: h\n  Transfer-Encoding: chunked\n"
        "body q\n"
        "end\n"
        "head GET /d HTTP/1.0 framing=none cl=- keep=0 up=0 continue=0 bytes=19\n"
        "end\n");
  // Responses to them, in order, on the other direction.
  std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
      "HTTP/1.1 204 No Content\r\n\r\n"
      "HTTP/1.0 200 OK\r\n\r\nuntil close";
  Options opt;
  opt.finish = true;
  CHECK(parse(kResp, resp, opt) ==
        "head 200 [OK] HTTP/1.1 framing=length cl=2 keep=1 up=0 continue=0 bytes=38\n"
        "  Content-Length: 2\n"
        "body ok\n"
        "end\n"
        "head 201 [Created] HTTP/1.1 framing=chunked cl=- keep=1 up=0 continue=0 bytes=52\n"
        "  Transfer-Encoding: chunked\n"
        "body hi\n"
        "end\n"
        "head 204 [No Content] HTTP/1.1 framing=none cl=- keep=1 up=0 continue=0 bytes=27\n"
        "end\n"
        "head 200 [OK] HTTP/1.0 framing=until_close cl=- keep=0 up=0 continue=0 bytes=19\n"
        "body until close\n"
        "end\n");
}

TEST_CASE("http1: WebSocket upgrade hands over the bytes after the head") {
  const std::string req =
      "GET /socket.io/?EIO=4&transport=websocket&sid=abc HTTP/1.1\r\nHost: a\r\n"
      "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  // A masked text frame "2probe" right behind the head.
  const std::string frame = "\x81\x86\x01\x02\x03\x04\x33\x70\x71\x6b\x63\x67";
  std::string log = parse(kReq, req + frame);
  CHECK(log.find("up=1") != std::string::npos);
  CHECK(log.ends_with("end\nupgrade @" + std::to_string(req.size()) + "\nrest " + escaped(frame) +
                      "\n"));

  const std::string resp =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  const std::string server_frame = "\x81\x06\x33probe";
  Options opt;
  opt.expect = {"GET"};
  log = parse(kResp, resp + server_frame, opt);
  CHECK(log ==
        "head 101 [Switching Protocols] HTTP/1.1 framing=none cl=- keep=1 up=1 continue=0 "
        "bytes=129\n"
        "  Upgrade: websocket\n  Connection: Upgrade\n"
        "  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n"
        "end\n"
        "upgrade @129\n"
        "rest " +
            escaped(server_frame) + "\n");

  // The feed() result says the same as the event.
  Parser p(kResp);
  LogSink sink;
  std::string all = resp + server_frame;
  auto r = p.feed(all, sink);
  REQUIRE(r.ok());
  CHECK(*r == resp.size());
  CHECK(p.upgraded());
  auto again = p.feed(std::string_view(all).substr(*r), sink);
  REQUIRE(again.ok());
  CHECK(*again == 0);
}

TEST_CASE("http1: a declined upgrade goes on in HTTP/1.1") {
  std::string msg =
      "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  Options opt;
  opt.resume_upgrades = true;
  std::string log = parse(kReq, msg, opt);
  CHECK(log ==
        "head GET /chat HTTP/1.1 framing=none cl=- keep=1 up=1 continue=0 bytes=66\n"
        "  Host: a\n  Connection: upgrade\n  Upgrade: h2c\n"
        "end\n"
        "upgrade @66\n"
        "head GET /next HTTP/1.1 framing=none cl=- keep=1 up=0 continue=0 bytes=31\n"
        "  Host: a\n"
        "end\n");
  // A response that merely announces Upgrade is not a switch (RFC 9110 §7.8).
  std::string resp =
      "HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nContent-Length: 1\r\n\r\nx";
  CHECK(parse(kResp, resp).find("up=0") != std::string::npos);
}

TEST_CASE("http1: CONNECT, then tunnel bytes") {
  const std::string req =
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
      "Proxy-Connection: keep-alive\r\nUser-Agent: Mozilla/5.0\r\n\r\n";
  const std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  std::string log = parse(kReq, req + hello);
  CHECK(log ==
        "head CONNECT example.com:443 HTTP/1.1 framing=none cl=- keep=1 up=1 continue=0 "
        "bytes=" +
            std::to_string(req.size()) +
            "\n"
            "  Host: example.com:443\n  Proxy-Connection: keep-alive\n  User-Agent: Mozilla/5.0\n"
            "end\n"
            "upgrade @" +
            std::to_string(req.size()) +
            "\n"
            "rest " +
            escaped(hello) + "\n");

  // The answer to CONNECT starts the tunnel on the response side too.
  const std::string resp = "HTTP/1.1 200 Connection established\r\n\r\n";
  const std::string server_hello("\x16\x03\x03\x00\x7a\x02", 6);
  Options opt;
  opt.expect = {"CONNECT"};
  log = parse(kResp, resp + server_hello, opt);
  CHECK(log ==
        "head 200 [Connection established] HTTP/1.1 framing=none cl=- keep=1 up=1 continue=0 "
        "bytes=39\n"
        "end\n"
        "upgrade @39\n"
        "rest " +
            escaped(server_hello) + "\n");
  // A refusal is an ordinary response with a body.
  opt.expect = {"CONNECT"};
  log = parse(kResp, "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno",
              opt);
  CHECK(log.find("up=0") != std::string::npos);
  CHECK(log.find("body no\nend\n") != std::string::npos);
}

TEST_CASE("http1: 100-continue, then the final response") {
  std::string req =
      "PUT /file HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello";
  std::string log = parse(kReq, req);
  CHECK(log.find("continue=1") != std::string::npos);
  CHECK(log.find("body hello\nend\n") != std::string::npos);

  std::string resp =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone";
  Options opt;
  opt.expect = {"PUT"};
  CHECK(parse(kResp, resp, opt) ==
        "head 100 [Continue] HTTP/1.1 framing=none cl=- keep=1 up=0 continue=0 bytes=25\n"
        "end\n"
        "head 103 [Early Hints] HTTP/1.1 framing=none cl=- keep=1 up=0 continue=0 bytes=61\n"
        "  Link: </style.css>; rel=preload\n"
        "end\n"
        "head 200 [OK] HTTP/1.1 framing=length cl=4 keep=1 up=0 continue=0 bytes=38\n"
        "  Content-Length: 4\n"
        "body done\n"
        "end\n");
  // Interim responses do not use up the queued method: HEAD still applies to the final one.
  opt.expect = {"HEAD", "GET"};
  std::string head_resp =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  log = parse(kResp, head_resp, opt);
  CHECK(log.find("cl=10") != std::string::npos);
  CHECK(log.ends_with("body ok\nend\n"));
}

TEST_CASE("http1: HEAD responses carry Content-Length but no body") {
  std::string resp =
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1234\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
  Options opt;
  opt.expect = {"HEAD", "GET"};
  CHECK(parse(kResp, resp, opt) ==
        "head 200 [OK] HTTP/1.1 framing=none cl=1234 keep=1 up=0 continue=0 bytes=66\n"
        "  Content-Type: text/html\n  Content-Length: 1234\n"
        "end\n"
        "head 200 [OK] HTTP/1.1 framing=length cl=2 keep=1 up=0 continue=0 bytes=38\n"
        "  Content-Length: 2\n"
        "body hi\n"
        "end\n");
  // Without the method the same bytes read as a 1234-byte body: the caller must say.
  std::string log = parse(kResp, resp);
  CHECK(log.find("framing=length cl=1234") != std::string::npos);
}

TEST_CASE("http1: 204 and 304 have no body whatever their fields say") {
  std::string resp =
      "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
      "HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\nContent-Length: 5000\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz";
  std::string log = parse(kResp, resp);
  CHECK(log ==
        "head 204 [No Content] HTTP/1.1 framing=none cl=10 keep=1 up=0 continue=0 bytes=47\n"
        "  Content-Length: 10\n"
        "end\n"
        "head 304 [Not Modified] HTTP/1.1 framing=none cl=5000 keep=1 up=0 continue=0 "
        "bytes=64\n"
        "  ETag: \"abc\"\n  Content-Length: 5000\n"
        "end\n"
        "head 200 [OK] HTTP/1.1 framing=length cl=1 keep=1 up=0 continue=0 bytes=38\n"
        "  Content-Length: 1\n"
        "body z\n"
        "end\n");
}

TEST_CASE("http1: eventlet's 304 with a chunked empty body, then the next response") {
  // Flask-SocketIO on eventlet: a 304 (or 204) that declares chunked and sends "0\r\n\r\n".
  std::string resp =
      "HTTP/1.1 304 Not Modified\r\nContent-Type: text/html; charset=utf-8\r\n"
      "Transfer-Encoding: chunked\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n0\r\n\r\n"
      "HTTP/1.1 204 NO CONTENT\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n40{";
  std::string log = parse(kResp, resp);
  CHECK(log ==
        "head 304 [Not Modified] HTTP/1.1 framing=none cl=- keep=1 up=0 continue=0 bytes=134\n"
        "  Content-Type: text/html; charset=utf-8\n  Transfer-Encoding: chunked\n"
        "  Date: Mon, 01 Jan 2024 00:00:00 GMT\n"
        "end\n"
        "head 204 [NO CONTENT] HTTP/1.1 framing=none cl=- keep=1 up=0 continue=0 bytes=55\n"
        "  Transfer-Encoding: chunked\n"
        "end\n"
        "head 200 [OK] HTTP/1.1 framing=length cl=3 keep=1 up=0 continue=0 bytes=38\n"
        "  Content-Length: 3\n"
        "body 40{\n"
        "end\n");
  // The same without the empty body (what RFC 9112 says to send) parses as well.
  std::string plain =
      "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
  CHECK(parse(kResp, plain).ends_with("body x\nend\n"));
  // Something else after the 0 is an error, not a silent skip.
  std::string bad = "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX";
  CHECK(error_of(parse(kResp, bad)) ==
        "error http_malformed [a body after a response that cannot have one] @60\n");
  // The connection may close right after the 304 or inside the empty body.
  Options opt;
  opt.finish = true;
  CHECK(parse(kResp, "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", opt)
            .ends_with("end\n"));
}

TEST_CASE("http1: header section size limit") {
  Options opt;
  opt.limits.max_head_bytes = 100;
  std::string big(200, 'a');
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + big + "\r\n\r\n";
  CHECK(parse(kReq, req, opt) ==
        "error http_header_too_large [header section over 100 bytes] @100\n");
  std::string resp = "HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\n\r\n";
  CHECK(parse(kResp, resp, opt) ==
        "error http_header_too_large [header section over 100 bytes] @100\n");
  // A long target counts too.
  CHECK(error_of(parse(kReq, "GET /" + big + " HTTP/1.1\r\nHost: a\r\n\r\n", opt)) ==
        "error http_header_too_large [header section over 100 bytes] @100\n");
  // Exactly at the limit is fine; the limit applies to each message anew.
  std::string exact = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(100 - 32, 'b') + "\r\n\r\n";
  REQUIRE(exact.size() == 100);
  std::string log = parse(kReq, exact + exact, opt);
  CHECK(log.find("error") == std::string::npos);
  CHECK(log.find("bytes=100") != std::string::npos);
  // An endless stream of header bytes fails at the limit instead of growing memory.
  std::string endless = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(5000, 'c');
  CHECK(error_of(parse(kReq, endless, opt)) ==
        "error http_header_too_large [header section over 100 bytes] @100\n");
  // Whitespace that llhttp skips without telling anyone counts as well.
  std::string spaces = "GET / HTTP/1.1\r\nHost: a\r\nX:" + std::string(5000, ' ');
  CHECK(error_of(parse(kReq, spaces, opt)) ==
        "error http_header_too_large [header section over 100 bytes] @100\n");
  // Trailers have the same limit.
  opt.limits.max_head_bytes = 60;
  std::string trailers =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + big + "\r\n\r\n";
  CHECK(error_of(parse(kReq, trailers, opt)) ==
        "error http_header_too_large [trailer section over 60 bytes] @119\n");
}

TEST_CASE("http1: header count limit") {
  Options opt;
  opt.limits.max_headers = 5;
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 4; ++i)
    req += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(parse(kReq, req + "\r\n", opt).find("error") == std::string::npos);
  std::string more = req + "X-Six: v\r\n\r\n";
  CHECK(parse(kReq, more, opt) == "error http_too_many_headers [more than 5 header fields] @" +
                                      std::to_string(req.size() + 6) + "\n");
  std::string resp = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n";
  CHECK(parse(kResp, resp, opt) == "error http_too_many_headers [more than 5 header fields] @49\n");
  // A field over the limit whose name never completes fails on its name, however the input
  // is split (the parser counts completed names, so no split decides the outcome).
  opt.limits.max_headers = 4;
  CHECK(error_of(parse(kReq,
                       "POST / HTTP/1.1\r\nHost: a\r\nA: 0\r\nB: 2\r\nC: 3\r\nCTnt\x9c: 1\r\n\r\n",
                       opt)) == "error http_malformed [invalid header token] @48\n");
  opt.limits.max_headers = 5;
  std::string trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  for (int i = 0; i < 6; ++i)
    trailers += "T" + std::to_string(i) + ": v\r\n";
  CHECK(error_of(parse(kResp, trailers + "\r\n", opt)) ==
        "error http_too_many_headers [more than 5 trailer fields] @88\n");
}

TEST_CASE("http1: request smuggling is refused (RFC 9112 §6.3, §11.2)") {
  auto err = [](const std::string& msg) { return error_of(parse(kReq, msg)); };
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
            .starts_with("error http_smuggling [Content-Length with Transfer-Encoding] @"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n")
            .starts_with("error http_smuggling"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc") ==
        "error http_smuggling [duplicate Content-Length] @61\n");
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
            .starts_with("error http_smuggling [duplicate Content-Length]"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc")
            .starts_with(
                "error http_smuggling [Transfer-Encoding whose last coding is not chunked]"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")
            .starts_with("error http_smuggling"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
            .starts_with("error http_smuggling"));
  // All Transfer-Encoding lines taken together: chunked alone, once, and last.
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") ==
        "error http_smuggling [Transfer-Encoding with a coding other than chunked] @78\n");
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")
            .starts_with(
                "error http_smuggling [Transfer-Encoding with a coding other than chunked]"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, x\r\n\r\n0\r\n\r\n")
            .starts_with(
                "error http_smuggling [Transfer-Encoding whose last coding is not chunked]"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"
            "0\r\n\r\n")
            .starts_with("error http_smuggling"));
  CHECK(error_of(parse(kReq,
                       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"
                       "0\r\n\r\n"))
            .empty());
  CHECK(err("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") ==
        "error http_smuggling [Transfer-Encoding in an HTTP/1.0 request] @47\n");
  // llhttp 8 skips any two bytes after chunk data; we insist on CRLF.
  CHECK(
      err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n") ==
      "error http_smuggling [chunk data not followed by CRLF] @62\n");
  CHECK(
      err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n") ==
      "error http_smuggling [chunk data not followed by CRLF] @62\n");
}

TEST_CASE("http1: malformed requests") {
  auto err = [](const std::string& msg) { return error_of(parse(kReq, msg)); };
  CHECK(err("GET / HTTP/1.1\nHost: a\r\n\r\n") == "error http_malformed [bare LF] @14\n");
  CHECK(err("GET / HTTP/1.1\r\nHost: a\r\n\n") == "error http_malformed [bare LF] @25\n");
  CHECK(err("GET / HTTP/1.1\r\nHost: a\n\r\n").starts_with("error http_malformed"));
  CHECK(err("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n").starts_with("error http_malformed"));
  CHECK(err("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n") ==
        "error http_malformed [obs-fold (a line starting with whitespace)] @31\n");
  CHECK(err("GET / HTTP/1.1\r\nHost : a\r\n\r\n") ==
        "error http_malformed [whitespace before the colon of a field] @22\n");
  CHECK(err("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") ==
        "error http_malformed [more than one Host field] @36\n");
  CHECK(err("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n") ==
        "error http_malformed [no Host field in an HTTP/1.1 request] @31\n");
  CHECK(
      err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n")
          .starts_with("error http_malformed [invalid character in chunk size]"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "fffffffffffffffffff\r\n")
            .starts_with("error http_malformed [chunk size overflow]"));
  CHECK(
      err("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n")
          .starts_with("error http_malformed"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n")
            .starts_with("error http_malformed [invalid character in Content-Length]"));
  CHECK(err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx")
            .starts_with("error http_malformed"));
  CHECK(err("get / HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("error http_malformed"));
  CHECK(err("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("error http_malformed"));
  CHECK(err("GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n").starts_with("error http_malformed"));
  CHECK(err("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n") ==
        "error http_malformed [empty field name] @26\n");
  CHECK(err("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n") ==
        "error http_malformed [whitespace or control byte in the target] @30\n");
  // HTTP/0.9 is refused at the end of its line, not at the next byte (which may never come).
  CHECK(err("GET /index.html\r\n\r\n") ==
        "error http_malformed [a request line without an HTTP version (HTTP/0.9)] @15\n");
  CHECK(err("GET /\r\n") ==
        "error http_malformed [a request line without an HTTP version (HTTP/0.9)] @5\n");
  CHECK(err("\r\nGET /\r\n") ==
        "error http_malformed [a request line without an HTTP version (HTTP/0.9)] @7\n");
  // One space between the parts of the request line (RFC 9112 §3), as servers split it.
  CHECK(err("GET  /x HTTP/1.1\r\nHost: a\r\n\r\n") ==
        "error http_malformed [more than one space between the parts of the request line] @4\n");
  CHECK(err("GET /x  HTTP/1.1\r\nHost: a\r\n\r\n") ==
        "error http_malformed [more than one space between the parts of the request line] @7\n");
  CHECK(err("GET /x HTTP/1.1 \r\nHost: a\r\n\r\n").starts_with("error http_malformed"));
  CHECK(err(" GET /x HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("error http_malformed"));
  // A Host the server would read otherwise than the proxy (RFC 9110 §7.2, RFC 3986 §3.2).
  for (const char* host : {"a b@c", "user@a", "a:99999", "a:8o", "[::1", "a,b c"}) {
    CAPTURE(host);
    CHECK(err(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n")
              .starts_with("error http_malformed [invalid Host field value] @"));
  }
  CHECK(error_of(parse(kReq, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n")).empty());
  CHECK(error_of(parse(kReq, "GET / HTTP/1.1\r\nHost:\r\n\r\n")).empty());
  CHECK(err("GET / HTTP/2.0\r\nHost: a\r\n\r\n").starts_with("error http_malformed"));
  CHECK(err("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") ==
        "error http_malformed [HTTP/2 connection preface on an HTTP/1.1 connection] @24\n");
}

TEST_CASE("http1: garbage never crashes and always fails cleanly") {
  const std::string inputs[] = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9),  // TLS sent to a plain port
      "HTTP/1.1 200 OK\r\n\r\n",                               // a response to the request side
      std::string(64, '\0'),
      "\r\n\r\n\r\n GET",
      "GET / HTTP/9.9\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\n:\r\n\r\n",
  };
  for (const auto& in : inputs) {
    std::string log = parse(kReq, in);
    CHECK_MESSAGE(log.find("error http_malformed") != std::string::npos, escaped(in));
  }
  CHECK(error_of(parse(kResp, "GET / HTTP/1.1\r\n\r\n")).starts_with("error http_malformed"));
  CHECK(error_of(parse(kResp, "HTTP/1.1 2000 OK\r\n\r\n")).starts_with("error http_malformed"));
  CHECK(error_of(parse(kResp, std::string("\x81\x05hello", 7))).starts_with("error"));
  // A failure is final.
  Parser p(kReq);
  LogSink sink;
  auto r1 = p.feed("BAD\r\n", sink);
  REQUIRE_FALSE(r1.ok());
  auto r2 = p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n", sink);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().why == r1.error().why);
  CHECK(p.failed());
  CHECK(sink.heads.empty());
}

TEST_CASE("http1: a connection closed mid-message is incomplete") {
  Options opt;
  opt.finish = true;
  CHECK(parse(kReq, "GET / HTTP/1.1\r\nHost: a\r\n", opt) ==
        "finish incomplete [connection closed in the middle of a message]\n");
  CHECK(parse(kReq, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", opt)
            .ends_with(
                "body ab\nfinish incomplete [connection closed in the middle of a message]\n"));
  CHECK(parse(kResp, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", opt)
            .ends_with("finish incomplete [connection closed in the middle of a message]\n"));
  // Between messages, closing is clean.
  CHECK(parse(kReq, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", opt).ends_with("end\n"));
  Parser p(kReq);
  LogSink sink;
  CHECK_FALSE(p.in_message());
  REQUIRE(p.feed("GET / HT", sink).ok());
  CHECK(p.in_message());
  REQUIRE(p.feed("TP/1.1\r\nHost: a\r\n\r\n", sink).ok());
  CHECK_FALSE(p.in_message());
  CHECK(p.finish(sink).ok());
}

TEST_CASE("http1: responses are read as leniently as browsers read them") {
  // LF-only lines (RFC 9112 §2.2 allows a recipient to accept them).
  CHECK(parse(kResp, "HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nok") ==
        "head 200 [OK] HTTP/1.1 framing=length cl=2 keep=1 up=0 continue=0 bytes=42\n"
        "  Content-Length: 2\n  X-A: b\n"
        "body ok\n"
        "end\n");
  // No reason phrase, with and without the space.
  CHECK(parse(kResp, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").starts_with("head 200 []"));
  CHECK(parse(kResp, "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n").starts_with("head 404 []"));
  // obs-fold: the continuation joins the value (RFC 9112 §5.2).
  CHECK(
      parse(kResp, "HTTP/1.1 200 OK\r\nX-Long: part one\r\n  part two\r\nContent-Length: 0\r\n\r\n")
          .find("  X-Long: part one  part two\n") != std::string::npos);
  // Control bytes and UTF-8 in values, and trailing whitespace removed.
  CHECK(parse(kResp, "HTTP/1.1 200 OK\r\nX: a\x01z \r\nY: \xc3\xa9\r\nContent-Length: 0\r\n\r\n")
            .find("  X: a\\x01z\n  Y: \\xc3\\xa9\n") != std::string::npos);
  // A field without a name is skipped, as browsers skip it.
  CHECK(parse(kResp, "HTTP/1.1 200 OK\r\nA: 1\r\n: nameless\r\n : x\r\nB: 2\r\n\r\n")
            .starts_with("head 200 [OK] HTTP/1.1 framing=until_close cl=- keep=0 up=0 continue=0 "
                         "bytes=49\n  A: 1\n  B: 2\n"));
  // Whitespace before the colon is removed (RFC 9112 §5.1 asks proxies to).
  CHECK(parse(kResp, "HTTP/1.1 200 OK\r\nX-Name : v\r\nContent-Length: 0\r\n\r\n")
            .find("  X-Name: v\n") != std::string::npos);
  // Content-Length beside chunked: chunked wins (RFC 9112 §6.3 rule 3).
  CHECK(parse(kResp,
              "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
              "2\r\nab\r\n0\r\n\r\n") ==
        "head 200 [OK] HTTP/1.1 framing=chunked cl=100 keep=1 up=0 continue=0 bytes=68\n"
        "  Content-Length: 100\n  Transfer-Encoding: chunked\n"
        "body ab\n"
        "end\n");
  // A repeated, identical Content-Length is accepted; different ones are not.
  CHECK(parse(kResp,
              "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"
              "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd")
            .ends_with("body abc\nend\nhead 200 [OK] HTTP/1.1 framing=length cl=1 keep=1 up=0 "
                       "continue=0 bytes=38\n  Content-Length: 1\nbody d\nend\n"));
  CHECK(error_of(parse(kResp,
                       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")) ==
        "error http_smuggling [conflicting Content-Length values] @55\n");
  // A coding after chunked: the body runs to the close (RFC 9112 §6.3 rule 4).
  Options opt;
  opt.finish = true;
  CHECK(parse(kResp, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nraw", opt) ==
        "head 200 [OK] HTTP/1.1 framing=until_close cl=- keep=0 up=0 continue=0 bytes=53\n"
        "  Transfer-Encoding: chunked, gzip\n"
        "body raw\n"
        "end\n");
  // No length at all: until close.
  CHECK(parse(kResp, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", opt)
            .ends_with("body all of it\nend\n"));
}

TEST_CASE("http1: keep-alive decisions and bytes after a closing message") {
  CHECK(parse(kReq, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").find("keep=1") !=
        std::string::npos);
  CHECK(parse(kReq, "GET / HTTP/1.0\r\n\r\n").find("keep=0") != std::string::npos);
  // After Connection: close the parser ignores what follows, as llhttp does.
  std::string log = parse(kReq,
                          "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                          "GET /ignored HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(log.find("keep=0") != std::string::npos);
  CHECK(log.find("ignored") == std::string::npos);
  Parser p(kReq);
  LogSink sink;
  auto r = p.feed("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\njunk", sink);
  REQUIRE(r.ok());
  CHECK(*r == 50);
  CHECK(p.closed());
}

TEST_CASE("http1: body size limit") {
  Options opt;
  opt.limits.max_body_bytes = 4;
  CHECK(error_of(parse(kReq, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde",
                       opt)) == "error http_body_too_large [Content-Length over 4 bytes] @47\n");
  CHECK(parse(kReq,
              "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
              opt)
            .ends_with("body abcd\nerror http_body_too_large [body over 4 bytes] @68\n"));
}

TEST_CASE("http1: a pausing sink gets the rest on the next feed") {
  Parser p(kReq);
  LogSink sink;
  sink.pause_after_head = true;
  std::string two =
      "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
      "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  auto r = p.feed(two, sink);
  REQUIRE(r.ok());
  CHECK(*r == 48);  // stopped right after the first head
  CHECK(sink.heads.size() == 1);
  sink.pause_after_head = false;
  sink.pause_after_end = true;
  auto r2 = p.feed(std::string_view(two).substr(48), sink);
  REQUIRE(r2.ok());
  CHECK(*r2 == 2);  // the body, then the end of the first message
  CHECK(sink.body == "hi");
  auto r3 = p.feed(std::string_view(two).substr(50), sink);
  REQUIRE(r3.ok());
  CHECK(*r3 == two.size() - 50);
  CHECK(sink.heads.size() == 2);
  CHECK(p.position() == two.size());
}

TEST_CASE("http1: find_header and has_token") {
  Headers h = {{"Connection", "keep-alive, Upgrade"},
               {"upgrade", "websocket"},
               {"Cache-Control", "no-cache"},
               {"Cache-Control", " private ,no-store"}};
  CHECK(find_header(h, "UPGRADE") == "websocket");
  CHECK(find_header(h, "cache-control") == "no-cache");
  CHECK_FALSE(find_header(h, "cookie"));
  CHECK(has_token(h, "connection", "upgrade"));
  CHECK(has_token(h, "Connection", "KEEP-ALIVE"));
  CHECK(has_token(h, "cache-control", "no-store"));
  CHECK(has_token(h, "cache-control", "private"));
  CHECK_FALSE(has_token(h, "connection", "close"));
  CHECK_FALSE(has_token(h, "connection", "keep"));
  CHECK_FALSE(has_token(h, "upgrade", "web"));
}
