// WebSocket ping-pong for the relay benchmark (DESIGN.md "Targets": proxy CPU per WebSocket
// round trip, recording and decoding Socket.IO).
//
// Both ends speak just enough of Engine.IO v4 over a WebSocket (PROTOCOLS.md; RFC 6455 framing)
// for a recording proxy to see a real Socket.IO session: the server opens with an Engine.IO
// open packet carrying a sid, answers the Socket.IO connect `40` with `40{"sid":...}`, and
// echoes every other text message. The client connects to /socket.io/?EIO=4&transport=websocket,
// sends `40`, then sends `42["ping",{"n":N}]` and waits for its echo, again and again.
//
// Plain blocking sockets, one thread per connection: the two ends must cost little and add no
// event-loop of their own to what is measured (the proxy's CPU, read from /proc by run.sh).
//
//   ws_pingpong serve PORT
//   ws_pingpong client HOST PORT [--connections C] [--seconds S]
//     prints: round_trips=N seconds=S per_second=R rtt_p50_us=A rtt_p99_us=B
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/text.h"
#include "protocol/ws_handshake.h"

namespace {

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "ws_pingpong: %s\n", why.c_str());
  std::exit(2);
}

// A blocking socket with a read buffer.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Conn() { ::close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool write_all(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(size_t(n));
    }
    return true;
  }

  // Makes at least `n` bytes available at data(); false at end of stream.
  bool fill(size_t n) {
    while (buffer_.size() - start_ < n) {
      if (start_ > 0 && start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
      }
      char chunk[16384];
      ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) return false;
      buffer_.append(chunk, size_t(got));
    }
    return true;
  }
  const char* data() const { return buffer_.data() + start_; }
  size_t available() const { return buffer_.size() - start_; }
  void consume(size_t n) { start_ += n; }

  // Reads an HTTP head up to its blank line.
  bool read_head(std::string& head) {
    for (;;) {
      std::string_view have(data(), available());
      size_t end = have.find("\r\n\r\n");
      if (end != std::string_view::npos) {
        head.assign(have.substr(0, end + 4));
        consume(end + 4);
        return true;
      }
      if (available() > 16384 || !fill(available() + 1)) return false;
    }
  }

  // Reads one whole frame (RFC 6455 §5.2), unmasking it. False at end of stream.
  bool read_frame(int& opcode, std::string& payload) {
    if (!fill(2)) return false;
    auto b = reinterpret_cast<const uint8_t*>(data());
    opcode = b[0] & 0x0f;
    bool masked = b[1] & 0x80;
    uint64_t length = b[1] & 0x7f;
    size_t header = 2;
    if (length == 126) {
      if (!fill(4)) return false;
      b = reinterpret_cast<const uint8_t*>(data());
      length = (uint64_t(b[2]) << 8) | b[3];
      header = 4;
    } else if (length == 127) {
      if (!fill(10)) return false;
      b = reinterpret_cast<const uint8_t*>(data());
      length = 0;
      for (int i = 2; i < 10; ++i)
        length = (length << 8) | b[i];
      header = 10;
    }
    if (length > (64u << 20)) return false;
    size_t total = header + (masked ? 4 : 0) + size_t(length);
    if (!fill(total)) return false;
    b = reinterpret_cast<const uint8_t*>(data());
    payload.assign(data() + total - length, size_t(length));
    if (masked) {
      const uint8_t* key = b + header;
      for (size_t i = 0; i < payload.size(); ++i)
        payload[i] = char(uint8_t(payload[i]) ^ key[i % 4]);
    }
    consume(total);
    return true;
  }

  int fd() const { return fd_; }

 private:
  int fd_;
  std::string buffer_;
  size_t start_ = 0;
};

// One frame with FIN set; masked when a client sends it (RFC 6455 §5.3).
std::string frame(int opcode, std::string_view payload, const uint8_t* mask) {
  std::string out;
  out.push_back(char(0x80 | opcode));
  uint8_t mask_bit = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    out.push_back(char(mask_bit | payload.size()));
  } else if (payload.size() < 65536) {
    out.push_back(char(mask_bit | 126));
    out.push_back(char(payload.size() >> 8));
    out.push_back(char(payload.size() & 0xff));
  } else {
    out.push_back(char(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(char((uint64_t(payload.size()) >> shift) & 0xff));
  }
  if (!mask) return out.append(payload);
  out.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < payload.size(); ++i)
    out.push_back(char(uint8_t(payload[i]) ^ mask[i % 4]));
  return out;
}

std::string header_value(std::string_view head, std::string_view name) {
  size_t pos = 0;
  while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
    pos += 2;
    size_t colon = head.find(':', pos);
    size_t eol = head.find("\r\n", pos);
    if (colon == std::string_view::npos || eol == std::string_view::npos || colon > eol) continue;
    if (wa::text::iequals(head.substr(pos, colon - pos), name)) {
      return std::string(wa::text::trim(head.substr(colon + 1, eol - colon - 1)));
    }
  }
  return {};
}

// --- server -------------------------------------------------------------------------------

void serve_connection(int fd, unsigned id) {
  Conn conn(fd);
  std::string head;
  if (!conn.read_head(head)) return;
  std::string key = header_value(head, "Sec-WebSocket-Key");
  if (key.empty()) {
    conn.write_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return;
  }
  std::string sid = "bench" + std::to_string(id);
  std::string hello =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
      wa::ws::accept_key(key) + "\r\n\r\n";
  // Engine.IO v4 open packet (PROTOCOLS.md §1): a WebSocket-only session learns its sid here.
  hello += frame(1,
                 "0{\"sid\":\"" + sid +
                     "\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,"
                     "\"maxPayload\":1000000}",
                 nullptr);
  if (!conn.write_all(hello)) return;
  int opcode = 0;
  std::string payload;
  while (conn.read_frame(opcode, payload)) {
    if (opcode == 8) {
      conn.write_all(frame(8, payload.substr(0, 2), nullptr));
      return;
    }
    if (opcode == 9) {
      if (!conn.write_all(frame(10, payload, nullptr))) return;
      continue;
    }
    if (opcode != 1 && opcode != 2) continue;
    std::string reply = payload == "40" ? "40{\"sid\":\"sio" + std::to_string(id) + "\"}" : payload;
    if (!conn.write_all(frame(opcode, reply, nullptr))) return;
  }
}

int serve(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 512) != 0)
    die("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  unsigned id = 0;
  for (;;) {
    int client = ::accept(fd, nullptr, nullptr);
    if (client < 0) continue;
    std::thread(serve_connection, client, ++id).detach();
  }
}

// --- client -------------------------------------------------------------------------------

int connect_to(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) die("not an IPv4 address: " + host);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    die("cannot connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
  return fd;
}

struct ClientResult {
  std::vector<uint32_t> rtt_us;
  std::string error;
};

void run_client(const std::string& host, int port, std::chrono::steady_clock::time_point until,
                ClientResult& result) {
  Conn conn(connect_to(host, port));
  std::string request = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + host +
                        ":" + std::to_string(port) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n";
  std::string head;
  if (!conn.write_all(request) || !conn.read_head(head)) {
    result.error = "no handshake answer";
    return;
  }
  if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
    result.error = "handshake refused: " + head.substr(0, head.find('\r'));
    return;
  }
  int opcode = 0;
  std::string payload;
  // A benchmark's masks need not be unpredictable; they only need to be there (RFC 6455 §5.3).
  uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  if (!conn.read_frame(opcode, payload) || payload.empty() || payload[0] != '0' ||
      !conn.write_all(frame(1, "40", mask)) || !conn.read_frame(opcode, payload) ||
      payload.compare(0, 2, "40") != 0) {
    result.error = "no Engine.IO open or Socket.IO connect";
    return;
  }
  result.rtt_us.reserve(1 << 20);
  for (uint64_t n = 1;; ++n) {
    auto start = std::chrono::steady_clock::now();
    if (start >= until) break;
    std::string message = "42[\"ping\",{\"n\":" + std::to_string(n) + "}]";
    mask[0] = uint8_t(n);
    if (!conn.write_all(frame(1, message, mask)) || !conn.read_frame(opcode, payload)) {
      result.error = "connection lost";
      return;
    }
    if (payload != message) {
      result.error = "echo differs: " + payload;
      return;
    }
    auto took = std::chrono::steady_clock::now() - start;
    result.rtt_us.push_back(
        uint32_t(std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
  }
  conn.write_all(frame(8, "\x03\xe8", mask));
  conn.read_frame(opcode, payload);
}

int client(const std::string& host, int port, int connections, double seconds) {
  auto start = std::chrono::steady_clock::now();
  auto until = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(seconds));
  std::vector<ClientResult> results(static_cast<size_t>(connections));
  std::vector<std::thread> threads;
  for (auto& result : results)
    threads.emplace_back(run_client, host, port, until, std::ref(result));
  for (auto& thread : threads)
    thread.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<uint32_t> all;
  for (const auto& result : results) {
    if (!result.error.empty()) die(result.error);
    all.insert(all.end(), result.rtt_us.begin(), result.rtt_us.end());
  }
  if (all.empty()) die("no round trip completed");
  std::sort(all.begin(), all.end());
  auto at = [&](double q) { return all[std::min(all.size() - 1, size_t(q * double(all.size())))]; };
  std::printf("round_trips=%zu seconds=%.3f per_second=%.0f rtt_p50_us=%u rtt_p99_us=%u\n",
              all.size(), elapsed, double(all.size()) / elapsed, at(0.50), at(0.99));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "serve") return serve(std::atoi(args[1].c_str()));
  if (args.size() >= 3 && args[0] == "client") {
    int connections = 1;
    double seconds = 5;
    for (size_t i = 3; i + 1 < args.size(); i += 2) {
      if (args[i] == "--connections") connections = std::max(1, std::atoi(args[i + 1].c_str()));
      if (args[i] == "--seconds") seconds = std::atof(args[i + 1].c_str());
    }
    return client(args[1], std::atoi(args[2].c_str()), connections, seconds);
  }
  std::fprintf(stderr,
               "usage: ws_pingpong serve PORT\n"
               "       ws_pingpong client HOST PORT [--connections C] [--seconds S]\n");
  return 2;
}
