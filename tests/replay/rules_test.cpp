#include "replay/rules.h"

#include <doctest/doctest.h>

#include <string>

using namespace wa;
using namespace wa::replay;

namespace {

// The example of replay/rules.h, as written there.
const char* kExample = R"J({
  "extract": [
    {"name": "csrf",  "from": "body",   "regex": "name=\"csrf\" value=\"([^\"]+)\"",
                      "url": "/form$"},
    {"name": "token", "from": "header", "header": "X-Token"},
    {"name": "room",  "from": "header", "header": "Location", "regex": "/room/([^/?]+)"},
    {"name": "jwt",   "from": "json",   "pointer": "/auth/token"},
    {"name": "sess",  "from": "cookie", "cookie": "JSESSIONID"},
    {"name": "game",  "from": "event",  "event": "joined", "pointer": "/0/id", "nsp": "/play"}
  ],
  "substitute": [
    {"name": "csrf",  "in": ["body", "header"]},
    {"name": "token", "in": "header", "header": "Authorization"}
  ],
  "noise": [
    {"header": "date"},
    {"json": "/items/*/updatedAt", "scope": "GET /api/items"},
    {"regex": "[0-9a-f]{32}", "scope": "event chat"}
  ]
})J";

std::string error_of(std::string_view json) {
  auto r = parse_rules(json, "rules.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Errc::setup);
  CHECK(r.error().why.find('\n') == std::string::npos);
  return r.error().why;
}

store::Exchange exchange(std::string url, store::Headers headers, std::string body) {
  store::Exchange x;
  x.method = "GET";
  x.url = std::move(url);
  x.status = 200;
  x.response_headers = std::move(headers);
  x.response_body = store::Payload::whole(std::move(body));
  return x;
}

}  // namespace

TEST_CASE("the documented example parses") {
  auto r = parse_rules(kExample);
  REQUIRE(r.ok());
  REQUIRE(r->extract.size() == 6);
  CHECK(r->extract[0].from == ExtractRule::From::body);
  CHECK(r->extract[0].regex_re);
  CHECK(r->extract[0].url_re);
  CHECK(r->extract[1].from == ExtractRule::From::header);
  CHECK(r->extract[1].header == "X-Token");
  CHECK_FALSE(r->extract[1].regex_re);
  CHECK(r->extract[3].pointer == "/auth/token");
  CHECK(r->extract[4].cookie == "JSESSIONID");
  CHECK(r->extract[5].nsp == "/play");
  REQUIRE(r->substitute.size() == 2);
  CHECK(r->substitute[0].in == (Parts(Part::body) | Parts(Part::header)));
  CHECK(r->substitute[1].header == "Authorization");
  REQUIRE(r->noise.size() == 3);
  CHECK(r->noise[0] == NoiseRule{store::NoiseKind::header, "date", "*"});
  CHECK(r->noise[1] ==
        NoiseRule{store::NoiseKind::json_pointer, "/items/*/updatedAt", "GET /api/items"});
  CHECK(r->noise[2] == NoiseRule{store::NoiseKind::regex, "[0-9a-f]{32}", "event chat"});
}

TEST_CASE("an empty object is an empty rules file") {
  auto r = parse_rules("{}");
  REQUIRE(r.ok());
  CHECK(r->extract.empty());
  CHECK(r->noise.empty());
}

TEST_CASE("parse errors are one line naming the file and the bad element's pointer") {
  CHECK(error_of("[").starts_with("rules.json: not JSON: "));
  CHECK(error_of("[]") == "rules.json: must be a JSON object");
  CHECK(error_of(R"({"extract":{}})") == "rules.json: /extract: must be a list");
  CHECK(error_of(R"({"extracts":[]})") == "rules.json: /extracts: unknown member");
  CHECK(error_of(
            R"({"extract":[{"name":"a","from":"body","regex":"x"},{"name":"b","from":"xml"}]})") ==
        "rules.json: /extract/1/from: must be one of body, header, json, cookie, event");
  CHECK(error_of(R"({"extract":[{"from":"body","regex":"x"}]})") ==
        "rules.json: /extract/0/name: a non-empty name is required");
  CHECK(error_of(R"({"extract":[{"name":"a","from":"body"}]})") ==
        "rules.json: /extract/0/regex: required with this \"from\"");
  CHECK(error_of(R"({"extract":[{"name":"a","from":"body","regex":"(x"}]})")
            .starts_with("rules.json: /extract/0/regex: invalid regex: "));
  CHECK(error_of(R"({"extract":[{"name":"a","from":"json","pointer":"token"}]})") ==
        "rules.json: /extract/0/pointer: not a JSON pointer (\"\" or \"/a/0\")");
  CHECK(error_of(R"({"extract":[{"name":"a","from":"json","pointer":"/t","header":"X"}]})") ==
        "rules.json: /extract/0/header: not used with \"from\": \"json\"");
  CHECK(error_of(R"({"extract":[{"name":"a","from":"event","event":"e","pointer":"/0",
                                  "url":"/x"}]})") ==
        "rules.json: /extract/0/url: not used with \"from\": \"event\"");
  CHECK(error_of(R"({"extract":[{"name":"a","from":"header","header":5}]})") ==
        "rules.json: /extract/0/header: must be a string");
  CHECK(error_of(R"({"substitute":[{"name":"nope"}]})") ==
        "rules.json: /substitute/0/name: no extract rule is named \"nope\"");
  CHECK(error_of(R"({"extract":[{"name":"a","from":"cookie","cookie":"c"}],
                     "substitute":[{"name":"a","in":["body","everywhere"]}]})") ==
        "rules.json: /substitute/0/in/1: must be url, header, body or frame, or a list of them");
  CHECK(error_of(R"({"extract":[{"name":"a","from":"cookie","cookie":"c"}],
                     "substitute":[{"name":"a","in":"body","header":"X"}]})") ==
        "rules.json: /substitute/0/header: only with \"in\" including \"header\"");
  CHECK(error_of(R"({"noise":[{"header":"date","json":"/a"}]})") ==
        "rules.json: /noise/0: needs exactly one of header, json, regex");
  CHECK(error_of(R"({"noise":[{"regex":"[a-"}]})").starts_with("rules.json: /noise/0/regex: "));
  CHECK(error_of(R"({"noise":[{"json":"/a~2"}]})") ==
        "rules.json: /noise/0/json: not a JSON pointer (\"\" or \"/a/*/b\")");
  CHECK(error_of(R"({"noise":[{"header":"date","scope":"sometimes"}]})")
            .starts_with("rules.json: /noise/0/scope: must be "));
  CHECK(error_of(R"({"noise":[{"header":"date","colour":"red"}]})") ==
        "rules.json: /noise/0/colour: unknown member");
}

TEST_CASE("substitute rules limit parts and headers; no rule means everywhere") {
  auto r = parse_rules(R"({"extract":[{"name":"a","from":"cookie","cookie":"c"},
                                      {"name":"b","from":"cookie","cookie":"d"}],
                           "substitute":[{"name":"a","in":"header","header":"X-A"},
                                         {"name":"a","in":"frame"}]})");
  REQUIRE(r.ok());
  CHECK(r->may_substitute("a", Part::header, "x-a"));
  CHECK_FALSE(r->may_substitute("a", Part::header, "Cookie"));
  CHECK(r->may_substitute("a", Part::frame));
  CHECK_FALSE(r->may_substitute("a", Part::url));
  CHECK(r->may_substitute("b", Part::url));
  CHECK(r->may_substitute("b", Part::header, "anything"));
}

TEST_CASE("scopes: everything, an endpoint with * within a segment, an event, a packet kind") {
  CHECK(scope_covers("*", "GET /a"));
  CHECK(scope_covers("GET /api/items", "GET /api/items"));
  CHECK_FALSE(scope_covers("GET /api/items", "POST /api/items"));
  CHECK(scope_covers("GET /api/*/detail", "GET /api/42/detail"));
  CHECK_FALSE(scope_covers("GET /api/*", "GET /api/42/detail"));
  CHECK(scope_covers("event chat", "event chat"));
  CHECK(scope_covers("event *", "event chat"));
  CHECK_FALSE(scope_covers("event chat", "event chatter"));
  CHECK(scope_covers("ack", "ack"));
  CHECK(scope_covers("ws /comms", "ws /comms"));
  CHECK_FALSE(scope_covers("ws /comms", "ws /other"));
  CHECK(scope_covers("sse /events/*", "sse /events/7"));
  CHECK(check_noise_rule({store::NoiseKind::json_pointer, "/total", "ws /comms"}).ok());
  CHECK(check_noise_rule({store::NoiseKind::json_pointer, "/data/at", "sse /events"}).ok());
  CHECK_FALSE(check_noise_rule({store::NoiseKind::json_pointer, "/x", "ws comms"}).ok());
  CHECK(check_noise_rule({store::NoiseKind::header, "date", "connect"}).ok());
  CHECK_FALSE(check_noise_rule({store::NoiseKind::header, "", "*"}).ok());
  CHECK_FALSE(check_noise_rule({store::NoiseKind::header, "date", "get /x"}).ok());
}

TEST_CASE("extract rules on responses: body regex, header, JSON pointer, cookie, URL limit") {
  auto r = parse_rules(R"J({"extract":[
      {"name":"csrf","from":"body","regex":"name=\"csrf\" value=\"([^\"]+)\"","url":"/form$"},
      {"name":"whole","from":"body","regex":"tok-[0-9]+"},
      {"name":"room","from":"header","header":"location","regex":"/room/([^/?]+)"},
      {"name":"token","from":"header","header":"X-Token"},
      {"name":"jwt","from":"json","pointer":"/auth/token"},
      {"name":"n","from":"json","pointer":"/auth/n"},
      {"name":"sess","from":"cookie","cookie":"JSESSIONID"}]})J");
  REQUIRE(r.ok());
  const auto& e = r->extract;
  auto page = exchange("http://app.test/form",
                       {{"Location", "/room/R42?x=1"},
                        {"x-token", "  T0k  "},
                        {"Set-Cookie", "other=1"},
                        {"Set-Cookie", "JSESSIONID=ABC123; Path=/; HttpOnly"}},
                       "<p>\n<input name=\"csrf\" value=\"Cs+rf\">\ntok-77 tok-88\n");
  CHECK(extract_value(e[0], page) == "Cs+rf");
  CHECK(extract_value(e[1], page) == "tok-77");
  CHECK(extract_value(e[2], page) == "R42");
  CHECK(extract_value(e[3], page) == "T0k");
  CHECK(extract_value(e[6], page) == "ABC123");
  CHECK_FALSE(extract_value(e[4], page));  // not JSON
  auto other = page;
  other.url = "http://app.test/form2";
  CHECK_FALSE(extract_value(e[0], other));              // the URL limit
  CHECK(extract_value(e[0], other, false) == "Cs+rf");  // a live response, already paired
  auto json = exchange("http://app.test/api", {}, R"({"auth":{"token":"J.W.T","n":123,"o":{}}})");
  CHECK(extract_value(e[4], json) == "J.W.T");
  CHECK(extract_value(e[5], json) == "123");
  auto no_response = json;
  no_response.status = 0;
  CHECK_FALSE(extract_value(e[4], no_response));
}

TEST_CASE("extract rules on events: name, namespace, pointer") {
  auto r = parse_rules(
      R"({"extract":[{"name":"g","from":"event","event":"joined","pointer":"/0/id","nsp":"/play"}]})");
  REQUIRE(r.ok());
  SocketEvent e;
  e.name = "joined";
  e.nsp = "/play";
  e.args = Json::parse(R"([{"id":"G-1"}])");
  CHECK(extract_value(r->extract[0], e) == "G-1");
  e.nsp = "/";
  CHECK_FALSE(extract_value(r->extract[0], e));
  e.nsp = "/play";
  e.name = "left";
  CHECK_FALSE(extract_value(r->extract[0], e));
}

TEST_CASE("regexes run one line at a time, long lines in segments") {
  std::regex re("[0-9]+");
  CHECK(regex_first(re, "abc\nx 42 y\n7") == "42");
  CHECK_FALSE(regex_first(re, "abc\ndef"));
  CHECK(regex_first(std::regex("(.+)"), "line\r\nnext") == "line");
  CHECK(regex_mask(re, "a1b22\r\nc333\n", "#") == "a#b#\r\nc#\n");
  CHECK(regex_mask(std::regex("x*"), "abc", "#") == "abc");  // empty matches mask nothing
  CHECK(regex_mask(re, "", "#") == "");
  CHECK(regex_mask(re, "\n\n1", "#") == "\n\n#");
  // A long line without separators is cut hard; a match cannot span the cut.
  std::string digits(kMaxRegexSegment + 1, '1');
  CHECK(regex_first(re, digits)->size() == kMaxRegexSegment);
  CHECK(regex_mask(re, digits + "\n5", "#") == "##\n#");
  // A long minified page is cut after tags, so a tag stays whole.
  std::string page;
  while (page.size() < 5 * kMaxRegexSegment)
    page += "<p class=\"x\">filler text</p>";
  page += "<input name=\"csrf\" value=\"Tok3n\">";
  CHECK(regex_first(std::regex("name=\"csrf\" value=\"([^\"]+)\""), page) == "Tok3n");
  std::string masked = regex_mask(std::regex("filler"), page, "F");
  CHECK(masked.find("filler") == std::string::npos);
  size_t fillers = 0;
  for (size_t at = page.find("filler"); at != std::string::npos; at = page.find("filler", at + 1))
    ++fillers;
  CHECK(masked.size() == page.size() - 5 * fillers);
  // What libstdc++ cannot match on a long line without overflowing its stack is safe in
  // segments.
  std::string as(64 * 1024, 'a');
  CHECK_FALSE(regex_first(std::regex("(a|b)*c"), as));
  CHECK(regex_mask(std::regex("(a|b)+"), as, "").empty());
}

TEST_CASE("noise rules convert to and from the capture file's noise_rules rows") {
  NoiseRule rule{store::NoiseKind::json_pointer, "/ts", "GET /api"};
  store::NoiseRule row = to_store(rule, store::RuleOrigin::calibrate, 42);
  CHECK(row.kind == store::NoiseKind::json_pointer);
  CHECK(row.pattern == "/ts");
  CHECK(row.scope == "GET /api");
  CHECK(row.origin == store::RuleOrigin::calibrate);
  CHECK(row.created_us == 42);
  CHECK(from_store(row) == rule);
  row.scope = "";
  CHECK(from_store(row).scope == "*");
}
