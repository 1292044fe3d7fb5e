#include "replay/socket_client.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/tcp_listener.h"
#include "protocol/http1.h"
#include "protocol/websocket.h"
#include "protocol/ws_handshake.h"
#include "tests/net/support.h"

using namespace wa;
using namespace wa::replay;
using wa::net::testing::run_until;

namespace {

// A loopback Engine.IO server written by the test: each request (and each WebSocket message)
// goes to a callback that answers by hand, so every step of the client's sequence can be
// checked and the server can misbehave on purpose.
struct FakeServer {
  struct Conn final : http::Sink {
    FakeServer* server = nullptr;
    net::Owned<net::Stream> stream;
    http::Parser parser{http::Role::request};
    http::Head head;
    std::string body;
    std::optional<ws::Endpoint> ws;
    std::vector<ws::Message> messages;

    http::Flow on_head(http::Head& h) override {
      head = h;
      body.clear();
      return http::Flow::proceed;
    }
    void on_body(std::string_view bytes) override { body.append(bytes); }
    http::Flow on_message_end() override {
      if (!head.upgrade) server->requests.push_back(head.method + " " + head.target + " " + body);
      if (!head.upgrade && server->on_http) server->on_http(*this);
      return http::Flow::proceed;
    }
    void on_upgrade(size_t, std::string_view) override {
      server->requests.push_back("UPGRADE " + head.target);
      if (server->on_upgrade) server->on_upgrade(*this);
    }

    void feed(std::string_view bytes) {
      if (ws) {
        messages.clear();
        auto fed = ws->feed(bytes, messages);
        for (auto& m : messages) {
          if (m.opcode == ws::Opcode::text || m.opcode == ws::Opcode::binary) {
            server->ws_received.push_back(m.opcode == ws::Opcode::binary ? "<bin>" : m.payload);
            if (server->on_ws) server->on_ws(*this, m.payload);
          } else if (m.opcode == ws::Opcode::close) {
            server->ws_received.push_back("<close " + std::to_string(m.close_code) + ">");
          }
        }
        flush();
        if (!fed) drop();
        return;
      }
      (void)parser.feed(bytes, *this);
    }
    void reply(int status, std::string_view body_text, std::string_view extra = {}) {
      std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\n" + std::string(extra) +
                        "Content-Length: " + std::to_string(body_text.size()) + "\r\n\r\n" +
                        std::string(body_text);
      if (stream) stream->write(std::move(out));
    }
    // Answers the upgrade with 101, agreeing to permessage-deflate when offered and `deflate`.
    void accept_websocket(bool deflate) {
      ws::HeaderList request;
      for (const auto& h : head.headers)
        request.emplace_back(h.name, h.value);
      auto checked = ws::check_request(head.method, request);
      REQUIRE(checked);
      server->ws_key = checked->key;
      std::optional<ws::DeflateAgreement> agreement;
      if (deflate) agreement = ws::negotiate_deflate(checked->extensions);
      std::string out = "HTTP/1.1 101 Switching Protocols\r\n";
      for (const auto& [name, value] : ws::server_response_headers(*checked, agreement))
        out += name + ": " + value + "\r\n";
      out += "\r\n";
      stream->write(std::move(out));
      ws::EndpointOptions options;
      options.role = ws::Role::server;
      if (agreement) options.deflate = agreement->params;
      ws.emplace(std::move(options));
    }
    // Fails quietly once the peer's Close has been echoed, as a real server's late send does.
    void send_ws(std::string_view text) {
      (void)ws->send_text(text);
      flush();
    }
    void close_ws(uint16_t code) {
      (void)ws->close(code);
      flush();
    }
    void flush() {
      if (stream && ws && ws->has_output()) stream->write(ws->take_output());
    }
    void drop() { stream.reset(); }
  };

  explicit FakeServer(net::Loop& loop) {
    auto listening =
        net::TcpListener::listen(loop, "127.0.0.1", 0, [this](net::Owned<net::TcpConnection> tcp) {
          auto conn = std::make_unique<Conn>();
          conn->server = this;
          Conn* c = conn.get();
          conns.push_back(std::move(conn));
          c->stream = net::Owned<net::Stream>(tcp.release());
          c->stream->start(net::StreamHandler{[c](std::string_view bytes) { c->feed(bytes); },
                                              [c] { c->drop(); },
                                              [c](const net::Error&) { c->drop(); }});
        });
    REQUIRE(listening);
    listener = std::move(listening).value();
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(listener->port()); }
  void close() {
    listener.reset();
    conns.clear();
  }

  std::function<void(Conn&)> on_http;
  std::function<void(Conn&)> on_upgrade;
  std::function<void(Conn&, std::string_view)> on_ws;
  std::vector<std::string> requests;     // "GET /target body"
  std::vector<std::string> ws_received;  // text messages, "<bin>", "<close N>"
  std::string ws_key;
  std::vector<std::unique_ptr<Conn>> conns;
  net::Owned<net::TcpListener> listener;
};

bool has_param(const std::string& target, std::string_view param) {
  return target.find(param) != std::string::npos;
}

std::string open_packet(int ping_interval, int ping_timeout) {
  return R"(0{"sid":"SID","upgrades":["websocket"],"pingInterval":)" +
         std::to_string(ping_interval) + R"(,"pingTimeout":)" + std::to_string(ping_timeout) + "}";
}

struct Seen {
  std::optional<SocketOpened> opened;
  std::vector<std::string> messages;  // the packets' text
  std::vector<std::string> notes;
  std::optional<eio::Transport> moved_to;
  int heartbeats = 0;
  bool ended = false;
  std::optional<ClientFailure> failure;
  std::vector<std::string> cookie_urls;
  std::vector<std::string> set_cookies;
};

SocketClientOptions options_for(const FakeServer& server, traffic::Family family, Plan plan,
                                Seen& seen) {
  SocketClientOptions options;
  options.family = family;
  options.plan = plan;
  options.url = server.origin() + "/socket.io/?user=1&EIO=4&transport=polling&t=old";
  options.headers = {{"Origin", server.origin()}};
  options.cookies = [&seen](std::string_view url) {
    seen.cookie_urls.emplace_back(url);
    return std::string("session=abc");
  };
  options.on_response = [&seen](std::string_view, const HttpResponse& r) {
    for (const auto& h : r.headers) {
      if (h.name == "Set-Cookie") seen.set_cookies.push_back(h.value);
    }
  };
  int n = 0;
  options.cache_buster = [n]() mutable { return "t" + std::to_string(++n); };
  uint8_t next = 0;
  options.mask = [next]() mutable {
    next = static_cast<uint8_t>(next + 1);
    return std::array<uint8_t, 4>{next, next, next, next};
  };
  options.key_bytes = [] {
    std::array<uint8_t, 16> key{};
    key.fill(7);
    return key;
  };
  options.close_timeout_ms = 500;
  return options;
}

SocketHandler handler_for(Seen& seen) {
  SocketHandler handler;
  handler.on_open = [&seen](const SocketOpened& o) { seen.opened = o; };
  handler.on_message = [&seen](SocketMessage& m) { seen.messages.push_back(m.text); };
  handler.on_transport = [&seen](eio::Transport t, const std::string& note) {
    if (note.empty()) seen.moved_to = t;
    if (!note.empty()) seen.notes.push_back(note);
  };
  handler.on_heartbeat = [&seen] { ++seen.heartbeats; };
  handler.on_end = [&seen](const std::optional<ClientFailure>& f) {
    seen.ended = true;
    seen.failure = f;
  };
  return handler;
}

}  // namespace

TEST_CASE("SocketClient: polling, probe, upgrade with permessage-deflate, ping, close") {
  net::Loop loop;
  {
    FakeServer server(loop);
    FakeServer::Conn* held = nullptr;  // the pending long poll
    server.on_http = [&](FakeServer::Conn& c) {
      const std::string& t = c.head.target;
      if (c.head.method == "GET" && !has_param(t, "sid=")) {
        return c.reply(200, open_packet(25000, 20000), "Set-Cookie: io=SID; Path=/\r\n");
      }
      if (c.head.method == "POST") return c.reply(200, "ok");
      if (server.ws_key.empty()) {
        held = &c;  // held until the upgrade releases it
        return;
      }
      c.reply(200, "6");
    };
    server.on_upgrade = [&](FakeServer::Conn& c) { c.accept_websocket(true); };
    server.on_ws = [&](FakeServer::Conn& c, std::string_view text) {
      if (text == "2probe") {
        c.send_ws("3probe");
        if (held) held->reply(200, "6");  // releases the pending poll (PROTOCOLS.md §1)
        held = nullptr;
      } else if (text == "5") {
        c.send_ws("2");  // a server ping, over the WebSocket now
        c.send_ws(R"(42["hi",{"x":"é"}])");
      }
    };
    HttpClient http(loop);
    Seen seen;
    SocketClient client(http, options_for(server, traffic::Family::eio4, Plan::upgrade, seen),
                        handler_for(seen));
    CHECK_FALSE(client.send("0"));
    REQUIRE(run_until(loop, [&] { return seen.messages.size() == 1 || seen.ended; }));
    REQUIRE_FALSE(seen.ended);
    REQUIRE(seen.opened);
    CHECK(seen.opened->sid == "SID");
    CHECK(seen.moved_to == std::optional<eio::Transport>(eio::Transport::websocket));
    CHECK(client.transport() == eio::Transport::websocket);
    CHECK(seen.messages[0] == R"(2["hi",{"x":"é"}])");
    CHECK(seen.heartbeats == 1);
    CHECK(ws::make_key(std::array<uint8_t, 16>{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}) ==
          server.ws_key);
    CHECK(seen.set_cookies == std::vector<std::string>{"io=SID; Path=/"});

    CHECK_FALSE(client.send(R"(20["chat",{"text":"hello"}])"));
    REQUIRE(run_until(loop, [&] { return server.ws_received.size() >= 4; }));
    CHECK(server.ws_received ==
          std::vector<std::string>{"2probe", "5", "3", R"(420["chat",{"text":"hello"}])"});

    // The user's query comes first; every request asked the jar for its cookies.
    REQUIRE(server.requests.size() == 4);
    CHECK(server.requests[0] == "GET /socket.io/?user=1&EIO=4&transport=polling&t=t1 ");
    auto has = [&](const std::string& r) {
      return std::find(server.requests.begin(), server.requests.end(), r) != server.requests.end();
    };
    CHECK(has("GET /socket.io/?user=1&EIO=4&transport=polling&t=t2&sid=SID "));
    CHECK(has("POST /socket.io/?user=1&EIO=4&transport=polling&t=t3&sid=SID 40"));
    CHECK(has("UPGRADE /socket.io/?user=1&EIO=4&transport=websocket&sid=SID"));
    CHECK(seen.cookie_urls.size() == 4);
    CHECK_FALSE(client.ended());

    client.close();
    CHECK_FALSE(seen.ended);  // never inside close()
    REQUIRE(run_until(loop, [&] { return seen.ended; }));
    CHECK_FALSE(seen.failure);
    CHECK(server.ws_received.back() == "<close 1000>");
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("SocketClient: a refused upgrade leaves the session on polling") {
  net::Loop loop;
  {
    FakeServer server(loop);
    server.on_http = [&](FakeServer::Conn& c) {
      if (!has_param(c.head.target, "sid=")) return c.reply(200, open_packet(25000, 20000));
      if (c.head.method == "POST") return c.reply(200, "ok");
      c.reply(200, R"(42["polled"])");
    };
    server.on_upgrade = [&](FakeServer::Conn& c) {
      c.reply(400, R"({"code":3,"message":"Bad request"})");
    };
    HttpClient http(loop);
    Seen seen;
    SocketClient client(http, options_for(server, traffic::Family::eio4, Plan::upgrade, seen),
                        handler_for(seen));
    REQUIRE(run_until(loop, [&] { return !seen.notes.empty() || seen.ended; }));
    CHECK(
        seen.notes[0] ==
        R"(the upgrade to websocket failed: the upgrade was refused: HTTP 400 {"code":3,"message":"Bad request"})");
    size_t before = seen.messages.size();
    REQUIRE(run_until(loop, [&] { return seen.messages.size() > before + 2 || seen.ended; }));
    CHECK_FALSE(seen.ended);
    CHECK(client.transport() == eio::Transport::polling);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("SocketClient: a server that stops pinging is a drop, reported once") {
  net::Loop loop;
  {
    FakeServer server(loop);
    std::vector<FakeServer::Conn*> held;
    server.on_http = [&](FakeServer::Conn& c) {
      if (!has_param(c.head.target, "sid=")) return c.reply(200, open_packet(100, 100));
      held.push_back(&c);  // polls are never answered
    };
    HttpClient http(loop);
    Seen seen;
    SocketClient client(http, options_for(server, traffic::Family::eio4, Plan::polling, seen),
                        handler_for(seen));
    REQUIRE(run_until(loop, [&] { return seen.ended; }));
    REQUIRE(seen.failure);
    CHECK(seen.failure->kind == FailureKind::timeout);
    CHECK(seen.failure->why == "ping timeout: no ping from the server for 200 ms");
    CHECK(client.ended());
    CHECK(client.send("2[\"x\"]").has_value());
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("SocketClient: Engine.IO v3 over the WebSocket pings and wants pongs") {
  net::Loop loop;
  {
    FakeServer server(loop);
    int pings = 0;
    server.on_upgrade = [&](FakeServer::Conn& c) {
      CHECK(has_param(c.head.target, "EIO=3&transport=websocket"));
      CHECK_FALSE(has_param(c.head.target, "sid="));
      c.accept_websocket(false);
      c.send_ws(open_packet(50, 100));
      c.send_ws("40");
    };
    server.on_ws = [&](FakeServer::Conn& c, std::string_view text) {
      if (text == "2" && ++pings < 3) c.send_ws("3");  // the third ping goes unanswered
    };
    HttpClient http(loop);
    Seen seen;
    SocketClient client(http,
                        options_for(server, traffic::Family::eio3, Plan::websocket_only, seen),
                        handler_for(seen));
    REQUIRE(run_until(loop, [&] { return seen.ended; }));
    CHECK(seen.messages == std::vector<std::string>{"0"});
    CHECK(seen.heartbeats == 2);
    REQUIRE(seen.failure);
    CHECK(seen.failure->why == "ping timeout: no pong within 100 ms");
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("SocketClient: the handler may drop the client from its callbacks") {
  net::Loop loop;
  {
    FakeServer server(loop);
    server.on_http = [&](FakeServer::Conn& c) {
      if (!has_param(c.head.target, "sid=")) {
        return c.reply(200, open_packet(25000, 20000) +
                                "\x1e"
                                R"(40{"sid":"x"})"
                                "\x1e"
                                R"(42["a"])");
      }
      c.reply(200, "6");
    };
    HttpClient http(loop);
    Seen seen;
    std::unique_ptr<SocketClient> client;
    int delivered = 0;
    client = std::make_unique<SocketClient>(
        http, options_for(server, traffic::Family::eio4, Plan::polling, seen),
        SocketHandler{.on_message = [&](SocketMessage&) {
          ++delivered;
          client.reset();  // the first message drops the client; the second is never seen
        }});
    REQUIRE(run_until(loop, [&] { return client == nullptr; }));
    // Let anything left run: nothing may touch the dropped client.
    net::testing::run_until(
        loop, [] { return false; }, 100);
    CHECK(delivered == 1);
    server.close();
  }
  CHECK(loop.close() == 0);
}

TEST_CASE("SocketClient: Socket.IO 0.9 echoes heartbeats and says goodbye with 0::") {
  net::Loop loop;
  {
    FakeServer server(loop);
    server.on_http = [&](FakeServer::Conn& c) {
      CHECK(c.head.target == "/socket.io/1/?t=t1&token=x");
      c.reply(200, "S09:60:60:websocket,xhr-polling");
    };
    server.on_upgrade = [&](FakeServer::Conn& c) {
      CHECK(c.head.target == "/socket.io/1/websocket/S09?token=x");
      c.accept_websocket(false);
      c.send_ws("1::");
      c.send_ws("2::");
    };
    server.on_ws = [&](FakeServer::Conn& c, std::string_view text) {
      if (text == "0::") {
        c.send_ws("0::");
        c.close_ws(1000);
      }
    };
    HttpClient http(loop);
    Seen seen;
    auto options = options_for(server, traffic::Family::sio09, Plan::websocket_only, seen);
    options.url = server.origin() + "/socket.io/1/?t=123&token=x";
    SocketClient client(http, std::move(options), handler_for(seen));
    REQUIRE(run_until(loop, [&] { return seen.heartbeats == 1 || seen.ended; }));
    CHECK(seen.messages == std::vector<std::string>{"1::"});
    REQUIRE(run_until(loop, [&] { return !server.ws_received.empty(); }));
    CHECK(server.ws_received[0] == "2::");
    client.close();
    REQUIRE(run_until(loop, [&] { return seen.ended; }));
    CHECK_FALSE(seen.failure);
    CHECK(server.ws_received[1] == "0::");
    server.close();
  }
  CHECK(loop.close() == 0);
}
