#include "replay/copy_run.h"

#include <unordered_map>

#include "protocol/text.h"

namespace wa::replay::run_detail {

void CopyRun::open_socket(size_t i) {
  const Action& a = s_.actions[i];
  size_t index = size_t(a.session);
  const SocketSession& session = s_.sessions[index];
  SessionState& state = sessions_[index];
  const store::Exchange& hs = *session.handshake;
  SocketClientOptions o;
  o.family = family_of(session.protocol);
  o.plan = session.plan;
  o.url = p_.origins.map_or_keep(
      values_.substitute(hs.url, Place(Part::url, {}, Use::Owner::exchange, hs.id)));
  // The socket client speaks the transports itself: it keeps only what identifies the browser
  // and the page (Origin matters: python-engineio refuses other origins).
  o.headers = live_headers(hs, [](std::string_view name) {
    return text::iequals(name, "accept-encoding") || text::iequals(name, "content-type") ||
           text::iequals(name, "accept");
  });
  std::string recorded_cookie = recorded_cookies(hs);
  int client = a.client;
  o.cookies = [this, client, recorded_cookie](std::string_view url) {
    return cookie_header(client, recorded_cookie, std::string(url));
  };
  o.on_response = [this, client](std::string_view url, const HttpResponse& response) {
    remember_cookies(client, url, response.headers);
  };
  o.request_timeout_ms = std::max<uint64_t>(options_.timeout_ms, 2'000);
  SocketHandler handler;
  handler.on_open = [this, index](const SocketOpened& opened) {
    SessionState& st = sessions_[index];
    st.opened_us = now_rel();
    if (p_.session_ids[index]) values_.on_session(p_.session_ids[index], opened.sid);
    progressed();
  };
  handler.on_message = [this, index](SocketMessage& message) { on_message(index, message); };
  handler.on_transport = [this, index](eio::Transport transport, const std::string& note) {
    if (!note.empty() && transport == eio::Transport::polling &&
        s_.sessions[index].plan == Plan::upgrade)
      sessions_[index].note = note;
  };
  handler.on_end = [this, index](const std::optional<ClientFailure>& failure) {
    on_socket_end(index, failure);
  };
  state.started = true;
  state.client = std::make_unique<SocketClient>(http_, std::move(o), std::move(handler));
}

void CopyRun::send_packet(size_t i) {
  const Action& a = s_.actions[i];
  SessionState& state = sessions_[size_t(a.session)];
  if (!state.client || state.ended) return;  // its drop is reported already
  const store::SocketPacket& packet = *a.packet;
  std::string_view text = packet.raw;
  // Engine.IO carries Socket.IO packets in message packets ('4'); the client adds that.
  if (s_.sessions[size_t(a.session)].protocol != store::SocketProtocol::sio09 && !text.empty() &&
      text[0] == '4')
    text.remove_prefix(1);
  std::string live =
      values_.substitute(text, Place(Part::frame, {}, Use::Owner::packet, packet.id));
  if (auto failure = state.client->send(live, packet.attachments)) {
    Difference d;
    d.where = "socket " + std::to_string(a.session + 1);
    d.scope = "*";
    d.outcome = session_outcome(size_t(a.session));
    d.kind = DiffKind::missing;
    d.path = "send";
    d.expected = shorten(packet.raw);
    d.actual = "(not sent: " + failure->why + ")";
    socket_diffs_.push_back(std::move(d));
  }
}

void CopyRun::on_message(size_t index, SocketMessage& message) {
  std::optional<SocketEvent> event;
  if (auto* p = std::get_if<sio::Packet>(&message.packet))
    event = event_from_live(*p);
  else
    event = event_from_live(std::get<sio09::Decoded>(message.packet));
  if (event) on_event(index, *event);
}

int CopyRun::on_event(size_t index, const SocketEvent& event) {
  SessionState& state = sessions_[index];
  const SocketSession& session = s_.sessions[index];
  if (!session.periodic.empty() && session.periodic.count(identity(event))) {
    ++state.periodic;  // heartbeats and ticks: their number depends on how long it stays open
    return -1;
  }
  if (state.closing && state.matcher->waiting() == 0) {
    // The server's answer to our close, or what it sent before it knew: the recording, closed
    // at the same point, could not show it either.
    ++state.after_close;
    return -1;
  }
  int64_t at = now_rel();
  live_.events[index].push_back(event);
  auto arrival = state.matcher->on_event(event, context(), next_);
  int paired = -1;
  if (arrival.expected >= 0) {
    const store::SocketPacket* recorded = state.matcher->packet(size_t(arrival.expected));
    size_t e = size_t(state.expectation_of[size_t(arrival.expected)]);
    paired = int(e);
    if (recorded) values_.on_packet(*recorded, event);
    if (const store::WsMessage* m = s_.expectations[e].message) values_.on_ws_message(*m, event);
    if (const store::SseEvent* sse = s_.expectations[e].sse) values_.on_sse_event(*sse, event);
    actual_[e] = event_text(event);
    if (!met_[e] && p_.cause[e] >= 0 && action_us_[size_t(p_.cause[e])] >= 0) {
      std::string name = event.kind == EventKind::event ? "event " + event.name
                         : event.kind == EventKind::ws || event.kind == EventKind::sse
                             ? std::string(event_kind_name(event.kind)) + " " + event.nsp +
                                   (event.name.empty() ? "" : " " + event.name)
                             : "event " + std::string(event_kind_name(event.kind));
      latencies_[name].push_back((at - action_us_[size_t(p_.cause[e])]));
    }
  }
  meet_arrived(index);
  advance();
  return paired;
}

// A pairing may move (matcher.h): whatever has arrived is met. Scanned from the first expected
// event not met yet, so a long session is not quadratic.
void CopyRun::meet_arrived(size_t index) {
  SessionState& state = sessions_[index];
  while (state.first_unmet < state.matcher->size() &&
         met_[size_t(state.expectation_of[state.first_unmet])])
    ++state.first_unmet;
  for (size_t m = state.first_unmet; m < state.matcher->size(); ++m)
    if (state.matcher->arrived(m)) meet(size_t(state.expectation_of[m]));
}

void CopyRun::on_socket_end(size_t index, const std::optional<ClientFailure>& failure) {
  SessionState& state = sessions_[index];
  if (state.ended) return;
  state.ended = true;
  state.ended_us = now_rel();
  if (failure) {
    const SocketSession& session = s_.sessions[index];
    std::optional<uint16_t> live_code = state.ws ? state.ws->peer_close_code() : std::nullopt;
    if (is_setup_failure(failure->kind) && state.opened_us < 0) {
      add_error(failure->why);
    } else if (session.server_close_code && live_code) {
      // The recording shows the server closing this WebSocket too: its status is compared.
      if (*live_code != *session.server_close_code) {
        Difference d;
        d.where = "socket " + std::to_string(index + 1);
        d.scope = "ws " + session.path;
        d.outcome = session_outcome(index);
        d.kind = DiffKind::status;
        d.path = "close status";
        d.expected = std::to_string(*session.server_close_code);
        d.actual = std::to_string(*live_code);
        socket_diffs_.push_back(std::move(d));
      }
    } else if (!state.closing) {
      Difference d;
      d.where = "socket " + std::to_string(index + 1);
      d.scope = "*";
      d.outcome = session_outcome(index);
      d.kind = DiffKind::missing;
      d.path = "connection";
      d.expected = "(open until the recording closed it)";
      d.actual = "(dropped: " + failure->why + ")";
      socket_diffs_.push_back(std::move(d));
    }
  }
  // What it still owed will not come; what was held as perhaps another copy's stands for it.
  if (state.matcher && state.matcher->release_held()) meet_arrived(index);
  for (int e : s_.sessions[index].expectations)
    if (!met_[size_t(e)]) met_[size_t(e)] = 2;
  progressed();
  loop_.post([this] { advance(); });
}

void CopyRun::end_session(SessionState& s, const std::string& why) {
  s.drop();
  size_t index = size_t(&s - sessions_.data());
  on_socket_end(index, ClientFailure{FailureKind::timeout, why});
}

}  // namespace wa::replay::run_detail
