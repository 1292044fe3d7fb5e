#include "storage/noise_rules.h"

#include <doctest/doctest.h>

#include "tests/storage/sample.h"

using namespace wa::store;
using namespace wa::store::testing;

TEST_CASE("noise rules: a calibration replaces the previous one and keeps user rules") {
  ScratchDir dir;
  auto db = open_capture(dir.file("rules.sqlite"), Access::write);
  REQUIRE(db.ok());
  NoiseRule date{0, std::nullopt, "*", NoiseKind::header, "Date", RuleOrigin::calibrate, kT0};
  NoiseRule token{
      0,  std::nullopt, "POST /login", NoiseKind::json_pointer, "/token", RuleOrigin::calibrate,
      kT0};
  NoiseRule user{0,           std::nullopt,     "event chat", NoiseKind::regex,
                 "[0-9]{13}", RuleOrigin::user, kT0};
  REQUIRE(replace_noise_rules(*db, 1, RuleOrigin::calibrate, {date, token}).ok());
  REQUIRE(replace_noise_rules(*db, std::nullopt, RuleOrigin::user, {user}).ok());
  REQUIRE(replace_noise_rules(*db, 2, RuleOrigin::calibrate, {date}).ok());

  auto rules = load_noise_rules(*db, 1);
  REQUIRE(rules.ok());
  REQUIRE(rules->size() == 3);
  CHECK((*rules)[0].pattern == "Date");
  CHECK((*rules)[0].recording_id == 1);
  CHECK((*rules)[1].scope == "POST /login");
  CHECK((*rules)[1].kind == NoiseKind::json_pointer);
  CHECK((*rules)[2].origin == RuleOrigin::user);
  CHECK_FALSE((*rules)[2].recording_id.has_value());

  // Calibrating recording 1 again supersedes its calibrated rules only.
  NoiseRule etag{0, std::nullopt, "*", NoiseKind::header, "ETag", RuleOrigin::calibrate, kT0};
  REQUIRE(replace_noise_rules(*db, 1, RuleOrigin::calibrate, {etag}).ok());
  rules = load_noise_rules(*db, 1);
  REQUIRE(rules->size() == 2);
  CHECK((*rules)[0].pattern == "[0-9]{13}");
  CHECK((*rules)[1].pattern == "ETag");
  CHECK(load_noise_rules(*db, 2)->size() == 2);
  CHECK(load_noise_rules(*db, 3)->size() == 1);
}
