#include "replay/script.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "protocol/engineio.h"
#include "protocol/socketio09.h"
#include "protocol/sse.h"
#include "protocol/text.h"
#include "protocol/url.h"
#include "replay/socket_event.h"

namespace wa::replay {
namespace {

// Union-find over exchange indices.
struct Groups {
  std::vector<size_t> parent;
  explicit Groups(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  size_t find(size_t i) {
    while (parent[i] != i)
      i = parent[i] = parent[parent[i]];
    return i;
  }
  void join(size_t a, size_t b) {
    a = find(a), b = find(b);
    if (a != b) parent[std::max(a, b)] = std::min(a, b);  // the earliest exchange is the root
  }
};

// The Engine.IO sid (query) or 0.9 sid (path) a transport request names, "" if none.
std::string session_id_of(std::string_view url) {
  eio::Query q = eio::parse_query(url);
  if (!q.sid.empty()) return q.sid;
  std::string path = std::string(url);
  if (auto scheme = path.find("://"); scheme != std::string::npos) {
    auto slash = path.find('/', scheme + 3);
    path = slash == std::string::npos ? "/" : path.substr(slash);
  }
  if (path.find("/1/") == std::string::npos) return {};
  // `<resource>/1/<transport>/<sid>`: the resource is whatever precedes the last "/1/".
  auto at = path.rfind("/1/");
  while (at != std::string::npos) {
    auto parsed = sio09::parse_path(path, path.substr(0, at));
    if (parsed && !parsed->sid.empty()) return parsed->sid;
    if (at == 0) break;
    at = path.rfind("/1/", at - 1);
  }
  return {};
}

// Packets that are the live client's business, not the application's.
bool is_transport_chatter(const store::SocketPacket& p) {
  if (p.eio_type) {
    int t = *p.eio_type;
    if (t != 4) return true;         // open, close, ping, pong, upgrade, noop
    return !p.sio_type.has_value();  // a binary attachment: part of its packet
  }
  if (!p.sio_type) return true;
  return *p.sio_type == 2 || *p.sio_type == 8;  // 0.9 heartbeat, noop
}

bool decoded_cleanly(const store::SocketPacket& p) {
  return p.raw.find("(error: ") == std::string::npos;
}

// A login form's user name, for labels: username=, user=, email=, login= in a form body.
std::string form_user(const store::Exchange& x) {
  if (x.method != "POST") return {};
  std::string_view body = x.request_body.bytes;
  if (body.size() > 4096) return {};
  url::Query form(body);
  for (const char* key : {"username", "user", "email", "login", "name"}) {
    if (auto v = form.get(key); v && !v->empty() && v->size() < 64) return *v;
  }
  return {};
}

// The identities of the server messages of a plain WebSocket that came periodically: at least
// four of a kind, at a steady interval (every gap within 35% of the median gap, which is at
// least 50 ms), most of them not right after a client message (answers are not heartbeats).
std::set<std::string> periodic_kinds(const std::string& path,
                                     const std::vector<const store::WsMessage*>& messages) {
  std::map<std::string, std::vector<int64_t>> times;
  std::vector<int64_t> client_times;
  for (const store::WsMessage* m : messages) {
    if (m->opcode != 1 && m->opcode != 2) continue;
    if (m->direction == store::Direction::client) {
      client_times.push_back(m->time_us);
      continue;
    }
    times[identity(event_from_ws(path, m->opcode == 2, m->payload.bytes))].push_back(m->time_us);
  }
  std::set<std::string> out;
  for (auto& [key, at] : times) {
    if (at.size() < 4) continue;
    std::vector<int64_t> gaps;
    for (size_t i = 1; i < at.size(); ++i)
      gaps.push_back(at[i] - at[i - 1]);
    std::vector<int64_t> sorted = gaps;
    std::nth_element(sorted.begin(), sorted.begin() + long(sorted.size() / 2), sorted.end());
    int64_t median = sorted[sorted.size() / 2];
    if (median < 50'000) continue;
    bool steady = std::all_of(gaps.begin(), gaps.end(), [&](int64_t g) {
      return g * 100 >= median * 65 && g * 100 <= median * 135;
    });
    size_t answers = size_t(std::count_if(at.begin(), at.end(), [&](int64_t t) {
      return std::any_of(client_times.begin(), client_times.end(),
                         [&](int64_t c) { return c <= t && t - c < 10'000; });
    }));
    if (steady && answers * 2 < at.size()) out.insert(key);
  }
  return out;
}

// A response recorded as an event stream (HTML Living Standard §9.2.5).
bool is_event_stream(const store::Exchange& x) {
  if (x.status != 200) return false;
  for (const store::Header& h : x.response_headers)
    if (text::iequals(h.name, "content-type")) return sse::is_event_stream(h.value);
  return false;
}

}  // namespace

const char* action_kind_name(ActionKind kind) {
  switch (kind) {
    case ActionKind::http:
      return "http";
    case ActionKind::socket_open:
      return "socket_open";
    case ActionKind::socket_send:
      return "socket_send";
    case ActionKind::socket_close:
      return "socket_close";
  }
  return "?";
}

const char* plan_name(Plan plan) {
  switch (plan) {
    case Plan::polling:
      return "polling";
    case Plan::upgrade:
      return "polling, then websocket";
    case Plan::websocket_only:
      return "websocket";
  }
  return "?";
}

std::optional<SocketEvent> recorded_event(const Script& script, const Expectation& x) {
  if (x.kind == Expectation::Kind::packet && x.packet) return event_from_recorded(*x.packet);
  if (x.kind == Expectation::Kind::message && x.message && x.session >= 0)
    return event_from_ws(script.sessions[size_t(x.session)].path, x.message->opcode == 2,
                         x.message->payload.bytes);
  if (x.kind == Expectation::Kind::sse && x.sse && x.session >= 0)
    return event_from_sse(script.sessions[size_t(x.session)].path, x.sse->event, x.sse->data,
                          x.sse->event_id);
  return std::nullopt;
}

std::string origin_of(std::string_view text) {
  auto u = url::parse(text);
  if (!u || u->scheme.empty() || u->host.empty()) return {};
  return url::origin(url::normalise(*u));
}

// When a response counts as given: its head. A browser acts on the head (it follows a 303 at
// once, with the Set-Cookie it carries, often before the body has ended, and on another
// connection), so whatever started after the head may depend on it.
namespace {
int64_t response_time(const store::Exchange& x) {
  return x.first_byte_us ? *x.first_byte_us : x.ended_us.value_or(x.started_us);
}
}  // namespace

Script build_script(store::RecordingData data,
                    const std::function<bool(const std::string& origin)>& is_mapped) {
  Script script;
  script.data = std::move(data);
  const auto& exchanges = script.data.exchanges;
  std::map<store::Id, size_t> exchange_index;
  for (size_t i = 0; i < exchanges.size(); ++i)
    exchange_index[exchanges[i].id] = i;

  // --- Tell the browsers apart -----------------------------------------------------------
  Groups groups(exchanges.size());
  std::map<store::Id, size_t> first_on_connection;
  for (size_t i = 0; i < exchanges.size(); ++i) {
    auto [it, fresh] = first_on_connection.emplace(exchanges[i].connection_id, i);
    if (!fresh) groups.join(it->second, i);
  }
  std::map<std::string, size_t> first_with_cookie;
  for (const auto& c : script.data.cookies) {
    if (c.value.size() < 8) continue;
    auto x = exchange_index.find(c.exchange_id);
    if (x == exchange_index.end()) continue;
    auto [it, fresh] = first_with_cookie.emplace(c.name + "=" + c.value, x->second);
    if (!fresh) groups.join(it->second, x->second);
  }
  std::map<std::string, size_t> first_with_sid;
  std::map<std::string, std::vector<size_t>> session_exchanges;
  for (size_t i = 0; i < exchanges.size(); ++i) {
    if (!traffic::Observer::is_socket_request(exchanges[i].url)) continue;
    std::string sid = session_id_of(exchanges[i].url);
    if (sid.empty()) continue;
    session_exchanges[sid].push_back(i);
    auto [it, fresh] = first_with_sid.emplace(sid, i);
    if (!fresh) groups.join(it->second, i);
  }
  for (const auto& s : script.data.sessions) {
    if (!s.handshake_exchange_id) continue;
    auto h = exchange_index.find(*s.handshake_exchange_id);
    auto first = first_with_sid.find(s.sid);
    if (h != exchange_index.end() && first != first_with_sid.end()) {
      groups.join(h->second, first->second);
    }
  }
  std::map<size_t, int> client_of_root;
  auto client_of = [&](size_t exchange) {
    size_t root = groups.find(exchange);
    auto [it, fresh] = client_of_root.emplace(root, int(client_of_root.size()));
    if (fresh) script.clients.emplace_back();
    return it->second;
  };
  for (size_t i = 0; i < exchanges.size(); ++i)
    client_of(i);

  // --- Socket sessions ---------------------------------------------------------------------
  std::set<size_t> absorbed;  // transport requests the live socket client makes itself
  std::map<store::Id, int> session_of_row;
  for (const auto& row : script.data.sessions) {
    SocketSession s;
    s.protocol = row.protocol;
    s.recorded_sid = row.sid;
    bool polling = false, websocket = false;
    int client = -1;
    for (size_t i : session_exchanges[row.sid]) {
      absorbed.insert(i);
      client = client_of(i);
      if (exchanges[i].status == 101) {
        websocket = true;
      } else {
        polling = true;
      }
    }
    if (row.handshake_exchange_id) {
      if (auto h = exchange_index.find(*row.handshake_exchange_id); h != exchange_index.end()) {
        s.handshake = &exchanges[h->second];
        absorbed.insert(h->second);
        client = client_of(h->second);
        // A 0.9 handshake is a plain GET; the transports come after it.
        if (s.handshake->status == 101)
          websocket = true;
        else if (row.protocol != store::SocketProtocol::sio09)
          polling = true;
      }
    }
    if (client < 0) {
      script.warnings.push_back("session " + row.sid + " has no request to replay it from");
      continue;
    }
    s.client = client;
    s.plan = websocket && polling ? Plan::upgrade
             : websocket          ? Plan::websocket_only
                                  : Plan::polling;
    if (!s.handshake) {
      script.warnings.push_back("session " + row.sid +
                                " was already open when the recording began: not replayed");
      continue;
    }
    if (!is_mapped(origin_of(s.handshake->url))) {
      for (size_t i : session_exchanges[row.sid])
        script.skipped.push_back(&exchanges[i]);
      script.skipped.push_back(s.handshake);
      continue;
    }
    session_of_row[row.id] = int(script.sessions.size());
    script.sessions.push_back(std::move(s));
  }

  // --- Plain WebSockets ---------------------------------------------------------------------
  // An upgrade that no Engine.IO or 0.9 session claimed, with its messages.
  std::map<store::Id, std::vector<const store::WsMessage*>> messages_of;
  for (const store::WsMessage& m : script.data.ws_messages)
    messages_of[m.exchange_id].push_back(&m);
  std::map<int, store::Id> websocket_of;  // session index → its upgrade exchange
  for (size_t i = 0; i < exchanges.size(); ++i) {
    const store::Exchange& x = exchanges[i];
    if (absorbed.count(i) || x.status != 101 || traffic::Observer::is_socket_request(x.url))
      continue;
    absorbed.insert(i);
    if (!is_mapped(origin_of(x.url))) {
      script.skipped.push_back(&x);
      continue;
    }
    SocketSession s;
    s.kind = ChannelKind::websocket;
    s.client = client_of(i);
    s.handshake = &x;
    s.plan = Plan::websocket_only;
    auto u = url::parse(x.url);
    s.path = u && !u->path.empty() ? u->path : "/";
    s.periodic = periodic_kinds(s.path, messages_of[x.id]);
    for (const store::WsMessage* m : messages_of[x.id]) {
      if (m->opcode != 8) continue;
      if (m->direction == store::Direction::server) {
        // RFC 6455 §5.5.1: the status, if any, is the first two bytes of the payload.
        const std::string& p = m->payload.bytes;
        s.server_close_code = p.size() >= 2 ? (int(uint8_t(p[0])) << 8) | int(uint8_t(p[1])) : 1005;
      }
      break;  // whoever closed first
    }
    websocket_of[int(script.sessions.size())] = x.id;
    script.sessions.push_back(std::move(s));
  }

  // --- Event streams -------------------------------------------------------------------------
  std::map<store::Id, std::vector<const store::SseEvent*>> events_of;
  for (const store::SseEvent& e : script.data.sse_events)
    events_of[e.exchange_id].push_back(&e);
  std::map<int, store::Id> stream_of;  // session index → its exchange
  for (size_t i = 0; i < exchanges.size(); ++i) {
    const store::Exchange& x = exchanges[i];
    if (absorbed.count(i) || !is_event_stream(x)) continue;
    if (!is_mapped(origin_of(x.url))) continue;  // skipped with the other exchanges below
    absorbed.insert(i);
    SocketSession s;
    s.kind = ChannelKind::sse;
    s.client = client_of(i);
    s.handshake = &x;
    s.server_ends = x.error_code.empty() && x.ended_us.has_value();
    auto u = url::parse(x.url);
    s.path = u && !u->path.empty() ? u->path : "/";
    stream_of[int(script.sessions.size())] = x.id;
    script.sessions.push_back(std::move(s));
  }

  // --- Actions and expectations, in recorded order ------------------------------------------
  struct Pending {
    int64_t time;
    int order;  // ties: requests before their responses, in capture order
    bool is_action;
    Action action;
    Expectation expectation;
  };
  std::vector<Pending> items;
  int order = 0;
  for (size_t i = 0; i < exchanges.size(); ++i) {
    if (absorbed.count(i)) continue;
    const store::Exchange& x = exchanges[i];
    if (x.method == "CONNECT") continue;
    if (!is_mapped(origin_of(x.url))) {
      script.skipped.push_back(&x);
      continue;
    }
    if (!x.error.empty() && x.status == 0) {
      script.warnings.push_back(x.method + " " + x.url + " was recorded without a response (" +
                                x.error + "): not replayed");
      script.skipped.push_back(&x);
      continue;
    }
    Pending request{x.started_us, order++, true, {}, {}};
    request.action.kind = ActionKind::http;
    request.action.client = client_of(i);
    request.action.recorded_us = x.started_us;
    request.action.exchange = &x;
    items.push_back(request);
    Pending response{response_time(x), order++, false, {}, {}};
    response.expectation.kind = Expectation::Kind::response;
    response.expectation.client = client_of(i);
    response.expectation.recorded_us = response.time;
    items.push_back(response);
  }
  // When each session ends: the client's Close frame on its WebSocket, if it sent one (what the
  // server sent after it answers the close and is not expected); else its last packet.
  std::map<int, int64_t> session_end;
  std::map<int, int64_t> client_closed;
  auto note_close = [&](int index, store::Id upgrade) {
    for (const store::WsMessage* m : messages_of[upgrade]) {
      if (m->opcode != 8 || m->direction != store::Direction::client) continue;
      auto [it, fresh] = client_closed.emplace(index, m->time_us);
      if (!fresh) it->second = std::min(it->second, m->time_us);
    }
  };
  for (size_t index = 0; index < script.sessions.size(); ++index) {
    SocketSession& s = script.sessions[index];
    Pending open{s.handshake->started_us, order++, true, {}, {}};
    open.action.kind = ActionKind::socket_open;
    open.action.client = s.client;
    open.action.recorded_us = s.handshake->started_us;
    open.action.session = int(index);
    items.push_back(open);
    // An upgrade's exchange ends with its WebSocket: the session starts with the 101's head.
    session_end[int(index)] = s.handshake->status == 101
                                  ? s.handshake->first_byte_us.value_or(s.handshake->started_us)
                                  : s.handshake->ended_us.value_or(s.handshake->started_us);
    if (s.handshake->status == 101) note_close(int(index), s.handshake->id);
    if (s.kind == ChannelKind::engineio)
      for (size_t i : session_exchanges[s.recorded_sid])
        if (exchanges[i].status == 101) note_close(int(index), exchanges[i].id);
  }
  auto after_close = [&](int index, int64_t time) {
    auto closed = client_closed.find(index);
    return closed != client_closed.end() && time > closed->second;
  };
  for (const auto& [index, upgrade] : websocket_of) {
    SocketSession& s = script.sessions[size_t(index)];
    for (const store::WsMessage* m : messages_of[upgrade]) {
      bool client = m->direction == store::Direction::client;
      if (!m->error.empty()) {
        // Recorded as it came but marked (a frame a peer would refuse, or where the frames
        // could no longer be read): neither sent nor expected, and said so.
        script.warnings.push_back(std::string(client ? "a client" : "a server") +
                                  " WebSocket message on " + s.path + " was recorded marked (" +
                                  m->error + "): not replayed");
        continue;
      }
      if (m->opcode != 1 && m->opcode != 2) continue;
      if (!client && after_close(index, m->time_us)) continue;
      session_end[index] = std::max(session_end[index], m->time_us);
      if (!client &&
          s.periodic.count(identity(event_from_ws(s.path, m->opcode == 2, m->payload.bytes))))
        continue;
      Pending item{m->time_us, order++, client, {}, {}};
      if (client) {
        item.action.kind = ActionKind::socket_send;
        item.action.client = s.client;
        item.action.recorded_us = m->time_us;
        item.action.session = index;
        item.action.message = m;
      } else {
        item.expectation.kind = Expectation::Kind::message;
        item.expectation.client = s.client;
        item.expectation.recorded_us = m->time_us;
        item.expectation.session = index;
        item.expectation.message = m;
      }
      items.push_back(item);
    }
  }
  std::vector<const store::SocketPacket*> packets;
  for (const auto& p : script.data.packets)
    packets.push_back(&p);
  std::stable_sort(packets.begin(), packets.end(), [](auto* a, auto* b) {
    return a->time_us != b->time_us ? a->time_us < b->time_us : a->position < b->position;
  });
  for (const store::SocketPacket* p : packets) {
    if (!p->session_id) continue;
    auto s = session_of_row.find(*p->session_id);
    if (s == session_of_row.end()) continue;
    if (p->direction == store::Direction::server && after_close(s->second, p->time_us)) continue;
    session_end[s->second] = std::max(session_end[s->second], p->time_us);
    if (is_transport_chatter(*p)) continue;
    if (!decoded_cleanly(*p)) {
      script.warnings.push_back("a packet of session " +
                                script.sessions[size_t(s->second)].recorded_sid +
                                " did not decode when recorded: not replayed (" + p->raw + ")");
      continue;
    }
    Pending item{p->time_us, order++, p->direction == store::Direction::client, {}, {}};
    if (item.is_action) {
      item.action.kind = ActionKind::socket_send;
      item.action.client = script.sessions[size_t(s->second)].client;
      item.action.recorded_us = p->time_us;
      item.action.session = s->second;
      item.action.packet = p;
    } else {
      item.expectation.kind = Expectation::Kind::packet;
      item.expectation.client = script.sessions[size_t(s->second)].client;
      item.expectation.recorded_us = p->time_us;
      item.expectation.session = s->second;
      item.expectation.packet = p;
    }
    items.push_back(item);
  }
  for (const auto& [index, stream] : stream_of) {
    SocketSession& s = script.sessions[size_t(index)];
    for (const store::SseEvent* e : events_of[stream]) {
      session_end[index] = std::max(session_end[index], e->time_us);
      Pending item{e->time_us, order++, false, {}, {}};
      item.expectation.kind = Expectation::Kind::sse;
      item.expectation.client = s.client;
      item.expectation.recorded_us = e->time_us;
      item.expectation.session = index;
      item.expectation.sse = e;
      items.push_back(item);
    }
    // The stream ended when the browser let it go (or the server ended it).
    if (s.handshake->ended_us)
      session_end[index] = std::max(session_end[index], *s.handshake->ended_us);
  }
  for (auto [index, end] : session_end) {
    if (auto closed = client_closed.find(index); closed != client_closed.end())
      end = std::max(end, closed->second);
    // Just after: a close waits for every output recorded up to its moment (an ack that came in
    // the same microsecond as the last packet included), as the browser did.
    Pending close{end + 1, order++, true, {}, {}};
    close.action.kind = ActionKind::socket_close;
    close.action.client = script.sessions[size_t(index)].client;
    close.action.recorded_us = end + 1;
    close.action.session = index;
    items.push_back(close);
  }
  std::stable_sort(items.begin(), items.end(), [](const Pending& a, const Pending& b) {
    return a.time != b.time ? a.time < b.time : a.order < b.order;
  });

  // Responses follow their requests: link them once both have indices.
  std::map<const store::Exchange*, int> action_of_exchange;
  std::vector<int> last_action(script.clients.size(), -1);
  for (Pending& item : items) {
    if (item.is_action) {
      Action a = item.action;
      a.wait_for = int(script.expectations.size());
      a.previous = last_action[size_t(a.client)];
      int index = int(script.actions.size());
      last_action[size_t(a.client)] = index;
      script.clients[size_t(a.client)].actions.push_back(index);
      if (a.kind == ActionKind::http) action_of_exchange[a.exchange] = index;
      if (a.kind == ActionKind::socket_open) script.sessions[size_t(a.session)].open_action = index;
      script.actions.push_back(a);
    } else {
      script.expectations.push_back(item.expectation);
    }
  }
  // Each response expectation belongs to the request before it in `items` with the same client;
  // the pairing is by exchange, recovered from the capture order of the two items.
  {
    size_t e = 0;
    std::map<int, std::vector<int>> open_requests;  // client -> http actions awaiting a response
    for (Pending& item : items) {
      if (item.is_action) {
        if (item.action.kind == ActionKind::http) {
          open_requests[item.action.client].push_back(action_of_exchange[item.action.exchange]);
        }
        continue;
      }
      Expectation& x = script.expectations[e++];
      if (x.kind != Expectation::Kind::response) {
        script.sessions[size_t(x.session)].expectations.push_back(int(e - 1));
        continue;
      }
      // The earliest open request of the client whose response ended at this time.
      auto& open = open_requests[x.client];
      for (auto it = open.begin(); it != open.end(); ++it) {
        const store::Exchange* ex = script.actions[size_t(*it)].exchange;
        if (response_time(*ex) == x.recorded_us) {
          x.action = *it;
          script.actions[size_t(*it)].expectation = int(e - 1);
          open.erase(it);
          break;
        }
      }
    }
  }
  // A request never waits for its own response, and one recorded at the same microsecond as a
  // response it caused is still after it: wait_for counts strictly earlier expectations.
  for (Action& a : script.actions) {
    int n = a.wait_for;
    while (n > 0 && script.expectations[size_t(n - 1)].recorded_us >= a.recorded_us)
      --n;
    a.wait_for = n;
  }

  // --- Seeds, labels, the main origin --------------------------------------------------------
  std::map<int, std::set<std::string>> set_so_far;
  std::map<store::Id, int> client_of_exchange;
  for (size_t i = 0; i < exchanges.size(); ++i)
    client_of_exchange[exchanges[i].id] = client_of(i);
  for (const auto& c : script.data.cookies) {  // capture order
    auto who = client_of_exchange.find(c.exchange_id);
    if (who == client_of_exchange.end()) continue;
    auto& known = set_so_far[who->second];
    if (c.kind == store::CookieKind::set) {
      known.insert(c.name);
    } else if (!known.count(c.name)) {
      known.insert(c.name);
      script.clients[size_t(who->second)].seed_cookies.push_back({c.name, c.value});
    }
  }
  for (size_t i = 0; i < exchanges.size(); ++i) {
    Client& client = script.clients[size_t(client_of(i))];
    if (client.label.empty()) {
      std::string user = form_user(exchanges[i]);
      if (!user.empty()) client.label = user;
    }
  }
  // Clients left with nothing to replay (only skipped requests) are dropped; the rest are
  // numbered by their first action.
  std::vector<int> remap(script.clients.size(), -1);
  std::vector<Client> kept;
  for (const Action& a : script.actions) {
    if (remap[size_t(a.client)] >= 0) continue;
    remap[size_t(a.client)] = int(kept.size());
    kept.push_back(std::move(script.clients[size_t(a.client)]));
  }
  script.clients = std::move(kept);
  for (Action& a : script.actions)
    a.client = remap[size_t(a.client)];
  for (Expectation& x : script.expectations)
    x.client = remap[size_t(x.client)];
  for (SocketSession& session : script.sessions)
    session.client = remap[size_t(session.client)];
  for (size_t c = 0; c < script.clients.size(); ++c) {
    std::string who = "client " + std::to_string(c + 1);
    script.clients[c].label =
        script.clients[c].label.empty() ? who : who + " (" + script.clients[c].label + ")";
  }
  for (const Action& a : script.actions) {
    const store::Exchange* x = a.kind == ActionKind::http ? a.exchange
                               : a.kind == ActionKind::socket_open
                                   ? script.sessions[size_t(a.session)].handshake
                                   : nullptr;
    if (x) {
      script.main_origin = origin_of(x->url);
      break;
    }
  }
  return script;
}

}  // namespace wa::replay
