// The Engine.IO session tracker fed the captured sequences of PROTOCOLS.md §1: which transport
// carries the session, and which packets are the application's.
#include "protocol/engineio_session.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "protocol/engineio_payload.h"

using namespace wa;
using namespace wa::eio;

namespace {

constexpr Transport kPoll = Transport::polling;
constexpr Transport kWs = Transport::websocket;
constexpr Direction kUp = Direction::to_server;
constexpr Direction kDown = Direction::to_client;

struct Step {
  Transport transport;
  Direction direction;
  std::string wire;  // one polling body or one WebSocket text message
  std::vector<Traffic> traffic;
  Phase phase_after;
};

// Feeds each step's packets and checks their classification; nothing may be flagged.
void play(SessionTracker& tracker, const std::vector<Step>& steps) {
  for (const auto& step : steps) {
    CAPTURE(step.wire);
    std::vector<Packet> packets;
    if (step.transport == kPoll) {
      auto decoded = decode_payload(tracker.version(), step.wire);
      REQUIRE(decoded.ok());
      packets = *decoded;
    } else {
      auto decoded = decode_ws_message(tracker.version(), step.wire, false);
      REQUIRE(decoded.ok());
      packets.push_back(*decoded);
    }
    REQUIRE(packets.size() == step.traffic.size());
    for (size_t i = 0; i < packets.size(); ++i) {
      auto seen = tracker.observe(step.transport, step.direction, packets[i]);
      CHECK(traffic_name(seen.traffic) == std::string(traffic_name(step.traffic[i])));
      CHECK(seen.unexpected.empty());
      CHECK(seen.phase == tracker.phase());
    }
    CHECK(phase_name(tracker.phase()) == std::string(phase_name(step.phase_after)));
  }
}

const std::string kV4Open =
    R"(0{"sid":"FaQlkxn7_bPvpM-GAAAA","upgrades":["websocket"],"pingInterval":25000,)"
    R"("pingTimeout":20000,"maxPayload":1000000})";

}  // namespace

TEST_CASE("v4 Chromium session: polling handshake, probe, upgrade, WebSocket") {
  SessionTracker tracker(Version::v4);
  CHECK(tracker.phase() == Phase::opening);
  play(
      tracker,
      {
          {kPoll, kDown, kV4Open, {Traffic::open}, Phase::polling},
          {kPoll, kUp, "40", {Traffic::application}, Phase::polling},
          {kPoll,
           kDown,
           "40{\"sid\":\"FjgbgTXBJmdue2-2AAAA\"}\x1e"
           "42[\"welcome\",{\"username\":\"alice\"}]",
           {Traffic::application, Traffic::application},
           Phase::polling},
          {kWs, kUp, "2probe", {Traffic::probe}, Phase::probing},
          {kWs, kDown, "3probe", {Traffic::probe}, Phase::probing},
          {kPoll, kDown, "6", {Traffic::noop}, Phase::probing},
          {kWs, kUp, "5", {Traffic::upgrade}, Phase::websocket},
          {kWs, kUp, R"(420["chat",{"text":"hello 1"}])", {Traffic::application}, Phase::websocket},
          {kWs,
           kDown,
           R"(42["chat",{"from":"alice","text":"hello 1"}])",
           {Traffic::application},
           Phase::websocket},
          {kWs, kDown, "2", {Traffic::heartbeat}, Phase::websocket},
          {kWs, kUp, "3", {Traffic::heartbeat}, Phase::websocket},
          {kWs, kDown, R"(430[{"ok":true,"id":1}])", {Traffic::application}, Phase::websocket},
      });
  CHECK(tracker.transport() == Transport::websocket);
  REQUIRE(tracker.handshake().has_value());
  CHECK(tracker.handshake()->sid == "FaQlkxn7_bPvpM-GAAAA");
  CHECK(tracker.handshake()->max_payload == 1000000u);
  tracker.transport_closed(Transport::websocket);  // the browser closes with 1001
  CHECK(tracker.phase() == Phase::closed);
}

TEST_CASE("v3 Chromium session: open and 40 in one body, client pings, upgrade") {
  SessionTracker tracker(Version::v3);
  const std::string open =
      R"(97:0{"sid":"-fARYxmUEb9JzHxDAAAA","upgrades":["websocket"],"pingInterval":25000,)"
      R"("pingTimeout":20000}2:40)";
  play(tracker, {
                    {kPoll, kDown, open, {Traffic::open, Traffic::application}, Phase::polling},
                    {kPoll,
                     kDown,
                     R"(34:42["welcome",{"username":"alice"}])",
                     {Traffic::application},
                     Phase::polling},
                    {kPoll, kUp, "1:2", {Traffic::heartbeat}, Phase::polling},
                    {kPoll, kDown, "1:3", {Traffic::heartbeat}, Phase::polling},
                    {kWs, kUp, "2probe", {Traffic::probe}, Phase::probing},
                    {kWs, kDown, "3probe", {Traffic::probe}, Phase::probing},
                    {kPoll, kDown, "1:6", {Traffic::noop}, Phase::probing},
                    {kWs, kUp, "5", {Traffic::upgrade}, Phase::websocket},
                    {kWs, kUp, "2", {Traffic::heartbeat}, Phase::websocket},
                    {kWs, kDown, "3", {Traffic::heartbeat}, Phase::websocket},
                });
  CHECK(tracker.handshake()->sid == "-fARYxmUEb9JzHxDAAAA");
  CHECK(tracker.transport() == Transport::websocket);
}

TEST_CASE("Flask: traffic on the WebSocket during the probe, then a noop after the upgrade") {
  SessionTracker tracker(Version::v4);
  play(tracker,
       {
           {kPoll,
            kDown,
            R"(0{"sid":"2xAu","upgrades":["websocket"],"pingTimeout":20000,"pingInterval":25000})",
            {Traffic::open},
            Phase::polling},
           {kPoll, kUp, "40", {Traffic::application}, Phase::polling},
           {kWs, kUp, "2probe", {Traffic::probe}, Phase::probing},
           {kWs, kDown, "3probe", {Traffic::probe}, Phase::probing},
           {kWs,
            kDown,
            R"(42["welcome",{"username":"alice"}])",
            {Traffic::application},
            Phase::probing},
           {kWs,
            kDown,
            R"(40{"sid":"kFGn6wovFaZ9p3nSAAAB"})",
            {Traffic::application},
            Phase::probing},
           {kPoll, kDown, "", {}, Phase::probing},  // python ends a GET with an empty body
           {kWs, kUp, "5", {Traffic::upgrade}, Phase::websocket},
           {kWs, kDown, "6", {Traffic::noop}, Phase::websocket},
       });
  CHECK_FALSE(tracker.handshake()->max_payload.has_value());
}

TEST_CASE("WebSocket-only sessions start on the WebSocket") {
  SessionTracker v4(Version::v4);
  play(v4, {
               {kWs,
                kDown,
                R"(0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000})",
                {Traffic::open},
                Phase::websocket},
               {kWs, kUp, "40", {Traffic::application}, Phase::websocket},
           });
  CHECK(v4.transport() == Transport::websocket);
  CHECK(v4.handshake()->upgrades.empty());

  SessionTracker v3(Version::v3);  // v3: `0{…}` then `40` as separate frames
  play(v3, {
               {kWs,
                kDown,
                R"(0{"sid":"b","upgrades":[],"pingInterval":25000,"pingTimeout":20000})",
                {Traffic::open},
                Phase::websocket},
               {kWs, kDown, "40", {Traffic::application}, Phase::websocket},
           });
}

TEST_CASE("close: polling POST 1, the pending GET released by 6; server kick") {
  SessionTracker tracker(Version::v4);
  play(tracker, {
                    {kPoll, kDown, kV4Open, {Traffic::open}, Phase::polling},
                    {kPoll, kUp, "1", {Traffic::close}, Phase::closed},
                    {kPoll, kDown, "6", {Traffic::noop}, Phase::closed},
                });
  SessionTracker kicked(Version::v4);
  play(kicked, {
                   {kPoll, kDown, kV4Open, {Traffic::open}, Phase::polling},
                   {kPoll, kDown, "41", {Traffic::application}, Phase::polling},
                   {kPoll,
                    kDown,
                    "6\x1e"
                    "1",
                    {Traffic::noop, Traffic::close},
                    Phase::closed},
               });
}

TEST_CASE("a failed probe falls back to polling; a dead polling session closes") {
  SessionTracker tracker(Version::v4);
  play(tracker, {
                    {kPoll, kDown, kV4Open, {Traffic::open}, Phase::polling},
                    {kWs, kUp, "2probe", {Traffic::probe}, Phase::probing},
                });
  tracker.transport_closed(Transport::websocket);
  CHECK(tracker.phase() == Phase::polling);
  CHECK(tracker.transport() == Transport::polling);
  // A second WebSocket may try again.
  play(tracker, {{kWs, kUp, "2probe", {Traffic::probe}, Phase::probing}});
  tracker.transport_closed(Transport::polling);
  CHECK(tracker.phase() == Phase::closed);
}

TEST_CASE("packets out of sequence are classified and flagged with a reason") {
  auto flag = [](SessionTracker& t, Transport tr, Direction d, Packet p) {
    auto seen = t.observe(tr, d, p);
    CHECK_FALSE(seen.unexpected.empty());
    return seen;
  };
  const Packet open{PacketType::open, kV4Open.substr(1), false};
  const Packet ping{PacketType::ping, "", false};
  const Packet pong{PacketType::pong, "", false};
  const Packet probe{PacketType::ping, "probe", false};
  const Packet probe_answer{PacketType::pong, "probe", false};
  const Packet upgrade{PacketType::upgrade, "", false};
  const Packet message{PacketType::message, "2[]", false};

  SessionTracker t(Version::v4);
  CHECK(flag(t, kPoll, kDown, message).traffic == Traffic::application);  // before open
  CHECK(flag(t, kPoll, kDown, ping).traffic == Traffic::heartbeat);       // before open
  CHECK(flag(t, kPoll, kUp, open).traffic == Traffic::open);              // from the client
  CHECK(t.phase() == Phase::opening);
  CHECK(t.observe(kPoll, kDown, open).unexpected.empty());
  CHECK(flag(t, kPoll, kDown, open).traffic == Traffic::open);         // a second one
  CHECK(flag(t, kPoll, kUp, ping).traffic == Traffic::heartbeat);      // v4 clients do not ping
  CHECK(flag(t, kPoll, kDown, pong).traffic == Traffic::heartbeat);    // nor do servers pong
  CHECK(flag(t, kPoll, kUp, probe).traffic == Traffic::probe);         // probe on polling
  CHECK(flag(t, kWs, kDown, probe).traffic == Traffic::probe);         // probe from the server
  CHECK(flag(t, kWs, kDown, probe_answer).traffic == Traffic::probe);  // nothing to answer
  CHECK(flag(t, kWs, kUp, message).traffic == Traffic::application);   // WebSocket never probed
  CHECK(flag(t, kPoll, kUp, upgrade).traffic == Traffic::upgrade);     // upgrade on polling
  CHECK(flag(t, kWs, kDown, upgrade).traffic == Traffic::upgrade);     // from the server
  CHECK(flag(t, kPoll, kUp, Packet{PacketType::noop, "", false}).traffic == Traffic::noop);
  CHECK(t.phase() == Phase::polling);
  // An upgrade without a probe (a capture that missed it) is followed all the same.
  CHECK(flag(t, kWs, kUp, upgrade).phase == Phase::websocket);
  CHECK(flag(t, kWs, kUp, upgrade).traffic == Traffic::upgrade);  // a second upgrade
  CHECK(flag(t, kWs, kUp, probe).traffic == Traffic::probe);      // probe after the upgrade
  CHECK(t.observe(kWs, kUp, Packet{PacketType::close, "", false}).phase == Phase::closed);
  CHECK(flag(t, kWs, kDown, message).traffic == Traffic::application);  // after close

  SessionTracker v3(Version::v3);
  CHECK(v3.observe(kPoll, kDown, open).unexpected.empty());
  CHECK(flag(v3, kPoll, kDown, ping).traffic == Traffic::heartbeat);  // v3 servers do not ping
  CHECK(flag(v3, kPoll, kUp, pong).traffic == Traffic::heartbeat);
  SessionTracker bad(Version::v4);
  CHECK(flag(bad, kPoll, kDown, Packet{PacketType::open, "{}", false}).phase == Phase::polling);
  CHECK_FALSE(bad.handshake().has_value());
  SessionTracker bin(Version::v3);
  flag(bin, kPoll, kDown, Packet{PacketType::open, "{}", true});
}

TEST_CASE("classification without history, and who pings") {
  CHECK(classify(Packet{PacketType::message, "2[]", false}) == Traffic::application);
  CHECK(classify(Packet{PacketType::message, "\x01", true}) == Traffic::application);
  CHECK(classify(Packet{PacketType::message, "probe", false}) == Traffic::application);
  CHECK(classify(Packet{PacketType::ping, "probe", false}) == Traffic::probe);
  CHECK(classify(Packet{PacketType::pong, "probe", false}) == Traffic::probe);
  CHECK(classify(Packet{PacketType::ping, "", false}) == Traffic::heartbeat);
  CHECK(classify(Packet{PacketType::pong, "x", false}) == Traffic::heartbeat);
  CHECK(classify(Packet{PacketType::open, "{}", false}) == Traffic::open);
  CHECK(classify(Packet{PacketType::close, "", false}) == Traffic::close);
  CHECK(classify(Packet{PacketType::upgrade, "", false}) == Traffic::upgrade);
  CHECK(classify(Packet{PacketType::noop, "", false}) == Traffic::noop);
  CHECK(ping_direction(Version::v3) == Direction::to_server);
  CHECK(ping_direction(Version::v4) == Direction::to_client);
}
