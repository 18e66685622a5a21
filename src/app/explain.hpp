// `meshcap explain`: which line of the capture table (docs/capture.md)
// decides one connection and where it lands, from the plan of the given
// settings or, with --live, from the rules the namespace holds. The answer
// comes from the plan's interpreter, never from the settings directly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "meshcap/config.hpp"
#include "meshcap/interpret.hpp"
#include "meshcap/result.hpp"

namespace meshcap::app {

struct ExplainRequest {
  Packet packet;
  std::string iface_origin = "assumed";  // "" when given; else how it was chosen (shown as such)
  bool live = false;
  bool help = false;  // print explain_help() and exit 0
  Config config;      // the settings: every settings flag and MESHCAP_* variable applies
  std::vector<std::string> unknown_env;
};

// `args` are the words after `explain`. Every problem is reported at once,
// as one line (ErrorKind::BadInput).
Result<ExplainRequest> parse_explain(const std::vector<std::string>& args,
                                     const std::map<std::string, std::string>& env);

std::string explain_help();

// The answer, several `name: value` lines. `rules_from` says whose rules
// were interpreted ("the plan of these settings", "the namespace (nft)").
std::string explain_text(const ExplainRequest& request, const Plan& plan, const std::string& rules_from);

// The command: argv[1] is "explain". Returns the exit code.
int explain_command(int argc, char** argv);

}  // namespace meshcap::app
