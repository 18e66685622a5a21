// datapath: what a pod's new connections pay for the capture rules.
//
//   datapath server PORT              accept and close connections forever
//   datapath client ADDR PORT COUNT   open COUNT connections one after the
//                                     other; print "mean_us median_us p90_us"
//
// Run by bench/datapath.sh: the server in a peer namespace, the client in the
// pod's namespace as an application uid, so each connection's first packet
// walks the NAT rules (later packets of a connection skip them: conntrack).
// The client closes with SO_LINGER 0 (a reset) so no port sits in TIME_WAIT
// and COUNT is not capped by the ephemeral port range.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int die(const char* what) {
  std::perror(what);
  return 1;
}

int server(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return die("datapath: bind");
  if (::listen(fd, 4096) < 0) return die("datapath: listen");
  for (;;) {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) ::close(c);
  }
}

int client(const char* addr, int port, int count) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
    std::fprintf(stderr, "datapath: bad address %s\n", addr);
    return 2;
  }
  std::vector<double> us;
  us.reserve(static_cast<size_t>(count));
  const linger reset{1, 0};
  for (int i = 0; i < count; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return die("datapath: socket");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return die("datapath: connect");
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(fd);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  std::printf("%.2f %.2f %.2f\n", sum / count, us[us.size() / 2], us[us.size() * 9 / 10]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "server") == 0) return server(std::atoi(argv[2]));
  if (argc == 5 && std::strcmp(argv[1], "client") == 0)
    return client(argv[2], std::atoi(argv[3]), std::atoi(argv[4]));
  std::fprintf(stderr, "usage: datapath server PORT | datapath client ADDR PORT COUNT\n");
  return 2;
}
