// The top layer: wires the command line to the core and the kernel backends,
// logs, and maps every error to its exit code (SPEC §5).
#pragma once

namespace meshcap::app {

int run(int argc, char** argv);

}  // namespace meshcap::app
