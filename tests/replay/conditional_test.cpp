#include "replay/conditional.h"

#include <doctest/doctest.h>

using namespace wa;
using namespace wa::replay;

namespace {

store::Exchange recorded(int status, store::Headers request_headers) {
  store::Exchange x;
  x.method = "GET";
  x.url = "http://app.test/static/logo.svg";
  x.status = status;
  x.request_headers = std::move(request_headers);
  return x;
}

const char* kThen = "Mon, 07 Dec 2026 15:00:00 GMT";
const char* kNow = "Mon, 07 Dec 2026 16:30:00 GMT";

}  // namespace

TEST_CASE("conditional requests: the live validators are sent") {
  http::Headers sent = {
      {"Accept", "*/*"}, {"If-None-Match", "W/\"old-tag\""}, {"if-modified-since", kThen}};
  CHECK(is_conditional(sent));
  CHECK_FALSE(is_conditional(http::Headers{{"Accept", "*/*"}}));
  Validators live = validators_of({{"ETag", " \"new-tag\" "}, {"Last-Modified", kNow}});
  CHECK(live.etag == "\"new-tag\"");
  CHECK(live.last_modified == kNow);
  CHECK(follow_validators(sent, live) == 2);
  CHECK(sent[1].value == "\"new-tag\"");
  CHECK(sent[2].value == kNow);
  CHECK(follow_validators(sent, live) == 0);
  // Only what the live answer has.
  http::Headers only_date = {{"If-None-Match", "\"a\""}, {"If-Modified-Since", kThen}};
  CHECK(follow_validators(only_date, validators_of({{"Last-Modified", kNow}})) == 1);
  CHECK(only_date[0].value == "\"a\"");
}

TEST_CASE("conditional requests: 304 and full answers, explained or not") {
  store::Headers conditional = {{"If-None-Match", "\"old-tag\""}, {"If-Modified-Since", kThen}};
  http::Headers sent_recorded = {{"If-None-Match", "\"old-tag\""}, {"If-Modified-Since", kThen}};
  http::Headers sent_live = {{"If-None-Match", "\"new-tag\""}, {"If-Modified-Since", kNow}};

  // Same kind: compared as usual.
  CHECK(conditional_outcome(recorded(304, conditional), sent_live, 304, {}) ==
        ConditionalOutcome::same_kind);
  CHECK(conditional_outcome(recorded(200, conditional), sent_live, 200, {}) ==
        ConditionalOutcome::same_kind);
  // Not conditional at all.
  CHECK(conditional_outcome(recorded(304, {}), {}, 200, {{"ETag", "\"x\""}}) ==
        ConditionalOutcome::same_kind);

  // Recorded 304, live 200 with validators other than those sent: the resource changed.
  CHECK(conditional_outcome(recorded(304, conditional), sent_recorded, 200,
                            {{"ETag", "\"new-tag\""}, {"Last-Modified", kNow}}) ==
        ConditionalOutcome::validators_changed);
  // ... the ETag alone, weakly compared.
  CHECK(conditional_outcome(recorded(304, conditional), sent_recorded, 200,
                            {{"ETag", "W/\"new-tag\""}}) == ConditionalOutcome::validators_changed);
  // Live 200 with the very validators it was sent: the server stopped honouring them.
  CHECK(conditional_outcome(recorded(304, conditional), sent_live, 200,
                            {{"ETag", "W/\"new-tag\""}, {"Last-Modified", kNow}}) ==
        ConditionalOutcome::unexplained);
  // Live 200 with no validators at all: nothing explains it.
  CHECK(conditional_outcome(recorded(304, conditional), sent_recorded, 200, {}) ==
        ConditionalOutcome::unexplained);
  // An error is never explained by validators.
  CHECK(conditional_outcome(recorded(304, conditional), sent_recorded, 500,
                            {{"ETag", "\"new-tag\""}}) == ConditionalOutcome::same_kind);

  // Recorded 200, live 304 because the live validators were sent, which the server knows.
  CHECK(conditional_outcome(recorded(200, conditional), sent_live, 304, {}) ==
        ConditionalOutcome::validators_changed);
  // ... but to the very validators of the recording, a 304 is a change of behaviour.
  CHECK(conditional_outcome(recorded(200, conditional), sent_recorded, 304, {}) ==
        ConditionalOutcome::unexplained);
}
