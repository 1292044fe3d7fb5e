// Test helpers for the storage tests: a scratch folder, and a small recording in which every
// field of every model struct holds something (non-UTF-8 bytes, cut payloads, NULL-able fields
// both set and unset), so that a write -> read round trip compares all of them.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/model.h"
#include "storage/writer.h"

namespace wa::store::testing {

class ScratchDir {
 public:
  ScratchDir() {
    char pattern[] = "/tmp/wa-storage-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline constexpr Micros kT0 = 1795213603000000;  // 2026-11-20, PROTOCOLS.md's era

inline Recording sample_recording(const std::string& name = "login-chat") {
  Recording r;
  r.name = name;
  r.started_us = kT0;
  r.mode = "reverse";
  r.listen = "127.0.0.1:8080";
  r.upstream = "http://127.0.0.1:3000";
  r.tool_version = "0.1.0";
  return r;
}

// The events of one short session: login over HTTP (a cookie set, then sent), an Engine.IO v4
// polling handshake, the upgrade to WebSocket with events, an ack and a binary attachment, and
// a second connection that failed. Ids are taken from the writer as the proxy would.
inline std::vector<CaptureEvent> sample_events(CaptureWriter& w) {
  std::vector<CaptureEvent> events;
  Connection c1;
  c1.id = w.new_connection_id();
  c1.client_addr = "127.0.0.1:53422";
  c1.server_host = "app.test";
  c1.server_port = 443;
  c1.tls = true;
  c1.sni = "app.test";
  c1.alpn = "http/1.1";
  c1.opened_us = kT0 + 1000;
  events.push_back(c1);

  Exchange login;
  login.id = w.new_exchange_id();
  login.connection_id = c1.id;
  login.seq = 0;
  login.method = "POST";
  login.url = "https://app.test/login";
  login.request_headers = {{"Host", "app.test"},
                           {"Content-Type", "application/x-www-form-urlencoded"},
                           {"X-Latin1", std::string("caf\xe9", 4)},  // obs-text, not UTF-8
                           {"X-Quote", "a \"b\" \\c\t\x01"},
                           {"Accept", "*/*"},
                           {"Accept", "text/html"}};
  login.request_body = Payload::whole("username=alice&password=x");
  login.status = 303;
  login.reason = "See Other";
  login.response_version = "HTTP/1.1";
  login.response_headers = {{"Location", "/"},
                            {"Set-Cookie", "connect.sid=s%3APpYF.sig; Path=/; HttpOnly"},
                            {"Content-Length", "0"}};
  login.started_us = kT0 + 2000;
  login.first_byte_us = kT0 + 9000;
  login.ended_us = kT0 + 9500;
  events.push_back(login);

  CookieEvent set;
  set.exchange_id = login.id;
  set.kind = CookieKind::set;
  set.name = "connect.sid";
  set.value = "s%3APpYF.sig";
  set.path = "/";
  set.http_only = true;
  set.secure = true;
  set.same_site = "Lax";
  set.domain = "app.test";
  set.expires = "Wed, 21 Oct 2026 07:28:00 GMT";
  set.max_age = 3600;
  set.raw = "connect.sid=s%3APpYF.sig; Path=/; HttpOnly";
  events.push_back(set);

  Exchange page;
  page.id = w.new_exchange_id();
  page.connection_id = c1.id;
  page.seq = 1;
  page.method = "GET";
  page.url = "https://app.test/";
  page.request_headers = {{"Host", "app.test"}, {"Cookie", "connect.sid=s%3APpYF.sig"}};
  page.status = 200;
  page.reason = "OK";
  page.response_version = "HTTP/1.1";
  page.response_headers = {{"Content-Type", "text/html"}, {"Content-Encoding", "gzip"}};
  page.response_body.bytes = std::string("\x1f\x8b\x08\x00\xff", 5);  // cut gzip
  page.response_body.full_length = 20480;
  page.response_body.sha256 = std::string(64, 'a');
  page.response_encoding = "gzip";
  page.started_us = kT0 + 10000;
  page.first_byte_us = kT0 + 12000;
  page.ended_us = kT0 + 15000;
  events.push_back(page);

  CookieEvent sent;
  sent.exchange_id = page.id;
  sent.kind = CookieKind::sent;
  sent.name = "connect.sid";
  sent.value = "s%3APpYF.sig";
  events.push_back(sent);

  Exchange handshake;
  handshake.id = w.new_exchange_id();
  handshake.connection_id = c1.id;
  handshake.seq = 2;
  handshake.method = "GET";
  handshake.url = "https://app.test/socket.io/?EIO=4&transport=polling&t=jpn9g8bk";
  handshake.request_headers = {{"Host", "app.test"}};
  handshake.status = 200;
  handshake.reason = "OK";
  handshake.response_version = "HTTP/1.1";
  handshake.response_headers = {{"Content-Type", "text/plain; charset=UTF-8"}};
  handshake.response_body = Payload::whole(
      R"(0{"sid":"FaQlkxn7_bPvpM-GAAAA","upgrades":["websocket"],"pingInterval":25000,)"
      R"("pingTimeout":20000,"maxPayload":1000000})");
  handshake.started_us = kT0 + 20000;
  handshake.first_byte_us = kT0 + 21000;
  handshake.ended_us = kT0 + 21500;
  events.push_back(handshake);

  EioSession session;
  session.id = w.new_session_id();
  session.sid = "FaQlkxn7_bPvpM-GAAAA";
  session.protocol = SocketProtocol::eio4;
  session.opened_us = kT0 + 21000;
  session.handshake_exchange_id = handshake.id;
  events.push_back(session);

  SocketPacket open;
  open.session_id = session.id;
  open.exchange_id = handshake.id;
  open.direction = Direction::server;
  open.transport = Transport::polling;
  open.time_us = kT0 + 21000;
  open.eio_type = 0;
  open.args = R"({"sid":"FaQlkxn7_bPvpM-GAAAA","upgrades":["websocket"]})";
  open.raw = handshake.response_body.bytes;
  events.push_back(open);

  Exchange upgrade;
  upgrade.id = w.new_exchange_id();
  upgrade.connection_id = c1.id;
  upgrade.seq = 3;
  upgrade.method = "GET";
  upgrade.url = "wss://app.test/socket.io/?EIO=4&transport=websocket&sid=FaQlkxn7_bPvpM-GAAAA";
  upgrade.request_headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}};
  upgrade.status = 101;
  upgrade.reason = "Switching Protocols";
  upgrade.response_version = "HTTP/1.1";
  upgrade.response_headers = {{"Upgrade", "websocket"}};
  upgrade.started_us = kT0 + 30000;
  upgrade.first_byte_us = kT0 + 31000;
  upgrade.ended_us = kT0 + 31000;
  events.push_back(upgrade);

  auto ws = [&](Direction d, int opcode, std::string payload, Micros t, bool compressed) {
    WsMessage m;
    m.id = w.new_ws_message_id();
    m.exchange_id = upgrade.id;
    m.direction = d;
    m.opcode = opcode;
    m.payload = Payload::whole(std::move(payload));
    m.compressed = compressed;
    m.time_us = t;
    events.push_back(m);
    return m.id;
  };
  auto packet = [&](Id message, Direction d, int sio, std::string event, std::string args,
                    std::optional<std::int64_t> ack, std::string raw, Micros t) {
    SocketPacket p;
    p.session_id = session.id;
    p.ws_message_id = message;
    p.direction = d;
    p.transport = Transport::websocket;
    p.time_us = t;
    p.eio_type = 4;
    p.sio_type = sio;
    p.namespace_ = "/";
    p.event = std::move(event);
    p.args = std::move(args);
    p.ack_id = ack;
    p.raw = std::move(raw);
    return p;
  };

  Id m1 = ws(Direction::client, 1, "40", kT0 + 32000, false);
  events.push_back(packet(m1, Direction::client, 0, "", "", std::nullopt, "40", kT0 + 32000));
  Id m2 = ws(Direction::server, 1, R"(42["welcome",{"username":"alice"}])", kT0 + 33000, true);
  events.push_back(packet(m2, Direction::server, 2, "welcome", R"([{"username":"alice"}])",
                          std::nullopt, R"(42["welcome",{"username":"alice"}])", kT0 + 33000));
  Id m3 = ws(Direction::client, 1, "420[\"chat\",{\"text\":\"h\xc3\xa9llo\"}]", kT0 + 40000, false);
  events.push_back(packet(m3, Direction::client, 2, "chat", "[{\"text\":\"h\xc3\xa9llo\"}]", 0,
                          "420[\"chat\",{\"text\":\"h\xc3\xa9llo\"}]", kT0 + 40000));
  Id m4 = ws(Direction::server, 1, R"(451-["srvbin",{"_placeholder":true,"num":0}])", kT0 + 41000,
             false);
  Id m5 = ws(Direction::server, 2, std::string("\x01\x02\x03\xff", 4), kT0 + 41500, false);
  SocketPacket bin =
      packet(m4, Direction::server, 5, "srvbin", R"([{"_placeholder":true,"num":0}])", std::nullopt,
             R"(451-["srvbin",{"_placeholder":true,"num":0}])", kT0 + 41500);
  bin.attachment_count = 1;
  bin.attachments = {std::string("\x01\x02\x03\xff", 4)};
  events.push_back(bin);
  SocketPacket raw_bin = packet(m5, Direction::server, 0, "", "", std::nullopt,
                                std::string("\x01\x02\x03\xff", 4), kT0 + 41500);
  raw_bin.sio_type.reset();
  raw_bin.namespace_.clear();
  events.push_back(raw_bin);
  ws(Direction::server, 9, "", kT0 + 50000, false);                          // a ping, no packet
  ws(Direction::client, 8, std::string("\x03\xe9", 2), kT0 + 60000, false);  // close 1001

  events.push_back(ConnectionClosed{c1.id, kT0 + 61000, ""});

  Connection c2;
  c2.id = w.new_connection_id();
  c2.client_addr = "127.0.0.1:53430";
  c2.server_host = "unreachable.test";
  c2.server_port = 80;
  c2.opened_us = kT0 + 70000;
  events.push_back(c2);
  Exchange failed;
  failed.id = w.new_exchange_id();
  failed.connection_id = c2.id;
  failed.method = "GET";
  failed.url = "http://unreachable.test/";
  failed.http_version = "HTTP/1.0";
  failed.request_headers = {};
  failed.started_us = kT0 + 70000;
  failed.error_code = "setup";
  failed.error = "connect: connection refused";
  events.push_back(failed);
  events.push_back(ConnectionClosed{c2.id, kT0 + 71000, "upstream unreachable"});
  return events;
}

}  // namespace wa::store::testing
