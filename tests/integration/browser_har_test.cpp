// A HAR built from a real headless Chromium's DevTools Network events imports correctly.
//
// Chromium (Debian `chromium`) talks to the Express + Socket.IO 4 app directly, with no proxy.
// browser_har.js drives it over the DevTools protocol — signs in with the login form, awaits
// the welcome, sends two chat messages and awaits their acks and broadcasts — and writes the
// HAR as DevTools builds it from Network.* events, with the WebSocket entry carrying its frames
// in `_webSocketMessages` (Playwright's HAR recorder leaves those out). `workalready har
// import` must then yield the login POST with its 303 and Set-Cookie, the Engine.IO handshake
// carrying that cookie, the session, and the Socket.IO events decoded from the WebSocket
// frames; `workalready har export` must give the frames back.
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/integration/browser.h"

using namespace wa::test;
using nlohmann::json;
namespace store = wa::store;

namespace {

const json* line_of(const std::vector<json>& lines, const std::string& type) {
  for (const auto& line : lines) {
    if (line.value("type", "") == type) return &line;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("browser: a HAR built from Chromium's DevTools Network events imports and exports") {
  require_node_modules();
  TempDir dir;
  App app({.kind = AppKind::express_v4});
  const std::string user = "dora";
  const std::vector<std::string> texts = {"first from devtools", "second from devtools"};
  std::string har = dir.file("chromium.har");
  {
    Chromium browser(dir.file("chromium-profile"));
    std::vector<std::string> argv = {"node",         repo_path("tests/integration/browser_har.js"),
                                     "--devtools",   browser.devtools(),
                                     "--url",        app.origin(),
                                     "--user",       user,
                                     "--har",        har,
                                     "--timeout-ms", "60000"};
    for (const auto& text : texts)
      argv.insert(argv.end(), {"--text", text});
    CommandRun run = run_command(argv, {}, 90s);
    INFO(run.out << run.err << browser.process().tail());
    REQUIRE(run.exit_code == 0);
    auto lines = json_lines(run.out);
    REQUIRE(line_of(lines, "welcome") != nullptr);
    CHECK((*line_of(lines, "welcome"))["args"] == json::array({{{"username", user}}}));
    browser.process().wait_exit(10s);
  }
  REQUIRE(std::filesystem::exists(har));

  std::string db = dir.file("imported.sqlite");
  CommandRun imported =
      run_command({WA_EXE, "har", "import", har, "--db", db, "--name", "devtools"});
  INFO(imported.out << imported.err);
  REQUIRE(imported.exit_code == 0);
  CHECK(imported.out.find("as recording #") != std::string::npos);

  store::RecordingData data = load_capture(db);
  INFO(describe(data));
  CHECK(data.recording.name == "devtools");
  CHECK(data.recording.mode == "har");
  auto at = [&](const store::Exchange& x) { return x.url.rfind(app.origin() + "/", 0) == 0; };

  // The form's POST with its body, the 303, and the session cookie it set.
  const store::Exchange* login = nullptr;
  for (const auto& x : data.exchanges) {
    if (at(x) && x.method == "POST" && path_of(x.url) == "/login") login = &x;
  }
  REQUIRE(login != nullptr);
  CHECK(login->status == 303);
  CHECK(header_of(login->response_headers, "location") == "/");
  CHECK(header_of(login->request_headers, "content-type") == "application/x-www-form-urlencoded");
  CHECK(login->request_body.bytes == "username=" + user + "&password=secret");
  auto set = cookies_of(data, login->id, store::CookieKind::set);
  REQUIRE(set.size() == 1);
  CHECK(set[0]->name == "connect.sid");
  CHECK(set[0]->http_only);
  CHECK(!set[0]->value.empty());

  // The Engine.IO session, its polling handshake carrying that cookie.
  const store::EioSession* session = nullptr;
  const store::Exchange* handshake = nullptr;
  for (const auto& s : data.sessions) {
    if (!s.handshake_exchange_id) continue;
    const store::Exchange* x = exchange_by_id(data, *s.handshake_exchange_id);
    if (x && at(*x)) {
      session = &s;
      handshake = x;
    }
  }
  REQUIRE(session != nullptr);
  CHECK(session->protocol == store::SocketProtocol::eio4);
  CHECK(!session->sid.empty());
  CHECK(handshake->status == 200);
  CHECK(path_of(handshake->url).rfind("/socket.io/?EIO=4&transport=polling", 0) == 0);
  CHECK(header_of(handshake->request_headers, "cookie").find("connect.sid=" + set[0]->value) !=
        std::string::npos);
  bool sent = false;
  for (const auto* c : cookies_of(data, handshake->id, store::CookieKind::sent))
    sent = sent || (c->name == "connect.sid" && c->value == set[0]->value);
  CHECK(sent);

  // The WebSocket entry and its frames, from _webSocketMessages.
  const store::Exchange* upgrade = nullptr;
  for (const auto& x : data.exchanges) {
    if (x.url.find("transport=websocket") != std::string::npos) upgrade = &x;
  }
  REQUIRE(upgrade != nullptr);
  CHECK(upgrade->status == 101);
  size_t frames = 0;
  for (const auto& m : data.ws_messages)
    frames += m.exchange_id == upgrade->id ? 1 : 0;
  CHECK(frames >= 2 + 3 * texts.size());  // probe both ways, then a chat, its broadcast, its ack

  // The decoded Socket.IO events of the session.
  std::vector<const store::SocketPacket*> packets;
  for (const auto& p : data.packets) {
    if (p.session_id == std::optional<store::Id>(session->id)) packets.push_back(&p);
  }
  auto find_all = [&](auto pred) {
    std::vector<const store::SocketPacket*> found;
    for (const auto* p : packets) {
      if (pred(*p)) found.push_back(p);
    }
    return found;
  };
  auto welcome = find_all([](const store::SocketPacket& p) {
    return p.direction == store::Direction::server && p.event == "welcome";
  });
  REQUIRE(welcome.size() == 1);
  CHECK(parse_args(*welcome[0]) == json::array({{{"username", user}}}));
  auto chats = find_all([](const store::SocketPacket& p) {
    return p.direction == store::Direction::client && p.event == "chat";
  });
  auto broadcasts = find_all([](const store::SocketPacket& p) {
    return p.direction == store::Direction::server && p.event == "chat";
  });
  REQUIRE(chats.size() == texts.size());
  REQUIRE(broadcasts.size() == texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    CAPTURE(i);
    CHECK(parse_args(*chats[i]) == json::array({{{"text", texts[i]}}}));
    CHECK(chats[i]->transport == store::Transport::websocket);
    CHECK(parse_args(*broadcasts[i]) == json::array({{{"from", user}, {"text", texts[i]}}}));
    REQUIRE(chats[i]->ack_id.has_value());
    auto acks = find_all([&](const store::SocketPacket& p) {
      return p.direction == store::Direction::server && p.sio_type == 3 &&
             p.ack_id == chats[i]->ack_id;
    });
    REQUIRE(acks.size() == 1);
    CHECK(acks[0]->transport == store::Transport::websocket);
    json answer = parse_args(*acks[0]);
    REQUIRE(answer.is_array());
    CHECK(answer[0]["ok"] == true);
    CHECK(answer[0]["id"].is_number_integer());
  }
  CHECK(chats[0]->ack_id != chats[1]->ack_id);
  // The session spans both transports.
  CHECK(!find_all([](const store::SocketPacket& p) {
           return p.transport == store::Transport::polling;
         }).empty());

  // Exported again, the WebSocket entry has its messages, chats and acks among them.
  std::string out = dir.file("exported.har");
  CommandRun exported = run_command({WA_EXE, "har", "export", "devtools", "--db", db, "-o", out});
  INFO(exported.out << exported.err);
  REQUIRE(exported.exit_code == 0);
  json doc = json::parse(read_text(out), nullptr, false);
  REQUIRE(doc.is_object());
  const json* socket_entry = nullptr;
  for (const auto& e : doc["log"]["entries"]) {
    if (e.value("_resourceType", "") == "websocket") socket_entry = &e;
  }
  REQUIRE(socket_entry != nullptr);
  const json& messages = (*socket_entry)["_webSocketMessages"];
  REQUIRE(messages.is_array());
  CHECK(messages.size() == frames);
  for (size_t i = 0; i < texts.size(); ++i) {
    CAPTURE(i);
    std::string chat = "42" + std::to_string(*chats[i]->ack_id) +
                       json::array({"chat", {{"text", texts[i]}}}).dump();
    bool chat_sent = false, ack_received = false;
    for (const auto& m : messages) {
      std::string text = m.value("data", "");
      if (m.value("type", "") == "send" && text == chat) chat_sent = true;
      if (m.value("type", "") == "receive" &&
          text.rfind("43" + std::to_string(*chats[i]->ack_id) + "[", 0) == 0)
        ack_received = true;
    }
    CHECK(chat_sent);
    CHECK(ack_received);
  }
}
