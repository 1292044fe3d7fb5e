#include "protocol/ws_handshake.h"

#include <doctest/doctest.h>

using namespace wa::ws;
using wa::Errc;

namespace {

const HeaderList kChromiumRequest = {
    {"Host", "localhost:5000"},
    {"Connection", "Upgrade"},
    {"Upgrade", "websocket"},
    {"Origin", "http://localhost:5000"},
    {"Sec-WebSocket-Version", "13"},
    {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
    {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"},
};

HeaderList answer(std::initializer_list<std::pair<std::string, std::string>> extra) {
  HeaderList h = {{"Upgrade", "websocket"},
                  {"Connection", "Upgrade"},
                  {"Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}};
  h.insert(h.end(), extra.begin(), extra.end());
  return h;
}

HeaderList without(HeaderList h, std::string_view name) {
  std::erase_if(h, [&](const auto& f) { return f.first == name; });
  return h;
}

HeaderList with(HeaderList h, std::string name, std::string value) {
  h.emplace_back(std::move(name), std::move(value));
  return h;
}

}  // namespace

TEST_CASE("RFC 6455 §1.3: the accept key of the sample nonce") {
  CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("keys come from injected random bytes") {
  std::array<uint8_t, 16> random{};
  const char* sample = "the sample nonce";
  for (size_t i = 0; i < 16; ++i)
    random[i] = uint8_t(sample[i]);
  CHECK(make_key(random) == "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(is_valid_key(make_key(random)));
  CHECK_FALSE(is_valid_key("dGhlIHNhbXBsZSBub25jZQ"));        // 22 characters
  CHECK_FALSE(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=!"));      // not base64
  CHECK_FALSE(is_valid_key("dGhlIHNhbXBsZSBub25jZQ==AAAA"));  // 19 bytes
}

TEST_CASE("header lookups join repeated fields and match tokens case-insensitively") {
  HeaderList h = {{"connection", "keep-alive"}, {"CONNECTION", " Upgrade "}, {"x", "a,,b"}};
  CHECK(header_value(h, "Connection") == "keep-alive, Upgrade");
  CHECK(header_has_token(h, "Connection", "upgrade"));
  CHECK_FALSE(header_has_token(h, "Connection", "close"));
  CHECK_FALSE(header_value(h, "Upgrade").has_value());
  CHECK(header_has_token(h, "x", "b"));
}

TEST_CASE("the client's request headers") {
  ClientHandshake c;
  c.key = "dGhlIHNhbXBsZSBub25jZQ==";
  c.deflate = DeflateOffer{};
  c.deflate->client_max_window_bits = true;
  c.protocols = {"chat", "superchat"};
  HeaderList h = client_request_headers(c);
  CHECK(header_value(h, "Upgrade") == "websocket");
  CHECK(header_value(h, "Connection") == "Upgrade");
  CHECK(header_value(h, "Sec-WebSocket-Key") == c.key);
  CHECK(header_value(h, "Sec-WebSocket-Version") == "13");
  CHECK(header_value(h, "Sec-WebSocket-Extensions") ==
        "permessage-deflate; client_max_window_bits");
  CHECK(header_value(h, "Sec-WebSocket-Protocol") == "chat, superchat");
  CHECK_FALSE(header_value(client_request_headers({c.key, {}, {}}), "Sec-WebSocket-Extensions"));
}

TEST_CASE("a 101 answer is checked against the request") {
  // eventlet's answer (PROTOCOLS.md).
  auto a = check_response(
      kChromiumRequest, 101,
      answer({{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=15"}}));
  REQUIRE(a.ok());
  REQUIRE(a->deflate.has_value());
  CHECK(a->deflate->client_max_window_bits == 15);
  CHECK(a->protocol.empty());
  // socket.io's answer: no extension.
  a = check_response(kChromiumRequest, 101, answer({}));
  REQUIRE(a.ok());
  CHECK_FALSE(a->deflate.has_value());
  // Header names and token case do not matter.
  a = check_response(kChromiumRequest, 101,
                     {{"upgrade", "WebSocket"},
                      {"connection", "keep-alive, upgrade"},
                      {"sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}});
  CHECK(a.ok());
}

TEST_CASE("answers that fail the client's checks (§4.1)") {
  struct Case {
    const char* what;
    HeaderList request;
    int status;
    HeaderList response;
  };
  const HeaderList plain = without(kChromiumRequest, "Sec-WebSocket-Extensions");
  for (const Case& c : {
           Case{"not 101", kChromiumRequest, 200, answer({})},
           Case{"no Upgrade", kChromiumRequest, 101, without(answer({}), "Upgrade")},
           Case{"wrong Upgrade", kChromiumRequest, 101,
                with(without(answer({}), "Upgrade"), "Upgrade", "h2c")},
           Case{"no Connection", kChromiumRequest, 101, without(answer({}), "Connection")},
           Case{"no accept", kChromiumRequest, 101, without(answer({}), "Sec-WebSocket-Accept")},
           Case{"wrong accept", kChromiumRequest, 101,
                with(without(answer({}), "Sec-WebSocket-Accept"), "Sec-WebSocket-Accept",
                     "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")},
           Case{"two accepts", kChromiumRequest, 101,
                with(answer({}), "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")},
           Case{"deflate not offered", plain, 101,
                answer({{"Sec-WebSocket-Extensions", "permessage-deflate"}})},
           Case{"unknown extension", kChromiumRequest, 101,
                answer({{"Sec-WebSocket-Extensions", "x-webkit-deflate-frame"}})},
           Case{"deflate twice", kChromiumRequest, 101,
                answer({{"Sec-WebSocket-Extensions", "permessage-deflate, permessage-deflate"}})},
           Case{"bad deflate parameters", kChromiumRequest, 101,
                answer(
                    {{"Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits"}})},
           Case{"subprotocol not offered", kChromiumRequest, 101,
                answer({{"Sec-WebSocket-Protocol", "chat"}})},
           Case{"request without key", without(kChromiumRequest, "Sec-WebSocket-Key"), 101,
                answer({})},
       }) {
    INFO(c.what);
    auto a = check_response(c.request, c.status, c.response);
    REQUIRE_FALSE(a.ok());
    CHECK(a.error().code == Errc::ws_handshake);
  }
}

TEST_CASE("a subprotocol must be one the client offered") {
  HeaderList request = with(kChromiumRequest, "Sec-WebSocket-Protocol", "chat, superchat");
  auto a = check_response(request, 101, answer({{"Sec-WebSocket-Protocol", "superchat"}}));
  REQUIRE(a.ok());
  CHECK(a->protocol == "superchat");
  CHECK_FALSE(check_response(request, 101, answer({{"Sec-WebSocket-Protocol", "other"}})).ok());
  CHECK_FALSE(
      check_response(request, 101, answer({{"Sec-WebSocket-Protocol", "chat, superchat"}})).ok());
}

TEST_CASE("an observer reads what the 101 agreed without judging it") {
  Agreement a = read_agreement(
      answer({{"Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover"},
              {"Sec-WebSocket-Protocol", "chat"}}));
  REQUIRE(a.deflate.has_value());
  CHECK(a.deflate->server_no_context_takeover);
  CHECK(a.protocol == "chat");
  a = read_agreement(answer({{"Sec-WebSocket-Extensions", "permessage-deflate; ;"}}));
  CHECK(a.deflate.has_value());
  a = read_agreement(answer({}));
  CHECK_FALSE(a.deflate.has_value());
}

TEST_CASE("the server checks the upgrade request (§4.2.1)") {
  auto r = check_request("GET", kChromiumRequest);
  REQUIRE(r.ok());
  CHECK(r->key == "dGhlIHNhbXBsZSBub25jZQ==");
  CHECK(r->extensions == "permessage-deflate; client_max_window_bits");
  CHECK(r->protocols.empty());
  r = check_request("GET", with(kChromiumRequest, "Sec-WebSocket-Protocol", "a, b"));
  REQUIRE(r.ok());
  CHECK(r->protocols == std::vector<std::string>{"a", "b"});

  struct Case {
    const char* what;
    const char* method;
    HeaderList headers;
  };
  for (const Case& c : {
           Case{"POST", "POST", kChromiumRequest},
           Case{"no Host", "GET", without(kChromiumRequest, "Host")},
           Case{"no Upgrade", "GET", without(kChromiumRequest, "Upgrade")},
           Case{"no Connection", "GET", without(kChromiumRequest, "Connection")},
           Case{"no key", "GET", without(kChromiumRequest, "Sec-WebSocket-Key")},
           Case{"two keys", "GET",
                with(kChromiumRequest, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")},
           Case{"short key", "GET",
                with(without(kChromiumRequest, "Sec-WebSocket-Key"), "Sec-WebSocket-Key", "abcd")},
           Case{"no version", "GET", without(kChromiumRequest, "Sec-WebSocket-Version")},
           Case{"version 8", "GET",
                with(without(kChromiumRequest, "Sec-WebSocket-Version"), "Sec-WebSocket-Version",
                     "8")},
       }) {
    INFO(c.what);
    auto bad = check_request(c.method, c.headers);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::ws_handshake);
  }
}

TEST_CASE("server and client halves agree end to end") {
  ClientHandshake c;
  std::array<uint8_t, 16> random{};
  for (size_t i = 0; i < 16; ++i)
    random[i] = uint8_t(i * 17);
  c.key = make_key(random);
  c.deflate = DeflateOffer{};
  c.deflate->client_max_window_bits = true;
  c.deflate->server_no_context_takeover = true;
  HeaderList request = client_request_headers(c);
  request.emplace_back("Host", "example.test");

  auto up = check_request("GET", request);
  REQUIRE(up.ok());
  DeflatePolicy policy;
  policy.client_max_window_bits = 10;
  auto deflate = negotiate_deflate(up->extensions, policy);
  REQUIRE(deflate.has_value());
  HeaderList response = server_response_headers(*up, deflate);
  auto agreed = check_response(request, 101, response);
  REQUIRE(agreed.ok());
  REQUIRE(agreed->deflate.has_value());
  CHECK(agreed->deflate->server_no_context_takeover == deflate->params.server_no_context_takeover);
  CHECK(agreed->deflate->client_max_window_bits == 10);
  CHECK(agreed->deflate->server_max_window_bits == 15);
}
