// Plain WebSockets (script.h): opened as the browser opened them, client messages sent in causal
// order with correlated values substituted, server messages compared as events of kind `ws`.
#include "protocol/text.h"
#include "replay/copy_run.h"

namespace wa::replay::run_detail {
namespace {

// The values of a list-valued header (Sec-WebSocket-Protocol), in order.
std::vector<std::string> header_list(const store::Headers& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const store::Header& h : headers) {
    if (!text::iequals(h.name, name)) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = text::trim(rest.substr(0, comma));
      if (!item.empty()) out.emplace_back(item);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return out;
}

}  // namespace

void CopyRun::open_websocket(size_t i) {
  const Action& a = s_.actions[i];
  size_t index = size_t(a.session);
  const SocketSession& session = s_.sessions[index];
  const store::Exchange& hs = *session.handshake;
  WsClientOptions o;
  o.url = p_.origins.map_or_keep(
      values_.substitute(hs.url, Place(Part::url, {}, Use::Owner::exchange, hs.id)));
  o.headers = live_headers(hs);
  std::string cookies = cookie_header(a.client, recorded_cookies(hs), o.url);
  if (!cookies.empty()) o.headers.push_back({"Cookie", std::move(cookies)});
  // The subprotocols and permessage-deflate as the browser offered them; the live server
  // chooses again (RFC 6455 §4.2.2, RFC 7692 §5).
  o.protocols = header_list(hs.request_headers, "sec-websocket-protocol");
  for (const std::string& extension : header_list(hs.request_headers, "sec-websocket-extensions"))
    if (extension.starts_with("permessage-deflate")) o.offer_deflate = true;
  o.request_timeout_ms = std::max<uint64_t>(options_.timeout_ms, 2'000);
  int client = a.client;
  std::string url = o.url;
  WsClientHandler handler;
  handler.on_response = [this, client, url](const HttpResponse& response) {
    remember_cookies(client, url, response.headers);
  };
  handler.on_open = [this, index](const ws::Agreement&) {
    sessions_[index].opened_us = now_rel();
    progressed();
  };
  handler.on_message = [this, index](bool binary, std::string_view payload) {
    on_event(index, event_from_ws(s_.sessions[index].path, binary, payload));
  };
  handler.on_end = [this, index](const std::optional<ClientFailure>& failure) {
    on_socket_end(index, failure);
  };
  sessions_[index].started = true;
  sessions_[index].ws = std::make_unique<WsClient>(http_, std::move(o), std::move(handler));
}

void CopyRun::send_ws_message(size_t i) {
  const Action& a = s_.actions[i];
  SessionState& state = sessions_[size_t(a.session)];
  if (!state.ws || state.ended) return;  // its end is reported already
  const store::WsMessage& m = *a.message;
  bool binary = m.opcode == 2;
  if (m.payload.truncated())
    result_.warnings.push_back("a message of socket " + std::to_string(a.session + 1) +
                               " was cut when recorded; sent as far as kept");
  std::string live = binary
                         ? m.payload.bytes
                         : values_.substitute(m.payload.bytes,
                                              Place(Part::frame, {}, Use::Owner::ws_message, m.id));
  if (auto failure = state.ws->send(binary, live)) {
    Difference d;
    d.where = "socket " + std::to_string(a.session + 1);
    d.scope = "*";
    d.outcome = session_outcome(size_t(a.session));
    d.kind = DiffKind::missing;
    d.path = "send";
    d.expected = binary ? "(binary message)" : shorten(m.payload.bytes);
    d.actual = "(not sent: " + failure->why + ")";
    socket_diffs_.push_back(std::move(d));
  }
}

}  // namespace wa::replay::run_detail
