// `meshcap istio-iptables ARGS` and Linkerd's proxy-init ARGS
// (docs/dialects.md): the mesh's command line, parsed by src/dialects into
// settings, then run as apply, cleanup or nothing, plus Istio's validation.
#pragma once

#include <string_view>

namespace meshcap::app {

enum class Dialect { Istio, Linkerd };

// `first` is the index of the first of the mesh's arguments in argv.
int dialect_command(Dialect dialect, int argc, char** argv, int first);

// A command line Linkerd's injector wrote (its first argument is a Linkerd flag).
bool linkerd_command_line(int argc, char** argv);

}  // namespace meshcap::app
