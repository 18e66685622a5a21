// meshcap as a chained CNI plugin: the runtime runs the binary with
// CNI_COMMAND set, the network configuration on stdin and the pod's namespace
// in CNI_NETNS (docs/commands.md, "CNI plugin").
#pragma once

#include <map>
#include <string>

namespace meshcap::app {

// Reads stdin, answers on stdout (a result or the specification's error
// object), logs on stderr; returns the exit code. Settings come only from the
// network configuration and the pod's annotations, never from MESHCAP_*
// variables or a config file. Never touches the namespace it runs in.
int cni_main(const std::map<std::string, std::string>& env);

}  // namespace meshcap::app
