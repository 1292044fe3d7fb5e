#include "storage/har.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "storage/reader.h"

using namespace wa::store;

namespace {

struct TempDb {
  std::string path;
  TempDb() {
    char tmpl[] = "/tmp/wa-har-test-XXXXXX";
    path = std::string(::mkdtemp(tmpl)) + "/capture.sqlite";
  }
  ~TempDb() { std::filesystem::remove_all(std::filesystem::path(path).parent_path()); }
};

// A DevTools-style HAR: a login that sets a cookie, then a Socket.IO v4 session that opens on
// polling and carries its chat over a WebSocket entry with _webSocketMessages.
const char* kHar = R"({"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},
"pages":[],"entries":[
 {"startedDateTime":"2026-11-20T10:00:00.000Z","time":12.5,"connection":"11",
  "request":{"method":"POST","url":"http://127.0.0.1:3000/login","httpVersion":"HTTP/1.1",
   "headers":[{"name":"Content-Type","value":"application/x-www-form-urlencoded"},
              {"name":"Authorization","value":"Bearer abc"}],
   "postData":{"mimeType":"application/x-www-form-urlencoded","text":"username=alice&password=x"}},
  "response":{"status":303,"statusText":"See Other","httpVersion":"HTTP/1.1",
   "headers":[{"name":"Set-Cookie","value":"connect.sid=s%3Aabcdefghijkl; Path=/; HttpOnly"},
              {"name":"Location","value":"/"}],
   "content":{"size":0,"mimeType":"text/plain","text":""}},
  "timings":{"send":1,"wait":10,"receive":1.5}},
 {"startedDateTime":"2026-11-20T10:00:01.000Z","time":5,"connection":"12",
  "request":{"method":"GET","url":"http://127.0.0.1:3000/socket.io/?EIO=4&transport=polling&t=x1",
   "httpVersion":"HTTP/1.1","headers":[{"name":"Cookie","value":"connect.sid=s%3Aabcdefghijkl"}]},
  "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[
   {"name":"Content-Type","value":"text/plain; charset=UTF-8"}],
   "content":{"size":97,"mimeType":"text/plain","text":"0{\"sid\":\"S1\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000}"}}},
 {"startedDateTime":"2026-11-20T10:00:01.100Z","time":1,"connection":"13","_resourceType":"websocket",
  "request":{"method":"GET","url":"ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket&sid=S1",
   "httpVersion":"HTTP/1.1","headers":[{"name":":path","value":"/x"}]},
  "response":{"status":101,"statusText":"Switching Protocols","httpVersion":"HTTP/1.1","headers":[],
   "content":{"size":0,"mimeType":"x-unknown"}},
  "_webSocketMessages":[
   {"type":"send","time":1795255201.2,"opcode":1,"data":"2probe"},
   {"type":"receive","time":1795255201.21,"opcode":1,"data":"3probe"},
   {"type":"send","time":1795255201.22,"opcode":1,"data":"5"},
   {"type":"send","time":1795255201.23,"opcode":1,"data":"40"},
   {"type":"receive","time":1795255201.24,"opcode":1,"data":"40{\"sid\":\"K9\"}"},
   {"type":"send","time":1795255201.25,"opcode":1,"data":"420[\"chat\",{\"text\":\"hi\"}]"},
   {"type":"receive","time":1795255201.26,"opcode":1,"data":"430[{\"ok\":true}]"},
   {"type":"receive","time":1795255201.27,"opcode":2,"data":"AQID"}]}
]}})";

}  // namespace

TEST_CASE("a DevTools HAR imports with cookies and decoded Socket.IO events") {
  TempDb db;
  auto imported = import_har(kHar, db.path, "devtools");
  REQUIRE(imported.ok());
  CHECK(imported->entries == 3);
  CHECK(imported->ws_messages == 8);
  CHECK(imported->socket_events == 2);  // the chat and its ack

  auto reader = CaptureReader::open(db.path);
  REQUIRE(reader.ok());
  auto data = reader->load(imported->recording_id);
  REQUIRE(data.ok());
  CHECK(data->recording.name == "devtools");
  REQUIRE(data->exchanges.size() == 3);
  CHECK(data->exchanges[0].status == 303);
  CHECK(data->exchanges[0].request_body.bytes == "username=alice&password=x");
  CHECK(*data->exchanges[0].ended_us - data->exchanges[0].started_us == 12500);
  CHECK(data->exchanges[2].request_headers.empty());  // HTTP/2 pseudo-headers left out
  REQUIRE(data->sessions.size() == 1);
  CHECK(data->sessions[0].sid == "S1");
  bool set = false, sent = false;
  for (const auto& c : data->cookies) {
    set |= c.kind == CookieKind::set && c.name == "connect.sid" && c.http_only;
    sent |= c.kind == CookieKind::sent && c.value == "s%3Aabcdefghijkl";
  }
  CHECK(set);
  CHECK(sent);
  bool chat = false;
  for (const auto& p : data->packets) {
    if (p.event == "chat") {
      chat = true;
      CHECK(p.ack_id == 0);
      CHECK(p.args == R"([{"text":"hi"}])");
      CHECK(p.transport == Transport::websocket);
      CHECK(p.session_id == data->sessions[0].id);
    }
  }
  CHECK(chat);
  REQUIRE(data->ws_messages.size() == 8);
  CHECK(data->ws_messages[7].payload.bytes == std::string("\x01\x02\x03", 3));
}

TEST_CASE("export then import gives the same exchanges, messages and events") {
  TempDb first, second;
  REQUIRE(import_har(kHar, first.path, "one").ok());
  auto a = CaptureReader::open(first.path);
  REQUIRE(a.ok());
  auto data = a->load(1);
  REQUIRE(data.ok());
  std::string text = export_har(*data, {}).dump();
  auto again = import_har(text, second.path, "two");
  REQUIRE(again.ok());
  auto b = CaptureReader::open(second.path);
  REQUIRE(b.ok());
  auto back = b->load(again->recording_id);
  REQUIRE(back.ok());
  REQUIRE(back->exchanges.size() == data->exchanges.size());
  for (size_t i = 0; i < data->exchanges.size(); ++i) {
    const auto &x = data->exchanges[i], &y = back->exchanges[i];
    CAPTURE(i);
    CHECK(x.method == y.method);
    CHECK(x.url == y.url);
    CHECK(x.status == y.status);
    CHECK(x.request_headers == y.request_headers);
    CHECK(x.response_headers == y.response_headers);
    CHECK(x.request_body == y.request_body);
    CHECK(x.response_body == y.response_body);
    CHECK(x.started_us / 1000 == y.started_us / 1000);  // HAR keeps milliseconds
  }
  REQUIRE(back->ws_messages.size() == data->ws_messages.size());
  for (size_t i = 0; i < data->ws_messages.size(); ++i) {
    CHECK(back->ws_messages[i].payload == data->ws_messages[i].payload);
    CHECK(back->ws_messages[i].opcode == data->ws_messages[i].opcode);
    CHECK(back->ws_messages[i].direction == data->ws_messages[i].direction);
  }
  CHECK(back->packets.size() == data->packets.size());
  CHECK(back->cookies.size() == data->cookies.size());
}

TEST_CASE("--redact hides cookie values, Authorization and named fields") {
  TempDb db;
  REQUIRE(import_har(kHar, db.path, "one").ok());
  auto reader = CaptureReader::open(db.path);
  REQUIRE(reader.ok());
  auto data = reader->load(1);
  REQUIRE(data.ok());
  RedactOptions redact{true, {"Location"}, {"text"}};
  std::string text = export_har(*data, redact).dump();
  CHECK(text.find("abcdefghijkl") == std::string::npos);
  CHECK(text.find("Bearer abc") == std::string::npos);
  // Each secret has its own placeholder, named after where it was found.
  CHECK(text.find(R"(\"text\":\"REDACTED-field-text-1\")") != std::string::npos);
  CHECK(text.find(R"({"name":"Location","value":"REDACTED-header-location-1"})") !=
        std::string::npos);
  CHECK(text.find("connect.sid=REDACTED-cookie-connect.sid-1; Path=/; HttpOnly") !=
        std::string::npos);
  CHECK(text.find("Bearer REDACTED-header-authorization-1") != std::string::npos);
  // The form's password, and the Engine.IO sid of the session's URLs (a credential-like name).
  CHECK(text.find("password=REDACTED-field-password-1") != std::string::npos);
  CHECK(text.find("password=x") == std::string::npos);
  // Without --redact everything is there.
  std::string plain = export_har(*data, {}).dump();
  CHECK(plain.find("Bearer abc") != std::string::npos);
}

TEST_CASE("what is not a HAR file is refused with one line") {
  TempDb db;
  for (const char* bad :
       {"", "not json", "{}", R"({"log":{}})", R"({"log":{"entries":[1]}})",
        R"({"log":{"entries":[{"request":{},"startedDateTime":"yesterday"}]}})"}) {
    CAPTURE(bad);
    auto r = import_har(bad, db.path, "x");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().why.find('\n') == std::string::npos);
  }
}

TEST_CASE("ISO 8601 times") {
  CHECK(parse_iso8601("1970-01-01T00:00:01.5Z") == 1'500'000);
  CHECK(parse_iso8601("2026-11-20T10:00:00.000+01:00") == parse_iso8601("2026-11-20T09:00:00Z"));
  CHECK_FALSE(parse_iso8601("2026-11-20").has_value());
  CHECK(iso8601(1'500'000) == "1970-01-01T00:00:01.500Z");
  CHECK(parse_iso8601(iso8601(1795255201123000)) == 1795255201123000);
}

TEST_CASE("a body the HAR does not hold is unknown, never empty, and stays so on export") {
  // As browsers and Playwright's recordHar write them: a redirect without text, a response
  // whose size they know but whose text they did not keep, a size of -1; beside a known empty
  // body (204, size 0) and a POST whose postData they left out.
  const char* har = R"({"log":{"version":"1.2","entries":[
   {"startedDateTime":"2026-11-20T10:00:00.000Z","time":1,
    "request":{"method":"POST","url":"http://app.test/login","headers":[],"bodySize":27},
    "response":{"status":303,"headers":[{"name":"Location","value":"/"}],
     "content":{"size":0,"mimeType":"x-unknown"}}},
   {"startedDateTime":"2026-11-20T10:00:01.000Z","time":1,
    "request":{"method":"GET","url":"http://app.test/big.js","headers":[]},
    "response":{"status":200,"headers":[],"content":{"size":48213,"mimeType":"text/javascript"}}},
   {"startedDateTime":"2026-11-20T10:00:02.000Z","time":1,
    "request":{"method":"GET","url":"http://app.test/gone","headers":[]},
    "response":{"status":200,"headers":[],"content":{"size":-1,"mimeType":"text/html"}}},
   {"startedDateTime":"2026-11-20T10:00:03.000Z","time":1,
    "request":{"method":"DELETE","url":"http://app.test/item/1","headers":[]},
    "response":{"status":204,"headers":[],"content":{"size":0,"mimeType":"x-unknown"}}},
   {"startedDateTime":"2026-11-20T10:00:04.000Z","time":1,
    "request":{"method":"GET","url":"http://app.test/","headers":[]},
    "response":{"status":200,"headers":[],"content":{"size":2,"mimeType":"text/html","text":"ok"}}}
  ]}})";
  TempDb db;
  auto imported = import_har(har, db.path, "unknown");
  REQUIRE(imported.ok());
  auto reader = CaptureReader::open(db.path);
  REQUIRE(reader.ok());
  auto data = reader->load(imported->recording_id);
  REQUIRE(data.ok());
  REQUIRE(data->exchanges.size() == 5);
  const auto& x = data->exchanges;
  CHECK(x[0].request_body.is_unknown());
  CHECK(x[0].response_body.is_unknown());
  CHECK(x[1].response_body.is_unknown());
  CHECK(x[2].response_body.is_unknown());
  CHECK_FALSE(x[3].response_body.is_unknown());
  CHECK(x[3].response_body.bytes.empty());
  CHECK_FALSE(x[4].response_body.is_unknown());
  CHECK(x[4].response_body.bytes == "ok");
  CHECK_FALSE(x[4].request_body.is_unknown());

  // Exported: no text and a size of -1 for what is unknown, the text for what is known.
  auto out = export_har(*data, {});
  const auto& entries = out["log"]["entries"];
  REQUIRE(entries.size() == 5);
  CHECK_FALSE(entries[1]["response"]["content"].contains("text"));
  CHECK(entries[1]["response"]["content"]["size"] == -1);
  CHECK(entries[4]["response"]["content"]["text"] == "ok");
}

TEST_CASE("a revalidation that Playwright wrote as a cached 200 imports as the 304 it was") {
  // The conditional request, answered 304 and served from the browser's cache, written as a
  // 200 with the 304's header fields, the cached content and a bodySize of 0.
  const char* har = R"({"log":{"version":"1.2","entries":[
   {"startedDateTime":"2026-11-20T10:00:00.000Z","time":1,
    "request":{"method":"GET","url":"http://app.test/logo.svg","headers":[
      {"name":"If-None-Match","value":"\"abc\""}]},
    "response":{"status":200,"statusText":"OK","headers":[{"name":"ETag","value":"\"abc\""}],
     "content":{"size":112,"mimeType":"image/svg+xml","text":"<svg/>"},"bodySize":0}},
   {"startedDateTime":"2026-11-20T10:00:01.000Z","time":1,
    "request":{"method":"GET","url":"http://app.test/logo.svg","headers":[]},
    "response":{"status":200,"headers":[],"content":{"size":6,"mimeType":"image/svg+xml",
     "text":"<svg/>"},"bodySize":6}}
  ]}})";
  TempDb db;
  auto imported = import_har(har, db.path, "pw");
  REQUIRE(imported.ok());
  auto reader = CaptureReader::open(db.path);
  REQUIRE(reader.ok());
  auto data = reader->load(imported->recording_id);
  REQUIRE(data.ok());
  REQUIRE(data->exchanges.size() == 2);
  CHECK(data->exchanges[0].status == 304);
  CHECK(data->exchanges[0].response_body.bytes.empty());
  CHECK_FALSE(data->exchanges[0].response_body.is_unknown());
  // Not conditional: a 200 as written.
  CHECK(data->exchanges[1].status == 200);
  CHECK(data->exchanges[1].response_body.bytes == "<svg/>");
}

TEST_CASE("--redact: a secret is replaced where it recurs, and short ones where they are") {
  RecordingData rec;
  Exchange login;
  login.id = 1;
  login.method = "POST";
  login.url = "http://h/api/login";
  login.request_headers = {{"Content-Type", "application/json"}};
  login.request_body = Payload::whole(R"({"user":"amy","password":"pw1"})");
  login.status = 200;
  login.response_headers = {{"Content-Type", "application/json"}};
  login.response_body = Payload::whole(R"({"accessToken":"tok-ABCDEF-123456","name":"amy"})");
  Exchange files;
  files.id = 2;
  files.method = "GET";
  files.url = "http://h/files/tok-ABCDEF-123456/list?page=2&api_key=k1";
  files.request_headers = {{"X-Trace", "t=tok-ABCDEF-123456"}};
  files.status = 101;
  rec.exchanges = {login, files};
  WsMessage hello;
  hello.id = 1;
  hello.exchange_id = 2;
  hello.payload = Payload::whole(R"(42["hello","tok-ABCDEF-123456"])");
  WsMessage connect = hello;
  connect.id = 2;
  connect.payload = Payload::whole(R"(40{"room":"r1"})");
  rec.ws_messages = {connect, hello};

  std::string text = export_har(rec, RedactOptions{true, {}, {}}).dump();
  CHECK(text.find("tok-ABCDEF-123456") == std::string::npos);
  // One placeholder for the token wherever it is: the body that issued it, a URL path, another
  // header, a WebSocket message.
  size_t n = 0;
  for (size_t at = text.find("REDACTED-field-accesstoken-1"); at != std::string::npos;
       at = text.find("REDACTED-field-accesstoken-1", at + 1))
    ++n;
  CHECK(n == 4);  // the response body, the URL, X-Trace, the message
  // Short secrets are replaced where they are (and only there).
  CHECK(text.find(R"(\"password\":\"REDACTED-field-password-1\")") != std::string::npos);
  CHECK(text.find("api_key=REDACTED-query-api_key-1") != std::string::npos);
  CHECK(text.find(R"({"name":"api_key","value":"REDACTED-query-api_key-1"})") != std::string::npos);
  // The CONNECT packet's data is the auth payload: all of it.
  CHECK(text.find(R"(40{\"room\":\"REDACTED-auth-room-1\"})") != std::string::npos);
  CHECK(text.find(R"(\"user\":\"amy\")") != std::string::npos);
  CHECK(text.find("page=2") != std::string::npos);
}
