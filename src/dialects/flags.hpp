// A pflag-style command line (Go's flag library, which both meshes use):
// `--name=value`, `--name value`, `-n value`, `-n=value`, `-nvalue`; a
// boolean flag alone means true and takes a value only after `=`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dialects/dialect.hpp"

namespace meshcap::dialects {

struct FlagSpec {
  std::string name;     // long name without dashes
  char short_name = 0;  // 0: none
  bool boolean = false;
  bool repeatable = false;       // a list flag given twice: the values join
  std::vector<std::string> env;  // variables that set it when the flag is absent
};

struct FlagValue {
  std::string value;
  std::string source;  // the flag as written ("-p", "--envoy-port") or the variable
};

// Keyed by FlagSpec::name. An unknown flag, a stray argument, a missing
// value or a boolean that is not Go's true/false is BadInput naming it.
Result<std::map<std::string, FlagValue>> parse_flags(const std::string& tool,
                                                     const std::vector<FlagSpec>& specs,
                                                     const std::vector<std::string>& args, const Env& env);

// Go's strconv.ParseBool.
std::optional<bool> parse_go_bool(const std::string& s);

}  // namespace meshcap::dialects
