#include "app/cni.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "app/cni_request.hpp"
#include "app/log.hpp"
#include "app/run.hpp"
#include "meshcap/render.hpp"
#include "sys/fd.hpp"
#include "sys/netns.hpp"

namespace meshcap::app {

namespace {

using namespace cni;

std::string env_or(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

// stdin, up to one byte more than the protocol allows (so too much is seen).
std::string read_stdin() {
  std::string text;
  char buf[65536];
  while (text.size() <= kMaxInput) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

void print(const nlohmann::json& j) {
  auto text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Adds the config's logFile to the logger, so every line after this is
// appended there as well as written to stderr.
void log_to_file(const LogSettings& log, const std::string& container) {
  setup_logging(LogFormat::Text, log.level);
  if (log.file.empty()) return;
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_st>(log.file);
    std::string id = printable(container.substr(0, 12));
    std::erase(id, '%');
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l meshcap[%P] " + (id.empty() ? "-" : id) + ": %v");
    spdlog::default_logger()->sinks().push_back(std::move(sink));
  } catch (const std::exception& e) {
    spdlog::warn("cannot append to logFile {}: {}", printable(log.file), e.what());
  }
}

enum class Netns { Usable, Gone, NotNetns, Own };

// What CNI_NETNS names, without entering it: a network namespace, nothing,
// something else (a file, a directory, another kind of namespace), or the
// namespace this plugin runs in (the node's, never to be touched).
CniResult<Netns> inspect_netns(const std::string& path) {
  if (path.empty()) return Netns::Gone;
  if (path.front() != '/')
    return cni_fail(kInvalidVariable, "CNI_NETNS \"" + printable(path) + "\" is not an absolute path");
  sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return Netns::Gone;
    return cni_fail(kInvalidVariable, "CNI_NETNS " + printable(path) + ": " + std::strerror(errno));
  }
  if (::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET) return Netns::NotNetns;
  struct stat target {
  }, own{};
  if (::fstat(fd.get(), &target) != 0 || ::stat("/proc/self/ns/net", &own) != 0)
    return cni_fail(kInvalidVariable, "CNI_NETNS " + printable(path) + ": " + std::strerror(errno));
  if (target.st_dev == own.st_dev && target.st_ino == own.st_ino) return Netns::Own;
  return Netns::Usable;
}

// ADD and CHECK need a network namespace that is not ours.
CniResult<void> require_pod_netns(const std::string& path) {
  if (path.empty()) return cni_fail(kInvalidVariable, "CNI_NETNS is not set");
  auto kind = inspect_netns(path);
  if (!kind) return tl::unexpected(kind.error());
  if (*kind == Netns::NotNetns)
    return cni_fail(kInvalidVariable, "CNI_NETNS " + printable(path) + " is not a network namespace");
  if (*kind == Netns::Gone)
    return cni_fail(kInvalidVariable, "CNI_NETNS " + printable(path) + " does not exist");
  if (*kind == Netns::Own)
    return cni_fail(kInvalidVariable, "CNI_NETNS " + printable(path) +
                                          " is the namespace the plugin runs in (the node's); meshcap "
                                          "only programs pod namespaces");
  return {};
}

CniError from_error(const Error& e, const std::string& details = "") {
  switch (e.kind) {
    case ErrorKind::BadInput:
      return {kInvalidConfig, e.message, details};
    case ErrorKind::Kernel:
      return {kKernelRefused, e.message, details};
    case ErrorKind::Verify:
      return {kDifference, e.message, details};
    case ErrorKind::Other:
      break;
  }
  // The per-namespace lock's timeout: the runtime may try again.
  if (e.message.find("another meshcap holds") != std::string::npos)
    return {kTryAgainLater, e.message, details};
  return {kOtherFailure, e.message, details};
}

CniResult<void> run_command(Command command, const Config& config) {
  Invocation inv;
  inv.command = command;
  std::string difference;
  if (auto done = execute(inv, config, {}, &difference); !done) {
    CniError e = from_error(done.error(), difference);
    // stdout carries the difference in `details`; stderr had it above.
    if (auto at = e.msg.find("(difference above)"); at != std::string::npos)
      e.msg.replace(at, 18, "(difference in details)");
    return tl::unexpected(e);
  }
  return {};
}

// CHECK for a pod that is not captured: the namespace holds nothing of meshcap's
// (a ::6 on lo does not count: meshcap never removes it, and it may predate us).
CniResult<void> check_absent(const std::string& netns) {
  auto guard = sys::enter_netns(netns);
  if (!guard) return tl::unexpected(from_error(guard.error()));
  auto backend = kernel_backend(BackendKind::Nft);
  if (!backend) return tl::unexpected(from_error(backend.error()));
  auto held = (*backend)->observe();  // nft's tables and the routing state
  if (!held) return tl::unexpected(from_error(held.error()));
  std::string found;
  if (!held->tables.empty()) found += "nft:\n" + render_nft(*held, std::nullopt);
  auto strays = (*backend)->strays();  // the other backend's tables
  if (!strays) return tl::unexpected(from_error(strays.error()));
  for (const auto& s : *strays) {
    if (!s.unreadable.empty()) return cni_fail(kOtherFailure, "reading the " + s.backend + " backend: " + s.unreadable);
    found += s.backend + ":\n" + render_nft(s.held, std::nullopt);
  }
  if (!held->policy_rules.empty() || !held->local_routes.empty())
    found += std::to_string(held->policy_rules.size()) + " meshcap policy rules, " +
             std::to_string(held->local_routes.size()) + " meshcap local routes\n";
  if (!found.empty())
    return cni_fail(kDifference, "the pod is not captured, but its namespace holds meshcap state", found);
  return {};
}

enum class Probe { Works, Refused, NoNamespace };

// Whether this kernel takes the rules through one backend, tried in a
// throwaway namespace of a forked child, so no real namespace is touched.
Probe probe_backend(Config config, BackendKind backend) {
  constexpr int kNoNamespace = 10;
  config.backend = backend;
  config.netns.clear();
  config.verify = VerifyMode::Rules;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Probe::NoNamespace;
  if (pid == 0) {
    struct stat before {
    }, after{};
    if (::stat("/proc/thread-self/ns/net", &before) != 0 || ::unshare(CLONE_NEWNET) != 0 ||
        ::stat("/proc/thread-self/ns/net", &after) != 0 || before.st_ino == after.st_ino)
      ::_exit(kNoNamespace);  // not in a new namespace: touch nothing
    spdlog::set_level(spdlog::level::warn);
    Invocation inv;
    inv.command = Command::Apply;
    ::_exit(execute(inv, config) ? 0 : 1);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status)) return Probe::Refused;
  if (WEXITSTATUS(status) == kNoNamespace) return Probe::NoNamespace;
  return WEXITSTATUS(status) == 0 ? Probe::Works : Probe::Refused;
}

struct Context {
  const std::map<std::string, std::string>& env;
  Verb verb;
  nlohmann::json conf;
  std::string version;
};

CniResult<void> require_set(const Context& c, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (env_or(c.env, name).empty()) return cni_fail(kInvalidVariable, std::string(name) + " is not set");
  return {};
}

CniResult<nlohmann::json> add_or_check(const Context& c) {
  if (auto ok = require_set(c, {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"}); !ok)
    return tl::unexpected(ok.error());
  auto pod = parse_cni_args(env_or(c.env, "CNI_ARGS"));
  if (!pod) return tl::unexpected(pod.error());
  std::string netns = env_or(c.env, "CNI_NETNS");
  if (auto ok = require_pod_netns(netns); !ok) return tl::unexpected(ok.error());
  auto settings = read_plugin_settings(c.conf);
  if (!settings) return tl::unexpected(settings.error());

  Selection chosen = select_pod(*settings, *pod);
  std::string who = pod->pod_namespace && pod->pod_name
                        ? printable(*pod->pod_namespace + "/" + *pod->pod_name)
                        : "container " + printable(env_or(c.env, "CNI_CONTAINERID").substr(0, 12));
  Config config = settings->config;
  config.netns = netns;
  if (c.verb == Verb::Add) {
    if (!chosen.captured) {
      spdlog::info("ADD {}: not captured ({}); nothing to do", who, chosen.why);
    } else {
      spdlog::info("ADD {}: captured ({}), programming {}", who, chosen.why, printable(netns));
      if (auto ok = run_command(Command::Apply, config); !ok) return tl::unexpected(ok.error());
    }
    return add_result(c.conf, c.version);
  }
  if (!chosen.captured) {
    if (auto ok = check_absent(netns); !ok) return tl::unexpected(ok.error());
    spdlog::info("CHECK {}: not captured ({}) and its namespace holds no meshcap state", who, chosen.why);
    return nlohmann::json();
  }
  if (auto ok = run_command(Command::Check, config); !ok) return tl::unexpected(ok.error());
  return nlohmann::json();
}

// DEL must not fail for what it cannot clean: a failing DEL blocks the rest
// of the chain's cleanup.
CniResult<nlohmann::json> del(const Context& c) {
  std::string netns = env_or(c.env, "CNI_NETNS");
  auto kind = inspect_netns(netns);
  if (!kind) return tl::unexpected(kind.error());
  // A file that is not a namespace is what deleting one can leave behind.
  if (*kind == Netns::Gone || *kind == Netns::NotNetns) {
    spdlog::info("DEL: namespace {} is gone; nothing to clean up",
                 netns.empty() ? "(none)" : printable(netns));
    return nlohmann::json();
  }
  if (*kind == Netns::Own) {
    spdlog::warn("DEL: CNI_NETNS {} is the namespace the plugin runs in; leaving it alone", printable(netns));
    return nlohmann::json();
  }
  Config config;
  if (auto settings = read_plugin_settings(c.conf))
    config = settings->config;
  else
    spdlog::warn("DEL: cleaning up with default settings: {}", settings.error().msg);
  config.netns = netns;
  if (auto ok = run_command(Command::Cleanup, config); !ok) return tl::unexpected(ok.error());
  return nlohmann::json();
}

CniResult<nlohmann::json> status(const Context& c) {
  auto settings = read_plugin_settings(c.conf);
  if (!settings) return tl::unexpected(settings.error());
  for (auto backend : {BackendKind::Nft, BackendKind::Iptables}) {
    switch (probe_backend(settings->config, backend)) {
      case Probe::Works:
        spdlog::debug("STATUS: the kernel takes the rules via {}",
                      backend == BackendKind::Nft ? "nftables" : "iptables");
        return nlohmann::json();
      case Probe::NoNamespace:
        return cni_fail(kNotAvailable,
                        "the plugin cannot create a throwaway network namespace to probe the kernel in "
                        "(it needs CAP_SYS_ADMIN and CAP_NET_ADMIN)");
      case Probe::Refused:
        break;
    }
  }
  return cni_fail(kNotAvailable,
                  "this node's kernel takes meshcap's rules with neither nftables nor iptables",
                  "a throwaway network namespace refused both backends; see the plugin's log on stderr");
}

CniResult<nlohmann::json> handle(Context& c, const std::string& input) {
  auto conf = parse_network_config(input);
  if (!conf) return tl::unexpected(conf.error());
  c.conf = std::move(*conf);
  // Checked right after the JSON parses: the error object's version depends on it.
  auto version = config_version(c.conf, Verb::Add);
  if (!version) return tl::unexpected(version.error());
  c.version = *version;
  log_to_file(read_log_settings(c.conf), env_or(c.env, "CNI_CONTAINERID"));
  auto verb = parse_verb(env_or(c.env, "CNI_COMMAND"));
  if (!verb) return tl::unexpected(verb.error());
  c.verb = *verb;
  if (auto allowed = config_version(c.conf, c.verb); !allowed) return tl::unexpected(allowed.error());
  switch (c.verb) {
    case Verb::Add:
    case Verb::Check:
      return add_or_check(c);
    case Verb::Del:
      return del(c);
    case Verb::Status:
      return status(c);
    case Verb::Gc:
      return nlohmann::json();  // meshcap keeps no state outside pod namespaces
    case Verb::Version:
      break;
  }
  return nlohmann::json();
}

}  // namespace

int cni_main(const std::map<std::string, std::string>& env) {
  setup_logging(LogFormat::Text, "info");
  std::string input = read_stdin();
  if (env_or(env, "CNI_COMMAND") == "VERSION") {
    auto conf = parse_network_config(input);
    print(version_result(conf ? &*conf : nullptr));
    return 0;
  }
  Context c{env, Verb::Add, nlohmann::json(), supported_versions().back()};
  CniResult<nlohmann::json> out = cni_fail(kOtherFailure, "");
  try {
    out = handle(c, input);
  } catch (const std::exception& e) {
    out = cni_fail(kOtherFailure, std::string("unexpected failure: ") + e.what());
  }
  if (!out) {
    spdlog::error("CNI {} (code {}): {}", printable(env_or(env, "CNI_COMMAND")), out.error().code,
                  out.error().msg);
    print(error_object(c.version, out.error()));
    return 1;
  }
  if (!out->is_null()) print(*out);
  return 0;
}

}  // namespace meshcap::app
