// Idle keep-alive clients for the memory benchmark (DESIGN.md "Targets": <= 50 MiB RSS with
// 1,000 open client connections).
//
// Opens N connections to a proxy, sends one keep-alive GET on every connection before reading
// any answer (so the proxy has all N exchanges in flight at once and its upstream pool grows as
// it would under a burst), reads every response, then keeps all connections open and idle. It
// prints "ready N" once every response has been read, and holds the connections until SIGTERM
// or SIGINT, or until --hold seconds have passed.
//
//   idle_clients HOST PORT PATH [--connections N] [--hold SECONDS]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

volatile std::sig_atomic_t stop = 0;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "idle_clients: %s\n", why.c_str());
  std::exit(2);
}

// Reads one response (head, then a Content-Length body) from a blocking socket.
bool read_response(int fd, std::string& buffer) {
  buffer.clear();
  char chunk[16384];
  size_t head_end = std::string::npos;
  size_t length = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = buffer.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::string_view head(buffer.data(), head_end);
        if (head.compare(0, 12, "HTTP/1.1 200") != 0) return false;
        // Header names are case-insensitive (RFC 9110 §5.1); proxies write them differently.
        for (const char* name : {"\r\nContent-Length:", "\r\ncontent-length:"}) {
          size_t at = head.find(name);
          if (at != std::string_view::npos)
            length = std::strtoul(head.data() + at + 17, nullptr, 10);
        }
        head_end += 4;
      }
    }
    if (head_end != std::string::npos && buffer.size() >= head_end + length) return true;
    ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got <= 0) return false;
    buffer.append(chunk, size_t(got));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: idle_clients HOST PORT PATH [--connections N] [--hold SECONDS]\n");
    return 2;
  }
  std::string host = argv[1];
  int port = std::atoi(argv[2]);
  std::string path = argv[3];
  int connections = 1000;
  int hold = 3600;
  for (int i = 4; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--connections") == 0) connections = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--hold") == 0) hold = std::atoi(argv[i + 1]);
  }
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < rlim_t(connections) + 16) {
    files.rlim_cur = std::min(files.rlim_max, rlim_t(connections) + 16);
    setrlimit(RLIMIT_NOFILE, &files);
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, [](int) { stop = 1; });
  std::signal(SIGINT, [](int) { stop = 1; });
  std::signal(SIGALRM, [](int) { stop = 1; });

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) die("not an IPv4 address: " + host);
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(port) +
                        "\r\nUser-Agent: idle_clients\r\n\r\n";
  std::vector<int> fds;
  for (int i = 0; i < connections; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      die("connection " + std::to_string(i) + ": " + std::strerror(errno));
    fds.push_back(fd);
  }
  for (int fd : fds) {
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size()))
      die("send failed");
  }
  std::string buffer;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!read_response(fds[i], buffer)) die("no 200 answer on connection " + std::to_string(i));
  }
  std::printf("ready %zu\n", fds.size());
  std::fflush(stdout);
  alarm(unsigned(hold));
  while (!stop)
    pause();
  for (int fd : fds)
    ::close(fd);
  return 0;
}
