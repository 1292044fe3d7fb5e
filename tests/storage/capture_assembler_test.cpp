// The assembler reads polling bodies without their Content-Encoding (PROTOCOLS.md §5), turns a
// body that does not decode into a packet that says why, and `ls` and `show` bring such packets
// to light.
#include "storage/capture_assembler.h"

#include <doctest/doctest.h>

#include <variant>

#include "storage/reader.h"
#include "storage/timeline.h"
#include "storage/writer.h"
#include "tests/compress_helpers.h"
#include "tests/storage/sample.h"

using namespace wa::store;
using namespace wa::store::testing;
using wa::test::brotli;
using wa::test::zlib_compress;

namespace {

// An engine.io 3 polling payload of one Socket.IO event, above the 1 KiB compression threshold.
std::string v3_state_payload() {
  std::string items;
  for (int i = 0; i < 100; ++i)
    items += (i ? "," : "") + std::to_string(i * 1000003);
  std::string packet = "42[\"state\",{\"items\":[" + items + "]}]";
  return std::to_string(packet.size()) + ":" + packet;
}

// A server's polling GET of session `abc` whose response body is `body`, sent with
// `content_encoding`.
std::vector<SocketPacket> polling_get(CaptureAssembler& assembler, const std::string& body,
                                      const std::string& content_encoding) {
  Exchange x;
  x.id = 7;
  x.method = "GET";
  x.url = "/socket.io/?EIO=3&transport=polling&sid=abc";
  x.status = 200;
  x.response_headers = {{"Content-Type", "text/plain; charset=UTF-8"}};
  if (!content_encoding.empty())
    x.response_headers.push_back({"Content-Encoding", content_encoding});
  x.response_body = Payload::whole(body);
  std::vector<SocketPacket> out;
  for (auto& event : assembler.exchange(x, "", true, body, true)) {
    if (auto* p = std::get_if<SocketPacket>(&event)) out.push_back(*p);
  }
  return out;
}

IdSource counters() {
  auto next = std::make_shared<Id>(0);
  return IdSource{[next] { return ++*next; }, [next] { return ++*next; },
                  [next] { return ++*next; }};
}

}  // namespace

TEST_CASE("polling bodies are read without their content coding") {
  const std::string payload = v3_state_payload();
  for (const auto& entry : {std::pair<std::string, std::string>{"", payload},
                            {"gzip", zlib_compress(payload, 15 + 16)},
                            {"deflate", zlib_compress(payload, 15)},
                            {"deflate", zlib_compress(payload, -15)},
                            {"br", brotli(payload)},
                            {"gzip, br", brotli(zlib_compress(payload, 15 + 16))}}) {
    // Not a structured binding: clang 14 cannot capture one in INFO's lambda.
    const std::string& coding = entry.first;
    const std::string& body = entry.second;
    INFO(coding);
    CaptureAssembler assembler(counters());
    auto packets = polling_get(assembler, body, coding);
    REQUIRE(packets.size() == 1);
    CHECK(packets[0].event == "state");
    CHECK(packets[0].args.rfind("[{\"items\":[0,1000003,", 0) == 0);
    CHECK(undecodable_reason(packets[0]).empty());
    CHECK(assembler.socket_events() == 1);
  }
}

TEST_CASE("a body that does not decode becomes a packet that says why") {
  CaptureAssembler assembler(counters());
  auto packets = polling_get(assembler, "96:42[\"not gzip\"]", "gzip");
  REQUIRE(packets.size() == 1);
  CHECK(packets[0].event.empty());
  std::string why(undecodable_reason(packets[0]));
  CHECK(why.rfind("gzip body did not decode: ", 0) == 0);
  CHECK(packets[0].exchange_id == 7);
  CHECK(packets[0].direction == Direction::server);

  std::string unknown(undecodable_reason(polling_get(assembler, "2:40", "compress").at(0)));
  CHECK(unknown.find("unknown content coding 'compress'") != std::string::npos);

  // A cut body is reported as cut, not as a coding that did not decode.
  Exchange x;
  x.id = 8;
  x.method = "GET";
  x.url = "/socket.io/?EIO=3&transport=polling&sid=abc";
  x.status = 200;
  x.response_headers = {{"Content-Encoding", "gzip"}};
  std::string gz = zlib_compress(v3_state_payload(), 15 + 16);
  auto events = assembler.exchange(x, "", true, std::string_view(gz).substr(0, 10), false);
  REQUIRE(events.size() == 1);
  CHECK(undecodable_reason(std::get<SocketPacket>(events[0])).find("cut") !=
        std::string_view::npos);
}

TEST_CASE(
    "HAR bodies, which may be decoded already, are read as they are when they do not decode") {
  const std::string payload = v3_state_payload();
  CaptureAssembler assembler(counters(), CaptureAssembler::Bodies::maybe_decoded);
  auto as_text = polling_get(assembler, payload, "gzip");
  REQUIRE(as_text.size() == 1);
  CHECK(as_text[0].event == "state");
  auto as_sent = polling_get(assembler, zlib_compress(payload, 15 + 16), "gzip");
  REQUIRE(as_sent.size() == 1);
  CHECK(as_sent[0].event == "state");
}

TEST_CASE("undecodable_reason reads the error convert() appends to raw") {
  SocketPacket p;
  CHECK(undecodable_reason(p).empty());
  p.raw = "(error: gzip body did not decode: corrupt gzip data (incorrect header check))";
  CHECK(undecodable_reason(p) ==
        "gzip body did not decode: corrupt gzip data (incorrect header check)");
  p.raw = "42[\"a\" (error: bad JSON)";
  CHECK(undecodable_reason(p) == "bad JSON");
  p.raw = "42[\"a(error: b)\"]";
  CHECK(undecodable_reason(p).empty());
  p.raw = "4x(error: b)";  // not a marker: convert() puts a space before it
  CHECK(undecodable_reason(p).empty());
}

TEST_CASE("ls counts the packets that did not decode, and show marks each") {
  ScratchDir dir;
  std::string path = dir.file("undecodable.sqlite");
  auto w = CaptureWriter::open(path, sample_recording());
  REQUIRE(w.ok());
  auto events = sample_events(**w);
  Id exchange_id = 0;
  for (auto& e : events) {
    if (auto* x = std::get_if<Exchange>(&e); x && exchange_id == 0) exchange_id = x->id;
    REQUIRE((*w)->push(e).ok());
  }
  REQUIRE(exchange_id != 0);
  SocketPacket bad;
  bad.id = (*w)->new_packet_id();
  bad.exchange_id = exchange_id;
  bad.direction = Direction::server;
  bad.transport = Transport::polling;
  bad.time_us = kT0 + 5000;
  bad.raw = "(error: gzip body did not decode: corrupt gzip data (incorrect header check))";
  REQUIRE((*w)->push(bad).ok());
  REQUIRE((*w)->close(kT0 + 90000).ok());

  auto reader = CaptureReader::open(path);
  REQUIRE(reader.ok());
  auto list = reader->recordings();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  CHECK((*list)[0].undecodable_packets == 1);
  std::string ls = format_recording_list(*list);
  CHECK(ls.find("1 socket payload could not be decoded") != std::string::npos);

  auto data = reader->load((*list)[0].recording.id);
  REQUIRE(data.ok());
  std::string timeline = format_timeline(*data);
  CHECK(timeline.find("S> ! not decoded: gzip body did not decode: corrupt gzip data") !=
        std::string::npos);

  // A recording that lost nothing reads as before.
  (*list)[0].undecodable_packets = 0;
  CHECK(format_recording_list(*list).find("could not be decoded") == std::string::npos);
}
