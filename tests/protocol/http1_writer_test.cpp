#include "protocol/http1_writer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace wa;
using namespace wa::http;

namespace {

struct Collect : Sink {
  std::vector<Head> heads;
  std::string body;
  std::vector<Headers> trailers;
  int ends = 0;
  Flow on_head(Head& h) override {
    heads.push_back(std::move(h));
    return Flow::proceed;
  }
  void on_body(std::string_view b) override { body.append(b); }
  void on_trailers(Headers& t) override { trailers.push_back(t); }
  Flow on_message_end() override {
    ++ends;
    return Flow::proceed;
  }
};

}  // namespace

TEST_CASE("http1_writer: a parsed request head is written back byte for byte") {
  const std::string wire =
      "POST /api/v1/items?x=1&y=%20 HTTP/1.1\r\n"
      "host: example.test\r\n"
      "X-Requested-With: XMLHttpRequest\r\n"
      "content-type: application/json\r\n"
      "Cookie: a=1\r\n"
      "Cookie: b=2\r\n"
      "CONTENT-LENGTH: 2\r\n"
      "\r\n";
  Parser parser(Role::request);
  Collect sink;
  REQUIRE(parser.feed(wire + "{}", sink).ok());
  REQUIRE(sink.heads.size() == 1);
  auto out = serialize_request_head(sink.heads[0]);
  REQUIRE(out.ok());
  CHECK(*out == wire);
}

TEST_CASE("http1_writer: a parsed response head is written back byte for byte") {
  const std::string wire =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "set-cookie: sid=abc; Path=/; HttpOnly\r\n"
      "Set-Cookie: io=xyz; Path=/\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n";
  Parser parser(Role::response);
  Collect sink;
  std::string body;
  append_chunk(body, "hello ");
  append_chunk(body, "");
  append_chunk(body, std::string(300, 'w'));
  append_last_chunk(body);
  REQUIRE(parser.feed(wire + body, sink).ok());
  REQUIRE(sink.heads.size() == 1);
  CHECK(sink.body == "hello " + std::string(300, 'w'));
  CHECK(sink.ends == 1);
  auto out = serialize_response_head(sink.heads[0]);
  REQUIRE(out.ok());
  CHECK(*out == wire);
  // An empty reason keeps its space (RFC 9112 §4).
  Head h;
  h.status = 204;
  CHECK(*serialize_response_head(h) == "HTTP/1.1 204 \r\n\r\n");
  h.version = {1, 0};
  h.status = 301;
  h.reason = "Moved Permanently";
  h.headers = {{"Location", "/new"}};
  CHECK(*serialize_response_head(h) == "HTTP/1.0 301 Moved Permanently\r\nLocation: /new\r\n\r\n");
}

TEST_CASE("http1_writer: chunk encoding") {
  CHECK(chunk_header(0) == "0\r\n");
  CHECK(chunk_header(10) == "a\r\n");
  CHECK(chunk_header(0x1234abcd) == "1234abcd\r\n");
  std::string out;
  append_chunk(out, "Wiki");
  append_chunk(out, std::string(16, 'x'));
  CHECK(out == "4\r\nWiki\r\n10\r\n" + std::string(16, 'x') + "\r\n");
  append_last_chunk(out);
  CHECK(out.ends_with("\r\n0\r\n\r\n"));

  std::string with_trailers;
  append_chunk(with_trailers, "abc");
  REQUIRE(append_last_chunk(with_trailers, {{"Expires", "never"}, {"X-Sum", "9"}}).ok());
  CHECK(with_trailers == "3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 9\r\n\r\n");
  std::string untouched = "keep";
  CHECK_FALSE(append_last_chunk(untouched, {{"Bad", "a\r\nb"}}).ok());
  CHECK(untouched == "keep");

  // What the encoder writes, the parser reads back, with the trailers.
  Parser parser(Role::request);
  Collect sink;
  std::string msg =
      "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + with_trailers;
  auto r = parser.feed(msg, sink);
  REQUIRE(r.ok());
  CHECK(*r == msg.size());
  CHECK(sink.body == "abc");
  REQUIRE(sink.trailers.size() == 1);
  CHECK(sink.trailers[0] == Headers{{"Expires", "never"}, {"X-Sum", "9"}});
}

TEST_CASE("http1_writer: refuses what would change the framing (header injection)") {
  Head req;
  req.method = "GET";
  req.target = "/";
  req.headers = {{"Host", "a"}};
  CHECK(serialize_request_head(req).ok());

  Head bad = req;
  bad.headers.push_back({"X", "a\r\nContent-Length: 5"});
  CHECK(serialize_request_head(bad).error().code == Errc::http_malformed);
  bad = req;
  bad.headers.push_back({"X", std::string("a\0b", 3)});
  CHECK_FALSE(serialize_request_head(bad).ok());
  bad = req;
  bad.headers.push_back({"X Y", "v"});
  CHECK_FALSE(serialize_request_head(bad).ok());
  bad = req;
  bad.headers.push_back({"", "v"});
  CHECK_FALSE(serialize_request_head(bad).ok());
  bad = req;
  bad.target = "/a b";
  CHECK_FALSE(serialize_request_head(bad).ok());
  bad = req;
  bad.target = "";
  CHECK_FALSE(serialize_request_head(bad).ok());
  bad = req;
  bad.method = "GET /";
  CHECK_FALSE(serialize_request_head(bad).ok());
  bad = req;
  bad.version = {11, 0};
  CHECK_FALSE(serialize_request_head(bad).ok());

  Head resp;
  resp.status = 200;
  resp.reason = "OK\r\nX: y";
  CHECK_FALSE(serialize_response_head(resp).ok());
  resp.reason = "OK";
  resp.status = 42;
  CHECK_FALSE(serialize_response_head(resp).ok());
}
