// LiveValues (correlation.h): the live counterparts of a recording's dynamic values, taken from
// the live outputs at the places the recording showed, and their substitution into what the
// client sends next.
#include <algorithm>

#include "protocol/cookie.h"
#include "protocol/socketio09.h"
#include "protocol/text.h"
#include "replay/body.h"
#include "replay/correlation.h"
#include "replay/html_fields.h"
#include "replay/json_diff.h"

namespace wa::replay {
namespace {

std::optional<std::string> scalar(const Json* value) {
  if (!value) return std::nullopt;
  if (value->is_string()) return value->get<std::string>();
  if (value->is_number_integer()) return sio::dump_json(*value);
  return std::nullopt;
}

// The token `token` of a live text, found after the same anchor when there is one.
std::optional<std::string> pick_token(std::string_view text, int token, std::string_view anchor) {
  auto tokens = value_tokens(text);
  size_t i = size_t(token);
  if (anchor.empty()) {
    if (i < tokens.size()) return std::string(tokens[i]);
    return std::nullopt;
  }
  if (i > 0 && i < tokens.size() && tokens[i - 1] == anchor) return std::string(tokens[i]);
  for (size_t k = 0; k + 1 < tokens.size(); ++k)
    if (tokens[k] == anchor) return std::string(tokens[k + 1]);
  return std::nullopt;
}

// The live sid in a handshake response: 0.9's `sid:hb:close:transports`, or the Engine.IO open
// packet (`0{"sid":…}`, v3 `97:0{"sid":…}`) read as far as its sid member.
std::optional<std::string> handshake_sid(std::string_view body) {
  if (auto hs = sio09::parse_handshake(body)) return hs->sid;
  size_t key = body.find("\"sid\":\"");
  if (key == std::string_view::npos) return std::nullopt;
  size_t start = key + 7, end = body.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(body.substr(start, end - start));
}

}  // namespace

LiveValues::LiveValues(const Correlations& correlations)
    : c_(&correlations), live_(correlations.size()), live_spelled_(correlations.size()) {}

void LiveValues::set(size_t correlation, std::string live) {
  if (correlation >= live_.size() || live.empty()) return;
  // The same value again changes nothing: the spellings others hold views into stay put.
  if (live_[correlation] && *live_[correlation] == live) return;
  if (!live_[correlation]) ++known_;
  auto& spelled = live_spelled_[correlation];
  spelled.clear();
  for (int s = 0; s < kSpellings; ++s)
    spelled.push_back(spell(live, Spelling(s)));
  live_[correlation] = std::move(live);
}

const std::string* LiveValues::live(size_t correlation) const {
  if (correlation >= live_.size() || !live_[correlation]) return nullptr;
  return &*live_[correlation];
}

void LiveValues::learn(size_t correlation, const Source& source, std::optional<std::string> text) {
  if (!text) return;
  if (source.token >= 0) {
    text = pick_token(*text, source.token, source.anchor);
    if (!text) return;
  }
  set(correlation, std::move(*text));
}

void LiveValues::on_response(const store::Exchange& recorded, const store::Exchange& live) {
  const auto& indices = c_->issued_by_exchange(recorded.id);
  if (indices.empty() || !live.has_response()) return;
  // Read the live body once, and only as far as some source needs it.
  std::optional<std::optional<std::string>> body;
  std::optional<std::optional<Json>> doc;
  std::optional<std::vector<HtmlField>> fields;
  auto live_body = [&]() -> const std::optional<std::string>& {
    if (!body) body = decode_content(live.response_body.bytes, live.response_encoding);
    return *body;
  };
  auto live_doc = [&]() -> const std::optional<Json>& {
    if (!doc) {
      doc.emplace();
      if (const auto& b = live_body()) {
        if (auto parsed = sio::parse_json(*b, Errc::bad_encoding)) *doc = std::move(*parsed);
      }
    }
    return *doc;
  };
  for (size_t index : indices) {
    for (const Source& s : c_->list()[index].sources) {
      if (s.exchange_id != recorded.id) continue;
      switch (s.kind) {
        case SourceKind::set_cookie:
          for (const auto& h : live.response_headers) {
            if (!text::iequals(h.name, "set-cookie")) continue;
            auto cookie = cookie::parse_set_cookie(h.value);
            if (cookie && cookie->name == s.name) learn(index, s, cookie->value);
          }
          break;
        case SourceKind::response_header: {
          int n = 0;
          for (const auto& h : live.response_headers) {
            if (!text::iequals(h.name, s.name)) continue;
            if (n++ == s.occurrence) {
              learn(index, s, std::string(text::trim(h.value)));
              break;
            }
          }
          break;
        }
        case SourceKind::json_body:
          if (const auto& d = live_doc()) learn(index, s, scalar(resolve_pointer(*d, s.pointer)));
          break;
        case SourceKind::hidden_input:
        case SourceKind::meta_tag: {
          if (!fields) fields = live_body() ? html_fields(*live_body()) : std::vector<HtmlField>();
          auto kind = s.kind == SourceKind::hidden_input ? HtmlField::Kind::hidden_input
                                                         : HtmlField::Kind::meta;
          for (const auto& f : *fields) {
            if (f.kind == kind && f.occurrence == s.occurrence && text::iequals(f.name, s.name)) {
              learn(index, s, f.value);
              break;
            }
          }
          break;
        }
        case SourceKind::session_sid:
          if (const auto& b = live_body()) learn(index, s, handshake_sid(*b));
          break;
        case SourceKind::rule:
          if (s.rule >= 0 && size_t(s.rule) < c_->rules().extract.size())
            learn(index, s, extract_value(c_->rules().extract[size_t(s.rule)], live, false));
          break;
        case SourceKind::text_place: {
          const auto& b = live_body();
          if (!b) break;
          auto v = read_place(s.place, *b);
          if (!v) break;
          if (!v->same_shape) {
            warnings_.push_back(describe(s) + " holds " + text_excerpt(v->value, 40) +
                                ", not of the recorded value's shape; not substituted");
            break;
          }
          learn(index, s, std::move(v->value));
          break;
        }
        case SourceKind::connect_reply:
        case SourceKind::event_arg:
        case SourceKind::ack_arg:
        case SourceKind::ws_message:
        case SourceKind::sse_event:
          break;
      }
    }
  }
}

void LiveValues::on_packet(const store::SocketPacket& recorded, const SocketEvent& live) {
  for (size_t index : c_->issued_by_packet(recorded.id)) {
    for (const Source& s : c_->list()[index].sources) {
      if (s.packet_id != recorded.id) continue;
      switch (s.kind) {
        case SourceKind::connect_reply:
        case SourceKind::event_arg:
        case SourceKind::ack_arg:
          learn(index, s, scalar(resolve_pointer(live.args, s.pointer)));
          break;
        case SourceKind::rule:
          if (s.rule >= 0 && size_t(s.rule) < c_->rules().extract.size())
            learn(index, s, extract_value(c_->rules().extract[size_t(s.rule)], live));
          break;
        default:
          break;
      }
    }
  }
}

void LiveValues::on_ws_message(const store::WsMessage& recorded, const SocketEvent& live) {
  for (size_t index : c_->issued_by_ws_message(recorded.id)) {
    for (const Source& s : c_->list()[index].sources) {
      if (s.kind != SourceKind::ws_message || s.ws_message_id != recorded.id) continue;
      learn(index, s, scalar(resolve_pointer(live.args, s.pointer)));
    }
  }
}

void LiveValues::on_sse_event(const store::SseEvent& recorded, const SocketEvent& live) {
  for (size_t index : c_->issued_by_sse_event(recorded.id)) {
    for (const Source& s : c_->list()[index].sources) {
      if (s.kind != SourceKind::sse_event || s.sse_event_id != recorded.id) continue;
      learn(index, s, scalar(resolve_pointer(live.args, s.pointer)));
    }
  }
}

void LiveValues::on_session(store::Id session_id, std::string_view live_sid) {
  for (size_t index : c_->issued_by_session(session_id)) {
    for (const Source& s : c_->list()[index].sources) {
      if (s.kind == SourceKind::session_sid && s.session_id == session_id)
        learn(index, s, std::string(live_sid));
    }
  }
}

void LiveValues::try_substitute(size_t index, const Place& place,
                                std::vector<Replacement>& out) const {
  if (!live_[index]) return;
  const Correlation& c = c_->list()[index];
  if (*live_[index] == c.value) return;
  if (!c.rule.empty() && !c_->rules().may_substitute(c.rule, place.part, place.header)) return;
  const auto& live = live_spelled_[index];
  for (const auto& recorded : c.spelled) {
    Spelling s = recorded.spelling;
    // The recorded text cannot tell encodeURIComponent from a form encoder when the value
    // has no space or !'()~; a body is most likely a form (space as '+'), a URL a script's.
    if (s == Spelling::url && place.part == Part::body &&
        recorded.text == spell(c.value, Spelling::form))
      s = Spelling::form;
    out.push_back({recorded.text, live[size_t(s)]});
  }
}

std::string LiveValues::substitute(std::string_view text, const Place& place, size_t* count) const {
  if (count) *count = 0;
  if (known_ == 0) return std::string(text);
  std::vector<Replacement> replacements;
  if (place.id != 0) {
    for (size_t index : c_->used_by(place.owner, place.id))
      try_substitute(index, place, replacements);
  } else {
    for (size_t index = 0; index < live_.size(); ++index)
      try_substitute(index, place, replacements);
  }
  if (replacements.empty()) return std::string(text);
  return replace_whole(text, replacements, count);
}

std::vector<ValuePair> LiveValues::pairs() const {
  std::vector<ValuePair> out;
  for (size_t i = 0; i < live_.size(); ++i)
    if (live_[i])
      out.push_back({c_->list()[i].value, *live_[i], i, &c_->list()[i].spelled, &live_spelled_[i]});
  return out;
}

}  // namespace wa::replay
