// `meshcap cni install|uninstall` on the command line: src/cni/install.hpp
// does the work; this front end checks the entry the flags make with the
// plugin's own reader (what install writes, the plugin accepts), and logs.
#pragma once

#include <string>
#include <vector>

#include "cni/install.hpp"
#include "meshcap/result.hpp"

namespace meshcap::app {

// meshcap::cni::parse_install(), then meshcap's entry read back as the plugin reads
// its network config: a value the plugin would refuse is BadInput here,
// before anything is written.
Result<meshcap::cni::InstallRequest> parse_cni_install(const std::vector<std::string>& args);

// The command: argv[1] is "cni". Returns the exit code.
int cni_install_command(int argc, char** argv);

}  // namespace meshcap::app
