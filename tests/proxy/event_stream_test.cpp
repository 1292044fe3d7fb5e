// Event streams as the recorder reads them: events out of the body as it passes, in any split,
// through a content coding, and what happens to a coding that cannot be read.
#include "proxy/event_stream.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <string>
#include <vector>

using namespace wa;
using namespace wa::proxy;

namespace {

store::Exchange response(std::string content_type, std::string content_encoding = {}) {
  store::Exchange row;
  row.id = 7;
  row.status = 200;
  row.response_headers.push_back({"Content-Type", std::move(content_type)});
  if (!content_encoding.empty()) {
    row.response_headers.push_back({"Content-Encoding", std::move(content_encoding)});
  }
  return row;
}

// gzip (RFC 1952) with a sync flush after every piece, as a server's compression middleware
// flushes each event of a stream.
std::vector<std::string> gzip_flushed(const std::vector<std::string>& pieces) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<std::string> out;
  for (const std::string& piece : pieces) {
    std::string compressed(piece.size() + 256, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    z.avail_in = static_cast<uInt>(piece.size());
    z.next_out = reinterpret_cast<Bytef*>(compressed.data());
    z.avail_out = static_cast<uInt>(compressed.size());
    REQUIRE(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
    compressed.resize(compressed.size() - z.avail_out);
    out.push_back(compressed);
  }
  deflateEnd(&z);
  return out;
}

}  // namespace

TEST_CASE("only text/event-stream responses are read as event streams") {
  CHECK(EventStreamCapture::for_response(response("text/event-stream")) != nullptr);
  CHECK(EventStreamCapture::for_response(response("text/event-stream; charset=utf-8")));
  CHECK_FALSE(EventStreamCapture::for_response(response("text/plain")));
  CHECK_FALSE(EventStreamCapture::for_response(response("application/json")));
  store::Exchange no_response = response("text/event-stream");
  no_response.status = 0;
  CHECK_FALSE(EventStreamCapture::for_response(no_response));
}

TEST_CASE("events come out as their blank line passes, stamped with that time") {
  auto capture = EventStreamCapture::for_response(response("text/event-stream"));
  REQUIRE(capture);
  std::vector<store::SseEvent> out;
  capture->feed(": hi\n\nid: 1\nevent: update\ndata: {\"n\":1}\n", 100, out);
  CHECK(out.empty());
  capture->feed("\ndata: two\r", 200, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].exchange_id == 7);
  CHECK(out[0].seq == 0);
  CHECK(out[0].time_us == 200);
  CHECK(out[0].event_id == "1");
  CHECK(out[0].event == "update");
  CHECK(out[0].data == "{\"n\":1}");
  capture->feed("\nretry: 50\n\n", 300, out);
  REQUIRE(out.size() == 2);
  CHECK(out[1].seq == 1);
  CHECK(out[1].time_us == 300);
  CHECK_FALSE(out[1].event_id);
  CHECK(out[1].data == "two");
  CHECK(out[1].retry_ms == 50);
  capture->feed("data: never finished\n", 400, out);
  capture->finish(500, out);
  CHECK(out.size() == 2);
  CHECK_FALSE(capture->failure());
  CHECK(capture->parser().comments() == 1);
}

TEST_CASE("a gzip stream is decoded as it passes, flushed event by event") {
  auto pieces = gzip_flushed({"id: 1\ndata: a\n\n", "id: 2\ndata: b\n\n", "id: 3\ndata: c\n\n"});
  auto capture = EventStreamCapture::for_response(response("text/event-stream", "gzip"));
  REQUIRE(capture);
  std::vector<store::SseEvent> out;
  for (size_t i = 0; i < pieces.size(); ++i) {
    capture->feed(pieces[i], int64_t(i), out);
    REQUIRE(out.size() == i + 1);
    CHECK(out[i].time_us == int64_t(i));
    CHECK(out[i].event_id == std::to_string(i + 1));
  }
  // The reader went away: the gzip trailer never came, which is no failure of the events.
  capture->finish(9, out);
  CHECK(out.size() == 3);
  CHECK_FALSE(capture->failure());
}

TEST_CASE("a coding that cannot be read stops the events with a reason") {
  auto unknown = EventStreamCapture::for_response(response("text/event-stream", "zstd"));
  REQUIRE(unknown);
  REQUIRE(unknown->failure());
  CHECK(unknown->failure()->why.rfind("event stream: ", 0) == 0);
  std::vector<store::SseEvent> out;
  unknown->feed("data: x\n\n", 1, out);
  CHECK(out.empty());

  auto corrupt = EventStreamCapture::for_response(response("text/event-stream", "gzip"));
  REQUIRE(corrupt);
  corrupt->feed("data: not gzip\n\n", 1, out);
  CHECK(out.empty());
  REQUIRE(corrupt->failure());
  CHECK(corrupt->failure()->code == Errc::bad_encoding);

  // identity is no coding at all.
  auto identity = EventStreamCapture::for_response(response("text/event-stream", "identity"));
  REQUIRE(identity);
  identity->feed("data: x\n\n", 1, out);
  CHECK(out.size() == 1);
}
