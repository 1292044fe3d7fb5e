// The values a client sent in a recording, as candidates for values that the server issued in
// places that no structure locates (replay/text_place.h): whatever a later request or message
// carries as a separate value.
//
// Read from: each path segment and query parameter value of a request URL; the values of
// request headers that carry the application's values (Cookie values, Authorization
// credentials, custom headers, Referer), never those a browser writes itself (User-Agent,
// Sec-*, Accept*, …); form parameter values and JSON strings of request bodies, and the tokens
// of other text bodies; the strings in the arguments of client Socket.IO packets (their auth
// payload included) and in the JSON of plain WebSocket client messages. A string that holds
// several tokens (replay/correlation.h value_tokens) gives its tokens too.
#pragma once

#include <string>
#include <vector>

#include "storage/reader.h"

namespace wa::replay {

// Distinct, in the order first sent; at most `max_values`.
std::vector<std::string> client_values(const store::RecordingData& data, size_t max_values);

}  // namespace wa::replay
