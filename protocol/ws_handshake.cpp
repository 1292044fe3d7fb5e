#include "protocol/ws_handshake.h"

#include <openssl/evp.h>

#include <algorithm>

#include "protocol/text.h"

namespace wa::ws {

namespace {

Failure bad_handshake(std::string why) {
  return fail(Errc::ws_handshake, std::move(why));
}

// The elements of a comma-separated list, trimmed, empty ones dropped (RFC 9110 §5.6.1).
std::vector<std::string_view> split_list(std::string_view list) {
  std::vector<std::string_view> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = text::trim(list.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

size_t count_fields(const HeaderList& headers, std::string_view name) {
  return static_cast<size_t>(std::count_if(
      headers.begin(), headers.end(), [&](const auto& h) { return text::iequals(h.first, name); }));
}

}  // namespace

std::string accept_key(std::string_view key) {
  std::string input(key);
  input.append(kAcceptGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
  return text::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string make_key(const std::array<uint8_t, 16>& random) {
  return text::base64_encode(
      std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
}

bool is_valid_key(std::string_view key) {
  // §4.2.1 /4/: "when decoded, is 16 bytes in length"; base64 of 16 bytes is 24 characters.
  if (key.size() != 24) return false;
  auto raw = text::base64_decode(key);
  return raw.ok() && raw->size() == 16;
}

std::optional<std::string> header_value(const HeaderList& headers, std::string_view name) {
  std::optional<std::string> out;
  for (const auto& [n, v] : headers) {
    if (!text::iequals(n, name)) continue;
    if (!out) {
      out = std::string(text::trim(v));
    } else {
      *out += ", ";
      *out += text::trim(v);
    }
  }
  return out;
}

bool header_has_token(const HeaderList& headers, std::string_view name, std::string_view token) {
  for (const auto& [n, v] : headers) {
    if (!text::iequals(n, name)) continue;
    for (std::string_view item : split_list(v)) {
      if (text::iequals(item, token)) return true;
    }
  }
  return false;
}

HeaderList client_request_headers(const ClientHandshake& handshake) {
  HeaderList h;
  h.emplace_back("Upgrade", "websocket");
  h.emplace_back("Connection", "Upgrade");
  h.emplace_back("Sec-WebSocket-Key", handshake.key);
  h.emplace_back("Sec-WebSocket-Version", "13");
  if (handshake.deflate) {
    h.emplace_back("Sec-WebSocket-Extensions",
                   format_extension(deflate_offer_extension(*handshake.deflate)));
  }
  if (!handshake.protocols.empty()) {
    std::string list;
    for (const auto& p : handshake.protocols) {
      if (!list.empty()) list += ", ";
      list += p;
    }
    h.emplace_back("Sec-WebSocket-Protocol", list);
  }
  return h;
}

Result<Agreement> check_response(const HeaderList& request, int status,
                                 const HeaderList& response) {
  // §4.1: "If the status code received from the server is not 101, the client handles the
  // response per HTTP procedures"; for the WebSocket it is a failed handshake.
  if (status != 101) return bad_handshake("status " + std::to_string(status) + ", not 101");
  if (!header_has_token(response, "Upgrade", "websocket")) {
    return bad_handshake("response without Upgrade: websocket");
  }
  if (!header_has_token(response, "Connection", "upgrade")) {
    return bad_handshake("response without Connection: upgrade");
  }
  auto key = header_value(request, "Sec-WebSocket-Key");
  if (!key || count_fields(request, "Sec-WebSocket-Key") != 1) {
    return bad_handshake("request without a single Sec-WebSocket-Key");
  }
  if (count_fields(response, "Sec-WebSocket-Accept") != 1) {
    return bad_handshake("response without a single Sec-WebSocket-Accept");
  }
  if (*header_value(response, "Sec-WebSocket-Accept") != accept_key(*key)) {
    return bad_handshake("Sec-WebSocket-Accept does not match the key");
  }

  Agreement agreed;
  // §4.1 /5/: an extension the client did not offer fails the connection.
  if (auto value = header_value(response, "Sec-WebSocket-Extensions")) {
    auto answered = parse_extensions(*value);
    if (!answered) return answered.error();
    std::vector<DeflateOffer> offers;
    if (auto offered = header_value(request, "Sec-WebSocket-Extensions")) {
      auto parsed = parse_extensions(*offered);
      if (!parsed) return bad_handshake("the request's extension offer does not parse");
      for (const auto& e : *parsed) {
        if (!text::iequals(e.name, kPermessageDeflate)) continue;
        if (auto o = parse_deflate_offer(e)) offers.push_back(*o);
      }
    }
    for (const auto& e : *answered) {
      if (!text::iequals(e.name, kPermessageDeflate)) {
        return bad_handshake("extension " + e.name + " agreed but not supported");
      }
      if (agreed.deflate) return bad_handshake("permessage-deflate agreed twice");
      if (offers.empty()) return bad_handshake("permessage-deflate agreed but not offered");
      // RFC 7692 §5: the response answers one of the offers; any that it fits will do.
      std::optional<Failure> first_error;
      for (const auto& o : offers) {
        auto p = accept_deflate_response(e, o);
        if (p) {
          agreed.deflate = *p;
          break;
        }
        if (!first_error) first_error = p.error();
      }
      if (!agreed.deflate) return *first_error;
    }
  }

  // §4.1 /6/: a subprotocol the client did not ask for fails the connection.
  if (auto value = header_value(response, "Sec-WebSocket-Protocol")) {
    auto chosen = split_list(*value);
    if (chosen.size() != 1) return bad_handshake("Sec-WebSocket-Protocol must name one protocol");
    bool asked = false;
    if (auto offered = header_value(request, "Sec-WebSocket-Protocol")) {
      for (std::string_view p : split_list(*offered))
        asked = asked || p == chosen[0];
    }
    if (!asked) return bad_handshake("subprotocol " + std::string(chosen[0]) + " was not offered");
    agreed.protocol = std::string(chosen[0]);
  }
  return agreed;
}

Agreement read_agreement(const HeaderList& response) {
  Agreement agreed;
  if (auto value = header_value(response, "Sec-WebSocket-Extensions")) {
    if (auto answered = parse_extensions(*value)) {
      for (const auto& e : *answered) {
        if (auto p = read_deflate_response(e)) {
          agreed.deflate = *p;
          break;
        }
      }
    } else if (text::iequals(text::trim(*value).substr(0, kPermessageDeflate.size()),
                             kPermessageDeflate)) {
      // Unparsable parameters: compression is still on, and the defaults read any stream.
      agreed.deflate = DeflateParams{};
    }
  }
  if (auto value = header_value(response, "Sec-WebSocket-Protocol")) {
    agreed.protocol = std::string(text::trim(*value));
  }
  return agreed;
}

Result<UpgradeRequest> check_request(std::string_view method, const HeaderList& headers) {
  if (method != "GET") return bad_handshake("method " + std::string(method) + ", not GET");
  if (count_fields(headers, "Host") == 0) return bad_handshake("request without Host");
  if (!header_has_token(headers, "Upgrade", "websocket")) {
    return bad_handshake("request without Upgrade: websocket");
  }
  if (!header_has_token(headers, "Connection", "upgrade")) {
    return bad_handshake("request without Connection: upgrade");
  }
  if (count_fields(headers, "Sec-WebSocket-Key") != 1) {
    return bad_handshake("request without a single Sec-WebSocket-Key");
  }
  UpgradeRequest r;
  r.key = *header_value(headers, "Sec-WebSocket-Key");
  if (!is_valid_key(r.key)) return bad_handshake("Sec-WebSocket-Key is not 16 bytes of base64");
  auto version = header_value(headers, "Sec-WebSocket-Version");
  if (!version || *version != "13") {
    return bad_handshake("Sec-WebSocket-Version " + version.value_or("missing") + ", not 13");
  }
  if (auto protocols = header_value(headers, "Sec-WebSocket-Protocol")) {
    for (std::string_view p : split_list(*protocols))
      r.protocols.emplace_back(p);
  }
  r.extensions = header_value(headers, "Sec-WebSocket-Extensions").value_or("");
  return r;
}

HeaderList server_response_headers(const UpgradeRequest& request,
                                   const std::optional<DeflateAgreement>& deflate,
                                   std::string_view protocol) {
  HeaderList h;
  h.emplace_back("Upgrade", "websocket");
  h.emplace_back("Connection", "Upgrade");
  h.emplace_back("Sec-WebSocket-Accept", accept_key(request.key));
  if (deflate) h.emplace_back("Sec-WebSocket-Extensions", format_extension(deflate->response));
  if (!protocol.empty()) h.emplace_back("Sec-WebSocket-Protocol", std::string(protocol));
  return h;
}

}  // namespace wa::ws
