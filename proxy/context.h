// What every proxy session shares: the loop, the options, the recorder, the console, the
// upstream pool, TLS interception, and the server that owns the sessions.
//
// A client connection is served by a chain of sessions: an HttpSession; after CONNECT, a Tunnel
// that sniffs the first bytes and hands the connection to a TLS-intercepting HttpSession (or a
// plain one, or a blind relay); after a 101, a WebSocketRelay. Each hands its streams to the
// next and retires. The server owns them all and frees a retired one on a later loop turn, so a
// session may retire from inside its own callbacks.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "net/loop.h"
#include "net/tls_context.h"
#include "proxy/ca.h"
#include "proxy/console.h"
#include "proxy/options.h"
#include "proxy/recorder.h"
#include "proxy/upstream_pool.h"

namespace wa::proxy {

class Session {
 public:
  virtual ~Session() = default;
  // The proxy is stopping: end now, recording what was in flight with `why`.
  virtual void abort(const std::string& why) = 0;
};

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual void adopt(std::unique_ptr<Session> session) = 0;
  // Frees `session` on a later loop turn; its streams close then.
  virtual void retire(Session* session) = 0;
};

struct ProxyContext {
  net::Loop& loop;
  const ProxyOptions& options;
  Recorder& recorder;
  Console& console;
  UpstreamPool& pool;
  SessionHost& host;
  CertificateAuthority* ca = nullptr;              // null: CONNECT tunnels are relayed blind
  std::shared_ptr<net::TlsContext> intercept_tls;  // server side, certificates chosen per host
  // Hosts whose minted certificate a client rejected. The first rejection is reported with the
  // hint to run `workalready ca`; the rest only add to this list, for the summary: a browser
  // that does not trust the CA rejects every host it visits, and one hint says it all.
  std::set<std::string> rejected_hosts;
};

// Relay buffering: a destination with more than this queued pauses its source; below the low
// mark, the source resumes (STYLE.md "Buffers and backpressure").
inline constexpr size_t kHighWater = 256 * 1024;
inline constexpr size_t kLowWater = 64 * 1024;

}  // namespace wa::proxy
