// The top layer: wires the command line to the core and the kernel backends,
// logs, and maps every error to its exit code (docs/commands.md).
#pragma once

#include <string>

#include "app/cli.hpp"
#include "meshcap/config.hpp"
#include "meshcap/result.hpp"

namespace meshcap::app {

int run(int argc, char** argv);

// Runs inv.command (apply, check or cleanup) for a validated config, inside
// config.netns (empty: the current namespace). When verification or check
// finds a difference, `difference` (if given) receives it as readable text.
// The CNI plugin calls this with config.netns = CNI_NETNS.
Result<void> execute(const Invocation& inv, Config config, std::string* difference = nullptr);

}  // namespace meshcap::app
