#include "storage/timeline.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include "storage/capture_assembler.h"

namespace wa::store {

namespace {

std::string strf(const char* format, auto... args) {
  char buffer[128];
  std::snprintf(buffer, sizeof buffer, format, args...);
  return buffer;
}

// The number of bytes of the UTF-8 sequence starting at s[i], or 0 if it is not a valid one
// (RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xc2) return 0;
  if (n == 3 && c == 0xe0 && byte(i + 1) < 0xa0) return 0;
  if (n == 3 && c == 0xed && byte(i + 1) >= 0xa0) return 0;
  if (n == 4 &&
      (c > 0xf4 || (c == 0xf0 && byte(i + 1) < 0x90) || (c == 0xf4 && byte(i + 1) >= 0x90))) {
    return 0;
  }
  return n;
}

bool utf8_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string offset(Micros us) {
  return strf("%+9.3fs", static_cast<double>(us) / 1e6);  // "   +0.012s"
}

const char* arrow(Direction d) {
  return d == Direction::client ? "C>" : "S>";
}

// "/admin " for a namespace other than the main one, "" for the main one.
std::string ns_prefix(const std::string& ns) {
  return ns.empty() || ns == "/" ? std::string() : printable(ns, 60) + " ";
}

// The namespace itself, "/" when empty.
std::string ns_name(const std::string& ns) {
  return ns.empty() ? "/" : printable(ns, 60);
}

std::string ack_suffix(const std::optional<std::int64_t>& ack) {
  return ack ? strf(" #%" PRId64, *ack) : std::string();
}

// Socket.IO packet types, PROTOCOLS.md §2 (v4/v5).
std::string describe_sio(const SocketPacket& p, std::size_t max) {
  std::string args = p.args.empty() ? "" : " " + printable(p.args, max);
  switch (*p.sio_type) {
    case 0:
      return "connect " + ns_name(p.namespace_) + args;
    case 1:
      return "disconnect " + ns_name(p.namespace_);
    case 2:
    case 5:
      return "event " + ns_prefix(p.namespace_) + printable(p.event, max) + ack_suffix(p.ack_id) +
             args + (p.attachment_count ? strf(" +%d binary", p.attachment_count) : "");
    case 3:
    case 6:
      return "ack " + ns_prefix(p.namespace_) + "#" + strf("%" PRId64, p.ack_id.value_or(-1)) +
             args;
    case 4:
      return "connect_error " + ns_name(p.namespace_) + args;
  }
  return strf("packet type %d", *p.sio_type) + args;
}

// Socket.IO 0.9 frame types, PROTOCOLS.md §3.
std::string describe_sio09(const SocketPacket& p, std::size_t max) {
  std::string args = p.args.empty() ? "" : " " + printable(p.args, max);
  std::string ns = ns_prefix(p.namespace_);
  switch (*p.sio_type) {
    case 0:
      return "disconnect " + ns_name(p.namespace_);
    case 1:
      return "connect " + ns_name(p.namespace_);
    case 2:
      return {};  // heartbeat: not application traffic
    case 3:
      return "message" + (ns.empty() ? "" : " " + ns_name(p.namespace_)) + ack_suffix(p.ack_id) +
             args;
    case 4:
      return "json" + (ns.empty() ? "" : " " + ns_name(p.namespace_)) + ack_suffix(p.ack_id) + args;
    case 5:
      return "event " + ns + printable(p.event, max) + ack_suffix(p.ack_id) + args;
    case 6:
      return "ack " + ns + "#" + strf("%" PRId64, p.ack_id.value_or(-1)) + args;
    case 7:
      return "error " + ns_name(p.namespace_) + args;
    case 8:
      return {};  // noop
  }
  return strf("frame type %d", *p.sio_type) + args;
}

// "" for packets not worth a line: pings, pongs, noops, and the open packet (the session line
// says it).
std::string describe_packet(const SocketPacket& p, std::size_t max) {
  if (!p.eio_type) return p.sio_type ? describe_sio09(p, max) : std::string();
  switch (*p.eio_type) {
    case 1:
      return "engine.io close";
    case 4:
      if (p.sio_type) return describe_sio(p, max);
      // A binary attachment (counted on its event's line) or a plain Engine.IO message.
      if (utf8_valid(p.raw)) return "engine.io message " + printable(p.raw, max);
      return "engine.io binary " + format_size(std::int64_t(p.raw.size()));
    case 5:
      return "engine.io upgrade";
  }
  return {};
}

std::string describe_ws(const WsMessage& m, std::size_t max) {
  const std::string& bytes = m.payload.bytes;
  std::string cut = m.payload.truncated() ? " (cut)" : "";
  if (!m.error.empty()) {
    // Shown whatever its kind: a frame a peer would refuse is never noise.
    cut += " [" + m.error + "]";
    if (m.opcode != 1 && m.opcode != 2 && m.opcode != 8) {
      return strf("ws frame opcode %d ", m.opcode) + format_size(m.payload.full_length) + cut;
    }
  }
  switch (m.opcode) {
    case 1:
      return "ws text " + printable(bytes, max) + cut;
    case 2:
      return "ws binary " + format_size(m.payload.full_length) + cut;
    case 8: {
      // RFC 6455 §5.5.1: an optional 2-byte status code, then a UTF-8 reason.
      if (bytes.size() < 2) return "ws close" + cut;
      int code = (static_cast<unsigned char>(bytes[0]) << 8) | static_cast<unsigned char>(bytes[1]);
      std::string reason = bytes.size() > 2 ? " " + printable(bytes.substr(2), max) : "";
      return strf("ws close %d", code) + reason + cut;
    }
  }
  // Ping and pong are keep-alive noise, unless marked.
  return m.error.empty() ? std::string() : strf("ws frame opcode %d", m.opcode) + cut;
}

std::string describe_exchange(const Exchange& e, std::size_t max) {
  std::string line = printable(e.method, 20) + " " + printable(e.url, max);
  if (e.has_response()) {
    line += strf("  %d", e.status);
    if (e.status == 101) {
      line += " upgrade";
    } else {
      line += "  " + format_size(e.response_body.full_length);
      if (e.response_body.truncated()) line += " (cut)";
    }
  }
  if (e.ended_us) line += "  " + format_duration(*e.ended_us - e.started_us);
  if (!e.error.empty() || !e.error_code.empty()) {
    line += "  error: " +
            printable(e.error_code.empty() ? e.error : e.error_code + ": " + e.error, max);
  }
  return line;
}

// The path and query of an absolute URL ("/events?x=1"), for lines that name their exchange.
std::string_view path_of(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return url;
  size_t path = url.find('/', scheme + 3);
  return path == std::string_view::npos ? std::string_view("/") : url.substr(path);
}

// "GET /events  event=update id=3 {"n":1}": the type only when it is not the default, the id
// when the event carried one.
std::string describe_sse(const SseEvent& e, const Exchange* stream, std::size_t max) {
  std::string text = "sse";
  if (stream)
    text += " " + printable(stream->method, 20) + " " + printable(path_of(stream->url), 60);
  text += " ";
  if (e.event != "message") text += " event=" + printable(e.event, 60);
  if (e.event_id) text += " id=" + printable(*e.event_id, 60);
  if (e.retry_ms) text += strf(" retry=%" PRId64, *e.retry_ms);
  return text + " " + printable(e.data, max);
}

struct Line {
  Micros time;
  int kind;  // ties at one microsecond: connections first, then what they carry
  Id id;
  std::string text;
};

}  // namespace

std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (shown == max) {
      out += "\xe2\x80\xa6";  // …
      break;
    }
    size_t n = utf8_sequence(text, i);
    auto c = static_cast<unsigned char>(text[i]);
    if (n == 0 || c < 0x20 || c == 0x7f) {
      out += strf("\\x%02x", c);
      i += 1;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
    ++shown;
  }
  return out;
}

std::string format_utc(Micros us) {
  std::time_t seconds = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  if (gmtime_r(&seconds, &tm) == nullptr) return "?";
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
  return buffer;
}

std::string format_size(std::int64_t bytes) {
  if (bytes < 1024) return strf("%" PRId64 " B", bytes);
  double v = static_cast<double>(bytes) / 1024;
  if (v < 1024) return strf("%.1f KiB", v);
  v /= 1024;
  if (v < 1024) return strf("%.1f MiB", v);
  return strf("%.1f GiB", v / 1024);
}

std::string format_duration(Micros us) {
  if (us < 0) us = 0;
  if (us < 1000) return strf("%" PRId64 " us", us);
  if (us < 1000000) return strf("%" PRId64 " ms", us / 1000);
  if (us < 60000000) return strf("%.1f s", static_cast<double>(us) / 1e6);
  std::int64_t s = us / 1000000;
  if (s < 3600) return strf("%" PRId64 " min %02" PRId64 " s", s / 60, s % 60);
  return strf("%" PRId64 " h %02" PRId64 " min", s / 3600, (s / 60) % 60);
}

std::string format_recording_list(const std::vector<RecordingSummary>& recordings) {
  if (recordings.empty()) return "no recordings\n";
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"ID", "NAME", "STARTED (UTC)", "DURATION", "CONNECTIONS", "EXCHANGES",
                  "WS MESSAGES", "SOCKET.IO EVENTS", "SSE EVENTS"});
  for (const RecordingSummary& s : recordings) {
    const Recording& r = s.recording;
    rows.push_back({std::to_string(r.id), r.name.empty() ? "-" : printable(r.name, 40),
                    format_utc(r.started_us),
                    r.ended_us ? format_duration(*r.ended_us - r.started_us) : "unfinished",
                    std::to_string(s.connections), std::to_string(s.exchanges),
                    std::to_string(s.ws_messages), std::to_string(s.socket_events),
                    std::to_string(s.sse_events)});
  }
  // Column widths in characters: printable() output is UTF-8, so count code points.
  auto width = [](const std::string& s) {
    return static_cast<size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
  };
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], width(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string pad(widths[i] - width(row[i]), ' ');
      bool text = i == 1 || i == 2;  // left-aligned; numbers right-aligned
      line += text ? row[i] + pad : pad + row[i];
      if (i + 1 < row.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  // Said under the table, only where there are some: a recording that lost nothing reads as
  // before.
  for (const RecordingSummary& s : recordings) {
    if (s.undecodable_packets == 0) continue;
    const bool one = s.undecodable_packets == 1;
    const std::string id = std::to_string(s.recording.id);
    out += "recording " + id + ": " + std::to_string(s.undecodable_packets) +
           (one ? " socket payload" : " socket payloads") +
           " could not be decoded (`workalready show " + id + "` marks " + (one ? "it" : "them") +
           ")\n";
  }
  return out;
}

std::string format_timeline(const RecordingData& data, const TimelineOptions& options) {
  const Recording& r = data.recording;
  const std::size_t max = options.max_text;
  std::string out = "recording " + std::to_string(r.id) + " \"" + printable(r.name, 60) + "\"  " +
                    format_utc(r.started_us) + " UTC";
  out += r.ended_us ? "  " + format_duration(*r.ended_us - r.started_us) : "  unfinished";
  out += "  " + printable(r.mode, 20) + " proxy on " + printable(r.listen, 60);
  if (!r.upstream.empty()) out += " -> " + printable(r.upstream, max);
  out += "\n";

  std::vector<Line> lines;
  for (const Connection& c : data.connections) {
    std::string text = strf("connection %" PRId64 " ", c.id) + printable(c.client_addr, 60) +
                       " -> " + printable(c.server_host, 100) + strf(":%d", c.server_port);
    if (c.tls) {
      text += " TLS";
      if (!c.sni.empty()) text += " sni " + printable(c.sni, 100);
      if (!c.alpn.empty()) text += " alpn " + printable(c.alpn, 20);
    }
    lines.push_back({c.opened_us, 0, c.id, text});
    if (!c.error.empty() && c.closed_us) {
      lines.push_back({*c.closed_us, 6, c.id,
                       strf("connection %" PRId64 " failed: ", c.id) + printable(c.error, max)});
    }
  }

  std::unordered_map<Id, std::vector<const CookieEvent*>> set_cookies;
  for (const CookieEvent& c : data.cookies) {
    if (c.kind == CookieKind::set) set_cookies[c.exchange_id].push_back(&c);
  }
  for (const Exchange& e : data.exchanges) {
    std::string text = describe_exchange(e, max);
    for (const CookieEvent* c : set_cookies[e.id]) {
      text += "\n" + std::string(12, ' ') + "set-cookie " +
              printable(c->raw.empty() ? c->name + "=" + c->value : c->raw, max);
    }
    lines.push_back({e.started_us, 1, e.id, text});
  }

  for (const EioSession& s : data.sessions) {
    const char* what = s.protocol == SocketProtocol::sio09  ? "socket.io 0.9"
                       : s.protocol == SocketProtocol::eio3 ? "engine.io v3"
                                                            : "engine.io v4";
    lines.push_back(
        {s.opened_us, 2, s.id, std::string(what) + " session " + printable(s.sid, 60) + " opened"});
  }

  std::unordered_set<Id> carried;  // WebSocket messages that decoded as socket packets
  for (const SocketPacket& p : data.packets) {
    if (p.ws_message_id) carried.insert(*p.ws_message_id);
    std::string text = describe_packet(p, max);
    // A packet that did not decode is always shown, whatever else it is.
    if (auto why = undecodable_reason(p); !why.empty()) {
      // The packet's own text, before " (error: ".
      std::string_view own(p.raw.data(), size_t(why.data() - p.raw.data()) - 8);
      while (!own.empty() && own.back() == ' ')
        own.remove_suffix(1);
      text = "! not decoded: " + printable(why, max);
      if (!own.empty()) text += "  raw " + printable(own, max);
    }
    if (text.empty()) continue;
    lines.push_back(
        {p.time_us, 3, p.id,
         std::string(arrow(p.direction)) + " " + text + "  [" + to_string(p.transport) + "]"});
  }
  for (const WsMessage& m : data.ws_messages) {
    if (carried.count(m.id)) continue;
    std::string text = describe_ws(m, max);
    if (text.empty()) continue;
    lines.push_back({m.time_us, 4, m.id, std::string(arrow(m.direction)) + " " + text});
  }

  std::unordered_map<Id, const Exchange*> exchanges;
  for (const Exchange& e : data.exchanges)
    exchanges[e.id] = &e;
  for (const SseEvent& e : data.sse_events) {
    auto stream = exchanges.find(e.exchange_id);
    lines.push_back(
        {e.time_us, 5, e.id,
         std::string(arrow(Direction::server)) + " " +
             describe_sse(e, stream == exchanges.end() ? nullptr : stream->second, max)});
  }

  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.kind != b.kind) return a.kind < b.kind;
    return a.id < b.id;
  });
  for (const Line& line : lines) {
    out += offset(line.time - r.started_us) + "  " + line.text + "\n";
  }
  if (lines.empty()) out += "(nothing recorded)\n";
  return out;
}

}  // namespace wa::store
