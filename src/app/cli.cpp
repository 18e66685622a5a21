#include "app/cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>

namespace meshcap::app {
namespace {

struct CommandInfo {
  const char* name;
  Command command;
  const char* help;
};

constexpr CommandInfo kCommands[] = {
    {"apply", Command::Apply, "Program the rules, verify them and exit (the default command)"},
    {"check", Command::Check,
     "Exit 0 when the namespace holds exactly the configured rules, 4 and the difference otherwise"},
    {"cleanup", Command::Cleanup, "Remove everything meshcap installed"},
};

const char* metavar(std::string_view flag) {
  static const std::map<std::string_view, const char*> names = {
      {"outbound-port", "PORT"},         {"inbound-port", "PORT"},
      {"proxy-uid", "UIDS"},             {"proxy-gid", "GIDS"},
      {"inbound-ports", "PORTS"},        {"exclude-inbound-ports", "PORTS"},
      {"outbound-cidrs", "CIDRS"},       {"exclude-outbound-cidrs", "CIDRS"},
      {"exclude-outbound-ports", "PORTS"}, {"include-outbound-ports", "PORTS"},
      {"exclude-interfaces", "NAMES"},   {"virt-interfaces", "NAMES"},
      {"inbound-mode", "MODE"},          {"dns-port", "PORT"},
      {"dns-servers", "ADDRS"},          {"tproxy-mark", "MARK"},
      {"tproxy-table", "TABLE"},         {"ipv6", "MODE"},
      {"backend", "NAME"},               {"netns", "PATH"},
      {"verify", "MODE"},                {"format", "FORMAT"},
      {"family", "4|6"},                 {"log-level", "LEVEL"},
      {"log-format", "FORMAT"},
  };
  auto it = names.find(flag);
  return it == names.end() ? "VALUE" : it->second;
}

std::string usage(const SettingInfo& s) {
  std::string text = std::string("--") + s.flag;
  if (!s.is_switch) text += std::string(" ") + metavar(s.flag);
  return text;
}

// Our own help rather than CLI11's, so every line can name its variable and
// default in the same words the README uses.
std::string help_text(const CommandInfo* command) {
  std::ostringstream out;
  out << "meshcap " MESHCAP_VERSION " - send a pod's TCP traffic through its sidecar proxy\n\n";
  if (command) {
    out << "Usage: meshcap " << command->name << " [flags]\n\n" << command->help << "\n\n";
  } else {
    out << "Usage: meshcap [command] [flags]\n\nCommands:\n";
    for (const auto& c : kCommands)
      out << "  " << c.name << std::string(9 - std::string_view(c.name).size(), ' ') << c.help
          << "\n";
    out << "\n";
  }
  out << "Flags (each may also be set by its environment variable; a flag overrides it):\n";
  size_t width = 0;
  for (const auto& s : settings()) width = std::max(width, usage(s).size());
  auto line = [&](const std::string& left, const std::string& right) {
    out << "  " << left << std::string(width + 3 - left.size(), ' ') << right << "\n";
  };
  for (const auto& s : settings()) {
    std::string def = *s.default_text ? s.default_text : "none";
    line(usage(s), std::string(s.help) + " [env: " + env_name(s.flag) + "] [default: " + def + "]");
  }
  line("-h, --help", "Show this help");
  if (!command) line("--version", "Print the version");
  return out.str();
}

const CommandInfo* command_named(const std::string& name) {
  for (const auto& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

using SettingOptions = std::vector<std::pair<std::string, CLI::Option*>>;

// Every setting is a plain string option (switches are flags): CLI11 only
// splits argv, parse_config() judges the values.
SettingOptions add_settings(CLI::App& app) {
  app.set_help_flag("-h,--help");
  app.allow_extras();  // so we can name the stray arguments ourselves
  SettingOptions options;
  for (const auto& s : settings()) {
    auto name = std::string("--") + s.flag;
    auto* option = s.is_switch ? app.add_flag(name) : app.add_option(name)->type_name(metavar(s.flag));
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    options.emplace_back(s.flag, option);
  }
  return options;
}

void take(const SettingOptions& options, RawSettings& raw) {
  for (const auto& [flag, option] : options)
    if (option->count() > 0 && !option->results().empty())
      raw[flag] = RawValue{option->results().back(), "--" + flag};
}

tl::unexpected<Error> bad_command_line(const std::string& what) {
  return fail(ErrorKind::BadInput, what + "; see meshcap --help");
}

}  // namespace

Result<Invocation> parse_command_line(int argc, const char* const* argv,
                                      const std::map<std::string, std::string>& env) {
  Invocation inv;

  std::map<std::string, std::string> flag_of_env;
  for (const auto& s : settings()) flag_of_env[env_name(s.flag)] = s.flag;
  for (const auto& [name, value] : env) {
    if (name.rfind("MESHCAP_", 0) != 0) continue;
    if (auto it = flag_of_env.find(name); it != flag_of_env.end())
      inv.raw[it->second] = RawValue{value, name};
    else
      inv.unknown_env.push_back(name);  // Kubernetes adds MESHCAP_SERVICE_HOST and the like
  }

  CLI::App app{"", "meshcap"};
  auto top = add_settings(app);
  auto* version = app.add_flag("--version");
  std::vector<std::pair<CLI::App*, SettingOptions>> subs;
  for (const auto& c : kCommands) {
    auto* sub = app.add_subcommand(c.name, c.help);
    subs.emplace_back(sub, add_settings(*sub));
  }
  app.require_subcommand(0, 1);

  // CLI11 reads `--flag=` as a flag missing its value, but an empty list is a
  // valid setting (`--inbound-ports=` captures nothing inbound): split it into
  // `--flag ""`, which CLI11 takes as an empty value.
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) {
    std::string arg = argv[i];
    if (arg.size() > 3 && arg.rfind("--", 0) == 0 && arg.back() == '=' &&
        arg.find('=') == arg.size() - 1) {
      args.emplace_back("");
      arg.pop_back();
    }
    args.push_back(std::move(arg));
  }

  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    auto chosen = app.get_subcommands();
    inv.exit_now = true;
    inv.output = help_text(chosen.empty() ? nullptr : command_named(chosen.front()->get_name()));
    return inv;
  } catch (const CLI::ParseError& e) {
    return bad_command_line(std::string("bad command line: ") + e.what());
  }

  if (auto stray = app.remaining(true); !stray.empty()) {
    const auto& first = stray.front();
    if (first.rfind("-", 0) == 0) return bad_command_line("unknown flag " + first);
    if (app.get_subcommands().empty())
      return bad_command_line("unknown command \"" + first + "\" (commands: apply, check, cleanup)");
    return bad_command_line("unexpected argument \"" + first + "\"");
  }
  if (version->count() > 0) {
    inv.exit_now = true;
    inv.output = "meshcap " MESHCAP_VERSION "\n";
    return inv;
  }

  // Settings given before the command count too; those after it win.
  take(top, inv.raw);
  for (const auto& [sub, options] : subs) {
    if (!sub->parsed()) continue;
    inv.command = command_named(sub->get_name())->command;
    take(options, inv.raw);
  }
  return inv;
}

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    auto eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    // First wins, as with getenv().
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

}  // namespace meshcap::app
