// HTTP/1.1 message parsing (RFC 9112) on llhttp, for both directions of a connection.
//
// A Parser takes the bytes of one direction of one connection, in whatever pieces they arrive,
// and reports each message to a Sink as it goes: the head (request line or status line and the
// header fields), the body bytes, the trailers, the end of the message, and the point where the
// connection stops speaking HTTP (101 Switching Protocols, CONNECT). Any split of the input gives
// the same events, except that body bytes may arrive in more, smaller pieces.
//
// Requests are parsed strictly, because the proxy forwards them and a message two parsers frame
// differently is request smuggling (RFC 9112 §11.2): Content-Length with Transfer-Encoding, two
// Content-Length fields, a Transfer-Encoding other than chunked alone, a Transfer-Encoding in
// HTTP/1.0, bare CR or LF, obs-fold, whitespace before the colon, an empty field name,
// whitespace in the target, HTTP/0.9, other than one space between the parts of the request
// line, and a missing, repeated or invalid Host are all rejected. Responses are parsed as
// leniently as browsers read them: LF-only lines, obs-fold, control bytes in values, a missing
// reason phrase, Content-Length beside Transfer-Encoding (chunked wins), identical repeated
// Content-Lengths, and the empty chunked body that eventlet sends after a 204/304 are all
// accepted; a field without a name is skipped.
//
// Ownership: the parser owns the Head it passes to Sink::on_head and reuses that storage for the
// next message; the sink may read it during the call or move what it keeps out of it. Body views
// point into the buffer given to feed() and are valid only during the Sink::on_body call (the
// caller owns that buffer; the parser never copies body bytes). Nothing here throws or does I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <llhttp.h>

#include "protocol/result.h"

namespace wa::http {

struct Header {
  std::string name;   // as sent, case kept
  std::string value;  // without surrounding whitespace; pieces of a folded value joined

  friend bool operator==(const Header&, const Header&) = default;
};

// In the order they arrived; the same name may appear more than once.
using Headers = std::vector<Header>;

// The value of the first field called `name` (ASCII case-insensitive), if any.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

// Whether any field called `name` lists `token` among its comma-separated elements
// (case-insensitive, RFC 9110 §5.6.1), e.g. has_token(headers, "connection", "upgrade").
bool has_token(const Headers& headers, std::string_view name, std::string_view token);

struct Version {
  int major = 1;
  int minor = 1;

  friend bool operator==(const Version&, const Version&) = default;
};

// How the body of a message is delimited (RFC 9112 §6.3), as decided by the parser.
enum class Framing : uint8_t {
  none,         // no body: HEAD/204/304/1xx responses, upgrades, requests without length
  length,       // exactly content_length bytes (may be 0)
  chunked,      // the chunked transfer coding (RFC 9112 §7.1)
  until_close,  // responses only: the body runs until the connection closes (call finish())
};

// The start line and header section of a request or a response.
struct Head {
  // Requests: the method and the request target exactly as sent: origin-form ("/a?b"),
  // absolute-form ("http://host/a", forward proxies), authority-form ("host:443", CONNECT), or
  // asterisk-form ("*").
  std::string method;
  std::string target;
  // Responses: the status code and the reason phrase (possibly empty).
  int status = 0;
  std::string reason;

  Version version;
  Headers headers;

  // Decided by the parser from the fields and, for responses, from the request method.
  Framing framing = Framing::none;
  std::optional<uint64_t> content_length;  // the declared Content-Length, if there was one
  bool keep_alive = true;  // llhttp_should_keep_alive: another message may follow this one
  // Requests: asks to switch protocols (Upgrade + Connection: upgrade, or CONNECT); the parser
  // stops after this message until resume_after_upgrade(). Responses: the connection leaves
  // HTTP after this head (101, or a 2xx answer to CONNECT).
  bool upgrade = false;
  bool expect_continue = false;  // requests: Expect: 100-continue (RFC 9110 §10.1.1)
  uint64_t head_bytes = 0;       // bytes of the head on the wire, with any empty lines before it

  bool is_request() const { return !method.empty(); }
  bool chunked() const { return framing == Framing::chunked; }
};

enum class Role : uint8_t { request, response };

struct Limits {
  size_t max_head_bytes = 64 * 1024;  // start line + fields + empty line; also for trailers
  size_t max_headers = 100;           // fields in a header section; also for trailers
  uint64_t max_body_bytes = UINT64_MAX;
};

// What the sink wants after a head or a message: keep parsing the buffer, or stop there so that
// feed() returns early (the caller feeds the unconsumed rest again later).
enum class Flow : uint8_t { proceed, pause };

class Sink {
 public:
  virtual ~Sink() = default;
  // A complete head. 1xx interim responses arrive as messages of their own. Flow::pause makes
  // feed() return right after the head, before any body byte.
  virtual Flow on_head(Head& head) = 0;
  // Body bytes, after any transfer coding is removed (chunk framing is not included).
  virtual void on_body(std::string_view bytes) = 0;
  // Trailer fields of a chunked message (RFC 9112 §7.1.2), only when there are some.
  virtual void on_trailers(Headers& trailers) { (void)trailers; }
  virtual Flow on_message_end() = 0;
  // The connection stops speaking HTTP: `rest` (= the fed buffer from `offset`) and everything
  // after it belong to the new protocol (WebSocket frames, or tunnel bytes after CONNECT).
  virtual void on_upgrade(size_t offset, std::string_view rest) {
    (void)offset;
    (void)rest;
  }
};

// One direction of one connection. Not copyable or movable (llhttp keeps a pointer to it).
class Parser {
 public:
  explicit Parser(Role role, Limits limits = {});
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses `bytes`, calling `sink` for each event. Returns how many bytes were consumed: all of
  // them, or fewer when the sink paused or when the connection was upgraded (the rest is not
  // HTTP; see Sink::on_upgrade). After a pause, feed the unconsumed rest again (even when it is
  // empty: a message without body may end without more bytes); a pause can consume 0 bytes. After
  // an upgrade, feed() consumes nothing until resume_after_upgrade(). After a message that ends the
  // connection (keep_alive false), further bytes are consumed and ignored, as llhttp does.
  //
  // A failure is final: the same failure is returned for every later call, and error_offset()
  // says where in `bytes` it was found. Do not call feed() from inside a Sink callback.
  Result<size_t> feed(std::string_view bytes, Sink& sink);

  // The peer closed its side. Delivers what a pause held back, ends a body that runs until the
  // close (Sink::on_message_end), and fails with Errc::incomplete when the connection closed in
  // the middle of a message. The parser accepts no more bytes afterwards.
  Result<void> finish(Sink& sink);

  // Responses only: the method of the request the next final response answers, queued in
  // request order (pipelining); call it when the request is sent, before its response head is
  // fed. HEAD responses have no body whatever their fields say; a 2xx answer to CONNECT starts a
  // tunnel. Without a queued method, a response is read as a GET's. 1xx responses do not use up
  // the queued method.
  void expect_response_to(std::string_view method);

  // Requests: the server declined the upgrade (or CONNECT) the last request asked for, so the
  // connection goes on in HTTP/1.1 from the offset given to on_upgrade.
  void resume_after_upgrade();

  bool upgraded() const { return upgraded_; }
  bool closed() const { return closed_; }
  bool failed() const { return failure_.has_value(); }
  // Between the first byte of a message and its end: closing now would cut it.
  bool in_message() const;
  // Total bytes consumed so far on this connection.
  uint64_t position() const { return base_; }
  // Where the failure was found, in the buffer of the failing feed() call and on the stream:
  // the offending byte for syntax, the first byte over a size limit, and the byte after the
  // colon or after the head for rules that need the whole name or the whole head (field count,
  // Host, Transfer-Encoding in HTTP/1.0). The same input gives the same position however it
  // is split.
  size_t error_offset() const { return error_offset_; }
  uint64_t error_position() const { return error_position_; }

 private:
  friend struct Callbacks;
  enum class Pending : uint8_t { nothing, head, trailers, message_end };

  // Callbacks from llhttp (see http1.cpp); each returns an llhttp error code.
  int on_message_begin();
  int on_span(std::string* into, const char* at, size_t length);
  int on_header_field(const char* at, size_t length);
  int on_header_field_complete();
  int on_header_value(const char* at, size_t length);
  int on_header_value_complete();
  int on_headers_complete();
  int on_body(const char* at, size_t length);
  int on_chunk_header();
  int on_message_complete();

  Flow deliver_head(size_t at);
  Flow deliver_message_end(size_t at);
  void decide_response_framing();
  bool check_until(size_t at);
  bool scan_request_bytes(size_t at);
  bool scan_request_line(const char* from, const char* stop, bool ends);
  void start_request_line();
  size_t swallow_empty_chunked(size_t pos);
  Failure record(Errc code, std::string why, size_t at);
  Failure failure_from_llhttp(llhttp_errno_t err, size_t at);
  uint64_t abs(const char* p) const { return base_ + static_cast<uint64_t>(p - data_); }

  Role role_;
  Limits limits_;
  llhttp_t parser_;

  // The buffer of the current feed() call.
  Sink* sink_ = nullptr;
  const char* data_ = nullptr;
  size_t size_ = 0;
  uint64_t base_ = 0;  // stream position of data_[0]

  Head head_;
  Headers trailers_;
  bool field_open_ = false;  // a field name is being received
  bool in_head_ = true;
  uint64_t head_start_ = 0;     // stream position where the current head began
  uint64_t trailer_start_ = 0;  // stream position where the trailer section began
  bool in_trailers_ = false;
  uint64_t body_bytes_ = 0;
  Pending pending_ = Pending::nothing;
  std::deque<uint8_t> expected_;  // request methods of queued responses (see expect_response_to)
  bool chunked_ = false;          // the current message has a chunked body
  bool ends_connection_ = false;  // no message may follow the current one
  bool dup_content_length_ = false;
  bool skip_value_ = false;  // the value of a response field without a name is dropped
  uint64_t first_content_length_ = 0;
  int host_count_ = 0;
  bool finishing_ = false;
  bool message_begun_ = false;  // llhttp saw the first byte of the current message
  bool paused_ = false;         // the last feed() stopped because the sink paused

  // Strict scan of request bytes outside body data (see scan_request_bytes).
  size_t cursor_ = 0;
  bool prev_cr_ = false;
  bool line_start_ = true;
  int crlf_expected_ = 0;
  // The request line of the current head (see scan_request_line).
  enum class RequestLine : uint8_t { before, inside, done };
  RequestLine request_line_ = RequestLine::before;
  int request_line_spaces_ = 0;
  bool request_line_space_ = false;  // the last byte of the line so far was a space
  size_t request_line_error_ = 0;    // offset in the buffer of what broke the request line
  const char* request_line_why_ = "";

  int swallow_ = -1;  // state in the empty chunked body after a bodiless response, -1 if none
  bool upgraded_ = false;
  bool closed_ = false;
  std::optional<Failure> failure_;
  std::optional<Failure> callback_failure_;  // set by a callback that returned HPE_USER
  std::optional<uint64_t> callback_failure_at_;
  size_t error_offset_ = 0;
  uint64_t error_position_ = 0;
};

}  // namespace wa::http
