#include "protocol/http1.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "protocol/text.h"
#include "protocol/url.h"

namespace wa::http {

namespace {

// Request methods that change how a response is framed (RFC 9112 §6.3 rules 1 and 2).
constexpr uint8_t kOtherMethod = 0;
constexpr uint8_t kHeadMethod = 1;
constexpr uint8_t kConnectMethod = 2;

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

void trim_trailing_ows(std::string& s) {
  while (!s.empty() && is_ows(s.back()))
    s.pop_back();
}

// llhttp's reasons start with a capital and carry no period; ours are lower-case.
std::string lower_first(const char* reason) {
  std::string out = reason != nullptr && *reason != '\0' ? reason : "malformed message";
  if (out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

// RFC 9112 §6.3 rule 4 and §7: the codings of every Transfer-Encoding field of a request, taken
// together in order, must end in chunked and apply it once. A proxy cannot undo any other coding
// to record the body, and a server that knows a coding the proxy does not would frame the
// message another way, so only chunked alone is forwarded. Returns why a list is refused, or
// null for none or plain chunked.
const char* check_transfer_codings(const Headers& headers) {
  int codings = 0, chunked = 0;
  bool last_chunked = false;
  bool any = false;
  for (const auto& h : headers) {
    if (!text::iequals(h.name, "transfer-encoding")) continue;
    any = true;
    std::string_view rest = h.value;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view element = text::trim(rest.substr(0, comma));
      if (!element.empty()) {  // RFC 9110 §5.6.1: empty list elements do not count
        ++codings;
        last_chunked = text::iequals(element, "chunked");
        if (last_chunked) ++chunked;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (!any) return nullptr;
  if (!last_chunked) return "Transfer-Encoding whose last coding is not chunked";
  if (chunked > 1) return "Transfer-Encoding that applies chunked more than once";
  if (codings > 1) return "Transfer-Encoding with a coding other than chunked";
  return nullptr;
}

}  // namespace

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (text::iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

bool has_token(const Headers& headers, std::string_view name, std::string_view token) {
  for (const auto& h : headers) {
    if (!text::iequals(h.name, name)) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view element = text::trim(rest.substr(0, comma));
      if (text::iequals(element, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// Trampolines from llhttp's C callbacks to the Parser that owns the llhttp_t (parser->data).
struct Callbacks {
  static Parser& self(llhttp_t* p) { return *static_cast<Parser*>(p->data); }

  static int message_begin(llhttp_t* p) { return self(p).on_message_begin(); }
  static int url(llhttp_t* p, const char* at, size_t n) {
    return self(p).on_span(&self(p).head_.target, at, n);
  }
  static int status(llhttp_t* p, const char* at, size_t n) {
    return self(p).on_span(&self(p).head_.reason, at, n);
  }
  static int header_field(llhttp_t* p, const char* at, size_t n) {
    return self(p).on_header_field(at, n);
  }
  static int header_field_complete(llhttp_t* p) { return self(p).on_header_field_complete(); }
  static int header_value(llhttp_t* p, const char* at, size_t n) {
    return self(p).on_header_value(at, n);
  }
  static int header_value_complete(llhttp_t* p) { return self(p).on_header_value_complete(); }
  static int headers_complete(llhttp_t* p) { return self(p).on_headers_complete(); }
  static int body(llhttp_t* p, const char* at, size_t n) { return self(p).on_body(at, n); }
  static int chunk_header(llhttp_t* p) { return self(p).on_chunk_header(); }
  static int message_complete(llhttp_t* p) { return self(p).on_message_complete(); }

  static llhttp_settings_t make() {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = message_begin;
    s.on_url = url;
    s.on_status = status;
    s.on_header_field = header_field;
    s.on_header_field_complete = header_field_complete;
    s.on_header_value = header_value;
    s.on_header_value_complete = header_value_complete;
    s.on_headers_complete = headers_complete;
    s.on_body = body;
    s.on_chunk_header = chunk_header;
    s.on_message_complete = message_complete;
    return s;
  }
};

namespace {
// A constant table of function pointers, shared by every parser (llhttp keeps a pointer to it).
const llhttp_settings_t kSettings = Callbacks::make();
}  // namespace

Parser::Parser(Role role, Limits limits) : role_(role), limits_(limits) {
  llhttp_init(&parser_, role == Role::request ? HTTP_REQUEST : HTTP_RESPONSE, &kSettings);
  parser_.data = this;
  if (role == Role::response) {
    // RFC 9112 §6.3 rule 3: in a response, Transfer-Encoding overrides Content-Length; browsers
    // read such responses, only requests must be refused (§6.3, §11.2).
    llhttp_set_lenient_chunked_length(&parser_, 1);
    // Browsers accept LF-only lines (§2.2 allows it), control bytes in field values, whitespace
    // before the colon (removed below, as §5.1 asks of proxies) and after the status line.
    llhttp_set_lenient_headers(&parser_, 1);
  }
}

void Parser::expect_response_to(std::string_view method) {
  uint8_t kind = kOtherMethod;
  if (method == "HEAD") kind = kHeadMethod;
  if (method == "CONNECT") kind = kConnectMethod;
  expected_.push_back(kind);
}

void Parser::resume_after_upgrade() {
  if (!upgraded_) return;
  upgraded_ = false;
  llhttp_resume_after_upgrade(&parser_);
}

bool Parser::in_message() const {
  return !in_head_ || message_begun_ || swallow_ > 0;
}

Failure Parser::record(Errc code, std::string why, size_t at) {
  if (!failure_) {
    failure_ = fail(code, std::move(why));
    error_offset_ = at;
    error_position_ = base_ + at;
  }
  return *failure_;
}

Failure Parser::failure_from_llhttp(llhttp_errno_t err, size_t at) {
  std::string why = lower_first(llhttp_get_error_reason(&parser_));
  Errc code = Errc::http_malformed;
  switch (err) {
    case HPE_UNEXPECTED_CONTENT_LENGTH:  // RFC 9112 §6.3 rule 3, §11.2
      code = Errc::http_smuggling;
      why = why.find("uplicate") != std::string::npos ? "duplicate Content-Length"
                                                      : "Content-Length with Transfer-Encoding";
      break;
    case HPE_INVALID_TRANSFER_ENCODING:  // RFC 9112 §6.3 rule 4
      code = Errc::http_smuggling;
      why = "Transfer-Encoding whose last coding is not chunked";
      break;
    case HPE_PAUSED_H2_UPGRADE:
      why = "HTTP/2 connection preface on an HTTP/1.1 connection";
      break;
    default:
      break;
  }
  return record(code, std::move(why), at);
}

// Our own rules on the bytes before `at` in the current buffer: the header section limit, and
// for requests the strict line endings. The first rule broken, in stream order, is recorded.
bool Parser::check_until(size_t at) {
  if (failure_) return false;
  if (in_head_ || in_trailers_) {
    uint64_t start = in_head_ ? head_start_ : trailer_start_;
    if (base_ + at - start > limits_.max_head_bytes) {
      uint64_t limit = start + limits_.max_head_bytes;
      size_t lim = limit > base_ + cursor_ ? static_cast<size_t>(limit - base_) : cursor_;
      if (!scan_request_bytes(lim)) return false;
      record(Errc::http_header_too_large,
             std::string(in_head_ ? "header" : "trailer") + " section over " +
                 std::to_string(limits_.max_head_bytes) + " bytes",
             lim);
      return false;
    }
  }
  return scan_request_bytes(at);
}

// Requests, every byte outside body data: lines end in CRLF, never a bare CR or LF (RFC 9112
// §2.2); no line starts with whitespace, which would be obs-fold (§5.2); chunk data is followed
// by CRLF (§7.1), which llhttp 8 does not check. Different readings of these are how requests
// are smuggled past a proxy (§11.2), so a request parsed here means one thing only.
bool Parser::scan_request_bytes(size_t at) {
  if (role_ == Role::response || at <= cursor_) {
    cursor_ = std::max(cursor_, at);
    return true;
  }
  auto broken = [&](size_t pos, Errc code, const char* why) {
    cursor_ = pos;
    record(code, why, pos);
    return false;
  };
  size_t i = cursor_;
  while (i < at) {
    char c = data_[i];
    if (crlf_expected_ > 0) {
      if (c != (crlf_expected_ == 2 ? '\r' : '\n')) {
        return broken(i, Errc::http_smuggling, "chunk data not followed by CRLF");
      }
      if (--crlf_expected_ == 0) line_start_ = true;
      ++i;
      continue;
    }
    if (prev_cr_) {
      if (c != '\n') return broken(i, Errc::http_malformed, "bare CR");
      prev_cr_ = false;
      line_start_ = true;
      ++i;
      continue;
    }
    if (line_start_ && is_ows(c)) {
      return broken(i, Errc::http_malformed, "obs-fold (a line starting with whitespace)");
    }
    // The rest of the line in one step: up to the next CR, which must come right before the
    // next LF.
    const char* from = data_ + i;
    const auto* lf = static_cast<const char*>(std::memchr(from, '\n', at - i));
    const char* line_end = lf != nullptr ? lf : data_ + at;
    const auto* cr = static_cast<const char*>(std::memchr(from, '\r', line_end - from));
    line_start_ = false;
    if (request_line_ != RequestLine::done) {
      const char* stop = cr != nullptr ? cr : line_end;
      if (!scan_request_line(from, stop, cr != nullptr)) {
        return broken(request_line_error_, Errc::http_malformed, request_line_why_);
      }
    }
    if (cr != nullptr) {
      prev_cr_ = true;
      i = static_cast<size_t>(cr - data_) + 1;
    } else if (lf != nullptr) {
      return broken(static_cast<size_t>(lf - data_), Errc::http_malformed, "bare LF");
    } else {
      i = at;
    }
  }
  cursor_ = at;
  return true;
}

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version, one space each. llhttp
// takes runs of spaces, and a line without a version as HTTP/0.9, whose end it only notices at
// the next byte (so a client that sends "GET /" CRLF and waits would wait for its timeout).
// Servers split such lines differently, so they are refused here, at the offending byte.
// Called with the bytes of the request line in this buffer, [from, stop), and whether the line
// ends there; empty lines before the request line (§2.2) are skipped.
bool Parser::scan_request_line(const char* from, const char* stop, bool ends) {
  if (request_line_ == RequestLine::before && from != stop) request_line_ = RequestLine::inside;
  if (request_line_ != RequestLine::inside) return true;
  for (const char* p = from; p != stop; ++p) {
    if (*p != ' ') {
      request_line_space_ = false;
      continue;
    }
    if (request_line_space_ || ++request_line_spaces_ > 2) {
      request_line_error_ = static_cast<size_t>(p - data_);
      request_line_why_ = request_line_space_
                              ? "more than one space between the parts of the request line"
                              : "spaces in the request target";
      return false;
    }
    request_line_space_ = true;
  }
  if (!ends) return true;
  request_line_ = RequestLine::done;
  request_line_error_ = static_cast<size_t>(stop - data_);  // the CR that ends the line
  if (request_line_spaces_ < 2) {
    request_line_why_ = "a request line without an HTTP version (HTTP/0.9)";
    return false;
  }
  if (request_line_space_) {
    request_line_why_ = "a space at the end of the request line";
    return false;
  }
  return true;
}

void Parser::start_request_line() {
  request_line_ = RequestLine::before;
  request_line_spaces_ = 0;
  request_line_space_ = false;
}

int Parser::on_message_begin() {
  message_begun_ = true;
  head_ = Head{};
  trailers_.clear();
  field_open_ = false;
  body_bytes_ = 0;
  host_count_ = 0;
  dup_content_length_ = false;
  skip_value_ = false;
  return HPE_OK;
}

// Pieces of the start line and of field names and values, appended as they arrive; every piece
// is checked against the limits before it is kept, so hostile input cannot grow memory.
int Parser::on_span(std::string* into, const char* at, size_t length) {
  if (!check_until(static_cast<size_t>(at - data_) + length)) return HPE_USER;
  into->append(at, length);
  return HPE_OK;
}

int Parser::on_header_field(const char* at, size_t length) {
  Headers& list = in_head_ ? head_.headers : trailers_;
  if (!field_open_) {
    // The count is checked when the name is complete (on_header_field_complete): a callback
    // that only some splits of the input reach must not decide the outcome. Until then the
    // list holds at most one field over the limit.
    list.emplace_back();
    field_open_ = true;
  }
  return on_span(&list.back().name, at, length);
}

int Parser::on_header_field_complete() {
  Headers& list = in_head_ ? head_.headers : trailers_;
  // llhttp accepts a line that starts with the colon, and may not call on_header_field then.
  if (!field_open_) list.emplace_back();
  field_open_ = false;
  if (list.size() > limits_.max_headers) {
    callback_failure_ =
        fail(Errc::http_too_many_headers, "more than " + std::to_string(limits_.max_headers) +
                                              (in_head_ ? " header fields" : " trailer fields"));
    return HPE_USER;
  }
  std::string& name = list.back().name;
  if (role_ == Role::request) {
    // RFC 9112 §5.1: a server MUST reject whitespace between the field name and the colon.
    if (std::any_of(name.begin(), name.end(), is_ows)) {
      callback_failure_ = fail(Errc::http_malformed, "whitespace before the colon of a field");
      return HPE_USER;
    }
    if (name.empty()) {
      callback_failure_ = fail(Errc::http_malformed, "empty field name");
      return HPE_USER;
    }
    if (in_head_ && text::iequals(name, "host")) ++host_count_;
    return HPE_OK;
  }
  trim_trailing_ows(name);
  if (name.empty()) {
    // Browsers skip a response field without a name; so does the parser, value and all.
    list.pop_back();
    skip_value_ = true;
    return HPE_OK;
  }
  // Browsers accept a repeated Content-Length with the same value (RFC 9110 §8.6 allows it);
  // llhttp refuses any repeat. Hide the first one from llhttp and compare once the value is in.
  if (in_head_ && text::iequals(name, "content-length") &&
      (parser_.flags & F_CONTENT_LENGTH) != 0) {
    first_content_length_ = parser_.content_length;
    parser_.flags = static_cast<uint16_t>(parser_.flags & ~F_CONTENT_LENGTH);
    parser_.content_length = 0;
    dup_content_length_ = true;
  }
  return HPE_OK;
}

int Parser::on_header_value(const char* at, size_t length) {
  Headers& list = in_head_ ? head_.headers : trailers_;
  if (skip_value_ || list.empty()) {
    return check_until(static_cast<size_t>(at - data_) + length) ? HPE_OK : HPE_USER;
  }
  return on_span(&list.back().value, at, length);
}

int Parser::on_header_value_complete() {
  if (skip_value_) {
    skip_value_ = false;
    return HPE_OK;
  }
  Headers& list = in_head_ ? head_.headers : trailers_;
  if (!list.empty()) trim_trailing_ows(list.back().value);
  if (dup_content_length_) {
    dup_content_length_ = false;
    if (parser_.content_length != first_content_length_) {
      callback_failure_ = fail(Errc::http_smuggling, "conflicting Content-Length values");
      return HPE_USER;
    }
  }
  return HPE_OK;
}

int Parser::on_headers_complete() {
  field_open_ = false;
  if (role_ == Role::request) {
    // HTTP/0.9 has no header section to frame a message by; nothing else is HTTP/1.
    if (parser_.http_major != 1) {
      callback_failure_ = fail(Errc::http_malformed, "not an HTTP/1.x request");
      return HPE_USER;
    }
    // llhttp's loose mode lets a tab or form feed into the target; RFC 9112 §3.2 does not, and
    // servers that split on them would read another target.
    if (std::any_of(head_.target.begin(), head_.target.end(), [](char c) {
          auto u = static_cast<unsigned char>(c);
          return u <= 0x20 || u == 0x7f;
        })) {
      callback_failure_ = fail(Errc::http_malformed, "whitespace or control byte in the target");
      return HPE_USER;
    }
    bool http11 = parser_.http_minor >= 1;
    // RFC 9112 §3.2: more than one Host, or none in HTTP/1.1, is a 400.
    if (host_count_ > 1) {
      callback_failure_ = fail(Errc::http_malformed, "more than one Host field");
      return HPE_USER;
    }
    if (host_count_ == 0 && http11) {
      callback_failure_ = fail(Errc::http_malformed, "no Host field in an HTTP/1.1 request");
      return HPE_USER;
    }
    // RFC 9110 §7.2, RFC 9112 §3.2: a Host the proxy cannot read as the server would (userinfo,
    // spaces, a bad port) must not be routed or recorded under a made-up URL.
    if (auto host = find_header(head_.headers, "host"); host && !url::is_valid_host_field(*host)) {
      callback_failure_ = fail(Errc::http_malformed, "invalid Host field value");
      return HPE_USER;
    }
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    if ((parser_.flags & F_TRANSFER_ENCODING) != 0 && !http11) {
      callback_failure_ = fail(Errc::http_smuggling, "Transfer-Encoding in an HTTP/1.0 request");
      return HPE_USER;
    }
    if (const char* why = check_transfer_codings(head_.headers)) {
      callback_failure_ = fail(Errc::http_smuggling, why);
      return HPE_USER;
    }
  } else {
    decide_response_framing();
  }
  // Stop here so that feed() learns where the head ends and can check it before it is given
  // out. Resuming enters llhttp__after_headers_complete, as returning 0 would; the flags set by
  // decide_response_framing() stand in for returning 1 or 2 (see llhttp.h, on_headers_complete).
  pending_ = Pending::head;
  return HPE_PAUSED;
}

// RFC 9112 §6.3 rules 1 and 2: 1xx, 204 and 304 responses and answers to HEAD have no body,
// whatever their fields say; a 101, or a 2xx answer to CONNECT, ends HTTP on the connection.
void Parser::decide_response_framing() {
  int status = parser_.status_code;
  bool interim = status >= 100 && status < 200 && status != 101;
  uint8_t method = expected_.empty() ? kOtherMethod : expected_.front();
  if (!interim && !expected_.empty()) expected_.pop_front();
  bool upgrade = status == 101 || (method == kConnectMethod && status / 100 == 2);
  bool no_body = upgrade || interim || status == 204 || status == 304 || method == kHeadMethod;
  parser_.upgrade = upgrade ? 1 : 0;
  if (no_body) parser_.flags = static_cast<uint16_t>(parser_.flags | F_SKIPBODY);
}

Flow Parser::deliver_head(size_t at) {
  if (!check_until(at)) return Flow::pause;
  in_head_ = false;
  Head& h = head_;
  h.head_bytes = base_ + at - head_start_;
  h.version = {parser_.http_major, parser_.http_minor};
  if (role_ == Role::request) {
    h.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
    h.expect_continue = has_token(h.headers, "expect", "100-continue");
  } else {
    h.status = parser_.status_code;
  }
  uint16_t flags = parser_.flags;
  bool has_length = (flags & F_CONTENT_LENGTH) != 0;
  if (has_length) h.content_length = parser_.content_length;
  h.upgrade = parser_.upgrade != 0;
  // The same decisions as llhttp__after_headers_complete (llhttp's http.c).
  bool has_body = (flags & F_CHUNKED) != 0 || parser_.content_length > 0;
  if ((flags & F_SKIPBODY) != 0 || (h.upgrade && (parser_.method == HTTP_CONNECT || !has_body))) {
    h.framing = Framing::none;
  } else if ((flags & F_CHUNKED) != 0) {
    h.framing = Framing::chunked;
  } else if ((flags & F_TRANSFER_ENCODING) != 0 || (!has_length && role_ == Role::response)) {
    h.framing = Framing::until_close;
  } else {
    h.framing = has_length ? Framing::length : Framing::none;
  }
  h.keep_alive = llhttp_should_keep_alive(&parser_) != 0;
  // What the rest of the message needs is kept here: the sink may move from or change `h`.
  bool interim = role_ == Role::response && h.status < 200 && !h.upgrade;
  chunked_ = h.framing == Framing::chunked;
  ends_connection_ = !h.keep_alive && !h.upgrade && !interim;
  if (h.framing == Framing::length && parser_.content_length > limits_.max_body_bytes) {
    record(Errc::http_body_too_large,
           "Content-Length over " + std::to_string(limits_.max_body_bytes) + " bytes", at);
    return Flow::pause;
  }
  // eventlet sends 204/304 responses with Transfer-Encoding: chunked and an empty chunked body;
  // it is skipped before the next response (see swallow_empty_chunked).
  swallow_ = role_ == Role::response && h.framing == Framing::none && !h.upgrade &&
                     (flags & F_CHUNKED) != 0
                 ? -2
                 : -1;
  return sink_->on_head(h);
}

int Parser::on_body(const char* at, size_t length) {
  // llhttp ends an open span at the end of every execute, so empty pieces happen.
  if (length == 0) return HPE_OK;
  size_t start = static_cast<size_t>(at - data_);
  if (!check_until(start)) return HPE_USER;
  cursor_ = start + length;
  if (chunked_ && parser_.content_length == 0) {
    crlf_expected_ = 2;  // this chunk's data is complete
  } else {
    line_start_ = true;
    prev_cr_ = false;
  }
  uint64_t room = limits_.max_body_bytes - body_bytes_;
  if (length > room) {
    if (room > 0) sink_->on_body(std::string_view(at, static_cast<size_t>(room)));
    body_bytes_ += room;
    record(Errc::http_body_too_large,
           "body over " + std::to_string(limits_.max_body_bytes) + " bytes",
           start + static_cast<size_t>(room));
    return HPE_USER;
  }
  body_bytes_ += length;
  sink_->on_body(std::string_view(at, length));
  return HPE_OK;
}

// The last chunk: the trailer section starts after its line (RFC 9112 §7.1.2). Stopping here
// tells feed() where, so that the trailer limit holds at the same byte however input is split.
int Parser::on_chunk_header() {
  if (parser_.content_length != 0) return HPE_OK;
  pending_ = Pending::trailers;
  return HPE_PAUSED;
}

int Parser::on_message_complete() {
  if (finishing_) {
    pending_ = Pending::message_end;
    return HPE_OK;
  }
  pending_ = Pending::message_end;
  return HPE_PAUSED;
}

Flow Parser::deliver_message_end(size_t at) {
  if (!check_until(at)) return Flow::pause;
  in_head_ = true;
  in_trailers_ = false;
  message_begun_ = false;
  head_start_ = base_ + at;
  line_start_ = true;
  prev_cr_ = false;
  start_request_line();
  if (swallow_ == -2) swallow_ = 0;
  if (ends_connection_) closed_ = true;
  if (!trailers_.empty()) sink_->on_trailers(trailers_);
  return sink_->on_message_end();
}

// After a bodiless response that declared Transfer-Encoding: chunked, an empty chunked body
// ("0" CRLF CRLF, LF-only allowed as in any response) is skipped, so the next response parses.
// Anything else that does not start with "0" is left for the next response.
size_t Parser::swallow_empty_chunked(size_t pos) {
  while (pos < size_ && swallow_ >= 0) {
    char c = data_[pos];
    switch (swallow_) {
      case 0:
        if (c != '0') {
          swallow_ = -1;
          return pos;
        }
        swallow_ = 1;
        break;
      case 1:
      case 3:
        if (c == '\r' || c == '\n') {
          swallow_ += c == '\r' ? 1 : 2;
          break;
        }
        record(Errc::http_malformed, "a body after a response that cannot have one", pos);
        return pos;
      default:  // 2, 4: after CR
        if (c == '\n') {
          ++swallow_;
          break;
        }
        record(Errc::http_malformed, "a body after a response that cannot have one", pos);
        return pos;
    }
    ++pos;
    if (swallow_ == 5) {
      swallow_ = -1;
      head_start_ = base_ + pos;
    }
  }
  return pos;
}

Result<size_t> Parser::feed(std::string_view bytes, Sink& sink) {
  if (failure_) return *failure_;
  if (upgraded_) return size_t{0};
  if (closed_) {
    base_ += bytes.size();
    return bytes.size();
  }
  static constexpr char kNothing[1] = {0};
  data_ = bytes.empty() ? kNothing : bytes.data();
  size_ = bytes.size();
  paused_ = false;
  sink_ = &sink;
  cursor_ = 0;
  size_t pos = 0;
  for (;;) {
    if (closed_) {
      pos = size_;
      break;
    }
    if (swallow_ >= 0) {
      pos = swallow_empty_chunked(pos);
      cursor_ = pos;
      if (failure_) break;
      if (swallow_ >= 0) break;  // the rest of "0\r\n\r\n" is still to come
    }
    llhttp_errno_t err = llhttp_execute(&parser_, data_ + pos, size_ - pos);
    if (err == HPE_OK) {
      check_until(size_);
      pos = size_;
      break;
    }
    size_t at = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data_);
    if (err == HPE_PAUSED) {
      llhttp_resume(&parser_);
      pos = at;
      Pending what = pending_;
      pending_ = Pending::nothing;
      if (what == Pending::nothing) continue;
      if (what == Pending::trailers) {
        in_trailers_ = true;
        trailer_start_ = base_ + at;
        continue;
      }
      Flow flow = what == Pending::head ? deliver_head(at) : deliver_message_end(at);
      if (failure_) break;
      if (flow == Flow::pause) {
        paused_ = true;
        break;
      }
      continue;
    }
    if (err == HPE_PAUSED_UPGRADE) {
      if (!check_until(at)) break;
      pos = at;
      upgraded_ = true;
      in_head_ = true;
      head_start_ = base_ + at;
      line_start_ = true;
      prev_cr_ = false;
      crlf_expected_ = 0;
      start_request_line();
      sink_->on_upgrade(at, bytes.substr(at));
      break;
    }
    // An error: ours from a callback, or llhttp's. Whatever broke first in stream order wins.
    if (!failure_ && check_until(at)) {
      if (callback_failure_) {
        record(callback_failure_->code, callback_failure_->why, at);
      } else {
        failure_from_llhttp(err, at);
      }
    }
    break;
  }
  sink_ = nullptr;
  data_ = nullptr;
  if (failure_) return *failure_;
  base_ += pos;
  return pos;
}

Result<void> Parser::finish(Sink& sink) {
  // Events a pausing sink held back need no more bytes: let them out first.
  for (int i = 0; i < 4 && paused_ && !failure_ && !upgraded_ && !closed_; ++i) {
    if (auto r = feed({}, sink); !r) return r.error();
  }
  if (failure_) return *failure_;
  if (upgraded_ || closed_) return {};
  closed_ = true;
  swallow_ = -1;  // closing inside eventlet's empty body loses nothing
  if (in_head_ && !message_begun_) return {};
  if (!in_head_) {
    // Only a body that runs until the close ends cleanly here (RFC 9112 §6.3 rule 8).
    sink_ = &sink;
    finishing_ = true;
    pending_ = Pending::nothing;
    llhttp_errno_t err = llhttp_finish(&parser_);
    finishing_ = false;
    bool ended = err == HPE_OK && pending_ == Pending::message_end;
    pending_ = Pending::nothing;
    if (ended) {
      in_head_ = true;
      if (!trailers_.empty()) sink_->on_trailers(trailers_);
      sink_->on_message_end();
      sink_ = nullptr;
      return {};
    }
    sink_ = nullptr;
  }
  error_offset_ = 0;
  error_position_ = base_;
  failure_ = fail(Errc::incomplete, "connection closed in the middle of a message");
  return *failure_;
}

}  // namespace wa::http
