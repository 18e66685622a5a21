// Traffic agents for the capture suite: listeners and clients that run in a
// named network namespace (/var/run/netns/NAME) in a forked child, so the test
// runner itself never changes namespace.
//
// Every TCP listener answers each connection with one line
//   who=<name> port=<listening port> orig=<original dst> local=<local> remote=<peer>
// where orig comes from SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST (conntrack's
// original tuple; equal to local when nothing was NATed) and falls back to the
// local address when conntrack has no entry. Every UDP listener answers each
// datagram with
//   who=<name> port=<listening port> proto=udp local=<local> remote=<peer>
// sent from the address the datagram was received at (IP_PKTINFO), so that
// conntrack can undo a REDIRECT; the UDP client appends from=<reply source>.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace meshcap::traffic {

// From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>, which
// do not mix well with the glibc socket headers.
inline constexpr int kSoOriginalDst = 80;
inline constexpr int kIp6tSoOriginalDst = 80;

enum class Fam { V4, V6 };
inline const char* fam_name(Fam f) { return f == Fam::V4 ? "v4" : "v6"; }

// "10.0.0.1:80" or "[fd00::1]:80".
inline std::string sockaddr_str(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(s->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(ntohs(s->sin6_port));
  }
  return "?";
}

// Formats an address the way sockaddr_str does, for expectations.
inline std::string endpoint(const std::string& ip, uint16_t port) {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

inline bool make_sockaddr(const std::string& ip, uint16_t port, sockaddr_storage* ss, socklen_t* len) {
  std::memset(ss, 0, sizeof *ss);
  if (ip.find(':') != std::string::npos) {
    auto* s = reinterpret_cast<sockaddr_in6*>(ss);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    if (inet_pton(AF_INET6, ip.c_str(), &s->sin6_addr) != 1) return false;
    *len = sizeof *s;
    return true;
  }
  auto* s = reinterpret_cast<sockaddr_in*>(ss);
  s->sin_family = AF_INET;
  s->sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &s->sin_addr) != 1) return false;
  *len = sizeof *s;
  return true;
}

// Enters /var/run/netns/NAME; only ever called in a forked child.
inline bool enter_netns(const std::string& name) {
  std::string path = "/var/run/netns/" + name;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int rc = setns(fd, CLONE_NEWNET);
  close(fd);
  return rc == 0;
}

// Reads from fd until EOF or until `ms` elapse in total.
inline std::string read_all(int fd, int ms) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// ---------------------------------------------------------------- listeners

struct ListenSpec {
  std::string name;  // who=
  std::string addr;  // "0.0.0.0" or "::" (v6 sockets are V6ONLY)
  uint16_t port;
  bool udp = false;
  bool transparent = false;  // IP_TRANSPARENT / IPV6_TRANSPARENT, for tproxy delivery
  int owner = -1;            // >= 0: the socket is created as this uid and gid (the proxy's sockets)
};

namespace detail {

inline std::string tcp_answer(int fd, const ListenSpec& spec) {
  sockaddr_storage local{}, remote{}, orig{};
  socklen_t l = sizeof local, r = sizeof remote, o = sizeof orig;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &l);
  getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &r);
  int rc = local.ss_family == AF_INET
               ? getsockopt(fd, SOL_IP, kSoOriginalDst, &orig, &o)
               : getsockopt(fd, SOL_IPV6, kIp6tSoOriginalDst, &orig, &o);
  std::string origs = rc == 0 ? sockaddr_str(orig) : sockaddr_str(local);
  return "who=" + spec.name + " port=" + std::to_string(spec.port) + " orig=" + origs +
         " local=" + sockaddr_str(local) + " remote=" + sockaddr_str(remote) + "\n";
}

// Answers one datagram from the address it arrived at.
inline void udp_answer(int fd, const ListenSpec& spec, bool v6) {
  char data[512];
  char cbuf[256];
  sockaddr_storage from{};
  iovec iov{data, sizeof data};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  if (recvmsg(fd, &msg, MSG_DONTWAIT) < 0) return;
  sockaddr_storage local{};
  socklen_t ll = sizeof local;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll);
  char ctl[256] = {};
  size_t ctl_len = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (!v6 && c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      reinterpret_cast<sockaddr_in*>(&local)->sin_addr = pi.ipi_addr;
      in_pktinfo out{};
      out.ipi_spec_dst = pi.ipi_addr;
      cmsghdr* oc = reinterpret_cast<cmsghdr*>(ctl);
      oc->cmsg_level = SOL_IP;
      oc->cmsg_type = IP_PKTINFO;
      oc->cmsg_len = CMSG_LEN(sizeof out);
      std::memcpy(CMSG_DATA(oc), &out, sizeof out);
      ctl_len = CMSG_SPACE(sizeof out);
    }
    if (v6 && c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr = pi.ipi6_addr;
      in6_pktinfo out{};
      out.ipi6_addr = pi.ipi6_addr;
      cmsghdr* oc = reinterpret_cast<cmsghdr*>(ctl);
      oc->cmsg_level = SOL_IPV6;
      oc->cmsg_type = IPV6_PKTINFO;
      oc->cmsg_len = CMSG_LEN(sizeof out);
      std::memcpy(CMSG_DATA(oc), &out, sizeof out);
      ctl_len = CMSG_SPACE(sizeof out);
    }
  }
  std::string reply = "who=" + spec.name + " port=" + std::to_string(spec.port) +
                      " proto=udp local=" + sockaddr_str(local) + " remote=" + sockaddr_str(from);
  iovec oiov{reply.data(), reply.size()};
  msghdr om{};
  om.msg_name = &from;
  om.msg_namelen = msg.msg_namelen;
  om.msg_iov = &oiov;
  om.msg_iovlen = 1;
  if (ctl_len) {
    om.msg_control = ctl;
    om.msg_controllen = ctl_len;
  }
  sendmsg(fd, &om, MSG_DONTWAIT);
}

inline int open_listener(const ListenSpec& s, std::string* err) {
  bool v6 = s.addr.find(':') != std::string::npos;
  // Owner matches see the credentials a socket was created with, so the
  // proxy's sockets are created with the proxy's ids (its UDP answers must
  // match the proxy's rules); then back to root for IP_TRANSPARENT.
  if (s.owner >= 0 && (setegid(static_cast<gid_t>(s.owner)) != 0 || seteuid(static_cast<uid_t>(s.owner)) != 0)) {
    *err = "seteuid: " + std::string(strerror(errno));
    return -1;
  }
  int fd = socket(v6 ? AF_INET6 : AF_INET, (s.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.owner >= 0 && (seteuid(0) != 0 || setegid(0) != 0)) {
    *err = "seteuid(0): " + std::string(strerror(errno));
    return -1;
  }
  if (fd < 0) {
    *err = "socket: " + std::string(strerror(errno));
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (s.transparent) {
    if ((v6 ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one)
            : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one)) != 0) {
      *err = "IP_TRANSPARENT: " + std::string(strerror(errno));
      close(fd);
      return -1;
    }
  }
  if (s.udp) {
    if (v6)
      setsockopt(fd, SOL_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    else
      setsockopt(fd, SOL_IP, IP_PKTINFO, &one, sizeof one);
  }
  sockaddr_storage ss;
  socklen_t len;
  if (!make_sockaddr(s.addr, s.port, &ss, &len) || bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    *err = "bind " + endpoint(s.addr, s.port) + ": " + strerror(errno);
    close(fd);
    return -1;
  }
  if (!s.udp && listen(fd, 64) != 0) {
    *err = "listen: " + std::string(strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace detail

// A forked process in a namespace serving a set of listeners until stopped.
class ListenerSet {
 public:
  ListenerSet() = default;
  ListenerSet(const ListenerSet&) = delete;
  ListenerSet& operator=(const ListenerSet&) = delete;
  ~ListenerSet() { stop(); }

  // Returns "" on success, else why not.
  std::string start(const std::string& netns, const std::vector<ListenSpec>& specs) {
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) return "pipe failed";
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ < 0) return "fork failed";
    if (pid_ == 0) {
      close(pfd[0]);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      auto fail = [&](const std::string& why) {
        std::string m = "ERR " + why + "\n";
        (void)!write(pfd[1], m.data(), m.size());
        _exit(1);
      };
      if (!enter_netns(netns)) fail("setns " + netns + ": " + strerror(errno));
      std::vector<pollfd> fds;
      for (const auto& s : specs) {
        std::string err;
        int fd = detail::open_listener(s, &err);
        if (fd < 0) fail(s.name + " " + err);
        fds.push_back({fd, POLLIN, 0});
      }
      (void)!write(pfd[1], "OK\n", 3);
      close(pfd[1]);
      for (;;) {
        int r = poll(fds.data(), fds.size(), -1);
        if (r < 0) {
          if (errno == EINTR) continue;
          _exit(2);
        }
        for (size_t i = 0; i < fds.size(); ++i) {
          if (!(fds[i].revents & POLLIN)) continue;
          const auto& s = specs[i];
          bool v6 = s.addr.find(':') != std::string::npos;
          if (s.udp) {
            detail::udp_answer(fds[i].fd, s, v6);
            continue;
          }
          for (;;) {
            int c = accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) break;
            std::string line = detail::tcp_answer(c, s);
            (void)!write(c, line.data(), line.size());
            shutdown(c, SHUT_WR);
            close(c);
          }
        }
      }
    }
    close(pfd[1]);
    std::string got = read_all(pfd[0], 5000);
    close(pfd[0]);
    if (got.rfind("OK", 0) != 0) {
      stop();
      return got.empty() ? "listener process gave no answer" : got;
    }
    return "";
  }

  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// ------------------------------------------------------------------ client

struct ClientSpec {
  std::string netns;
  std::string dst;
  uint16_t port = 0;
  bool udp = false;
  std::optional<uint32_t> uid;  // setresuid before the socket exists
  std::optional<uint32_t> gid;  // setresgid (and no supplementary groups)
  std::string bind_addr;        // optional source address
  uint16_t bind_port = 0;       // optional source port
  std::string device;           // optional SO_BINDTODEVICE
  int timeout_ms = 2000;
};

// Connects (TCP) or sends one datagram (UDP) and returns the answer line, or
// "nothing (<why>)" on refusal or timeout, or "error: ..." when the client
// could not even try.
inline std::string run_client(const ClientSpec& c) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) return "error: pipe";
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return "error: fork";
  if (pid == 0) {
    close(pfd[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto done = [&](const std::string& s) {
      (void)!write(pfd[1], s.data(), s.size());
      _exit(0);
    };
    if (!enter_netns(c.netns)) done("error: setns " + c.netns);
    // Owner matches look at the credentials the socket was created with, so
    // drop to the requested ids before socket().
    if (c.gid || c.uid) {
      if (setgroups(0, nullptr) != 0) done("error: setgroups");
      if (c.gid && setresgid(*c.gid, *c.gid, *c.gid) != 0) done("error: setresgid");
      if (c.uid && setresuid(*c.uid, *c.uid, *c.uid) != 0) done("error: setresuid");
    }
    sockaddr_storage dst;
    socklen_t dlen;
    if (!make_sockaddr(c.dst, c.port, &dst, &dlen)) done("error: bad address " + c.dst);
    int fd = socket(dst.ss_family, (c.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) done("error: socket " + std::string(strerror(errno)));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (!c.device.empty() &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c.device.c_str(), static_cast<socklen_t>(c.device.size())) != 0)
      done("error: SO_BINDTODEVICE " + std::string(strerror(errno)));
    if (!c.bind_addr.empty() || c.bind_port) {
      std::string a = c.bind_addr.empty() ? (dst.ss_family == AF_INET6 ? "::" : "0.0.0.0") : c.bind_addr;
      sockaddr_storage src;
      socklen_t slen;
      if (!make_sockaddr(a, c.bind_port, &src, &slen) || bind(fd, reinterpret_cast<sockaddr*>(&src), slen) != 0)
        done("error: bind " + endpoint(a, c.bind_port) + ": " + strerror(errno));
    }
    if (c.udp) {
      const char q[] = "query";
      if (sendto(fd, q, sizeof q - 1, 0, reinterpret_cast<sockaddr*>(&dst), dlen) < 0)
        done("nothing (sendto: " + std::string(strerror(errno)) + ")");
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, c.timeout_ms) <= 0) done("nothing (no reply)");
      char buf[512];
      sockaddr_storage from{};
      socklen_t flen = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n <= 0) done("nothing (recv: " + std::string(strerror(errno)) + ")");
      done(std::string(buf, static_cast<size_t>(n)) + " from=" + sockaddr_str(from));
    }
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&dst), dlen) != 0 && errno != EINPROGRESS)
      done("nothing (connect: " + std::string(strerror(errno)) + ")");
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, c.timeout_ms) <= 0) done("nothing (connect timeout)");
    int soerr = 0;
    socklen_t el = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
    if (soerr) done("nothing (connect: " + std::string(strerror(soerr)) + ")");
    std::string line = read_all(fd, c.timeout_ms);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.empty()) done("nothing (connected, no answer)");
    done(line);
  }
  close(pfd[1]);
  std::string got = read_all(pfd[0], 3 * c.timeout_ms + 1000);
  close(pfd[0]);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  if (got.empty()) return "error: client gave no answer";
  return got;
}

// "10.0.0.1:80" -> "10.0.0.1", "[fd00::1]:80" -> "fd00::1".
inline std::string endpoint_ip(const std::string& ep) {
  if (!ep.empty() && ep[0] == '[') return ep.substr(1, ep.find(']') - 1);
  return ep.substr(0, ep.rfind(':'));
}

// Sends one ICMP / ICMPv6 echo request from a namespace and waits for the
// matching reply. Returns "pong from=<ip>" or "nothing (<why>)".
inline std::string run_ping(const std::string& netns, const std::string& dst, int timeout_ms = 2000) {
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) return "error: pipe";
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return "error: fork";
  if (pid == 0) {
    close(pfd[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto done = [&](const std::string& s) {
      (void)!write(pfd[1], s.data(), s.size());
      _exit(0);
    };
    if (!enter_netns(netns)) done("error: setns " + netns);
    sockaddr_storage to;
    socklen_t tl;
    if (!make_sockaddr(dst, 0, &to, &tl)) done("error: bad address " + dst);
    bool v6 = to.ss_family == AF_INET6;
    int fd = socket(to.ss_family, SOCK_RAW | SOCK_CLOEXEC, v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
    if (fd < 0) done("error: raw socket " + std::string(strerror(errno)));
    const uint16_t ident = static_cast<uint16_t>(getpid());
    uint8_t pkt[16] = {};
    pkt[0] = v6 ? 128 : 8;  // echo request
    pkt[4] = static_cast<uint8_t>(ident >> 8);
    pkt[5] = static_cast<uint8_t>(ident);
    pkt[7] = 1;  // sequence 1
    std::memcpy(pkt + 8, "meshcap!", 8);
    if (!v6) {  // the kernel fills in the ICMPv6 checksum, not the ICMP one
      uint32_t sum = 0;
      for (size_t i = 0; i < sizeof pkt; i += 2) sum += static_cast<uint32_t>(pkt[i] << 8 | pkt[i + 1]);
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      uint16_t ck = static_cast<uint16_t>(~sum);
      pkt[2] = static_cast<uint8_t>(ck >> 8);
      pkt[3] = static_cast<uint8_t>(ck);
    }
    if (sendto(fd, pkt, sizeof pkt, 0, reinterpret_cast<sockaddr*>(&to), tl) < 0)
      done("nothing (sendto: " + std::string(strerror(errno)) + ")");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (int guard = 0; guard < 100; ++guard) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
      uint8_t buf[1500];
      sockaddr_storage from{};
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) continue;
      size_t off = v6 ? 0 : static_cast<size_t>(buf[0] & 0x0f) * 4;  // v4 raw sockets see the IP header
      if (static_cast<size_t>(n) < off + 8) continue;
      const uint8_t* ic = buf + off;
      bool reply = v6 ? ic[0] == 129 : ic[0] == 0;
      if (reply && ic[4] == pkt[4] && ic[5] == pkt[5]) done("pong from=" + endpoint_ip(sockaddr_str(from)));
    }
    done("nothing (no echo reply)");
  }
  close(pfd[1]);
  std::string got = read_all(pfd[0], timeout_ms + 2000);
  close(pfd[0]);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return got.empty() ? "error: ping gave no answer" : got;
}

// "k=v k=v ..." -> map.
inline std::map<std::string, std::string> parse_answer(const std::string& line) {
  std::map<std::string, std::string> m;
  std::istringstream in(line);
  std::string tok;
  while (in >> tok) {
    auto eq = tok.find('=');
    if (eq != std::string::npos) m[tok.substr(0, eq)] = tok.substr(eq + 1);
  }
  return m;
}

}  // namespace meshcap::traffic
