#include "replay/http_client.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/tcp_listener.h"
#include "net/timer.h"
#include "net/tls_stream.h"
#include "protocol/http1.h"
#include "replay/body.h"
#include "tests/net/pki.h"
#include "tests/net/support.h"

using namespace wa;
using namespace wa::replay;
using wa::net::testing::run_until;

namespace {

// A loopback HTTP/1.1 server whose answers the test writes by hand, byte for byte.
struct TestServer {
  struct Conn final : http::Sink {
    TestServer* server = nullptr;
    size_t index = 0;
    net::Owned<net::Stream> stream;
    http::Parser parser{http::Role::request};
    http::Head head;
    std::string body;
    std::string raw;  // every byte received

    http::Flow on_head(http::Head& h) override {
      head = h;
      body.clear();
      return http::Flow::proceed;
    }
    void on_body(std::string_view bytes) override { body.append(bytes); }
    http::Flow on_message_end() override {
      ++server->requests;
      if (server->on_request) server->on_request(*this);
      return http::Flow::proceed;
    }
    void reply(std::string bytes) {
      if (stream) stream->write(std::move(bytes));
    }
    void drop() { stream.reset(); }
  };

  explicit TestServer(net::Loop& loop, std::shared_ptr<net::TlsContext> tls = nullptr)
      : tls_(std::move(tls)) {
    auto listening =
        net::TcpListener::listen(loop, "127.0.0.1", 0, [this](net::Owned<net::TcpConnection> tcp) {
          accept(net::Owned<net::Stream>(tcp.release()));
        });
    REQUIRE(listening);
    listener = std::move(listening).value();
  }

  void accept(net::Owned<net::Stream> stream) {
    auto conn = std::make_unique<Conn>();
    conn->server = this;
    conn->index = conns.size();
    Conn* c = conn.get();
    conns.push_back(std::move(conn));
    if (tls_) {
      stream = net::TlsStream::server(std::move(stream), tls_, [](net::Outcome<void>) {}, {});
    }
    c->stream = std::move(stream);
    c->stream->start(net::StreamHandler{[c](std::string_view bytes) {
                                          c->raw.append(bytes);
                                          (void)c->parser.feed(bytes, *c);
                                        },
                                        [c] { c->drop(); }, [c](const net::Error&) { c->drop(); }});
  }

  uint16_t port() const { return listener->port(); }
  std::string url(std::string_view path) const {
    return std::string(tls_ ? "https" : "http") + "://" + (tls_ ? "localhost" : "127.0.0.1") + ":" +
           std::to_string(port()) + std::string(path);
  }

  void close() {
    listener.reset();
    conns.clear();
  }

  std::function<void(Conn&)> on_request;
  std::vector<std::unique_ptr<Conn>> conns;
  net::Owned<net::TcpListener> listener;
  int requests = 0;
  std::shared_ptr<net::TlsContext> tls_;
};

std::string ok_response(std::string_view body, std::string_view extra = {}) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + std::string(extra) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// Runs a request to completion and returns its result.
ClientResult<HttpResponse> run(net::Loop& loop, HttpClient& client, HttpRequest request) {
  std::optional<ClientResult<HttpResponse>> result;
  HttpCall call = client.send(std::move(request),
                              [&](ClientResult<HttpResponse> r) { result.emplace(std::move(r)); });
  REQUIRE(run_until(loop, [&] { return result.has_value(); }));
  CHECK_FALSE(call.pending());
  return std::move(*result);
}

}  // namespace

TEST_CASE("HttpClient: a GET, then a second one on the kept-alive connection") {
  net::Loop loop;
  {
    TestServer server(loop);
    server.on_request = [](TestServer::Conn& c) {
      c.reply(ok_response("hello " + c.head.target, "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n"));
    };
    HttpClient client(loop);
    auto first = run(loop, client, {.url = server.url("/one?x=1")});
    REQUIRE(first);
    CHECK(first->status == 200);
    CHECK(first->reason == "OK");
    CHECK(first->body == "hello /one?x=1");
    CHECK_FALSE(first->reused);
    REQUIRE(first->headers.size() == 4);
    CHECK(first->headers[1] == http::Header{"Set-Cookie", "a=1"});
    CHECK(first->headers[2] == http::Header{"Set-Cookie", "b=2"});
    CHECK(client.idle_connections() == 1);

    auto second = run(loop, client, {.url = server.url("/two")});
    REQUIRE(second);
    CHECK(second->body == "hello /two");
    CHECK(second->reused);
    CHECK(client.connections_opened() == 1);
    CHECK(server.conns.size() == 1);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: headers go in order, Host first when absent, Content-Length set") {
  net::Loop loop;
  {
    TestServer server(loop);
    server.on_request = [](TestServer::Conn& c) { c.reply(ok_response(c.body)); };
    HttpClient client(loop);
    HttpRequest request{.method = "POST",
                        .url = server.url("/login"),
                        .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                                    {"Cookie", "a=1"},
                                    {"Content-Length", "999"},
                                    {"X-Two", "2"}},
                        .body = "username=alice&password=x"};
    auto response = run(loop, client, request);
    REQUIRE(response);
    CHECK(response->body == "username=alice&password=x");
    REQUIRE(server.conns.size() == 1);
    std::string expected =
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(server.port()) +
        "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Cookie: a=1\r\nX-Two: 2\r\nContent-Length: 25\r\n\r\n"
        "username=alice&password=x";
    CHECK(server.conns[0]->raw == expected);

    // A Host given is kept where it is; an empty POST still says its length.
    server.conns[0]->raw.clear();
    auto again = run(loop, client,
                     {.method = "POST",
                      .url = server.url("/x#fragment"),
                      .headers = {{"Accept", "*/*"}, {"Host", "example.test"}}});
    REQUIRE(again);
    CHECK(server.conns[0]->raw ==
          "POST /x HTTP/1.1\r\nAccept: */*\r\nHost: example.test\r\nContent-Length: 0\r\n\r\n");
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: chunked bodies, HEAD, interim responses, close-delimited bodies") {
  net::Loop loop;
  {
    TestServer server(loop);
    server.on_request = [](TestServer::Conn& c) {
      if (c.head.target == "/chunked") {
        c.reply(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
            "world\r\n0\r\n\r\n");
      } else if (c.head.method == "HEAD") {
        c.reply("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
      } else if (c.head.target == "/continue") {
        c.reply("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
      } else if (c.head.target == "/until-close") {
        c.reply("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
        c.stream->shutdown();
      }
    };
    HttpClient client(loop);
    auto chunked = run(loop, client, {.url = server.url("/chunked")});
    REQUIRE(chunked);
    CHECK(chunked->body == "hello world");
    auto head = run(loop, client, {.method = "HEAD", .url = server.url("/")});
    REQUIRE(head);
    CHECK(head->status == 200);
    CHECK(head->body.empty());
    CHECK(head->reused);  // the HEAD response had no body: the connection is still good
    auto created = run(loop, client, {.url = server.url("/continue")});
    REQUIRE(created);
    CHECK(created->status == 201);
    CHECK(created->body == "ok");
    auto until_close = run(loop, client, {.url = server.url("/until-close")});
    REQUIRE(until_close);
    CHECK(until_close->body == "all of it");
    CHECK(client.idle_connections() == 0);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: failures are one-line reasons") {
  net::Loop loop;
  {
    HttpClient client(loop, {.connect_timeout_ms = 2000, .response_timeout_ms = 200});
    // A port nothing listens on.
    uint16_t closed_port = 0;
    {
      TestServer gone(loop);
      closed_port = gone.port();
      gone.close();
    }
    auto refused =
        run(loop, client, {.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/"});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == FailureKind::connect);
    CHECK(refused.error().why ==
          "cannot connect to 127.0.0.1:" + std::to_string(closed_port) + ": connection refused");

    auto bad = run(loop, client, {.url = "ftp://127.0.0.1/"});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == FailureKind::setup);

    TestServer server(loop);
    server.on_request = [](TestServer::Conn& c) {
      if (c.head.target == "/close") c.drop();
      if (c.head.target == "/half") {
        c.reply("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        c.stream->shutdown();
      }
      if (c.head.target == "/garbage") c.reply("SMTP ready\r\n\r\n");
      // "/slow": never answered
    };
    auto slow = run(loop, client, {.url = server.url("/slow")});
    REQUIRE_FALSE(slow);
    CHECK(slow.error().kind == FailureKind::timeout);
    CHECK(slow.error().why ==
          "no response from 127.0.0.1:" + std::to_string(server.port()) + " within 200 ms");

    auto closed = run(loop, client, {.url = server.url("/close")});
    REQUIRE_FALSE(closed);
    CHECK(closed.error().kind == FailureKind::closed);
    CHECK(closed.error().why ==
          "connection closed before the response from 127.0.0.1:" + std::to_string(server.port()));

    auto half = run(loop, client, {.url = server.url("/half")});
    REQUIRE_FALSE(half);
    CHECK(half.error().kind == FailureKind::closed);
    CHECK(half.error().why.starts_with("connection closed in the middle of the response"));

    auto garbage = run(loop, client, {.url = server.url("/garbage")});
    REQUIRE_FALSE(garbage);
    CHECK(garbage.error().kind == FailureKind::protocol);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: the response timeout bounds the whole response, however it trickles") {
  net::Loop loop;
  {
    HttpClient client(loop, {.response_timeout_ms = 300});
    TestServer server(loop);
    // A byte every 50 ms: each read comes well inside the timeout, the whole never does.
    auto tick = net::Timer::create(loop);
    std::string pending;
    TestServer::Conn* to = nullptr;
    server.on_request = [&](TestServer::Conn& c) {
      to = &c;
      pending = c.head.target == "/body"
                    ? "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + std::string(40, 'x')
                    : ok_response("slow head");
      if (c.head.target == "/body") {  // the head at once, then the body
        size_t head = pending.find("\r\n\r\n") + 4;
        c.reply(pending.substr(0, head));
        pending.erase(0, head);
      }
      tick->start_repeating(50, 50, [&] {
        if (pending.empty() || !to || !to->stream) return tick->stop();
        to->reply(pending.substr(0, 1));
        pending.erase(0, 1);
      });
    };
    uint64_t t0 = uv_now(loop.uv());
    auto body = run(loop, client, {.url = server.url("/body")});
    uint64_t took = uv_now(loop.uv()) - t0;
    REQUIRE_FALSE(body);
    CHECK(body.error().kind == FailureKind::timeout);
    CHECK(took < 1000);
    CAPTURE(body.error().why);
    CHECK(body.error().why.starts_with("timed out after 300 ms: "));
    CHECK(body.error().why.find(" of 40 bytes of the body from 127.0.0.1:") != std::string::npos);

    auto head = run(loop, client, {.url = server.url("/head")});
    REQUIRE_FALSE(head);
    CAPTURE(head.error().why);
    CHECK(head.error().why.starts_with("timed out after 300 ms waiting for the response head"));
    tick->stop();
    to = nullptr;
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: a body over max_body_bytes is cut there, its whole length and hash kept") {
  net::Loop loop;
  {
    HttpClient client(loop, {.max_body_bytes = 1000});
    TestServer server(loop);
    std::string big(100'000, 'y');
    server.on_request = [&](TestServer::Conn& c) {
      if (c.head.target == "/big") return c.reply(ok_response(big));
      // chunked, in many pieces
      std::string out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (int i = 0; i < 100; ++i)
        out += "3e8\r\n" + big.substr(0, 1000) + "\r\n";
      c.reply(out + "0\r\n\r\n");
    };
    for (std::string path : {"/big", "/chunked"}) {
      CAPTURE(path);
      auto r = run(loop, client, {.url = server.url(path)});
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->body == big.substr(0, 1000));
      CHECK(r->body_length == 100'000);
      CHECK(r->body_cut());
      CHECK(r->body_sha256 == sha256_hex(big));
    }
    server.on_request = [](TestServer::Conn& c) { c.reply(ok_response("tiny")); };
    auto tiny = run(loop, client, {.url = server.url("/tiny")});
    REQUIRE(tiny);
    CHECK(tiny->body == "tiny");
    CHECK(tiny->body_length == 4);
    CHECK_FALSE(tiny->body_cut());
    CHECK(tiny->body_sha256.empty());
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: a kept-alive connection the server dropped is retried once, fresh") {
  net::Loop loop;
  {
    TestServer server(loop);
    server.on_request = [&](TestServer::Conn& c) {
      // The first connection answers once, then drops the next request unanswered, as a
      // server closing an idle connection at the moment it is reused does.
      if (c.index == 0 && server.requests > 1) return c.drop();
      c.reply(ok_response(std::to_string(c.index)));
    };
    HttpClient client(loop);
    auto first = run(loop, client, {.url = server.url("/")});
    REQUIRE(first);
    auto second = run(loop, client, {.method = "POST", .url = server.url("/"), .body = "x"});
    REQUIRE(second);
    CHECK(second->body == "1");
    CHECK_FALSE(second->reused);
    CHECK(client.connections_opened() == 2);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: requests in flight at once use their own connections") {
  net::Loop loop;
  {
    TestServer server(loop);
    TestServer::Conn* held = nullptr;
    server.on_request = [&](TestServer::Conn& c) {
      if (c.head.target == "/poll") {
        held = &c;  // a long poll: answered when the POST arrives
        return;
      }
      c.reply(ok_response("ok"));
      if (held) held->reply(ok_response("released"));
    };
    HttpClient client(loop);
    std::vector<std::string> order;
    HttpCall poll = client.send({.url = server.url("/poll")}, [&](ClientResult<HttpResponse> r) {
      REQUIRE(r);
      order.push_back("poll " + r->body);
    });
    REQUIRE(run_until(loop, [&] { return held != nullptr; }));
    HttpCall post = client.send({.method = "POST", .url = server.url("/post"), .body = "40"},
                                [&](ClientResult<HttpResponse> r) {
                                  REQUIRE(r);
                                  order.push_back("post " + r->body);
                                });
    REQUIRE(run_until(loop, [&] { return order.size() == 2; }));
    CHECK(server.conns.size() == 2);
    CHECK(client.idle_connections() == 2);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: dropping the handle cancels the request") {
  net::Loop loop;
  {
    TestServer server(loop);
    int answered = 0;
    server.on_request = [&](TestServer::Conn& c) {
      ++answered;
      c.reply(ok_response("late"));
    };
    HttpClient client(loop);
    bool called = false;
    {
      HttpCall call =
          client.send({.url = server.url("/")}, [&](ClientResult<HttpResponse>) { called = true; });
      CHECK(call.pending());
    }
    // Also a call dropped from its own callback's point of view: cancel() after completion.
    HttpCall kept = client.send({.url = server.url("/")}, [&](ClientResult<HttpResponse>) {});
    REQUIRE(run_until(loop, [&] { return !kept.pending(); }));
    kept.cancel();
    CHECK_FALSE(called);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: timings come from the injected clock") {
  net::Loop loop;
  {
    TestServer server(loop);
    server.on_request = [](TestServer::Conn& c) { c.reply(ok_response("t")); };
    int64_t fake = 1000;
    HttpClient client(loop, {.clock_us = [&] { return fake += 10; }});
    auto response = run(loop, client, {.url = server.url("/")});
    REQUIRE(response);
    const HttpTimings& t = response->timings;
    CHECK(t.started_us == 1010);
    CHECK(t.sent_us > t.started_us);
    CHECK(t.first_byte_us > t.sent_us);
    CHECK(t.ended_us > t.first_byte_us);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: an upgrade hands over the connection and the bytes after the 101") {
  net::Loop loop;
  {
    TestServer server(loop);
    server.on_request = [](TestServer::Conn& c) {
      if (c.head.target == "/refuse") return c.reply(ok_response("no", ""));
      c.reply(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nfirst");
    };
    HttpClient client(loop);
    std::optional<ClientResult<HttpResponse>> result;
    std::optional<Upgraded> upgraded;
    std::string more;
    HttpCall call = client.upgrade(
        {.url = server.url("/up"), .headers = {{"Connection", "Upgrade"}, {"Upgrade", "test"}}},
        [&](ClientResult<HttpResponse> r, std::optional<Upgraded> u) {
          result.emplace(std::move(r));
          upgraded = std::move(u);
          if (upgraded) {
            upgraded->stream->start(
                net::StreamHandler{[&](std::string_view bytes) { more.append(bytes); }});
          }
        });
    REQUIRE(run_until(loop, [&] { return result.has_value(); }));
    REQUIRE(*result);
    CHECK((*result)->status == 101);
    REQUIRE(upgraded);
    CHECK(upgraded->rest == "first");
    server.conns[0]->reply("second");
    REQUIRE(run_until(loop, [&] { return more == "second"; }));
    CHECK(client.idle_connections() == 0);
    upgraded.reset();

    std::optional<ClientResult<HttpResponse>> refused;
    bool got_stream = true;
    HttpCall no = client.upgrade({.url = server.url("/refuse")},
                                 [&](ClientResult<HttpResponse> r, std::optional<Upgraded> u) {
                                   refused.emplace(std::move(r));
                                   got_stream = u.has_value();
                                 });
    REQUIRE(run_until(loop, [&] { return refused.has_value(); }));
    REQUIRE(*refused);
    CHECK((*refused)->status == 200);
    CHECK((*refused)->body == "no");
    CHECK_FALSE(got_stream);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient: https, verified with an extra trust anchor, or refused without it") {
  net::Loop loop;
  {
    auto ca = net::testing::make_ca("replay test CA");
    auto leaf = net::testing::make_leaf(ca, "DNS:localhost,IP:127.0.0.1");
    auto context = net::TlsContext::server({.certificate = leaf});
    REQUIRE(context);
    TestServer server(loop, context.value());
    server.on_request = [](TestServer::Conn& c) { c.reply(ok_response("secure")); };

    HttpClient trusting(loop, {.trust_pem = ca.pem});
    auto ok = run(loop, trusting, {.url = server.url("/")});
    REQUIRE(ok);
    CHECK(ok->body == "secure");
    auto again = run(loop, trusting, {.url = server.url("/")});
    REQUIRE(again);
    CHECK(again->reused);

    HttpClient strict(loop);
    auto refused = run(loop, strict, {.url = server.url("/")});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == FailureKind::tls);
    CHECK(refused.error().why.find("certificate verify failed") != std::string::npos);

    HttpClient insecure(loop, {.insecure = true});
    auto unchecked = run(loop, insecure, {.url = server.url("/")});
    REQUIRE(unchecked);
    server.close();
  }
  CHECK(loop.close() == 0);
}

namespace {

// A server side that sends `pieces` of a response one at a time, `gap_ms` apart.
struct Trickle {
  net::Owned<net::Timer> timer;
  std::vector<std::string> pieces;
  size_t next = 0;

  void start(net::Loop& loop, TestServer::Conn& c, std::vector<std::string> all, uint64_t gap_ms) {
    pieces = std::move(all);
    timer = net::Timer::create(loop);
    timer->start_repeating(gap_ms, gap_ms, [this, &c] {
      if (next < pieces.size()) c.reply(pieces[next++]);
      if (next == pieces.size()) timer->stop();
    });
  }
};

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

}  // namespace

TEST_CASE("HttpClient streaming: head and chunks arrive as they are sent, then the end") {
  net::Loop loop;
  {
    TestServer server(loop);
    Trickle trickle;
    server.on_request = [&](TestServer::Conn& c) {
      c.reply(
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
          "Transfer-Encoding: chunked\r\n\r\n");
      // Each gap is longer than half the response timeout, and the whole stream far longer
      // than it: only silence between pieces counts once the head is in.
      trickle.start(loop, c,
                    {chunk("id: 1\ndata: one\n\n"), chunk(": keep-alive\n\n"), chunk("data: t"),
                     chunk("wo\n\n"), "0\r\n\r\n"},
                    120);
    };
    HttpClient client(loop, {.response_timeout_ms = 200});
    std::optional<HttpResponse> head;
    std::vector<std::string> chunks;
    std::vector<size_t> chunks_at_head;
    std::optional<ClientResult<HttpResponse>> done;
    HttpCall call = client.send({.url = server.url("/events"),
                                 .headers = {{"Accept", "text/event-stream"}},
                                 .on_head =
                                     [&](const HttpResponse& h) {
                                       head = h;
                                       chunks_at_head.push_back(chunks.size());
                                     },
                                 .on_body = [&](std::string_view c) { chunks.emplace_back(c); }},
                                [&](ClientResult<HttpResponse> r) { done.emplace(std::move(r)); });
    REQUIRE(run_until(loop, [&] { return head.has_value(); }));
    CHECK(head->status == 200);
    CHECK(head->headers[0] == http::Header{"Content-Type", "text/event-stream"});
    CHECK(head->body.empty());
    CHECK(chunks_at_head == std::vector<size_t>{0});
    CHECK(call.pending());
    // The first event is there before the response ends.
    REQUIRE(run_until(loop, [&] { return !chunks.empty(); }));
    CHECK(chunks[0] == "id: 1\ndata: one\n\n");
    CHECK_FALSE(done.has_value());

    REQUIRE(run_until(loop, [&] { return done.has_value(); }));
    REQUIRE_MESSAGE(*done, done->error().why);
    CHECK((*done)->status == 200);
    CHECK((*done)->body.empty());  // it went to on_body
    CHECK(chunks == std::vector<std::string>{"id: 1\ndata: one\n\n", ": keep-alive\n\n", "data: t",
                                             "wo\n\n"});
    CHECK_FALSE(call.pending());
    CHECK(client.idle_connections() == 1);  // a stream that ended cleanly leaves a connection
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient streaming: silence between chunks times out after the body idle timeout") {
  net::Loop loop;
  {
    TestServer server(loop);
    server.on_request = [&](TestServer::Conn& c) {
      c.reply(
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
          "Transfer-Encoding: chunked\r\n\r\n" +
          chunk("data: a\n\n"));
    };
    HttpClient client(loop, {.response_timeout_ms = 5000});
    std::vector<std::string> chunks;
    std::optional<ClientResult<HttpResponse>> done;
    HttpCall call = client.send({.url = server.url("/events"),
                                 .on_body = [&](std::string_view c) { chunks.emplace_back(c); },
                                 .body_idle_timeout_ms = 150},
                                [&](ClientResult<HttpResponse> r) { done.emplace(std::move(r)); });
    REQUIRE(run_until(
        loop, [&] { return done.has_value(); }, 3000));
    REQUIRE_FALSE(*done);
    CHECK(done->error().kind == FailureKind::timeout);
    CHECK(done->error().why.find("stalled for 150 ms") != std::string::npos);
    CHECK(chunks == std::vector<std::string>{"data: a\n\n"});
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("HttpClient streaming: cancelling from inside on_body closes the connection quietly") {
  net::Loop loop;
  {
    TestServer server(loop);
    Trickle trickle;
    server.on_request = [&](TestServer::Conn& c) {
      if (c.head.target == "/plain") return c.reply(ok_response("plain"));
      c.reply(
          "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
          "Transfer-Encoding: chunked\r\n\r\n");
      // Two chunks in one write: the parser is still inside the buffer when the call goes.
      trickle.start(loop, c, {chunk("data: 1\n\n") + chunk("data: 2\n\n"), chunk("data: 3\n\n")},
                    20);
    };
    HttpClient client(loop);
    // The kept-alive connection of a first request is reused by the stream, and must not go
    // back to the pool when the stream is abandoned.
    REQUIRE(run(loop, client, {.url = server.url("/plain")}));
    REQUIRE(client.idle_connections() == 1);

    std::vector<std::string> chunks;
    bool called = false;
    HttpCall call;
    call = client.send({.url = server.url("/events"),
                        .on_body =
                            [&](std::string_view c) {
                              chunks.emplace_back(c);
                              call.cancel();
                            }},
                       [&](ClientResult<HttpResponse>) { called = true; });
    REQUIRE(run_until(loop, [&] { return !chunks.empty(); }));
    CHECK_FALSE(call.pending());
    // The server sees its connection close; nothing more arrives and nothing is reported.
    REQUIRE(run_until(loop, [&] { return !server.conns[0]->stream; }));
    CHECK(chunks == std::vector<std::string>{"data: 1\n\n"});
    CHECK_FALSE(called);
    CHECK(client.idle_connections() == 0);

    // Dropping the handle from inside on_head, and cancelling from outside, work the same.
    std::optional<HttpCall> held;
    bool head_seen = false;
    held = client.send({.url = server.url("/events"),
                        .on_head =
                            [&](const HttpResponse&) {
                              head_seen = true;
                              held.reset();
                            },
                        .on_body = [&](std::string_view c) { chunks.emplace_back(c); }},
                       [&](ClientResult<HttpResponse>) { called = true; });
    REQUIRE(run_until(loop, [&] { return head_seen; }));
    CHECK(chunks.size() == 1);

    size_t before = chunks.size();
    HttpCall outside = client.send({.url = server.url("/events"),
                                    .on_body = [&](std::string_view c) { chunks.emplace_back(c); }},
                                   [&](ClientResult<HttpResponse>) { called = true; });
    REQUIRE(run_until(loop, [&] { return chunks.size() > before; }));
    outside.cancel();
    run_until(
        loop, [] { return false; }, 100);
    CHECK_FALSE(called);
    CHECK(client.idle_connections() == 0);
    server.close();
  }
  CHECK(loop.close() == 0);
}
