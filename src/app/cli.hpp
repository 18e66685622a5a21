// The command line: argv, MESHCAP_* variables and a --config file become
// RawSettings plus a command, all derived from the settings table. Nothing
// here validates a value; parse_config() does, so flags, variables, the config
// file and the CNI config share one set of rules and messages.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "meshcap/config.hpp"
#include "meshcap/result.hpp"

namespace meshcap::app {

enum class Command { Apply, Check, Cleanup, Validate };

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

// Reads the file named by --config or MESHCAP_CONFIG (an object keyed by the
// settings' camelCase names) into `inv.raw`, under what flags and variables
// set. A file that is missing, unreadable, not JSON, or has an unknown key or
// a value of the wrong JSON type is BadInput naming the file (and the key).
Result<void> add_config_file(Invocation& inv);

// parse_command_line(), then add_config_file() (not for --help or --version).
Result<Invocation> read_invocation(int argc, const char* const* argv,
                                   const std::map<std::string, std::string>& env);

// The log format the user asked for, decided before anything is reported so
// that in json mode even the first error is a JSON line. A missing or invalid
// value means text.
LogFormat log_format_of(const RawSettings& raw);
// The same when read_invocation() failed: --log-format from argv, else
// MESHCAP_LOG_FORMAT, else logFormat of the --config / MESHCAP_CONFIG file.
LogFormat log_format_hint(int argc, const char* const* argv, const std::map<std::string, std::string>& env);

// The process environment, from ::environ: the variables whose names start
// with `prefix` (a pod's environment can hold hundreds of service variables).
std::map<std::string, std::string> environment(std::string_view prefix = "");

}  // namespace meshcap::app
