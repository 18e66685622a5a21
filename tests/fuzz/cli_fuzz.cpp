// libFuzzer target: the command line. Input: NUL-separated argv entries; an
// empty entry ends argv, and the entries after it are the environment
// ("NAME=value"). parse_command_line and then parse_config must accept or
// refuse every combination without crashing; a refusal is one line.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args{"meshcap"};
  std::map<std::string, std::string> env;
  bool in_env = false;
  while (!in.empty()) {
    auto nul = in.find('\0');
    std::string_view part = in.substr(0, nul);
    in = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
    if (!in_env && part.empty()) {
      in_env = true;
    } else if (!in_env) {
      args.emplace_back(part);
    } else if (auto eq = part.find('='); eq != std::string_view::npos) {
      env[std::string(part.substr(0, eq))] = std::string(part.substr(eq + 1));
    }
  }
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  auto inv = meshcap::app::parse_command_line(static_cast<int>(args.size()), argv.data(), env);
  if (!inv) {
    if (inv.error().message.find('\n') != std::string::npos) {
      std::fprintf(stderr, "parse_command_line: a message of more than one line: %.2000s\n",
                   inv.error().message.c_str());
      std::abort();
    }
    return 0;
  }
  if (inv->exit_now) return 0;
  auto config = meshcap::parse_config(inv->raw);
  if (!config) {
    const std::string& m = config.error().message;
    // At most 8 problems are quoted (detail::invalid_configuration), each a
    // fixed text of a few hundred bytes plus the value it names: linear in
    // the input, with room for the few long fixed texts a tiny input can
    // reach (a loop explanation, the family/ipv6 conflict).
    if (m.find('\n') != std::string::npos || m.size() > 4096 + 4 * size) {
      std::fprintf(stderr, "parse_config: a %zu-byte message for a %zu-byte input: %.2000s\n", m.size(), size,
                   m.c_str());
      std::abort();
    }
  }
  return 0;
}
