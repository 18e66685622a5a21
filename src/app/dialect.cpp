#include "app/dialect.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "app/cli.hpp"
#include "app/log.hpp"
#include "app/run.hpp"
#include "dialects/dialect.hpp"
#include "sys/file.hpp"
#include "sys/netns.hpp"

namespace meshcap::app {

namespace {

// The families of this namespace's addresses, skipping loopback and
// link-local ones, in the order the kernel lists them: what Istio reads
// through Go's net.InterfaceAddrs to decide IPv6.
std::vector<Family> pod_addresses() {
  std::vector<Family> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    if (a->ifa_addr->sa_family == AF_INET) {
      uint32_t ip = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
      if ((ip >> 24) == 127 || (ip >> 16) == 0xa9fe) continue;  // 127/8, 169.254/16
      out.push_back(Family::V4);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      const in6_addr& ip = reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr;
      if (IN6_IS_ADDR_LOOPBACK(&ip) || IN6_IS_ADDR_LINKLOCAL(&ip)) continue;
      out.push_back(IN6_IS_ADDR_V4MAPPED(&ip) ? Family::V4 : Family::V6);
    }
  }
  freeifaddrs(list);
  return out;
}

int report(const Error& e) {
  spdlog::error("{}", e.message);
  return exit_code(e.kind);
}

// Linkerd's --timeout-close-wait-secs, in the namespace being programmed.
Result<void> set_close_wait(const std::string& netns, uint32_t secs) {
  auto guard = sys::enter_netns(netns);
  if (!guard) return tl::unexpected(guard.error());
  const char* path = "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait";
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  std::string text = std::to_string(secs) + "\n";
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok)
    return fail(ErrorKind::Kernel,
                std::string("--timeout-close-wait-secs: cannot write ") + path + ": " + std::strerror(err));
  spdlog::info("set net.netfilter.nf_conntrack_tcp_timeout_close_wait to {}", secs);
  return {};
}

}  // namespace

bool linkerd_command_line(int argc, char** argv) { return argc > 1 && dialects::is_linkerd_flag(argv[1]); }

int dialect_command(Dialect dialect, int argc, char** argv, int first) {
  std::vector<std::string> args(argv + first, argv + argc);
  auto env = environment();
  setup_logging(LogFormat::Text, "info");
  // A missing resolv.conf reads as one without nameservers.
  auto parsed = dialect == Dialect::Istio ? dialects::parse_istio(args, env,
                                                                  sys::read_file("/etc/resolv.conf").value_or(""),
                                                                  pod_addresses())
                                          : dialects::parse_linkerd(args);
  if (!parsed) return report(parsed.error());
  auto config = parse_config(parsed->raw);
  if (!config) return report(config.error());
  setup_logging(config->log_format, config->log_level);
  for (const auto& n : parsed->notices) spdlog::info("{}", n);
  try {
    if (parsed->action != dialects::Action::Nothing) {
      Invocation inv;
      inv.command = parsed->action == dialects::Action::Cleanup ? Command::Cleanup : Command::Apply;
      inv.raw = parsed->raw;
      if (auto done = execute(inv, *config); !done) return report(done.error());
      if (parsed->close_wait_secs && !config->dry_run && inv.command == Command::Apply)
        if (auto set = set_close_wait(config->netns, parsed->close_wait_secs); !set)
          return report(set.error());
    } else {
      spdlog::info("--skip-rule-apply: no rules programmed");
    }
    if (parsed->validation && !config->dry_run) {
      spdlog::info("validation: dialing {}:{} as uid {} for up to {} ms",
                   parsed->validation->ipv6 ? "::6" : "127.0.0.6", parsed->validation->probe_port,
                   parsed->validation->uid, parsed->validation->timeout.count());
      if (auto ok = dialects::run_istio_validation(*parsed->validation); !ok) {
        spdlog::error("{}", ok.error().message);
        return dialects::kValidationFailedExit;
      }
      spdlog::info("validation passed: the capture rules send the proxy's connections inbound");
    }
    return 0;
  } catch (const std::exception& e) {
    return report(Error{ErrorKind::Other, std::string("unexpected failure: ") + e.what()});
  }
}

}  // namespace meshcap::app
