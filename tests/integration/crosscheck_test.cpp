// Raw bytes produced by real servers and clients decode to the packets they meant.
//
// Each test starts one of the apps of tests/apps (socket.io 4.8, socket.io 2.5.1,
// Flask-SocketIO 5 on eventlet, socket.io 0.9.19), puts a TcpTap in front of it, and drives it
// with the real Socket.IO client of its version (tests/apps/clients/chat_client.js: login,
// welcome, chat messages with acks, binary data both ways, on long-polling, WebSocket, or
// polling upgraded to WebSocket). The tapped loopback bytes then go through our codecs only:
// HTTP/1.1 (protocol/http1.h) → polling payloads (protocol/engineio_payload.h) or, after the 101,
// WebSocket frames (protocol/websocket.h, inflating permessage-deflate as agreed in the 101,
// protocol/ws_handshake.h) → Engine.IO packets (protocol/engineio.h) → Socket.IO packets
// (protocol/socketio.h, or protocol/socketio09.h for 0.9). What they decode to is compared with
// what the client reported it saw, and with the facts of PROTOCOLS.md.
//
// Set WA_CROSSCHECK_DUMP=DIR to write each capture's connections there (one file per
// connection and direction), e.g. to make codec fixtures of real bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "protocol/engineio.h"
#include "protocol/engineio_payload.h"
#include "protocol/engineio_session.h"
#include "protocol/http1.h"
#include "protocol/socketio.h"
#include "protocol/socketio09.h"
#include "protocol/websocket.h"
#include "protocol/ws_handshake.h"
#include "tests/integration/harness.h"

using namespace wa;
using namespace wa::test;
using nlohmann::json;
using sio::Json;

namespace {

// The chat text: non-ASCII on purpose. Engine.IO v3 and 0.9 length prefixes count UTF-16 units
// (the emoji counts two), and Flask escapes non-ASCII as \uXXXX where Node sends UTF-8.
const std::string kText = "h\xC3\xA9llo {n} \xE2\x82\xAC\xF0\x9F\x98\x80";
constexpr int kChats = 2;

std::string chat_text(int n) {
  std::string text = kText;
  text.replace(text.find("{n}"), 3, std::to_string(n));
  return text;
}

// ---------------------------------------------------------------------------------------------
// From tapped TCP chunks to HTTP exchanges and WebSocket messages.

enum class Family { eio, sio09 };

// One Engine.IO packet, or one 0.9 frame (then `packet.data` holds the frame text), recovered
// from the wire with where and when it travelled.
struct WireMessage {
  uint64_t seq = 0;  // TcpTap order of the chunk that completed it
  eio::Direction direction = eio::Direction::to_client;
  eio::Transport transport = eio::Transport::polling;
  size_t connection = 0;
  eio::Packet packet;
  bool compressed = false;  // came in a permessage-deflate compressed WebSocket message
};

struct HttpMessage {
  http::Head head;
  std::string body;
  uint64_t end_seq = 0;
};

struct Exchange {
  size_t connection = 0;
  HttpMessage request;
  HttpMessage response;
};

// Collects the messages of one direction of one connection.
class MessageSink : public http::Sink {
 public:
  std::vector<HttpMessage> done;
  uint64_t seq = 0;
  std::optional<std::string> upgrade_rest;  // bytes after the head where HTTP stopped
  std::function<void(const http::Head&)> head_seen;

  http::Flow on_head(http::Head& head) override {
    current_ = HttpMessage{};
    current_.head = head;
    if (head_seen) head_seen(head);
    return http::Flow::proceed;
  }
  void on_body(std::string_view bytes) override { current_.body.append(bytes); }
  http::Flow on_message_end() override {
    current_.end_seq = seq;
    done.push_back(std::move(current_));
    current_ = HttpMessage{};
    return http::Flow::proceed;
  }
  void on_upgrade(size_t, std::string_view rest) override { upgrade_rest = std::string(rest); }

 private:
  HttpMessage current_;
};

ws::HeaderList header_list(const http::Headers& headers) {
  ws::HeaderList list;
  for (const auto& h : headers)
    list.emplace_back(h.name, h.value);
  return list;
}

std::string header(const http::Head& head, std::string_view name) {
  auto value = http::find_header(head.headers, name);
  return value ? std::string(*value) : std::string();
}

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

// As plain (key-sorted) JSON: the codecs keep wire order, the client's report does not.
json plain(const Json& value) {
  return json::parse(value.dump());
}

// Decodes a whole capture, chunk by chunk in the order the tap saw them, so that every message
// knows when it completed relative to the others (PROTOCOLS.md §1 gotcha 4: order server
// packets by GET completion, client packets by POST).
class WireDecoder {
 public:
  explicit WireDecoder(Family family) : family_(family) {}

  void feed(const TapChunk& chunk) {
    auto& slot = connections_[chunk.connection];
    if (!slot) slot = std::make_unique<Connection>(chunk.connection);
    Connection& c = *slot;
    if (c.failed) return;
    if (chunk.direction == Direction::client_to_server) {
      from_client(c, chunk.bytes, chunk.seq);
    } else {
      from_server(c, chunk.bytes, chunk.seq);
    }
  }

  std::vector<std::string> errors;
  std::vector<Exchange> exchanges;
  std::vector<WireMessage> messages;
  // Per WebSocket connection: the upgrade request, the 101 and what was agreed.
  struct Upgrade {
    size_t connection = 0;
    std::string target;
    bool deflate = false;
    int server_messages = 0;
    int server_compressed = 0;
  };
  std::vector<Upgrade> upgrades;

  // Checks that nothing was left half-decoded.
  void finish() {
    for (auto& [index, c] : connections_) {
      if (c->failed) continue;
      if (c->websocket && (c->from_client->mid_message() || c->from_server->mid_message())) {
        errors.push_back("connection " + std::to_string(index) + ": WebSocket message cut off");
      }
    }
    std::stable_sort(messages.begin(), messages.end(),
                     [](const auto& a, const auto& b) { return a.seq < b.seq; });
  }

 private:
  struct Connection {
    explicit Connection(size_t i) : index(i) {
      requests_sink.head_seen = [this](const http::Head& head) {
        responses.expect_response_to(head.method);
      };
    }
    size_t index;
    http::Parser requests{http::Role::request};
    http::Parser responses{http::Role::response};
    MessageSink requests_sink;
    MessageSink responses_sink;
    size_t answered = 0;           // requests paired with a response so far
    bool awaiting_answer = false;  // an upgrade request is out: client bytes wait for the 101
    std::string held;              // client bytes after the upgrade request
    bool websocket = false;
    std::optional<ws::Decoder> from_client;
    std::optional<ws::Decoder> from_server;
    eio::Version version = eio::Version::v4;
    size_t upgrade_index = 0;
    bool failed = false;
  };

  void fail(Connection& c, const std::string& why) {
    errors.push_back("connection " + std::to_string(c.index) + ": " + why);
    c.failed = true;
  }

  void from_client(Connection& c, std::string_view bytes, uint64_t seq) {
    if (c.websocket) return ws_feed(c, *c.from_client, eio::Direction::to_server, bytes, seq);
    if (c.awaiting_answer) {
      c.held.append(bytes);
      return;
    }
    c.requests_sink.seq = seq;
    auto fed = c.requests.feed(bytes, c.requests_sink);
    if (!fed) return fail(c, "HTTP request: " + fed.error().why);
    if (c.requests_sink.upgrade_rest) {
      c.awaiting_answer = true;
      c.held = *c.requests_sink.upgrade_rest;
      c.requests_sink.upgrade_rest.reset();
    }
  }

  void from_server(Connection& c, std::string_view bytes, uint64_t seq) {
    if (c.websocket) return ws_feed(c, *c.from_server, eio::Direction::to_client, bytes, seq);
    c.responses_sink.seq = seq;
    auto fed = c.responses.feed(bytes, c.responses_sink);
    if (!fed) return fail(c, "HTTP response: " + fed.error().why);
    while (c.answered < c.responses_sink.done.size()) {
      size_t i = c.answered;
      if (i >= c.requests_sink.done.size()) return fail(c, "a response without a request");
      if (c.responses_sink.done[i].head.status / 100 == 1 &&
          c.responses_sink.done[i].head.status != 101) {
        c.responses_sink.done.erase(c.responses_sink.done.begin() + long(i));
        continue;  // an interim response: the final one answers the same request
      }
      ++c.answered;
      exchange(c, Exchange{c.index, c.requests_sink.done[i], c.responses_sink.done[i]});
    }
    if (c.responses_sink.upgrade_rest) {
      std::string rest = std::move(*c.responses_sink.upgrade_rest);
      c.responses_sink.upgrade_rest.reset();
      start_websocket(c, rest, seq);
    }
  }

  void start_websocket(Connection& c, const std::string& rest, uint64_t seq) {
    if (c.answered == 0) return fail(c, "an upgrade without a request");
    const Exchange& ex = exchanges.back();
    if (ex.response.head.status != 101) return fail(c, "the upgrade was refused");
    ws::Agreement agreement = ws::read_agreement(header_list(ex.response.head.headers));
    if (family_ == Family::eio) {
      auto query = eio::parse_query(ex.request.head.target);
      if (!query.version) return fail(c, "a WebSocket upgrade without EIO=");
      c.version = *query.version;
    }
    ws::DecoderOptions client_side{.sender = ws::Role::client, .deflate = agreement.deflate};
    ws::DecoderOptions server_side{.sender = ws::Role::server, .deflate = agreement.deflate};
    c.from_client.emplace(client_side);
    c.from_server.emplace(server_side);
    c.websocket = true;
    c.upgrade_index = upgrades.size();
    upgrades.push_back(Upgrade{c.index, ex.request.head.target, agreement.deflate.has_value()});
    c.awaiting_answer = false;
    if (!rest.empty()) ws_feed(c, *c.from_server, eio::Direction::to_client, rest, seq);
    std::string held = std::move(c.held);
    if (!held.empty() && !c.failed) {
      ws_feed(c, *c.from_client, eio::Direction::to_server, held, seq);
    }
  }

  void ws_feed(Connection& c, ws::Decoder& decoder, eio::Direction direction,
               std::string_view bytes, uint64_t seq) {
    std::vector<ws::Message> out;
    auto fed = decoder.feed(bytes, out);
    for (const auto& m : out) {
      if (m.opcode != ws::Opcode::text && m.opcode != ws::Opcode::binary) continue;
      if (direction == eio::Direction::to_client) {
        upgrades[c.upgrade_index].server_messages++;
        upgrades[c.upgrade_index].server_compressed += m.compressed;
      }
      WireMessage wm{seq, direction, eio::Transport::websocket, c.index, {}, m.compressed};
      if (family_ == Family::sio09) {
        wm.packet.data = m.payload;
      } else {
        auto packet = eio::decode_ws_message(c.version, m.payload, m.opcode == ws::Opcode::binary);
        if (!packet) return fail(c, "Engine.IO in a WebSocket message: " + packet.error().why);
        wm.packet = std::move(*packet);
      }
      messages.push_back(std::move(wm));
    }
    if (!fed) fail(c, "WebSocket: " + fed.error().why);
  }

  // A complete exchange: polling bodies hold packets (client ones in POSTs, server ones in GET
  // responses).
  void exchange(Connection& c, Exchange ex) {
    exchanges.push_back(ex);
    const std::string& target = ex.request.head.target;
    if (ex.response.head.status != 200) return;
    if (family_ == Family::sio09) {
      auto path = sio09::parse_path(target);
      if (!path || path->is_handshake() || path->transport != "xhr-polling") return;
      bool post = ex.request.head.method == "POST";
      const std::string& body = post ? ex.request.body : ex.response.body;
      auto frames = sio09::decode_payload(body);
      if (!frames) return fail(c, "0.9 polling payload: " + frames.error().why);
      for (auto& frame : *frames) {
        WireMessage wm{post ? ex.request.end_seq : ex.response.end_seq,
                       post ? eio::Direction::to_server : eio::Direction::to_client,
                       eio::Transport::polling,
                       c.index,
                       {},
                       false};
        wm.packet.data = std::move(frame);
        messages.push_back(std::move(wm));
      }
      return;
    }
    auto query = eio::parse_query(target);
    if (query.transport != eio::Transport::polling) return;
    if (!query.version) return fail(c, "a polling request without EIO=: " + target);
    bool post = ex.request.head.method == "POST";
    const HttpMessage& carrier = post ? ex.request : ex.response;
    auto packets =
        eio::decode_payload(*query.version, carrier.body, header(carrier.head, "content-type"));
    if (!packets) return fail(c, "Engine.IO polling payload: " + packets.error().why);
    for (auto& packet : *packets) {
      messages.push_back(WireMessage{carrier.end_seq,
                                     post ? eio::Direction::to_server : eio::Direction::to_client,
                                     eio::Transport::polling, c.index, std::move(packet), false});
    }
  }

  Family family_;
  std::map<size_t, std::unique_ptr<Connection>> connections_;
};

// ---------------------------------------------------------------------------------------------
// Capturing one client session through the tap.

struct Capture {
  ClientRun client;
  std::vector<TapConnection> connections;
  std::vector<TapChunk> chunks;
};

void dump(const Capture& capture, const std::string& label) {
  const char* dir = std::getenv("WA_CROSSCHECK_DUMP");
  if (!dir || !*dir) return;
  for (const auto& c : capture.connections) {
    std::string base = std::string(dir) + "/" + label + "." + std::to_string(c.index);
    std::ofstream(base + ".c2s", std::ios::binary) << c.client_to_server;
    std::ofstream(base + ".s2c", std::ios::binary) << c.server_to_client;
  }
}

Capture capture_session(const App& app, const std::string& flavor, const std::string& transport,
                        const std::string& label, bool binary) {
  TcpTap tap(app.port());
  Capture capture;
  std::vector<std::string> args = {"--url",       tap.origin(), "--flavor", flavor,
                                   "--transport", transport,    "--chats",  std::to_string(kChats),
                                   "--text",      kText};
  if (binary) args.push_back("--binary");
  capture.client = run_chat_client(args);
  INFO(capture.client.out << capture.client.err);
  REQUIRE(capture.client.exit_code == 0);
  // The client has exited, so every connection is closing; what is still open after this is
  // a server keeping a socket, and what it has sent so far is all there is to decode.
  tap.wait_all_closed(5000ms);
  tap.stop();
  capture.connections = tap.connections();
  capture.chunks = tap.chunks();
  dump(capture, label);
  return capture;
}

WireDecoder decode_wire(const Capture& capture, Family family) {
  WireDecoder decoder(family);
  for (const auto& chunk : capture.chunks)
    decoder.feed(chunk);
  decoder.finish();
  for (const auto& e : decoder.errors)
    FAIL_CHECK(e);
  return decoder;
}

// What the client script said it got: the acks by chat text, and its socket id.
struct ClientView {
  std::map<std::string, json> acks;
  std::string id;
  std::string first_transport;
};

ClientView client_view(const ClientRun& run) {
  ClientView view;
  for (const auto& line : run.lines) {
    std::string type = line.value("type", "");
    if (type == "ack") view.acks[line["text"].get<std::string>()] = line["ack"];
    if (type == "connect") {
      view.id = line.value("id", "");
      view.first_transport = line.value("transport", "");
    }
  }
  return view;
}

// ---------------------------------------------------------------------------------------------
// Engine.IO + Socket.IO v4/v5 checks

struct SioRecord {
  eio::Direction direction;
  eio::Transport transport;
  sio::Packet packet;
};

struct EioSummary {
  std::optional<eio::Handshake> handshake;
  std::optional<eio::Transport> open_transport;
  std::map<eio::Traffic, int> traffic;  // counts of each kind of packet
  eio::Phase final_phase = eio::Phase::opening;
  std::vector<std::string> unexpected;
  std::set<eio::Transport> application_transports;
};

std::vector<SioRecord> decode_socketio(const WireDecoder& wire, eio::Version version,
                                       EioSummary& summary) {
  int protocol = version == eio::Version::v3 ? 4 : 5;
  sio::Decoder to_server(protocol), to_client(protocol);
  eio::SessionTracker tracker(version);
  std::vector<SioRecord> records;
  for (const auto& m : wire.messages) {
    auto seen = tracker.observe(m.transport, m.direction, m.packet);
    summary.traffic[seen.traffic]++;
    if (!seen.unexpected.empty()) summary.unexpected.emplace_back(seen.unexpected);
    if (m.packet.type == eio::PacketType::open) {
      CHECK_FALSE(summary.handshake);  // one session, one open packet
      auto handshake = eio::parse_handshake(m.packet.data);
      REQUIRE_MESSAGE(handshake, handshake.error().why);
      summary.handshake = *handshake;
      summary.open_transport = m.transport;
    }
    if (m.packet.type != eio::PacketType::message) continue;
    summary.application_transports.insert(m.transport);
    auto& decoder = m.direction == eio::Direction::to_server ? to_server : to_client;
    auto packet =
        m.packet.binary ? decoder.feed_binary(m.packet.data) : decoder.feed_text(m.packet.data);
    REQUIRE_MESSAGE(packet, "Socket.IO packet " << m.packet.data << ": " << packet.error().why);
    if (*packet) records.push_back(SioRecord{m.direction, m.transport, std::move(**packet)});
  }
  CHECK_FALSE(to_server.awaiting());
  CHECK_FALSE(to_client.awaiting());
  summary.final_phase = tracker.phase();
  return records;
}

std::vector<const SioRecord*> events_named(const std::vector<SioRecord>& records,
                                           eio::Direction direction, const std::string& name) {
  std::vector<const SioRecord*> found;
  for (const auto& r : records) {
    if (r.direction == direction && sio::is_event(r.packet) && sio::event_name(r.packet) == name) {
      found.push_back(&r);
    }
  }
  return found;
}

struct EioCase {
  AppKind kind;
  std::string flavor;  // the client library: v4 | v2
  std::string transport;
  eio::Version version;
};

void check_eio_session(const EioCase& test) {
  App app({.kind = test.kind});
  std::string label = std::string(app_name(test.kind)) + "-" + test.transport;
  Capture capture = capture_session(app, test.flavor, test.transport, label, true);
  WireDecoder wire = decode_wire(capture, Family::eio);
  ClientView client = client_view(capture.client);
  INFO("client: " << capture.client.out);

  // HTTP: the session's requests all went to /socket.io/ with the version asked for.
  int socket_requests = 0;
  for (const auto& ex : wire.exchanges) {
    if (path_of(ex.request.head.target) != "/socket.io/") continue;
    ++socket_requests;
    auto query = eio::parse_query(ex.request.head.target);
    CHECK(query.version == test.version);
  }
  CHECK(socket_requests > 0);

  // Engine.IO: one handshake, on the transport the client opened with, and the upgrade
  // sequence when it upgraded.
  EioSummary summary;
  std::vector<SioRecord> records = decode_socketio(wire, test.version, summary);
  REQUIRE(summary.handshake);
  const std::string sid = summary.handshake->sid;
  CHECK(!sid.empty());
  CHECK(summary.handshake->ping_interval_ms == 25000);
  CHECK(summary.handshake->ping_timeout_ms == 20000);
  for (const auto& ex : wire.exchanges) {
    auto query = eio::parse_query(ex.request.head.target);
    if (path_of(ex.request.head.target) != "/socket.io/" || query.sid.empty()) continue;
    CHECK(query.sid == sid);  // every request after the open packet names the session
  }
  for (const auto& u : wire.upgrades)
    CHECK(u.target.find("transport=websocket") != std::string::npos);
  if (test.transport == "websocket") {
    CHECK(summary.open_transport == eio::Transport::websocket);
    CHECK(summary.handshake->upgrades.empty());
    CHECK(summary.application_transports == std::set{eio::Transport::websocket});
  } else {
    CHECK(summary.open_transport == eio::Transport::polling);
    CHECK(summary.handshake->upgrades == std::vector<std::string>{"websocket"});
  }
  if (test.transport == "polling") {
    CHECK(wire.upgrades.empty());
    CHECK(summary.application_transports == std::set{eio::Transport::polling});
    // The client leaves with a close packet in a POST (PROTOCOLS.md §1 "Close"); on the
    // WebSocket it just closes the connection.
    CHECK(summary.traffic[eio::Traffic::close] == 1);
    CHECK(summary.final_phase == eio::Phase::closed);
  }
  if (test.transport == "upgrade") {
    REQUIRE(wire.upgrades.size() == 1);
    CHECK(summary.traffic[eio::Traffic::probe] == 2);  // C> 2probe, S> 3probe
    CHECK(summary.traffic[eio::Traffic::upgrade] == 1);
    CHECK(summary.final_phase == eio::Phase::websocket);
  }
  for (const auto& why : summary.unexpected)
    MESSAGE("session tracker: " << why);
  CHECK(summary.unexpected.empty());

  // Socket.IO: the CONNECT exchange, the welcome, the chats, their broadcasts and acks.
  std::vector<const SioRecord*> connects_in, connects_out;
  for (const auto& r : records) {
    if (r.packet.type != sio::PacketType::connect) continue;
    CHECK(r.packet.nsp == "/");
    (r.direction == eio::Direction::to_client ? connects_out : connects_in).push_back(&r);
  }
  REQUIRE(connects_out.size() == 1);
  if (test.version == eio::Version::v4) {
    // v5: the client asks (`40`, no auth in cookie mode), the reply carries the socket id,
    // which is not the engine sid (PROTOCOLS.md §2).
    REQUIRE(connects_in.size() == 1);
    CHECK_FALSE(connects_in[0]->packet.data);
    auto reply = sio::connect_reply(connects_out[0]->packet);
    REQUIRE(reply);
    CHECK(reply->sid == client.id);
    CHECK(reply->sid != sid);
  } else {
    // v4: the server connects `/` on its own and the reply has no payload; the client's id is
    // the engine sid.
    CHECK(connects_in.empty());
    CHECK_FALSE(connects_out[0]->packet.data);
    CHECK(client.id == sid);
  }

  auto welcomes = events_named(records, eio::Direction::to_client, "welcome");
  REQUIRE(welcomes.size() == 1);
  CHECK(plain(sio::event_args(welcomes[0]->packet)) == json::parse(R"([{"username":"alice"}])"));
  CHECK_FALSE(welcomes[0]->packet.id);

  auto sent = events_named(records, eio::Direction::to_server, "chat");
  auto broadcast = events_named(records, eio::Direction::to_client, "chat");
  REQUIRE(sent.size() == size_t(kChats));
  REQUIRE(broadcast.size() == size_t(kChats));
  std::set<uint64_t> ack_ids;
  for (int n = 1; n <= kChats; ++n) {
    CAPTURE(n);
    const sio::Packet& chat = sent[size_t(n - 1)]->packet;
    CHECK(plain(sio::event_args(chat)) == json::array({{{"text", chat_text(n)}}}));
    REQUIRE(chat.id);
    ack_ids.insert(*chat.id);
    // The client waits for the upgrade before chatting: its chats all went over the WebSocket.
    if (test.transport != "polling")
      CHECK(sent[size_t(n - 1)]->transport == eio::Transport::websocket);
    CHECK(plain(sio::event_args(broadcast[size_t(n - 1)]->packet)) ==
          json::array({{{"from", "alice"}, {"text", chat_text(n)}}}));

    // The ack with the event's id, to the other side, holds what the client got.
    const SioRecord* ack = nullptr;
    for (const auto& r : records) {
      if (r.direction == eio::Direction::to_client && sio::is_ack(r.packet) &&
          r.packet.id == chat.id) {
        CHECK_FALSE(ack);
        ack = &r;
      }
    }
    REQUIRE(ack);
    REQUIRE(client.acks.count(chat_text(n)) == 1);
    CHECK(plain(sio::event_args(ack->packet)) == json::array({client.acks[chat_text(n)]}));
  }
  CHECK(ack_ids.size() == size_t(kChats));

  // Binary both ways: the client's Buffer travels as an attachment after its BINARY_EVENT
  // header (v4 polling `b<base64>`, v3 polling `b4<base64>` with b64=1, WebSocket binary
  // frames, v3 ones with a leading 04), and the server's ack echoes it as a BINARY_ACK.
  const std::string bytes("\x01\x02\x03\xff", 4);
  auto bins = events_named(records, eio::Direction::to_server, "bin");
  REQUIRE(bins.size() == 1);
  const sio::Packet& bin = bins[0]->packet;
  CHECK(bin.type == sio::PacketType::binary_event);
  CHECK(bin.attachments == std::vector<std::string>{bytes});
  CHECK(plain(sio::event_args(bin)) == json::array({plain(sio::placeholder(0))}));
  REQUIRE(bin.id);
  CHECK(ack_ids.count(*bin.id) == 0);
  const sio::Packet* bin_ack = nullptr;
  for (const auto& r : records) {
    if (r.direction == eio::Direction::to_client && sio::is_ack(r.packet) &&
        r.packet.id == bin.id) {
      bin_ack = &r.packet;
    }
  }
  REQUIRE(bin_ack);
  CHECK(bin_ack->type == sio::PacketType::binary_ack);
  CHECK(bin_ack->attachments == std::vector<std::string>{bytes});
  CHECK(plain(sio::event_args(*bin_ack)) ==
        json::array({{{"ok", true}, {"size", 4}, {"echo", plain(sio::placeholder(0))}}}));
  bool client_got_it = false;
  for (const auto& line : capture.client.lines) {
    client_got_it =
        client_got_it || (line.value("type", "") == "binack" && line["ack"]["echo"] == "010203ff");
  }
  CHECK(client_got_it);

  // Flask on eventlet accepts permessage-deflate and compresses (PROTOCOLS.md §1); the Node
  // servers do not negotiate it.
  for (const auto& u : wire.upgrades) {
    CAPTURE(u.target);
    CHECK(u.server_messages > 0);
    if (test.kind == AppKind::flask) {
      CHECK(u.deflate);
      CHECK(u.server_compressed > 0);
    } else {
      CHECK_FALSE(u.deflate);
      CHECK(u.server_compressed == 0);
    }
  }

  // socket.io 2 sets the io cookie to the engine sid on every polling response (§4).
  if (test.kind == AppKind::express_v2) {
    for (const auto& ex : wire.exchanges) {
      auto query = eio::parse_query(ex.request.head.target);
      if (query.transport != eio::Transport::polling || ex.response.head.status != 200) continue;
      CHECK(header(ex.response.head, "set-cookie").rfind("io=" + sid + ";", 0) == 0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Socket.IO 0.9 checks

void check_sio09_session(const std::string& transport) {
  App app({.kind = AppKind::sio09});
  Capture capture = capture_session(app, "v09", transport, "sio09-" + transport, false);
  WireDecoder wire = decode_wire(capture, Family::sio09);
  ClientView client = client_view(capture.client);
  INFO("client: " << capture.client.out);

  // The handshake: GET /socket.io/1/ answered `sid:heartbeat:close:transports` (§3).
  std::optional<sio09::Handshake> handshake;
  for (const auto& ex : wire.exchanges) {
    auto path = sio09::parse_path(ex.request.head.target);
    if (!path || !path->is_handshake()) continue;
    CHECK_FALSE(handshake);
    REQUIRE(ex.response.head.status == 200);
    auto parsed = sio09::parse_handshake(ex.response.body);
    REQUIRE_MESSAGE(parsed, parsed.error().why);
    handshake = *parsed;
  }
  REQUIRE(handshake);
  CHECK(handshake->sid == client.id);
  CHECK(handshake->heartbeat_timeout == std::optional<uint64_t>(60));
  CHECK(handshake->transports ==
        std::vector<std::string>{"websocket", "htmlfile", "xhr-polling", "jsonp-polling"});

  // Every transport request names the session in its path.
  std::string expected_transport = transport == "polling" ? "xhr-polling" : "websocket";
  int transport_requests = 0;
  for (const auto& ex : wire.exchanges) {
    auto path = sio09::parse_path(ex.request.head.target);
    if (!path || path->is_handshake()) continue;
    ++transport_requests;
    CHECK(path->transport == expected_transport);
    CHECK(path->sid == handshake->sid);
  }
  CHECK(transport_requests > 0);
  CHECK(wire.upgrades.size() == (transport == "polling" ? 0u : 1u));

  struct Seen {
    eio::Direction direction;
    sio09::Decoded decoded;
  };
  std::vector<Seen> frames;
  for (const auto& m : wire.messages) {
    auto decoded = sio09::decode(m.packet.data);
    REQUIRE_MESSAGE(decoded, "0.9 frame " << m.packet.data << ": " << decoded.error().why);
    CHECK(m.transport ==
          (transport == "polling" ? eio::Transport::polling : eio::Transport::websocket));
    frames.push_back(Seen{m.direction, std::move(*decoded)});
  }
  // The server's first frame on the transport is the connect of the default namespace.
  auto first = std::find_if(frames.begin(), frames.end(),
                            [](const Seen& f) { return f.direction == eio::Direction::to_client; });
  REQUIRE(first != frames.end());
  CHECK(first->decoded.frame.type == sio09::FrameType::connect);
  CHECK(first->decoded.frame.endpoint.empty());

  auto events = [&](eio::Direction direction, const std::string& name) {
    std::vector<const Seen*> found;
    for (const auto& f : frames) {
      auto* event = std::get_if<sio09::Event>(&f.decoded.content);
      if (f.direction == direction && event && event->name == name) found.push_back(&f);
    }
    return found;
  };
  auto welcomes = events(eio::Direction::to_client, "welcome");
  REQUIRE(welcomes.size() == 1);
  CHECK(plain(std::get<sio09::Event>(welcomes[0]->decoded.content).args) ==
        json::parse(R"([{"username":"alice"}])"));

  auto sent = events(eio::Direction::to_server, "chat");
  auto broadcast = events(eio::Direction::to_client, "chat");
  REQUIRE(sent.size() == size_t(kChats));
  REQUIRE(broadcast.size() == size_t(kChats));
  for (int n = 1; n <= kChats; ++n) {
    CAPTURE(n);
    const sio09::Frame& chat = sent[size_t(n - 1)]->decoded.frame;
    CHECK(plain(std::get<sio09::Event>(sent[size_t(n - 1)]->decoded.content).args) ==
          json::array({{{"text", chat_text(n)}}}));
    // `5:N+::…`: the user's callback answers, so the ack carries arguments (§3 gotcha 2).
    REQUIRE(chat.id);
    CHECK(chat.user_ack);
    CHECK(plain(std::get<sio09::Event>(broadcast[size_t(n - 1)]->decoded.content).args) ==
          json::array({{{"from", "alice"}, {"text", chat_text(n)}}}));
    const sio09::Ack* ack = nullptr;
    for (const auto& f : frames) {
      auto* a = std::get_if<sio09::Ack>(&f.decoded.content);
      if (f.direction == eio::Direction::to_client && a && a->id == *chat.id) {
        CHECK_FALSE(ack);
        ack = a;
      }
    }
    REQUIRE(ack);
    REQUIRE(client.acks.count(chat_text(n)) == 1);
    CHECK(plain(ack->args) == json::array({client.acks[chat_text(n)]}));
  }
}

}  // namespace

TEST_SUITE("crosscheck") {
  TEST_CASE("socket.io 4 server and client: polling upgraded to WebSocket") {
    check_eio_session({AppKind::express_v4, "v4", "upgrade", eio::Version::v4});
  }
  TEST_CASE("socket.io 4 server and client: long-polling only") {
    check_eio_session({AppKind::express_v4, "v4", "polling", eio::Version::v4});
  }
  TEST_CASE("socket.io 4 server and client: WebSocket only") {
    check_eio_session({AppKind::express_v4, "v4", "websocket", eio::Version::v4});
  }
  TEST_CASE("socket.io 2 server and client: polling upgraded to WebSocket") {
    check_eio_session({AppKind::express_v2, "v2", "upgrade", eio::Version::v3});
  }
  TEST_CASE("socket.io 2 server and client: long-polling only") {
    check_eio_session({AppKind::express_v2, "v2", "polling", eio::Version::v3});
  }
  TEST_CASE("socket.io 2 server and client: WebSocket only") {
    check_eio_session({AppKind::express_v2, "v2", "websocket", eio::Version::v3});
  }
  TEST_CASE("Flask-SocketIO and the socket.io 4 client: polling upgraded to WebSocket") {
    check_eio_session({AppKind::flask, "v4", "upgrade", eio::Version::v4});
  }
  TEST_CASE("Flask-SocketIO and the socket.io 4 client: long-polling only") {
    check_eio_session({AppKind::flask, "v4", "polling", eio::Version::v4});
  }
  TEST_CASE("Flask-SocketIO and the socket.io 4 client: WebSocket only") {
    check_eio_session({AppKind::flask, "v4", "websocket", eio::Version::v4});
  }
  TEST_CASE("socket.io 0.9 server and client: WebSocket") {
    check_sio09_session("websocket");
  }
  TEST_CASE("socket.io 0.9 server and client: xhr-polling") {
    check_sio09_session("polling");
  }
}
