#include "storage/reader.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "tests/storage/sample.h"

using namespace wa::store;
using namespace wa::store::testing;

namespace {

// Records three takes: "alpha", "42" (a name made of digits) and "alpha" again.
std::string three_takes(const ScratchDir& dir) {
  std::string path = dir.file("takes.sqlite");
  const char* names[] = {"alpha", "42", "alpha"};
  for (int i = 0; i < 3; ++i) {
    Recording r = sample_recording(names[i]);
    r.started_us = kT0 + i * 1000000;
    auto w = CaptureWriter::open(path, r);
    REQUIRE(w.ok());
    if (i == 0) {
      auto events = sample_events(**w);
      for (auto& e : events)
        REQUIRE((*w)->push(e).ok());
    }
    REQUIRE((*w)->close(r.started_us + 500000).ok());
  }
  return path;
}

}  // namespace

TEST_CASE("recordings are listed oldest first with their counts") {
  ScratchDir dir;
  auto reader = CaptureReader::open(three_takes(dir));
  REQUIRE(reader.ok());
  auto list = reader->recordings();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 3);
  const RecordingSummary& first = (*list)[0];
  CHECK(first.recording.id == 1);
  CHECK(first.recording.name == "alpha");
  CHECK(first.recording.ended_us == kT0 + 500000);
  CHECK(first.connections == 2);
  CHECK(first.exchanges == 5);
  CHECK(first.ws_messages == 7);
  CHECK(first.socket_events == 3);  // welcome, chat, srvbin
  CHECK((*list)[2].exchanges == 0);
}

TEST_CASE("a recording is found by id, by name, or as the latest") {
  ScratchDir dir;
  auto reader = CaptureReader::open(three_takes(dir));
  REQUIRE(reader.ok());
  CHECK(reader->find_recording("")->id == 3);
  CHECK(reader->find_recording("1")->id == 1);
  CHECK(reader->find_recording("alpha")->id == 3);  // the latest take of that name
  CHECK(reader->find_recording("42")->id == 2);     // no id 42: the name
  CHECK(reader->find_recording("2")->name == "42");
  auto unknown = reader->find_recording("beta");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == wa::Errc::setup);
  CHECK(unknown.error().why ==
        reader->path() + ": no recording 'beta' (workalready ls lists them)");
  CHECK_FALSE(reader->find_recording("7").ok());
  CHECK_FALSE(reader->find_recording("99999999999999999999").ok());  // not an id either
  CHECK_FALSE(reader->load(7).ok());
}

TEST_CASE("a recording's data comes back in capture order and only its own") {
  ScratchDir dir;
  auto reader = CaptureReader::open(three_takes(dir));
  REQUIRE(reader.ok());
  auto data = reader->load(1);
  REQUIRE(data.ok());
  CHECK(std::is_sorted(data->exchanges.begin(), data->exchanges.end(),
                       [](const Exchange& a, const Exchange& b) { return a.id < b.id; }));
  CHECK(data->exchanges[0].method == "POST");
  CHECK(data->exchanges[3].status == 101);
  CHECK(data->packets[4].attachments.size() == 1);
  auto empty = reader->load(3);
  REQUIRE(empty.ok());
  CHECK(empty->exchanges.empty());
  CHECK(empty->recording.name == "alpha");
}
