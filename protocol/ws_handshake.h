// The WebSocket opening handshake (RFC 6455 §4) on plain header lists, so that it needs no HTTP
// codec: the caller parses the HTTP message and hands over its header fields as received.
//
// Randomness is injected: make_key() takes the 16 random bytes instead of drawing them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/result.h"
#include "protocol/ws_deflate.h"

namespace wa::ws {

// Header fields in order, names as received (compared case-insensitively); a field that
// appears twice appears twice.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// §1.3, §4.2.2: the GUID every server appends to the key before hashing.
inline constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// base64(SHA-1(key + GUID)) (§4.2.2 /5/ 4).
std::string accept_key(std::string_view key);

// §4.1 /7/: a key is 16 random bytes, base64-encoded (24 characters).
std::string make_key(const std::array<uint8_t, 16>& random);
bool is_valid_key(std::string_view key);

// All values of the fields named `name`, joined with ", " (RFC 9110 §5.3); nullopt if absent.
std::optional<std::string> header_value(const HeaderList& headers, std::string_view name);

// Does the comma-separated list in the fields named `name` hold `token` (case-insensitively)?
bool header_has_token(const HeaderList& headers, std::string_view name, std::string_view token);

// ---- client side ----

struct ClientHandshake {
  std::string key;                      // from make_key()
  std::vector<std::string> protocols;   // Sec-WebSocket-Protocol, in order of preference
  std::optional<DeflateOffer> deflate;  // offer permessage-deflate
};

// The WebSocket fields of the upgrade GET (§4.1): Upgrade, Connection, Sec-WebSocket-Key,
// Sec-WebSocket-Version and, when asked, Sec-WebSocket-Extensions and -Protocol. The caller adds
// Host, Origin, cookies and the rest.
HeaderList client_request_headers(const ClientHandshake& handshake);

// What a successful handshake settled.
struct Agreement {
  std::optional<DeflateParams> deflate;  // permessage-deflate is on with these parameters
  std::string protocol;                  // the chosen subprotocol, empty if none
};

// §4.1 (the client's checks of the server's answer): status 101, Upgrade: websocket,
// Connection: upgrade, the Sec-WebSocket-Accept that the request's key calls for, extensions
// and a subprotocol only from among those the request offered (permessage-deflate checked by
// accept_deflate_response; any other extension cannot be spoken here and fails too).
// `request` is the header list the client sent. Failure: Errc::ws_handshake.
Result<Agreement> check_response(const HeaderList& request, int status, const HeaderList& response);

// For an observer: what the 101 settled, read leniently (no accept-key or offer checks; a
// permessage-deflate element with odd parameters still turns compression on).
Agreement read_agreement(const HeaderList& response);

// ---- server side ----

struct UpgradeRequest {
  std::string key;
  std::vector<std::string> protocols;  // offered subprotocols, in order
  std::string extensions;              // the joined Sec-WebSocket-Extensions value, or empty
};

// §4.2.1: GET, Host, Upgrade: websocket, Connection: upgrade, a valid Sec-WebSocket-Key and
// Sec-WebSocket-Version 13. Failure: Errc::ws_handshake (a server answers 400, or 426 with
// Sec-WebSocket-Version: 13 when only the version is wrong).
Result<UpgradeRequest> check_request(std::string_view method, const HeaderList& headers);

// The fields of the 101 answer (§4.2.2): Upgrade, Connection, Sec-WebSocket-Accept and, when
// given, Sec-WebSocket-Extensions and Sec-WebSocket-Protocol.
HeaderList server_response_headers(const UpgradeRequest& request,
                                   const std::optional<DeflateAgreement>& deflate,
                                   std::string_view protocol = {});

}  // namespace wa::ws
