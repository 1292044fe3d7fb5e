#include "replay/correlation.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

using namespace wa;
using namespace wa::replay;

namespace {

const std::string kApp = "http://app.test";

// Synthetic recordings, built by hand: exchanges, sessions and packets with increasing times.
struct Recording {
  store::RecordingData data;
  store::Id next = 1;
  int64_t clock = 1000;

  // References returned below stay valid while a test adds more.
  Recording() {
    data.exchanges.reserve(100);
    data.sessions.reserve(100);
    data.packets.reserve(100);
  }

  store::Exchange& exchange(std::string method, std::string path, store::Headers request_headers,
                            std::string request_body, int status, store::Headers response_headers,
                            std::string response_body) {
    store::Exchange x;
    x.id = next++;
    x.connection_id = 1;
    x.method = std::move(method);
    x.url = kApp + path;
    x.request_headers = std::move(request_headers);
    x.request_body = store::Payload::whole(std::move(request_body));
    x.status = status;
    x.response_headers = std::move(response_headers);
    x.response_body = store::Payload::whole(std::move(response_body));
    x.started_us = clock;
    x.first_byte_us = clock + 10;
    x.ended_us = clock + 20;
    clock += 100;
    data.exchanges.push_back(x);
    return data.exchanges.back();
  }
  store::EioSession& session(std::string sid, store::Id handshake) {
    store::EioSession s;
    s.id = next++;
    s.sid = std::move(sid);
    s.handshake_exchange_id = handshake;
    s.opened_us = clock;
    clock += 100;
    data.sessions.push_back(s);
    return data.sessions.back();
  }
  // A Socket.IO v5 packet (Engine.IO message) as the recorder stores it.
  store::SocketPacket& packet(store::Id session, store::Direction direction, int sio_type,
                              std::string args, std::string raw, std::string event = {}) {
    store::SocketPacket p;
    p.id = next++;
    p.session_id = session;
    p.ws_message_id = 1;
    p.direction = direction;
    p.time_us = clock;
    clock += 100;
    p.eio_type = 4;
    p.sio_type = sio_type;
    p.namespace_ = "/";
    p.event = std::move(event);
    p.args = std::move(args);
    p.raw = std::move(raw);
    data.packets.push_back(p);
    return data.packets.back();
  }
};

const Correlation* find_value(const Correlations& c, std::string_view value) {
  for (const auto& corr : c.list())
    if (corr.value == value) return &corr;
  return nullptr;
}

bool has_use(const Correlation& c, Part part, Spelling spelling, std::string_view header = {}) {
  return std::any_of(c.uses.begin(), c.uses.end(), [&](const Use& u) {
    return u.part == part && u.spelling == spelling && (header.empty() || u.header == header);
  });
}

store::Exchange live_response(int status, store::Headers headers, std::string body) {
  store::Exchange x;
  x.status = status;
  x.response_headers = std::move(headers);
  x.response_body = store::Payload::whole(std::move(body));
  return x;
}

const char* kLoginPage =
    "<!doctype html><html><head><meta name=\"csrf-token\" content=\"Mz81kd9aQpXz\">"
    "<title>Log <input type=hidden name=fake value=NotAnInput123></title></head><body>"
    "<!-- <input type=\"hidden\" name=\"old\" value=\"commented0ut99\"> -->"
    "<form method=post><INPUT Type='hidden' NAME='csrf' value='Tk9x+Q2a/8='>"
    "<input name=username></form></body></html>";

// A login with a CSRF form, a session cookie, a redirect with a session id, a JSON token used
// in a header, a socket CONNECT payload and a JSON body, and a Socket.IO session.
struct LoginChat {
  Recording r;
  store::Id page, login, chat, me, handshake, session, connect_reply, welcome, join, auth;

  LoginChat() {
    page = r.exchange("GET", "/login", {}, "", 200, {{"Content-Type", "text/html; charset=utf-8"}},
                      kLoginPage)
               .id;
    login = r.exchange("POST", "/login",
                       {{"Host", "app.test"},
                        {"Content-Type", "application/x-www-form-urlencoded"},
                        {"X-CSRF-Token", "Mz81kd9aQpXz"}},
                       "username=alice&csrf=Tk9x%2BQ2a%2F8%3D", 303,
                       {{"Set-Cookie", "connect.sid=s%3AxYz123AbC.sigPart99; Path=/; HttpOnly"},
                        {"Location", "/chat?session=sess7Hq29xA"}},
                       "")
                .id;
    chat = r.exchange("GET", "/chat?session=sess7Hq29xA",
                      {{"Cookie", "connect.sid=s%3AxYz123AbC.sigPart99"}}, "", 200,
                      {{"Content-Type", "application/json"}},
                      R"({"token":"eyJhbGciOi.J9abc123.xyz","user":{"name":"alice"},)"
                      R"("room":"R00m42xz","key":"Ab/cd+Ef==","ok":"yes12","n":12345})")
               .id;
    me = r.exchange("GET", "/api/me",
                    {{"Authorization", "Bearer eyJhbGciOi.J9abc123.xyz"},
                     {"Cookie", "connect.sid=s%3AxYz123AbC.sigPart99"}},
                    "", 200, {{"Content-Type", "application/json"}}, R"({"name":"alice"})")
             .id;
    handshake = r.exchange("GET", "/socket.io/?EIO=4&transport=polling&t=Pabc12", {}, "", 200,
                           {{"Content-Type", "text/plain; charset=UTF-8"}},
                           R"(0{"sid":"FaQlkxn7_bPvpM-GAAAA","upgrades":["websocket"]})")
                    .id;
    session = r.session("FaQlkxn7_bPvpM-GAAAA", handshake).id;
    r.exchange("GET", "/socket.io/?EIO=4&transport=websocket&sid=FaQlkxn7_bPvpM-GAAAA", {}, "", 101,
               {}, "");
    auth = r.packet(session, store::Direction::client, 0, R"({"token":"eyJhbGciOi.J9abc123.xyz"})",
                    R"(40{"token":"eyJhbGciOi.J9abc123.xyz"})")
               .id;
    connect_reply =
        r.packet(session, store::Direction::server, 0, R"({"sid":"FjgbgTXBJmdue2-2AAAA"})",
                 R"(40{"sid":"FjgbgTXBJmdue2-2AAAA"})")
            .id;
    welcome = r.packet(session, store::Direction::server, 2,
                       R"([{"username":"alice","invite":"Inv1te-7Gq"}])",
                       R"(42["welcome",{"username":"alice","invite":"Inv1te-7Gq"}])", "welcome")
                  .id;
    join =
        r.packet(
             session, store::Direction::client, 2,
             R"([{"room":"R00m42xz","invite":"Inv1te-7Gq","me":"FjgbgTXBJmdue2-2AAAA"}])",
             R"(42["join",{"room":"R00m42xz","invite":"Inv1te-7Gq","me":"FjgbgTXBJmdue2-2AAAA"}])",
             "join")
            .id;
    // The same key, spelled three ways, and look-alikes of the session id.
    r.exchange("GET", "/q?k=Ab%2Fcd%2BEf%3D%3D&near=xsess7Hq29xA1&also=sess7Hq29xAB", {}, "", 200,
               {}, "");
    r.exchange("POST", "/save", {{"Content-Type", "application/json"}},
               R"({"k":"Ab\/cd+Ef==","token":"eyJhbGciOi.J9abc123.xyz","ok":"yes12","n":12345})",
               200, {}, "");
  }
};

}  // namespace

TEST_CASE("value tokens split URLs and header values on separators, not on dots") {
  auto t = value_tokens("/chat?session=sess7Hq29xA&x=s%3Aab.cd");
  REQUIRE(t.size() == 5);
  CHECK(t[0] == "chat");
  CHECK(t[2] == "sess7Hq29xA");
  CHECK(t[4] == "s%3Aab.cd");
  CHECK(value_tokens("").empty());
  CHECK(value_tokens("abc").size() == 1);
}

TEST_CASE("short, numeric, word-like and path values are not worth correlating") {
  CHECK_FALSE(worth_correlating("abc12"));        // under 6 bytes
  CHECK_FALSE(worth_correlating("1234567"));      // a small number
  CHECK(worth_correlating("1795213603356"));      // a long number (an id, a timestamp)
  CHECK_FALSE(worth_correlating("websocket"));    // a word
  CHECK_FALSE(worth_correlating("chatMessage"));  // a camelCase word
  CHECK_FALSE(worth_correlating("keep-alive"));   //
  CHECK_FALSE(worth_correlating("application/json"));
  CHECK_FALSE(worth_correlating("hello world 123"));  // text
  CHECK_FALSE(worth_correlating("/rooms/abc123"));    // a path: its tokens are candidates
  CHECK_FALSE(worth_correlating("http://x.test/a1"));
  CHECK(worth_correlating("QwErTyUiOpAsDfGhJk"));  // letters in random case: an identifier
  CHECK(worth_correlating("FaQlkxn7_bPvpM-GAAAA"));
  CHECK(worth_correlating("s%3AxYz123AbC.sigPart99"));
  // Base64 that begins with '/' is a value, not a path.
  CHECK(worth_correlating("/A5inyHGTeq+zSv5Dpi6UpSCp3A="));
  CHECK(worth_correlating("/QqRbb48heZ0dlcBMahjokSAVo="));
  CHECK(worth_correlating("/QqRbb48heZ0dlcBMahjokSAVoX"));
  CHECK_FALSE(worth_correlating("/static/board.3f9a1c.js"));
  CHECK_FALSE(worth_correlating("/users/Alice1/files"));
  CHECK_FALSE(worth_correlating("/a=b/c"));
}

TEST_CASE("a login recording: cookie, CSRF input and meta, Location, JSON token, socket ids") {
  LoginChat s;
  Correlations c = correlate(s.r.data);
  INFO(explain(c));

  SUBCASE("the login cookie, sent back in Cookie headers") {
    auto* v = find_value(c, "s%3AxYz123AbC.sigPart99");
    REQUIRE(v);
    REQUIRE(v->sources.size() == 1);
    CHECK(v->sources[0].kind == SourceKind::set_cookie);
    CHECK(v->sources[0].name == "connect.sid");
    CHECK(v->sources[0].exchange_id == s.login);
    CHECK(v->uses.size() == 2);
    CHECK(has_use(*v, Part::header, Spelling::raw, "Cookie"));
  }
  SUBCASE("the hidden CSRF input, sent back form-encoded; the meta tag, sent in a header") {
    auto* csrf = find_value(c, "Tk9x+Q2a/8=");
    REQUIRE(csrf);
    CHECK(csrf->sources[0].kind == SourceKind::hidden_input);
    CHECK(csrf->sources[0].name == "csrf");
    REQUIRE(csrf->uses.size() == 1);
    CHECK(csrf->uses[0].part == Part::body);
    CHECK(csrf->uses[0].id == s.login);
    // The url and form spellings of this value are the same text; url comes first.
    CHECK(csrf->uses[0].spelling == Spelling::url);
    auto* meta = find_value(c, "Mz81kd9aQpXz");
    REQUIRE(meta);
    CHECK(meta->sources[0].kind == SourceKind::meta_tag);
    CHECK(has_use(*meta, Part::header, Spelling::raw, "X-CSRF-Token"));
    // Inputs in a comment or in <title> text are not inputs.
    CHECK_FALSE(find_value(c, "commented0ut99"));
    CHECK_FALSE(find_value(c, "NotAnInput123"));
  }
  SUBCASE("a session id inside a Location, used in the next URL, not in look-alikes") {
    auto* v = find_value(c, "sess7Hq29xA");
    REQUIRE(v);
    CHECK(v->sources[0].kind == SourceKind::response_header);
    CHECK(v->sources[0].token == 2);
    CHECK(v->sources[0].anchor == "session");
    REQUIRE(v->uses.size() == 1);  // "xsess7Hq29xA1" and "sess7Hq29xAB" are other values
    CHECK(v->uses[0].id == s.chat);
    CHECK(v->uses[0].part == Part::url);
  }
  SUBCASE("a JSON token used in a header, a CONNECT payload and a JSON body") {
    auto* v = find_value(c, "eyJhbGciOi.J9abc123.xyz");
    REQUIRE(v);
    CHECK(v->sources[0].kind == SourceKind::json_body);
    CHECK(v->sources[0].pointer == "/token");
    CHECK(v->uses.size() == 3);
    CHECK(has_use(*v, Part::header, Spelling::raw, "Authorization"));
    CHECK(has_use(*v, Part::frame, Spelling::raw));
    CHECK(has_use(*v, Part::body, Spelling::raw));
  }
  SUBCASE("a value that changes shape: URL-encoded in a query, \\/-escaped in JSON") {
    auto* v = find_value(c, "Ab/cd+Ef==");
    REQUIRE(v);
    CHECK(v->uses.size() == 2);
    CHECK(has_use(*v, Part::url, Spelling::url));
    CHECK(has_use(*v, Part::body, Spelling::json_slash));
  }
  SUBCASE("socket ids: the Engine.IO sid, the CONNECT reply sid, an event argument") {
    auto* eio = find_value(c, "FaQlkxn7_bPvpM-GAAAA");
    REQUIRE(eio);
    CHECK(eio->sources[0].kind == SourceKind::session_sid);
    CHECK(eio->sources[0].session_id == s.session);
    CHECK(has_use(*eio, Part::url, Spelling::raw));
    auto* sid = find_value(c, "FjgbgTXBJmdue2-2AAAA");
    REQUIRE(sid);
    CHECK(sid->sources[0].kind == SourceKind::connect_reply);
    CHECK(sid->sources[0].pointer == "/sid");
    REQUIRE(sid->uses.size() == 1);
    CHECK(sid->uses[0].owner == Use::Owner::packet);
    CHECK(sid->uses[0].id == s.join);
    auto* invite = find_value(c, "Inv1te-7Gq");
    REQUIRE(invite);
    CHECK(invite->sources[0].kind == SourceKind::event_arg);
    CHECK(invite->sources[0].name == "welcome");
    CHECK(invite->sources[0].pointer == "/0/invite");
  }
  SUBCASE("short values and small numbers are ignored") {
    CHECK_FALSE(find_value(c, "yes12"));
    CHECK_FALSE(find_value(c, "12345"));
    CHECK_FALSE(find_value(c, "alice"));
  }
  SUBCASE("--explain names the source and the places") {
    std::string text = explain(c);
    CHECK(text.find("value 'FjgbgTXB…' from the CONNECT reply sid of session 1 → used in 1 "
                    "place: packet") != std::string::npos);
    CHECK(text.find("from the Set-Cookie connect.sid of POST /login → used in 2 places: header "
                    "Cookie of GET /chat") != std::string::npos);
    CHECK(text.find("(URL-encoded)") != std::string::npos);
  }
}

TEST_CASE("a value the client sent before the server issued it is the client's") {
  Recording r;
  r.exchange("POST", "/start", {{"Content-Type", "application/json"}},
             R"({"nonce":"clientNonce123"})", 200, {{"Content-Type", "application/json"}},
             R"({"nonce":"clientNonce123","id":"srvIssued99"})");
  r.exchange("GET", "/next?nonce=clientNonce123&id=srvIssued99", {}, "", 200, {}, "");
  Correlations c = correlate(r.data);
  CHECK_FALSE(find_value(c, "clientNonce123"));
  CHECK(find_value(c, "srvIssued99"));
  CHECK(c.size() == 1);
}

TEST_CASE("a value issued but never sent back is not a correlation") {
  Recording r;
  r.exchange("GET", "/a", {}, "", 200, {{"Content-Type", "application/json"}},
             R"({"requestId":"Rq7781xkQ"})");
  r.exchange("GET", "/b", {}, "", 200, {}, "");
  CHECK(correlate(r.data).empty());
  CHECK(explain(correlate(r.data)) == "no values correlated\n");
}

TEST_CASE("live values: taken from the same place, substituted in the recorded spelling") {
  LoginChat s;
  Correlations c = correlate(s.r.data);
  LiveValues live(c);
  const auto& xs = s.r.data.exchanges;
  auto recorded = [&](store::Id id) -> const store::Exchange& {
    return *std::find_if(xs.begin(), xs.end(), [&](const auto& x) { return x.id == id; });
  };

  // Before anything was seen live, nothing changes.
  CHECK(live.substitute("connect.sid=s%3AxYz123AbC.sigPart99", {Part::header, "Cookie"}) ==
        "connect.sid=s%3AxYz123AbC.sigPart99");

  std::string page = kLoginPage;
  page.replace(page.find("Tk9x+Q2a/8="), 11, "L1ve&amp;Tok en");
  page.replace(page.find("Mz81kd9aQpXz"), 12, "LiveMeta77");
  live.on_response(recorded(s.page), live_response(200, {{"Content-Type", "text/html"}}, page));
  // Form-encoded into the login body, raw into the header, each where it was recorded.
  size_t n = 0;
  CHECK(live.substitute("username=alice&csrf=Tk9x%2BQ2a%2F8%3D",
                        {Part::body, {}, Use::Owner::exchange, s.login},
                        &n) == "username=alice&csrf=L1ve%26Tok+en");
  CHECK(n == 1);
  CHECK(live.substitute("Mz81kd9aQpXz", {Part::header, "X-CSRF-Token"}) == "LiveMeta77");

  live.on_response(recorded(s.login),
                   live_response(303,
                                 {{"Set-Cookie", "connect.sid=s%3ANEWsess42.NEWsig; Path=/"},
                                  {"Location", "/chat?lang=en&session=sessLIVE999"}},
                                 ""));
  CHECK(live.substitute("connect.sid=s%3AxYz123AbC.sigPart99", {Part::header, "Cookie"}) ==
        "connect.sid=s%3ANEWsess42.NEWsig");
  // The Location gained a parameter: the token after "session" is still the one.
  CHECK(live.substitute(kApp + "/chat?session=sess7Hq29xA", {Part::url}) ==
        kApp + "/chat?session=sessLIVE999");
  // Look-alikes stay as they are.
  CHECK(live.substitute("/q?near=xsess7Hq29xA1&also=sess7Hq29xAB", {Part::url}) ==
        "/q?near=xsess7Hq29xA1&also=sess7Hq29xAB");

  live.on_response(
      recorded(s.chat),
      live_response(200, {{"Content-Type", "application/json"}},
                    R"({"room":"LiveRoom99","token":"eyLIVE.tok/en","key":"Zz/é+1"})"));
  CHECK(live.substitute("Bearer eyJhbGciOi.J9abc123.xyz", {Part::header, "Authorization"}) ==
        "Bearer eyLIVE.tok/en");
  CHECK(live.substitute(R"(40{"token":"eyJhbGciOi.J9abc123.xyz"})",
                        {Part::frame, {}, Use::Owner::packet, s.auth}) ==
        R"(40{"token":"eyLIVE.tok/en"})");
  // Spellings are kept: \/-escaped stays \/-escaped, URL-encoded stays URL-encoded.
  CHECK(live.substitute(R"({"k":"Ab\/cd+Ef=="})", {Part::body}) == R"({"k":"Zz\/é+1"})");
  CHECK(live.substitute("/q?k=Ab%2Fcd%2BEf%3D%3D", {Part::url}) == "/q?k=Zz%2F%C3%A9%2B1");

  // Socket ids: the Engine.IO sid from the live session, the socket sid from the live reply.
  live.on_session(s.session, "LiveEngineSid0000001");
  CHECK(live.substitute("/socket.io/?EIO=4&transport=websocket&sid=FaQlkxn7_bPvpM-GAAAA",
                        {Part::url}) ==
        "/socket.io/?EIO=4&transport=websocket&sid=LiveEngineSid0000001");
  const store::SocketPacket* reply = nullptr;
  const store::SocketPacket* welcome = nullptr;
  for (const auto& p : s.r.data.packets) {
    if (p.id == s.connect_reply) reply = &p;
    if (p.id == s.welcome) welcome = &p;
  }
  REQUIRE(reply);
  REQUIRE(welcome);
  SocketEvent reply_live;
  reply_live.kind = EventKind::connect;
  reply_live.args = Json{{"sid", "LiveSocketSid0000002"}};
  live.on_packet(*reply, reply_live);
  SocketEvent welcome_live;
  welcome_live.name = "welcome";
  welcome_live.args = Json::array({Json{{"username", "alice"}, {"invite", "LiveInvite"}}});
  live.on_packet(*welcome, welcome_live);
  const store::SocketPacket* join = nullptr;
  for (const auto& p : s.r.data.packets)
    if (p.id == s.join) join = &p;
  REQUIRE(join);
  CHECK(live.substitute(join->raw, {Part::frame, {}, Use::Owner::packet, s.join}) ==
        R"(42["join",{"room":"LiveRoom99","invite":"LiveInvite","me":"LiveSocketSid0000002"}])");

  CHECK(live.known() == 10);
  auto pairs = live.pairs();
  CHECK(pairs.size() == 10);
}

TEST_CASE("a value issued again later takes the newest live value") {
  Recording r;
  r.exchange("GET", "/a", {}, "", 200, {{"X-Token", "TokenOne111"}}, "");
  auto& b = r.exchange("GET", "/b", {{"X-Token", "TokenOne111"}}, "", 200,
                       {{"X-Token", "TokenOne111"}}, "");
  auto& c2 = r.exchange("GET", "/c", {{"X-Token", "TokenOne111"}}, "", 200, {}, "");
  Correlations c = correlate(r.data);
  REQUIRE(c.size() == 1);
  CHECK(c.list()[0].sources.size() == 2);
  LiveValues live(c);
  live.on_response(r.data.exchanges[0], live_response(200, {{"X-Token", "LiveA"}}, ""));
  CHECK(live.substitute("TokenOne111", {Part::header, "X-Token", Use::Owner::exchange, b.id}) ==
        "LiveA");
  live.on_response(r.data.exchanges[1], live_response(200, {{"X-Token", "LiveB"}}, ""));
  CHECK(live.substitute("TokenOne111", {Part::header, "X-Token", Use::Owner::exchange, c2.id}) ==
        "LiveB");
}

TEST_CASE("Socket.IO 0.9: the handshake sid, from the session or a live handshake body") {
  Recording r;
  auto& hs = r.exchange("GET", "/socket.io/1/?t=1795213603356", {}, "", 200, {},
                        "FXpXJZZ8JUOGiQO4EaoE:60:60:websocket,xhr-polling");
  auto& session = r.session("FXpXJZZ8JUOGiQO4EaoE", hs.id);
  session.protocol = store::SocketProtocol::sio09;
  auto& ws = r.exchange("GET", "/socket.io/1/websocket/FXpXJZZ8JUOGiQO4EaoE", {}, "", 101, {}, "");
  Correlations c = correlate(r.data);
  REQUIRE(c.size() == 1);
  CHECK(describe(c.list()[0].sources[0]) == "the handshake sid of session 1");
  LiveValues live(c);
  live.on_response(hs, live_response(200, {}, "NewSid0000000000000x:60:60:websocket"));
  CHECK(live.substitute(ws.url, {Part::url}) ==
        kApp + "/socket.io/1/websocket/NewSid0000000000000x");
}

TEST_CASE("extract and substitute rules: short values, limited places") {
  Recording r;
  r.exchange("GET", "/form", {}, "", 200, {{"Content-Type", "text/plain"}}, "token: ab12\n");
  auto& post = r.exchange("POST", "/send?t=ab12", {{"X-T", "ab12"}}, "t=ab12", 200, {}, "");
  auto rules = parse_rules(
      R"J({"extract":[{"name":"t","from":"body","regex":"token: (\\w+)","url":"/form$"}],
           "substitute":[{"name":"t","in":"body"}]})J");
  REQUIRE(rules.ok());
  Correlations c = correlate(r.data, *rules);
  REQUIRE(c.size() == 1);
  const Correlation& t = c.list()[0];
  CHECK(t.value == "ab12");
  CHECK(t.rule == "t");
  CHECK(t.uses.size() == 3);
  CHECK(explain(c).find("(rule t) from rule t on GET /form") != std::string::npos);

  LiveValues live(c);
  live.on_response(r.data.exchanges[0], live_response(200, {}, "token: zz99\n"));
  Place body{Part::body, {}, Use::Owner::exchange, post.id};
  CHECK(live.substitute("t=ab12", body) == "t=zz99");
  // Not in the URL or headers: the substitute rule says body only.
  CHECK(live.substitute(post.url, {Part::url}) == post.url);
  CHECK(live.substitute("ab12", {Part::header, "X-T"}) == "ab12");
  // Without the rule, "ab12" is too short to be found automatically.
  CHECK(correlate(r.data).empty());
}

TEST_CASE("an event rule takes a value from a server event") {
  Recording r;
  auto& hs = r.exchange("GET", "/socket.io/?EIO=4&transport=polling", {}, "", 200, {}, "");
  auto& session = r.session("SessSid000000000000A", hs.id);
  auto& ev = r.packet(session.id, store::Direction::server, 2, R"([{"n":7}])",
                      R"(42["game",{"n":7}])", "game");
  auto& send =
      r.packet(session.id, store::Direction::client, 2, R"([7])", R"(42["move",7])", "move");
  auto rules =
      parse_rules(R"({"extract":[{"name":"n","from":"event","event":"game","pointer":"/0/n"}]})");
  REQUIRE(rules.ok());
  Correlations c = correlate(r.data, *rules);
  const Correlation* n = find_value(c, "7");
  REQUIRE(n);
  LiveValues live(c);
  SocketEvent e;
  e.name = "game";
  e.args = Json::parse(R"([{"n":8}])");
  live.on_packet(ev, e);
  CHECK(live.substitute(send.raw, {Part::frame, {}, Use::Owner::packet, send.id}) ==
        R"(42["move",8])");
}

TEST_CASE("a wide recording is scanned once, however many values it issues") {
  Recording r;
  std::string body = "{";
  for (int i = 0; i < 3000; ++i)
    body += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"Val" +
            std::to_string(100000 + i) + "x\"";
  body += "}";
  r.exchange("GET", "/many", {}, "", 200, {{"Content-Type", "application/json"}}, body);
  r.exchange("GET", "/use?a=Val101234x&b=Val102999x", {}, "", 200, {}, "");
  Correlations c = correlate(r.data);
  CHECK(c.size() == 2);
}

TEST_CASE("a value issued in a plain WebSocket message and sent back later is correlated") {
  Recording r;
  auto& up = r.exchange("GET", "/comms", {}, "", 101, {}, "");
  auto message = [&](store::Direction direction, std::string payload) -> store::WsMessage& {
    store::WsMessage m;
    m.id = r.next++;
    m.exchange_id = up.id;
    m.direction = direction;
    m.opcode = 1;
    m.payload = store::Payload::whole(std::move(payload));
    m.time_us = r.clock;
    r.clock += 100;
    r.data.ws_messages.push_back(m);
    return r.data.ws_messages.back();
  };
  store::WsMessage issued =
      message(store::Direction::server, R"({"type":"session","resume":"rs-7Hq2xPz9Lk"})");
  message(store::Direction::client, R"({"type":"resume","token":"rs-7Hq2xPz9Lk"})");
  r.exchange("GET", "/api/resume?token=rs-7Hq2xPz9Lk", {}, "", 200, {}, "");
  Correlations c = correlate(r.data);
  const Correlation* found = find_value(c, "rs-7Hq2xPz9Lk");
  REQUIRE(found);
  REQUIRE(found->sources.size() == 1);
  CHECK(found->sources[0].kind == SourceKind::ws_message);
  CHECK(found->sources[0].pointer == "/resume");
  CHECK(describe(found->sources[0]) == "/resume of a session message on ws /comms");
  CHECK(found->uses.size() == 2);
  CHECK(c.issued_by_ws_message(issued.id).size() == 1);

  // Live, the same place holds another value: it is substituted in what follows.
  LiveValues live(c);
  live.on_ws_message(
      issued, event_from_ws("/comms", false, R"({"type":"session","resume":"rs-LIVE000001"})"));
  CHECK(live.substitute(R"({"type":"resume","token":"rs-7Hq2xPz9Lk"})", Place(Part::frame)) ==
        R"({"type":"resume","token":"rs-LIVE000001"})");
}

TEST_CASE("found by value: a CSRF token in an inline script, sent in a header and a frame") {
  Recording r;
  // The page spells the token as escape() does, for its script to unescape('…').
  auto& page = r.exchange(
      "GET", "/", {}, "", 200, {{"Content-Type", "text/html; charset=utf-8"}},
      "<html><head><script nonce=\"abc\">\n"
      "window.APP_LOCALS = { user: 'bob', _csrf: unescape('Xq7/pL+9Zk%3D%3D') };\n"
      "</script><script type=\"application/json\" id=\"state\">{\"authorId\":\"au-81f3c2d9e0\"}"
      "</script></head></html>");
  auto& post = r.exchange("POST", "/api/notes",
                          {{"Content-Type", "application/json"}, {"X-Csrf-Token", "Xq7/pL+9Zk=="}},
                          R"({"text":"hi","author":"au-81f3c2d9e0"})", 201, {}, "");
  auto& sess = r.session("sidSIDsid123", page.id);
  auto& emit = r.packet(sess.id, store::Direction::client, 2,
                        R"(["save",{"csrf":"Xq7/pL+9Zk==","author":"au-81f3c2d9e0"}])",
                        R"(42["save",{"csrf":"Xq7/pL+9Zk==","author":"au-81f3c2d9e0"}])", "save");
  Correlations c = correlate(r.data);

  const Correlation* csrf = find_value(c, "Xq7/pL+9Zk==");
  REQUIRE(csrf);
  REQUIRE(csrf->sources.size() == 1);
  CHECK(csrf->sources[0].kind == SourceKind::text_place);
  CHECK(csrf->sources[0].place.spelling == Spelling::js_escape);
  CHECK(describe(csrf->sources[0]) ==
        "the text after \"'bob', _csrf: unescape('\" (JavaScript escape()) in GET /");
  CHECK(has_use(*csrf, Part::header, Spelling::raw, "X-Csrf-Token"));
  CHECK(has_use(*csrf, Part::frame, Spelling::raw));
  // One value, not also its pieces between '/', '+' and '='.
  CHECK_FALSE(find_value(c, "pL+9Zk"));
  CHECK_FALSE(find_value(c, "Xq7"));
  const Correlation* author = find_value(c, "au-81f3c2d9e0");
  REQUIRE(author);
  CHECK(author->sources[0].kind == SourceKind::text_place);
  CHECK(author->sources[0].place.spelling == Spelling::raw);

  // Live: another token, of another length, in a page where it moved.
  LiveValues live(c);
  live.on_response(page, live_response(200, {{"Content-Type", "text/html"}},
                                       "<html><head><script nonce=\"other-nonce\">\n"
                                       "window.APP_LOCALS = { user: 'roberta', _csrf: "
                                       "unescape('Ab+cD/ef01%3D') };\n</script>"
                                       "<script type=\"application/json\" id=\"state\">"
                                       "{\"authorId\":\"au-0000aaaa11\"}</script></head></html>"));
  CHECK(live.take_warnings().empty());
  CHECK(live.substitute("Xq7/pL+9Zk==", {Part::header, "X-Csrf-Token", Use::Owner::exchange,
                                         post.id}) == "Ab+cD/ef01=");
  CHECK(live.substitute(emit.raw, {Part::frame, {}, Use::Owner::packet, emit.id}) ==
        R"(42["save",{"csrf":"Ab+cD/ef01=","author":"au-0000aaaa11"}])");
}

TEST_CASE("found by value: a live value of another shape is a warning, not a substitution") {
  Recording r;
  auto& page = r.exchange("GET", "/", {}, "", 200, {{"Content-Type", "application/javascript"}},
                          "var config = {version: \"3f9a1c0b7e2d\"};\n");
  r.exchange("GET", "/style.css?v=3f9a1c0b7e2d", {}, "", 200, {}, "body{}");
  Correlations c = correlate(r.data);
  const Correlation* v = find_value(c, "3f9a1c0b7e2d");
  REQUIRE(v);
  CHECK(v->sources[0].kind == SourceKind::text_place);
  LiveValues live(c);
  live.on_response(page, live_response(200, {}, "var config = {version: \"<%= version %>\"};\n"));
  auto warnings = live.take_warnings();
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("not of the recorded value's shape") != std::string::npos);
  CHECK(live.live(0) == nullptr);
  // The right shape is taken.
  live.on_response(page, live_response(200, {}, "var config = {version: \"0a1b2c3d4e5f\"};\n"));
  CHECK(live.take_warnings().empty());
  CHECK(live.substitute(kApp + "/style.css?v=3f9a1c0b7e2d", {Part::url}) ==
        kApp + "/style.css?v=0a1b2c3d4e5f");
}

TEST_CASE("found by value: what the client invented is not the server's") {
  Recording r;
  // The page's script makes up a request id; the server echoes it in its answer, after the
  // client sent it first.
  r.exchange("GET", "/", {}, "", 200, {{"Content-Type", "text/html"}},
             "<script>const id = Math.random().toString(36);</script>");
  r.exchange("POST", "/api/track", {{"Content-Type", "application/json"}},
             R"({"requestId":"rq7f3k9x2m"})", 200, {{"Content-Type", "text/plain"}},
             "tracked rq7f3k9x2m");
  r.exchange("POST", "/api/track", {{"Content-Type", "application/json"}},
             R"({"requestId":"rq7f3k9x2m"})", 200, {}, "");
  // And a value the page holds but the client never sends back.
  r.exchange("GET", "/about", {}, "", 200, {{"Content-Type", "text/html"}},
             "<p>build 9c8b7a6f5e4d</p>");
  Correlations c = correlate(r.data);
  CHECK_FALSE(find_value(c, "rq7f3k9x2m"));
  CHECK_FALSE(find_value(c, "9c8b7a6f5e4d"));
}

TEST_CASE("a token used on its own stays a value beside the whole it is part of") {
  Recording r;
  auto& login = r.exchange("POST", "/login", {}, "", 200, {{"Content-Type", "application/json"}},
                           R"({"next":"/rooms/room8842x1/join"})");
  r.exchange("GET", "/rooms/room8842x1/join", {}, "", 200, {}, "");
  r.exchange("GET", "/api/messages?room=room8842x1", {}, "", 200, {}, "");
  (void)login;
  Correlations c = correlate(r.data);
  const Correlation* room = find_value(c, "room8842x1");
  REQUIRE(room);
  CHECK(room->uses.size() == 2);
}

TEST_CASE("a value sent base64url-encoded, and a cookie value the server quoted") {
  Recording r;
  auto& doc = r.exchange("POST", "/api/docs", {}, "", 201, {{"Content-Type", "application/json"}},
                         R"({"docId":"doc-7f3a9c2"})");
  auto& share =
      r.exchange("GET", "/share/" + spell("doc-7f3a9c2", Spelling::base64url), {}, "", 200, {}, "");
  auto& login =
      r.exchange("POST", "/login", {}, "", 303, {{"Set-Cookie", "sid=\"Qx81kLmZ0p\"; Path=/"}}, "");
  auto& page = r.exchange("GET", "/", {{"Cookie", "sid=\"Qx81kLmZ0p\""}}, "", 200, {}, "");
  Correlations c = correlate(r.data);
  const Correlation* id = find_value(c, "doc-7f3a9c2");
  REQUIRE(id);
  CHECK(has_use(*id, Part::url, Spelling::base64url));
  LiveValues live(c);
  live.on_response(doc, live_response(201, {{"Content-Type", "application/json"}},
                                      R"({"docId":"doc-00aa11b"})"));
  CHECK(live.substitute(share.url, {Part::url, {}, Use::Owner::exchange, share.id}) ==
        kApp + "/share/" + spell("doc-00aa11b", Spelling::base64url));

  live.on_response(login, live_response(303, {{"Set-Cookie", "sid=\"Zz42newVal9\"; Path=/"}}, ""));
  CHECK(live.substitute("sid=\"Qx81kLmZ0p\"", {Part::header, "Cookie", Use::Owner::exchange,
                                               page.id}) == "sid=\"Zz42newVal9\"");
}

TEST_CASE("a value issued in a Server-Sent Event and sent back later is correlated") {
  Recording r;
  auto& stream = r.exchange("GET", "/events", {}, "", 200, {{"Content-Type", "text/event-stream"}},
                            "event: ticket\ndata: {\"ticket\":\"tk-93fa01c7e2\"}\n\n");
  store::SseEvent e;
  e.id = r.next++;
  e.exchange_id = stream.id;
  e.time_us = r.clock;
  r.clock += 100;
  e.event = "ticket";
  e.data = R"({"ticket":"tk-93fa01c7e2"})";
  r.data.sse_events.push_back(e);
  auto& redeem = r.exchange("POST", "/api/redeem", {{"Content-Type", "application/json"}},
                            R"({"ticket":"tk-93fa01c7e2"})", 200, {}, "");
  Correlations c = correlate(r.data);
  const Correlation* ticket = find_value(c, "tk-93fa01c7e2");
  REQUIRE(ticket);
  // From the event, not from the stream's text: the stream is read as its events.
  REQUIRE(ticket->sources.size() == 1);
  CHECK(ticket->sources[0].kind == SourceKind::sse_event);
  CHECK(describe(ticket->sources[0]) == "/data/ticket of an SSE event ticket on sse /events");
  LiveValues live(c);
  live.on_sse_event(r.data.sse_events[0],
                    event_from_sse("/events", "ticket", R"({"ticket":"tk-live0001"})", {}));
  CHECK(live.substitute(redeem.request_body.bytes,
                        {Part::body, {}, Use::Owner::exchange, redeem.id}) ==
        R"({"ticket":"tk-live0001"})");
}
