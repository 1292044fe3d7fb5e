#include "replay/socket_event.h"

#include <doctest/doctest.h>

using namespace wa;
using namespace wa::replay;

namespace {

store::SocketPacket packet(std::optional<int> eio, std::optional<int> sio, std::string args,
                           std::string event = {}, std::optional<int64_t> ack = {}) {
  store::SocketPacket p;
  p.eio_type = eio;
  p.sio_type = sio;
  p.namespace_ = "/";
  p.event = std::move(event);
  p.ack_id = ack;
  p.args = std::move(args);
  p.raw = "…";
  return p;
}

}  // namespace

TEST_CASE("recorded packets: application events only") {
  auto e = event_from_recorded(packet(4, 2, R"([{"a":1}])", "chat", 3));
  REQUIRE(e);
  CHECK(e->kind == EventKind::event);
  CHECK(e->name == "chat");
  CHECK(e->ack_id == 3);
  CHECK(e->args == Json::parse(R"([{"a":1}])"));
  CHECK(describe(*e) == "event chat on /");
  auto reply = event_from_recorded(packet(4, 0, R"({"sid":"x"})"));
  REQUIRE(reply);
  CHECK(reply->kind == EventKind::connect);
  auto ack = event_from_recorded(packet(4, 3, "", {}, 0));
  REQUIRE(ack);
  CHECK(ack->args == Json::array());
  CHECK(describe(*ack) == "ack 0 on /");
  CHECK(event_from_recorded(packet(4, 4, R"({"message":"no"})"))->kind == EventKind::error);
  CHECK(event_from_recorded(packet(4, 6, "[]", {}, 1))->kind == EventKind::ack);
  CHECK_FALSE(event_from_recorded(packet(2, {}, "")));  // a ping
  CHECK_FALSE(event_from_recorded(packet(4, {}, "")));  // an attachment on its own
  auto broken = packet(4, 2, "[]", "chat");
  broken.raw = "42[ (error: bad JSON)";
  CHECK_FALSE(event_from_recorded(broken));
  // Socket.IO 0.9 frames.
  CHECK(event_from_recorded(packet({}, 5, R"([1])", "chat"))->kind == EventKind::event);
  CHECK(event_from_recorded(packet({}, 3, R"(["hi"])"))->kind == EventKind::message);
  CHECK(event_from_recorded(packet({}, 1, ""))->kind == EventKind::connect);
  CHECK(event_from_recorded(packet({}, 0, ""))->kind == EventKind::disconnect);
  CHECK_FALSE(event_from_recorded(packet({}, 2, "")));  // heartbeat
  CHECK_FALSE(event_from_recorded(packet({}, 8, "")));  // noop
}

TEST_CASE("live packets decode to the same shapes as recorded ones") {
  auto p = sio::decode(R"(2/admin,7["chat",{"t":"é"}])", 5);
  REQUIRE(p.ok());
  SocketEvent e = event_from_live(*p);
  CHECK(e.kind == EventKind::event);
  CHECK(e.nsp == "/admin");
  CHECK(e.ack_id == 7);
  CHECK(e.args == Json::parse(R"([{"t":"é"}])"));
  CHECK(identity(e) == identity(*event_from_recorded([] {
          auto r = packet(4, 2, "[]", "chat");
          r.namespace_ = "/admin";
          return r;
        }())));
  auto ack = sio::decode(R"(31[true])", 5);
  REQUIRE(ack.ok());
  CHECK(event_from_live(*ack).kind == EventKind::ack);
  CHECK(identity(event_from_live(*ack)) != identity(e));

  auto frame = sio09::decode(R"(5:1+:/chat:{"name":"welcome","args":[{"u":"a"}]})");
  REQUIRE(frame.ok());
  auto w = event_from_live(*frame);
  REQUIRE(w);
  CHECK(w->name == "welcome");
  CHECK(w->nsp == "/chat");
  CHECK(w->args == Json::parse(R"([{"u":"a"}])"));
  auto ack09 = sio09::decode("6:::1+[{\"ok\":true}]");
  REQUIRE(ack09.ok());
  CHECK(event_from_live(*ack09)->ack_id == 1);
  auto msg = sio09::decode("3:::plain");
  REQUIRE(msg.ok());
  CHECK(event_from_live(*msg)->args == Json::array({"plain"}));
  auto hb = sio09::decode("2::");
  REQUIRE(hb.ok());
  CHECK_FALSE(event_from_live(*hb));
}
