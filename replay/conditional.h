// Conditional requests (RFC 9110 §13.1) on replay. A browser revalidates what it cached with
// If-None-Match (the ETag it was given) and If-Modified-Since (the Last-Modified it was given);
// a fresh server has other validators (a build stamped at start, another ETag), so a replay
// that sent the recorded ones would get a 200 where the recording had a 304. The replayer
// therefore sends the validators of the live responses it has seen for the same resource, and
// treats a 304 that became a full answer (or the reverse) as no difference when the validators
// explain it; the full answer is then compared with the recorded full answer of the resource.
//
// Sans-I/O: pure functions over header lists.
#pragma once

#include <string>

#include "protocol/http1.h"
#include "storage/model.h"

namespace wa::replay {

struct Validators {
  std::string etag;           // the ETag field value, as the server wrote it
  std::string last_modified;  // the Last-Modified field value
  bool empty() const { return etag.empty() && last_modified.empty(); }
};

// The validators of a response's header fields.
Validators validators_of(const store::Headers& response_headers);

// Whether a request carries If-None-Match or If-Modified-Since.
bool is_conditional(const store::Headers& request_headers);
bool is_conditional(const http::Headers& request_headers);

// Rewrites the request's If-None-Match to `live`'s ETag and its If-Modified-Since to `live`'s
// Last-Modified, where `live` has them; returns how many fields it changed.
size_t follow_validators(http::Headers& request_headers, const Validators& live);

enum class ConditionalOutcome : uint8_t {
  same_kind,           // both answers 304, or both full: compare as usual
  validators_changed,  // one 304, one full, and the validators say why: no difference
  unexplained,         // one 304, one full, and nothing explains it: a difference
};

// How the live answer to a replayed conditional request relates to the recorded one.
// `sent`: the header fields the replay sent. A live full answer explains a recorded 304 when
// its validators are not those the request sent (a server that answers 200 with the very
// validators it was sent has stopped honouring the condition). A live 304 explains a recorded
// full answer when the request sent other validators than the recorded request did (the live
// ones, which the server recognised).
ConditionalOutcome conditional_outcome(const store::Exchange& recorded, const http::Headers& sent,
                                       int live_status, const store::Headers& live_headers);

}  // namespace wa::replay
