// The top layer: wires the command line to the core and the kernel backends,
// logs, and maps every error to its exit code (docs/commands.md).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "app/cli.hpp"
#include "meshcap/backend.hpp"
#include "meshcap/config.hpp"
#include "sys/lock.hpp"

namespace meshcap::app {

int run(int argc, char** argv);

// Makes the Backend a run uses, in the namespace the run has entered;
// BackendKind::Auto is the factory's to resolve.
using BackendFactory = std::function<Result<std::unique_ptr<Backend>>(BackendKind, IpsetMode)>;

// The kernel's backends: nft or iptables with the other as the stray one,
// and the routing state; auto asks the namespace (src/sys/backend_probe.hpp).
Result<std::unique_ptr<Backend>> kernel_backend(BackendKind kind, IpsetMode ipset = IpsetMode::Auto);

// What execute() runs against; tests substitute a fake namespace and a short
// wait for the lock.
struct Environment {
  BackendFactory make_backend = [](BackendKind k, IpsetMode i) { return kernel_backend(k, i); };
  std::chrono::milliseconds lock_timeout = sys::kLockTimeout;
};

// One command (apply, check, cleanup or a dry run) for a validated config,
// inside config.netns (empty: the current namespace). When verification or
// check finds a difference, `difference` (if given) receives it as readable
// text. The CNI plugin calls this with config.netns = CNI_NETNS.
Result<void> execute(const Invocation& inv, Config config, const Environment& env = {},
                     std::string* difference = nullptr);

}  // namespace meshcap::app
