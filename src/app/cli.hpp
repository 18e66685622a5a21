// The command line: argv and MESHCAP_* variables become RawSettings plus a
// command. Nothing here validates a value; parse_config() does, so flags,
// variables and the CNI config share one set of rules and messages.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "meshcap/config.hpp"
#include "meshcap/result.hpp"

namespace meshcap::app {

enum class Command { Apply, Check, Cleanup };

struct Invocation {
  Command command = Command::Apply;
  RawSettings raw;
  std::vector<std::string> unknown_env;  // MESHCAP_* variables that name no setting
  bool exit_now = false;                 // --help or --version: print `output`, exit 0
  std::string output;
};

// `env` is the process environment as name -> value (tests pass their own).
// A flag overrides its MESHCAP_* variable. Errors are ErrorKind::BadInput.
Result<Invocation> parse_command_line(int argc, const char* const* argv,
                                      const std::map<std::string, std::string>& env);

// The process environment, from ::environ.
std::map<std::string, std::string> environment();

}  // namespace meshcap::app
