// A corpus of real third-party channel apps (tests/apps/channels), each recorded from headless
// Chromium through the forward proxy and then replayed against a fresh instance of the app:
//
//   sio4_ws      Socket.IO 4 on path /rt/, `transports: ['websocket']` (WebSocket first)
//   sio2_ws      Socket.IO 2, `transports: ['websocket']` (WebSocket first, Engine.IO v3)
//   sio2_gzip    Socket.IO 2 whose first event (> 1 KiB) comes in a gzip'd polling response,
//                then the upgrade to WebSocket
//   ws_orders    a plain WebSocket (ws + Express): token in the first message, JSON
//                notifications, a heartbeat every 200 ms
//   graphql_ws   a GraphQL subscription and a query over graphql-ws (graphql-transport-ws)
//   sse          Server-Sent Events (Express): events on connect and one after a POST
//   compressed   Express behind `compression` (every text response gzip'd) with Socket.IO 4
//                on long-polling (its large event gzip'd by Engine.IO)
//
// Each app is a test case of its own (`-tc='*sio2_gzip*'`). Each one:
// 1. starts the app and `workalready record` (forward proxy, as the other browser tests),
//    lets Chromium open the app's page through the proxy (browser_channels.js: the page's
//    script signs in and does the channel interaction; the driver awaits `window.done`, then
//    navigates away, which closes the page's sockets and streams as a user's leaving does),
//    stops the recorder and checks what the capture holds;
// 2. replays the capture against a fresh instance of the app: exit 0, and the JSON report
//    compared as many HTTP responses and server messages as the capture holds;
// 3. replays it against the app's `VARIANT=changed` instance, which changes one field of one
//    server message: exit 1, and the console names the message and the JSON path.
#include <doctest/doctest.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <memory>

#include "tests/integration/browser.h"
#include "tests/integration/replay_run.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

// ---------------------------------------------------------------------------------------------
// A channel app: `node tests/apps/channels/<name>/app.js` on a port of its choosing (PORT=0),
// ready once it printed `LISTENING <port>`.
class ChannelApp {
 public:
  explicit ChannelApp(const std::string& name, const std::string& variant = "none") {
    require_node_modules();
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"node", repo_path("tests/apps/channels/" + name + "/app.js")},
        std::vector<Env>{{"PORT", "0"}, {"VARIANT", variant}});
    const std::string_view ready = "LISTENING ";
    auto line = process_->wait_for_prefix(ready, 60000ms);
    if (!line) {
      process_->stop();
      throw std::runtime_error("the " + name + " app did not start\n" + process_->tail());
    }
    port_ = std::atoi(line->c_str() + ready.size());
  }

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Process& process() { return *process_; }
  // SIGTERM; the exit status (the apps exit 0).
  int stop() { return process_->stop(); }

 private:
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Recording.

struct Recorded {
  std::string db;
  std::string origin;  // the app's origin the browser used
  json result;         // what the page's window.done resolved with
  store::RecordingData data;
};

// Starts the app `name` and the recording proxy, lets Chromium run the app's page through the
// proxy, and stops both. Every connection the browser opened has closed by then: the driver
// left the page and the browser exited before the proxy was stopped.
Recorded record(const TempDir& dir, const std::string& name) {
  Recorded r;
  r.db = dir.file(name + ".sqlite");
  ChannelApp app(name);
  r.origin = app.origin();
  {
    RecordingProxy proxy(r.db, {"--ca-dir", dir.file("ca")});
    INFO(proxy.process().tail(4000));
    {
      Chromium browser(dir.file("profile-" + name),
                       {"--proxy-server=" + proxy.origin(), "--proxy-bypass-list=<-loopback>"});
      CommandRun run = run_command(
          {"node", repo_path("tests/integration/browser_channels.js"), "--devtools",
           browser.devtools(), "--url", app.origin() + "/?user=alice", "--timeout-ms", "60000"},
          {}, 90s);
      browser.process().wait_exit(10s);
      INFO(run.out << run.err);
      REQUIRE(run.exit_code == 0);
      for (const json& line : json_lines(run.out)) {
        if (line.value("type", "") == "result") r.result = line.value("value", json());
      }
      REQUIRE(r.result.is_object());
    }
    REQUIRE(proxy.interrupt() == 0);
  }
  CHECK(app.stop() == 0);
  r.data = load_capture(r.db);
  return r;
}

// A recording and its folder, made once per app: doctest runs a test case once for each of
// its SUBCASEs, and the capture and replay subcases look at the same recording. Removed at
// exit.
struct Case {
  TempDir dir;
  Recorded rec;
};

Case& recorded(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Case>> cases;
  auto& c = cases[name];
  if (!c) {
    auto made = std::make_unique<Case>();
    made->rec = record(made->dir, name);
    c = std::move(made);
  }
  return *c;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

bool of_app(const store::Exchange& x, const std::string& origin) {
  return x.url.rfind(origin + "/", 0) == 0;
}

// Engine.IO's own requests (polling, handshakes, WebSocket upgrades) carry EIO= in the query.
bool is_engineio(const store::Exchange& x) {
  return contains(x.url, "EIO=");
}

// The HTTP requests a replay sends itself and compares: the app's own that were answered,
// except Engine.IO transport requests and WebSocket upgrades, which the live socket clients
// make (replay/script.h).
size_t replayable_exchanges(const Recorded& r) {
  size_t n = 0;
  for (const auto& x : r.data.exchanges) {
    if (of_app(x, r.origin) && x.status != 0 && x.status != 101 && !is_engineio(x)) ++n;
  }
  return n;
}

// The server Socket.IO packets a replay expects: those carried in Engine.IO messages that
// hold a Socket.IO packet (CONNECT replies, events, acks, errors), as replay/script.h says.
std::vector<const store::SocketPacket*> expected_packets(const Recorded& r) {
  std::vector<const store::SocketPacket*> found;
  for (const auto& p : r.data.packets) {
    if (p.direction == store::Direction::server && p.sio_type && p.eio_type == 4 &&
        !contains(p.raw, "(error: "))
      found.push_back(&p);
  }
  return found;
}

// A packet of that Socket.IO type (and event name, for events) in that direction, or null.
const store::SocketPacket* packet_of(const Recorded& r, store::Direction direction, int sio_type,
                                     const std::string& event = {}) {
  for (const auto& p : r.data.packets) {
    if (p.direction == direction && p.sio_type == sio_type && p.event == event) return &p;
  }
  return nullptr;
}

// The text messages of the WebSocket opened on `path` ("/comms"), in one direction, as JSON
// (null for a message that does not parse).
std::vector<json> ws_json(const Recorded& r, const std::string& path, store::Direction direction) {
  std::vector<json> found;
  for (const auto& m : r.data.ws_messages) {
    const store::Exchange* x = exchange_by_id(r.data, m.exchange_id);
    if (!x || path_of(x->url) != path || m.direction != direction || m.opcode != 1) continue;
    json parsed = json::parse(m.payload.bytes, nullptr, false);
    found.push_back(parsed.is_discarded() ? json() : parsed);
  }
  return found;
}

// Everything worth printing about the plain WebSocket messages of a capture.
std::string describe_ws(const Recorded& r) {
  std::string text;
  for (const auto& m : r.data.ws_messages) {
    text += "ws message " + std::to_string(m.id) + " on exchange " + std::to_string(m.exchange_id) +
            " " + store::to_string(m.direction) + " opcode " + std::to_string(m.opcode) + ": " +
            m.payload.bytes.substr(0, 300) + "\n";
  }
  return text;
}

// The body of the first token-issuing login (`POST /login` answering {token}).
std::string login_token(const Recorded& r) {
  const store::Exchange* login = find_exchange(r.data, "POST", "/login");
  REQUIRE(login != nullptr);
  json body = json::parse(login->response_body.bytes, nullptr, false);
  REQUIRE(body.is_object());
  REQUIRE(body["token"].is_string());
  return body["token"].get<std::string>();
}

// The events of a Server-Sent Events body (HTML Living Standard §9.2.6): blocks ended by a
// blank line that carry at least one `data` field. Comments (`: keepalive`) are not events.
size_t sse_events_in(const std::string& body) {
  std::string text;
  for (char c : body) {
    if (c != '\r') text += c;
  }
  size_t events = 0;
  size_t start = 0;
  for (size_t end; (end = text.find("\n\n", start)) != std::string::npos; start = end + 2) {
    std::string block = "\n" + text.substr(start, end - start);
    if (contains(block, "\ndata:") || contains(block, "\ndata\n")) ++events;
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// Replay: `workalready replay --target URL` run to completion, with its JSON report.
ReplayRun replay(const TempDir& dir, const std::string& db, const std::string& target) {
  return run_replay(dir, db, {"--target", target, "--timeout", "30000"}, 150s);
}

// What the replay must have compared: the recorded HTTP responses it replays, and the server
// messages it expects (Socket.IO packets, plain WebSocket data messages other than periodic
// ones, Server-Sent Events).
struct Compared {
  size_t exchanges = 0;
  size_t events = 0;
};

// Against a fresh instance of the app: exit 0, one session, nothing but noise differing, and
// as many responses and server messages compared (and matched) as the capture holds.
void check_replays_green(const TempDir& dir, const Recorded& rec, const std::string& name,
                         Compared recorded) {
  REQUIRE(recorded.exchanges > 0);
  REQUIRE(recorded.events > 0);
  // Three times, each against a fresh app: a replay that passes only now and then (a socket
  // closed before its last answer came) fails here.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ChannelApp fresh(name);
    REQUIRE(fresh.origin() != rec.origin);
    ReplayRun run = replay(dir, rec.db, fresh.origin());
    INFO("replay " << attempt << " of 3; recorded: " << recorded.exchanges << " responses, "
                   << recorded.events << " server messages");
    INFO(describe(run));
    CHECK(run.exit_code == 0);
    REQUIRE(run.report.is_object());
    CHECK(run.report.value("exit_code", -1) == 0);
    REQUIRE(run.report["sessions"].is_array());
    REQUIRE(run.report["sessions"].size() == 1);
    const json& session = run.report["sessions"][0];
    CHECK(session["errors"] == json::array());
    CHECK(session.value("exchanges", size_t(0)) == recorded.exchanges);
    CHECK(session.value("events_expected", size_t(0)) == recorded.events);
    CHECK(session.value("events_matched", size_t(0)) == recorded.events);
    for (const auto& d : session["differences"])
      CHECK(d.value("noise", false) == true);
  }
}

// Against the app's `changed` variant: exit 1, exactly one difference that is not noise, at
// `path` (a JSON pointer: the report's path ends with it), and the console names the message
// (`message`: "event welcome", or the channel's path) and the path.
void check_replay_catches(const TempDir& dir, const Recorded& rec, const std::string& name,
                          const std::string& message, const std::string& path) {
  ChannelApp changed(name, "changed");
  ReplayRun run = replay(dir, rec.db, changed.origin());
  INFO(describe(run));
  CHECK(run.exit_code == 1);
  std::string console = run.console();
  CHECK(contains(console, message));
  CHECK(contains(console, path));
  REQUIRE(run.report.is_object());
  CHECK(run.report.value("exit_code", -1) == 1);
  REQUIRE(run.report["sessions"].is_array());
  REQUIRE(run.report["sessions"].size() == 1);
  std::vector<json> real;
  for (const auto& d : run.report["sessions"][0]["differences"]) {
    if (!d.value("noise", false)) real.push_back(d);
  }
  REQUIRE(real.size() == 1);
  CHECK(real[0].value("path", "").ends_with(path));
}

// ---------------------------------------------------------------------------------------------
// Socket.IO captures.

// The Engine.IO session that started on the WebSocket (no polling): a session row whose
// handshake is the upgrade request `handshake_prefix...`, and no polling request at all.
const store::EioSession* websocket_first_session(const Recorded& r, store::SocketProtocol protocol,
                                                 const std::string& handshake_prefix) {
  INFO(wa::test::describe(r.data));
  const store::EioSession* found = nullptr;
  for (const auto& s : r.data.sessions) {
    if (s.protocol != protocol || !s.handshake_exchange_id) continue;
    const store::Exchange* x = exchange_by_id(r.data, *s.handshake_exchange_id);
    if (x && path_of(x->url).rfind(handshake_prefix, 0) == 0) found = &s;
  }
  CHECK(found != nullptr);
  for (const auto& x : r.data.exchanges)
    CHECK_FALSE(contains(x.url, "transport=polling"));
  return found;
}

// The chat of a Socket.IO page: the server's `welcome` (`welcome_args`), the client's `chat`
// {text} with an ack id, the server's ack {ok: true, id: 1} to that id and the broadcast
// {from: alice, text}; on `session` when given.
void check_chat_packets(const Recorded& r, const json& welcome_args, const std::string& text,
                        const store::EioSession* session) {
  INFO(wa::test::describe(r.data));
  auto on_session = [&](const store::SocketPacket* p) {
    return p && (!session || p->session_id == std::optional<store::Id>(session->id));
  };
  const store::SocketPacket* welcome = packet_of(r, store::Direction::server, 2, "welcome");
  CHECK(on_session(welcome));
  if (welcome) CHECK(parse_args(*welcome) == welcome_args);

  const store::SocketPacket* chat = packet_of(r, store::Direction::client, 2, "chat");
  REQUIRE(on_session(chat));
  CHECK(parse_args(*chat) == json::array({{{"text", text}}}));
  REQUIRE(chat->ack_id.has_value());

  const store::SocketPacket* ack = packet_of(r, store::Direction::server, 3);
  REQUIRE(on_session(ack));
  CHECK(ack->ack_id == chat->ack_id);
  CHECK(parse_args(*ack) == json::array({{{"ok", true}, {"id", 1}}}));

  const store::SocketPacket* broadcast = packet_of(r, store::Direction::server, 2, "chat");
  CHECK(on_session(broadcast));
  if (broadcast)
    CHECK(parse_args(*broadcast) == json::array({{{"from", "alice"}, {"text", text}}}));
}

// How many server messages each app sends in the recorded session, by its design: the
// capture must hold each of them, and a replay must compare each of them.
// Socket.IO chats: the CONNECT reply, the first event (welcome or state), the chat broadcast
// and the ack.
constexpr size_t kSocketIoChatEvents = 4;
// compressed: the CONNECT reply, welcome, catalog, the chat broadcast and the ack.
constexpr size_t kCompressedEvents = 5;
// ws_orders: ready and the two orders; the heartbeats are tolerated in any number, not
// expected (replay/script.h).
constexpr size_t kOrderNotices = 3;
// graphql_ws: connection_ack; three `next` and a `complete` for the subscription; a `next`
// and a `complete` for the query.
constexpr size_t kGraphqlServerMessages = 7;
// sse: snapshot, count and item.
constexpr size_t kSseEvents = 3;

// Runs `checks` so that a REQUIRE failing inside them (already counted as a failure) ends
// only them: doctest enters no further SUBCASE of a test case once one has thrown, and each
// part of a test case here is to be reported on its own.
template <class Checks>
void isolated(Checks&& checks) {
  try {
    checks();
  } catch (const doctest::detail::TestFailureException&) {
  }
}

// The event `event` the server sent in a polling response that was gzip'd, decoded from it:
// its one argument.
json gzip_polled_argument(const Recorded& r, const std::string& event) {
  const store::SocketPacket* packet = packet_of(r, store::Direction::server, 2, event);
  REQUIRE(packet != nullptr);
  CHECK(packet->transport == store::Transport::polling);
  REQUIRE(packet->exchange_id.has_value());
  const store::Exchange* carrier = exchange_by_id(r.data, *packet->exchange_id);
  REQUIRE(carrier != nullptr);
  CHECK(carrier->response_encoding == "gzip");
  json args = parse_args(*packet);
  REQUIRE(args.is_array());
  REQUIRE(args.size() == 1);
  return args[0];
}

// Every packet of the capture was decoded (none holds "(error: ...)").
void check_packets_decoded(const Recorded& r) {
  for (const auto& p : r.data.packets) {
    INFO("packet " << p.id << ": " << p.raw.substr(0, 200));
    CHECK_FALSE(contains(p.raw, "(error:"));
  }
}

// The replay parts of the test case of the app `name`, each a SUBCASE of its own: against a
// fresh instance, comparing the capture's replayable responses and `events` server messages;
// against the changed app, catching the change of `message` at `path`. `ready` runs first in
// the first: what that replay needs of the capture.
void replay_subcases(
    const Case& c, const std::string& name, size_t events, const std::string& message,
    const std::string& path, const std::function<void()>& ready = [] {}) {
  SUBCASE("replay") {
    isolated([&] {
      ready();
      check_replays_green(c.dir, c.rec, name, {replayable_exchanges(c.rec), events});
    });
  }
  SUBCASE("replay against the changed app") {
    isolated([&] { check_replay_catches(c.dir, c.rec, name, message, path); });
  }
}

// A Socket.IO chat app whose page opens its socket on the WebSocket: the page was welcomed
// (room lobby) over the WebSocket; the capture holds one Engine.IO session of `protocol`
// begun by the upgrade `handshake` and the chat of `text` on it; the changed app's welcome
// differs in its room.
void websocket_first_chat_case(const std::string& name, store::SocketProtocol protocol,
                               const std::string& handshake, const std::string& text) {
  Case& c = recorded(name);
  const Recorded& rec = c.rec;
  const json welcome = {{"username", "alice"}, {"room", "lobby"}};
  CHECK(rec.result["welcome"] == welcome);
  CHECK(rec.result["transport"] == "websocket");

  SUBCASE("capture") {
    isolated([&] {
      const store::EioSession* session = websocket_first_session(rec, protocol, handshake);
      check_chat_packets(rec, json::array({welcome}), text, session);
      CHECK(expected_packets(rec).size() == kSocketIoChatEvents);
    });
  }
  replay_subcases(c, name, kSocketIoChatEvents, "event welcome", "/0/room");
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("browser channels: sio4_ws, Socket.IO 4 on /rt/ opened on the WebSocket") {
  websocket_first_chat_case("sio4_ws", store::SocketProtocol::eio4,
                            "/rt/?EIO=4&transport=websocket", "hello over /rt/");
}

TEST_CASE("browser channels: sio2_ws, Socket.IO 2 opened on the WebSocket") {
  websocket_first_chat_case("sio2_ws", store::SocketProtocol::eio3,
                            "/socket.io/?EIO=3&transport=websocket",
                            "hello from a websocket-only v2 client");
}

TEST_CASE("browser channels: sio2_gzip, a large first event in a gzip'd polling response") {
  Case& c = recorded("sio2_gzip");
  const Recorded& rec = c.rec;
  CHECK(rec.result["items"] == 24);
  CHECK(rec.result["transport"] == "websocket");

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data));
      // Engine.IO 3 gzip'd a polling response for the browser.
      bool gzip_poll = false;
      for (const auto& x : rec.data.exchanges) {
        gzip_poll = gzip_poll || (is_engineio(x) && contains(x.url, "transport=polling") &&
                                  x.response_encoding == "gzip");
      }
      CHECK(gzip_poll);
      // No packet could not be decoded.
      check_packets_decoded(rec);
      // The browser upgraded: the chat went over the WebSocket.
      const store::SocketPacket* chat = packet_of(rec, store::Direction::client, 2, "chat");
      REQUIRE(chat != nullptr);
      CHECK(chat->transport == store::Transport::websocket);
      const store::SocketPacket* ack = packet_of(rec, store::Direction::server, 3);
      REQUIRE(ack != nullptr);
      CHECK(ack->ack_id == chat->ack_id);
      CHECK(expected_packets(rec).size() == kSocketIoChatEvents);
      // The state event was decoded from the gzip'd response, with its arguments.
      json state = gzip_polled_argument(rec, "state");
      CHECK(state["owner"] == "alice");
      REQUIRE(state["items"].is_array());
      CHECK(state["items"].size() == 24);
      CHECK(state["items"][7]["price"] == 79);
    });
  }
  replay_subcases(c, "sio2_gzip", kSocketIoChatEvents, "event state", "/0/items/7/price");
}

TEST_CASE("browser channels: ws_orders, a plain WebSocket with a token and a heartbeat") {
  SUBCASE("the app closes a wrong token's WebSocket with 4001") {
    isolated([&] {
      ChannelApp app("ws_orders");
      std::string url = "ws" + app.origin().substr(4) + "/comms";
      CommandRun run = run_command(
          {"node", "-e",
           "const WebSocket = require('ws');"
           "const ws = new WebSocket(process.argv[1]);"
           "ws.on('open', () => ws.send(JSON.stringify({type: 'auth', token: 'wrong'})));"
           "ws.on('close', (code) => { console.log(code); process.exit(0); });"
           "ws.on('error', (err) => { console.log(err.message); process.exit(1); });",
           url},
          {{"NODE_PATH", repo_path("node_modules")}}, 30s);
      INFO(run.out << run.err);
      CHECK(run.exit_code == 0);
      CHECK(run.out == "4001\n");
    });
  }

  Case& c = recorded("ws_orders");
  const Recorded& rec = c.rec;
  CHECK(rec.result["ready"]["user"] == "alice");
  CHECK(rec.result["orders"].size() == 2);

  // The server's data messages other than the heartbeat: ready and two orders.
  std::vector<json> server = ws_json(rec, "/comms", store::Direction::server);
  std::vector<json> notices;
  size_t ticks = 0;
  for (const auto& m : server) {
    if (m == json({{"type", "tick"}}))
      ++ticks;
    else
      notices.push_back(m);
  }

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data) << describe_ws(rec));
      std::string token = login_token(rec);
      std::vector<json> client = ws_json(rec, "/comms", store::Direction::client);
      REQUIRE(client.size() == 3);
      CHECK(client[0] == json({{"type", "auth"}, {"token", token}}));
      CHECK(client[1] == json({{"type", "subscribe"}, {"topic", "orders"}}));
      CHECK(client[2] == json({{"type", "place"}, {"item", "book"}, {"qty", 2}}));
      REQUIRE(notices.size() == kOrderNotices);
      CHECK(notices[0] == json({{"type", "ready"}, {"user", "alice"}}));
      CHECK(notices[1] == json({{"type", "order"}, {"id", 1}, {"total", 99.9}}));
      CHECK(notices[2] == json({{"type", "order"}, {"id", 2}, {"total", 25}}));
      CHECK(ticks >= 5);
      // The upgrade was answered.
      const store::Exchange* upgrade = find_exchange(rec.data, "GET", "/comms");
      REQUIRE(upgrade != nullptr);
      CHECK(upgrade->status == 101);
    });
  }
  // Heartbeats are tolerated in any number, not expected (replay/script.h).
  replay_subcases(c, "ws_orders", kOrderNotices, "/comms", "/total");
}

TEST_CASE("browser channels: graphql_ws, a GraphQL subscription over graphql-transport-ws") {
  Case& c = recorded("graphql_ws");
  const Recorded& rec = c.rec;
  CHECK(rec.result["countdown"] == json::array({3, 2, 1}));
  CHECK(rec.result["me"] == json({{"name", "alice"}, {"plan", "free"}}));
  std::vector<json> server = ws_json(rec, "/graphql", store::Direction::server);

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data) << describe_ws(rec));
      const store::Exchange* upgrade = find_exchange(rec.data, "GET", "/graphql");
      REQUIRE(upgrade != nullptr);
      CHECK(upgrade->status == 101);
      CHECK(contains(header_of(upgrade->request_headers, "sec-websocket-protocol"),
                     "graphql-transport-ws"));
      CHECK(header_of(upgrade->response_headers, "sec-websocket-protocol") ==
            "graphql-transport-ws");

      std::string token = login_token(rec);
      std::vector<json> client = ws_json(rec, "/graphql", store::Direction::client);
      REQUIRE(client.size() == 3);
      CHECK(client[0] == json({{"type", "connection_init"}, {"payload", {{"token", token}}}}));
      CHECK(client[1]["type"] == "subscribe");
      CHECK(contains(client[1]["payload"].value("query", ""), "countdown(from: 3)"));
      CHECK(client[2]["type"] == "subscribe");
      CHECK(contains(client[2]["payload"].value("query", ""), "me { name plan }"));
      json sub = client[1]["id"], query = client[2]["id"];
      CHECK(sub != query);

      REQUIRE(server.size() == kGraphqlServerMessages);
      CHECK(server[0] == json({{"type", "connection_ack"}}));
      for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(
            server[1 + i] ==
            json({{"id", sub}, {"type", "next"}, {"payload", {{"data", {{"countdown", 3 - i}}}}}}));
      }
      CHECK(server[4] == json({{"id", sub}, {"type", "complete"}}));
      CHECK(server[5] ==
            json({{"id", query},
                  {"type", "next"},
                  {"payload", {{"data", {{"me", {{"name", "alice"}, {"plan", "free"}}}}}}}}));
      CHECK(server[6] == json({{"id", query}, {"type", "complete"}}));
    });
  }
  replay_subcases(c, "graphql_ws", kGraphqlServerMessages, "/graphql", "/payload/data/me/plan");
}

TEST_CASE("browser channels: sse, Server-Sent Events before and after a POST") {
  Case& c = recorded("sse");
  const Recorded& rec = c.rec;
  CHECK(rec.result["ids"] == json::array({"1", "2", "3"}));
  CHECK(rec.result["item"] == json({{"id", 2}, {"name", "second item"}, {"status", "new"}}));
  const store::Exchange* stream = find_exchange(rec.data, "GET", "/events");

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data));
      REQUIRE(stream != nullptr);
      CHECK(stream->status == 200);
      CHECK(header_of(stream->response_headers, "content-type").rfind("text/event-stream", 0) == 0);
      const std::string& body = stream->response_body.bytes;
      INFO("stream body:\n" << body);
      CHECK(contains(body, ": keepalive\n"));
      CHECK(contains(body,
                     "id: 1\nevent: snapshot\ndata: {\"items\":[{\"id\":1,\"name\":\"first "
                     "item\"}]}\n\n"));
      CHECK(contains(body, "id: 2\nevent: count\ndata: {\"count\":1}\n\n"));
      CHECK(contains(body,
                     "id: 3\nevent: item\ndata: "
                     "{\"id\":2,\"name\":\"second item\",\"status\":\"new\"}\n\n"));
      CHECK(sse_events_in(body) == kSseEvents);
      const store::Exchange* post = find_exchange(rec.data, "POST", "/items");
      REQUIRE(post != nullptr);
      CHECK(post->status == 201);
    });
  }
  replay_subcases(c, "sse", kSseEvents, "/events", "/status", [&] { REQUIRE(stream != nullptr); });
}

TEST_CASE("browser channels: compressed, gzip'd responses and Socket.IO 4 on long-polling") {
  Case& c = recorded("compressed");
  const Recorded& rec = c.rec;
  CHECK(rec.result["products"] == 30);
  CHECK(rec.result["transport"] == "polling");
  CHECK(rec.result["me"] == json({{"username", "alice"}, {"theme", "dark"}}));

  SUBCASE("capture") {
    isolated([&] {
      INFO(wa::test::describe(rec.data));
      // Express's text responses were gzip'd: the page, the login's and /api/me's JSON.
      for (const auto& endpoint : std::vector<std::pair<std::string, std::string>>{
               {"GET", "/"}, {"POST", "/login"}, {"GET", "/api/me"}}) {
        // Not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
        const std::string& method = endpoint.first;
        const std::string& path = endpoint.second;
        CAPTURE(method);
        CAPTURE(path);
        const store::Exchange* x = nullptr;
        for (const auto& e : rec.data.exchanges) {
          std::string p = path_of(e.url);
          if (e.method == method && of_app(e, rec.origin) && p.substr(0, p.find('?')) == path)
            x = &e;
        }
        CHECK(x != nullptr);
        if (x) CHECK(x->response_encoding == "gzip");
      }
      CHECK(expected_packets(rec).size() == kCompressedEvents);
      check_packets_decoded(rec);
      for (const auto& p : rec.data.packets) {
        INFO("packet " << p.id << ": " << p.raw.substr(0, 200));
        CHECK(p.transport == store::Transport::polling);
      }
      check_chat_packets(rec, json::array({{{"username", "alice"}}}),
                         "hello over compressed polling", nullptr);
      // The catalog came in a polling response that Engine.IO gzip'd, and was decoded from it.
      json catalog = gzip_polled_argument(rec, "catalog");
      REQUIRE(catalog["products"].is_array());
      CHECK(catalog["products"].size() == 30);
      CHECK(catalog["products"][5]["stock"] == 0);
    });
  }
  replay_subcases(c, "compressed", kCompressedEvents, "event catalog", "/0/products/5/stock");
}
