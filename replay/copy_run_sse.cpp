// Event streams (script.h): the request sent as recorded, the response read as it arrives and
// never waited for to end, each event compared as it comes (an event of kind `sse`).
#include "protocol/text.h"
#include "replay/copy_run.h"

namespace wa::replay::run_detail {
namespace {

// How much a stream may inflate to over its life: far more than any page keeps open.
constexpr size_t kMaxStreamBytes = size_t(1) << 32;
// A stream may stay silent for as long as the page does (keep-alive comments are optional):
// the run's own stall timer decides what is late.
constexpr uint64_t kStreamIdleMs = 24ull * 3600 * 1000;

}  // namespace

void CopyRun::open_stream(size_t i) {
  const Action& a = s_.actions[i];
  size_t index = size_t(a.session);
  const store::Exchange& x = *s_.sessions[index].handshake;
  HttpRequest request;
  request.method = x.method;
  request.url = p_.origins.map_or_keep(
      values_.substitute(x.url, Place(Part::url, {}, Use::Owner::exchange, x.id)));
  request.headers = live_headers(x);
  for (http::Header& h : request.headers) {
    // A browser reopening a stream names the last event it had (§9.2.4): the live one.
    if (!text::iequals(h.name, "last-event-id")) continue;
    if (auto live = live_event_ids_.find(h.value); live != live_event_ids_.end())
      h.value = live->second;
  }
  std::string cookies = cookie_header(a.client, recorded_cookies(x), request.url);
  if (!cookies.empty()) request.headers.push_back({"Cookie", std::move(cookies)});
  request.timeout_ms = std::max<uint64_t>(options_.timeout_ms, 2'000);
  request.body_idle_timeout_ms = kStreamIdleMs;
  std::string url = request.url;
  int client = a.client;
  request.on_head = [this, index, client, url](const HttpResponse& head) {
    remember_cookies(client, url, head.headers);
    on_stream_head(index, head);
  };
  request.on_body = [this, index](std::string_view chunk) { on_stream_body(index, chunk); };
  SessionState& state = sessions_[index];
  state.started = true;
  state.parser.emplace();
  ++result_.exchanges;
  state.stream = http_.send(std::move(request), [this, index](ClientResult<HttpResponse> r) {
    // The server ended the stream (or it failed): what it still owed will not come. That is
    // a failure unless the recording shows the server ending it too.
    std::optional<ClientFailure> failure;
    if (!r) {
      failure = r.error();
    } else if (!sessions_[index].closing && !s_.sessions[index].server_ends) {
      failure = ClientFailure{FailureKind::closed, "the server ended the event stream"};
    }
    on_socket_end(index, failure);
  });
}

void CopyRun::on_stream_head(size_t index, const HttpResponse& head) {
  SessionState& state = sessions_[index];
  const store::Exchange& x = *s_.sessions[index].handshake;
  state.opened_us = now_rel();
  std::string content_type;
  if (auto found = http::find_header(head.headers, "content-type")) content_type = *found;
  if (head.status != x.status || !sse::is_event_stream(content_type)) {
    Difference d;
    d.where = endpoint_of(x);
    d.scope = d.where;
    d.outcome = session_outcome(index);
    d.kind = DiffKind::status;
    d.path = "status";
    d.expected = std::to_string(x.status) + " text/event-stream";
    d.actual = std::to_string(head.status) + " " + (content_type.empty() ? "-" : content_type);
    socket_diffs_.push_back(std::move(d));
    state.stream.cancel();
    on_socket_end(index, std::nullopt);
    return;
  }
  if (auto coding = http::find_header(head.headers, "content-encoding")) {
    auto decoder = coding::Decoder::make(*coding, kMaxStreamBytes);
    if (!decoder) {
      add_error(endpoint_of(x) + ": the event stream's " + decoder.error().why);
      state.stream.cancel();
      on_socket_end(index, std::nullopt);
      return;
    }
    state.decoder.emplace(std::move(*decoder));
  }
  progressed();
}

void CopyRun::on_stream_body(size_t index, std::string_view chunk) {
  SessionState& state = sessions_[index];
  if (state.ended) return;
  std::string decoded;
  if (state.decoder) {
    if (auto fed = state.decoder->feed(chunk, decoded); !fed) {
      state.stream.cancel();
      on_socket_end(index, ClientFailure{FailureKind::protocol,
                                         "the event stream did not decode: " + fed.error().why});
      return;
    }
    chunk = decoded;
  }
  std::vector<sse::Event> events;
  auto fed = state.parser->feed(chunk, events);
  const SocketSession& session = s_.sessions[index];
  for (const sse::Event& e : events) {
    SocketEvent event = event_from_sse(session.path, e.type, e.data, e.id);
    int paired = on_event(index, event);
    if (finished_ || state.ended) return;
    // A browser reopening the stream would name this event's id: map the recorded one to it.
    if (paired >= 0 && e.id) {
      const store::SseEvent* recorded = s_.expectations[size_t(paired)].sse;
      if (recorded && recorded->event_id) live_event_ids_[*recorded->event_id] = *e.id;
    }
  }
  if (!fed) {
    state.stream.cancel();
    on_socket_end(
        index, ClientFailure{FailureKind::protocol, "the event stream broke: " + fed.error().why});
  }
}

void CopyRun::close_stream(size_t index) {
  sessions_[index].stream.cancel();
  on_socket_end(index, std::nullopt);
}

}  // namespace wa::replay::run_detail
