#include "app/cli.hpp"

#include <cctype>
#include <cstring>

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "sys/file.hpp"

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
    {"validate", Command::Validate,
     "Unprivileged: prove a connection opened here is captured (exit 4 or --failure-exit-code if not)"},
};

std::string usage(const Setting& s) {
  std::string text = "--" + std::string(s.flag);
  if (!is_switch(s)) text += " " + std::string(s.metavar);
  return text;
}

// Our own help rather than CLI11's, so every line can name its variable and
// default in the same words the README uses.
std::string help_text(const CommandInfo* command) {
  std::string out = "meshcap " MESHCAP_VERSION " - send a pod's TCP traffic through its sidecar proxy\n\n";
  if (command) {
    out += "Usage: meshcap " + std::string(command->name) + " [flags]\n\n" + command->help + "\n\n";
  } else {
    out += "Usage: meshcap [command] [flags]\n\nCommands:\n";
    for (const auto& c : kCommands)
      out += "  " + std::string(c.name) + std::string(9 - std::string_view(c.name).size(), ' ') + c.help +
             "\n";
    out += "\n";
  }
  out +=
      "Flags (each may also be set by its environment variable, or by its camelCase key in\n"
      "the --config file; a flag overrides its variable, and both override the file):\n";
  size_t width = 0;
  for (const auto& s : settings()) width = std::max(width, usage(s).size());
  auto line = [&](const std::string& left, const std::string& right) {
    out += "  " + left + std::string(width + 3 - left.size(), ' ') + right + "\n";
  };
  for (const auto& s : settings())
    line(usage(s), std::string(s.help) + " [env: " + env_name(s.flag) + "] [default: " +
                       shown_default(s) + "]");
  line("-h, --help", "Show this help");
  if (!command) line("--version", "Print the version");
  return out;
}

const CommandInfo* command_named(const std::string& name) {
  for (const auto& c : kCommands)
    if (name == c.name) return &c;
  return nullptr;
}

tl::unexpected<Error> bad_command_line(const std::string& what) {
  return fail(ErrorKind::BadInput, what + "; see meshcap --help");
}

}  // namespace

// A hand-written splitter rather than CLI11: building a CLI11 app of every
// setting was half of meshcap's start-up (CLI11 checks each new option
// against all earlier ones). The rules are CLI11's as meshcap used them:
// settings before or after the command (the last one given wins), a setting
// takes the next argument whatever it looks like or `--flag=VALUE` (an empty
// VALUE is an empty list), a switch takes only `--switch=VALUE`; --help wins
// over stray arguments, not over a setting missing its value. meshcap takes
// no positional argument, so `--` is as unknown as any other flag.
Result<Invocation> parse_command_line(int argc, const char* const* argv,
                                      const std::map<std::string, std::string>& env) {
  Invocation inv;

  for (const auto& [name, value] : env) {
    if (name.rfind("MESHCAP_", 0) != 0) continue;
    // MESHCAP_OUTBOUND_PORT -> outbound-port, and back, so only the exact
    // spelling counts.
    std::string flag = name.substr(8);
    for (char& c : flag) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const Setting* setting = find_setting(flag);
    if (setting && env_name(setting->flag) == name)
      inv.raw[std::string(setting->flag)] = RawValue{value, name};
    else
      inv.unknown_env.push_back(name);  // Kubernetes adds MESHCAP_SERVICE_HOST and the like
  }

  const CommandInfo* command = nullptr;
  bool help = false;
  bool version = false;
  // `--flag=` is `--flag ""`: an empty value (`--inbound-ports=` captures
  // nothing inbound); for a switch, a stray "".
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool empty_value = arg.size() > 3 && arg.rfind("--", 0) == 0 && arg.find('=') == arg.size() - 1;
    if (empty_value) arg.pop_back();
    args.push_back(std::move(arg));
    if (empty_value) args.emplace_back();
  }

  std::string stray;  // the first argument that is neither a flag we know nor the command
  bool strayed = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto keep_stray = [&](const std::string& what) {
      if (!strayed) stray = what;
      strayed = true;
    };
    if (arg == "-h" || arg == "--help") {
      help = true;
      continue;
    }
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      auto eq = arg.find('=');
      std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      std::optional<std::string> value;
      if (eq != std::string::npos) value = arg.substr(eq + 1);
      if (name == "version" || name == "help") {
        (name == "help" ? help : version) = true;
        continue;
      }
      const Setting* s = find_setting(name);
      if (!s) {
        keep_stray(arg);
        continue;
      }
      if (!value && is_switch(*s)) {
        value = "true";
      } else if (!value) {
        if (i + 1 == args.size()) return bad_command_line("bad command line: --" + name + " needs a value");
        value = args[++i];
      }
      inv.raw[name] = RawValue{std::move(*value), "--" + name};
      continue;
    }
    if (!command && arg.rfind('-', 0) != 0)
      if (const auto* c = command_named(arg)) {
        command = c;
        continue;
      }
    keep_stray(arg);
  }

  if (help) {
    inv.exit_now = true;
    inv.output = help_text(command);
    return inv;
  }
  if (strayed) {
    const std::string first = printable(stray);
    if (stray.rfind("-", 0) == 0) return bad_command_line("unknown flag " + first);
    if (!command)
      return bad_command_line("unknown command \"" + first + "\" (commands: apply, check, cleanup, validate)");
    return bad_command_line("unexpected argument \"" + first + "\"");
  }
  if (version) {
    inv.exit_now = true;
    inv.output = "meshcap " MESHCAP_VERSION "\n";
    return inv;
  }
  if (command) inv.command = command->command;
  return inv;
}

namespace {

// The whole file, or why it cannot be read.
Result<std::string> read_file(const std::string& path, const std::string& named) {
  auto text = sys::read_file(path);
  if (!text)
    return fail(ErrorKind::BadInput,
                "invalid configuration: cannot read " + named + ": " + std::strerror(text.error()));
  return std::move(*text);
}

// The config file as JSON; `named` says where its name came from
// ("--config /etc/meshcap.json").
Result<nlohmann::json> read_json_file(const std::string& path, const std::string& named) {
  auto text = read_file(path, named);
  if (!text) return tl::unexpected(text.error());
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string why = e.what();
    if (auto end = why.find("] "); why.rfind("[json.exception", 0) == 0 && end != std::string::npos)
      why.erase(0, end + 2);
    return fail(ErrorKind::BadInput,
                "invalid configuration: " + named + " is not valid JSON: " + printable(why, true, 200));
  }
}

Origin file_origin(const std::string& path) {
  auto name = printable(path);
  return Origin{name, name + ": ", false};
}

// The config file's path and how to name it in messages; nullopt: no file.
std::optional<std::pair<std::string, std::string>> config_file_of(const RawSettings& raw) {
  auto it = raw.find("config");
  if (it == raw.end() || it->second.value.empty()) return std::nullopt;
  return std::pair{it->second.value, it->second.source + " " + printable(it->second.value)};
}

}  // namespace

Result<void> add_config_file(Invocation& inv) {
  auto file = config_file_of(inv.raw);
  if (!file) return {};
  auto doc = read_json_file(file->first, file->second);
  if (!doc) return tl::unexpected(doc.error());
  auto raw = raw_from_json(*doc, file_origin(file->first));
  if (!raw) return tl::unexpected(raw.error());
  // Only what flags and variables left unset comes from the file.
  inv.raw.merge(*raw);
  return {};
}

Result<Invocation> read_invocation(int argc, const char* const* argv,
                                   const std::map<std::string, std::string>& env) {
  auto inv = parse_command_line(argc, argv, env);
  if (!inv || inv->exit_now) return inv;
  if (auto added = add_config_file(*inv); !added) return tl::unexpected(added.error());
  return inv;
}

LogFormat log_format_of(const RawSettings& raw) {
  auto it = raw.find("log-format");
  if (it == raw.end()) return LogFormat::Text;
  auto config = parse_config({*it});
  return config ? config->log_format : LogFormat::Text;
}

LogFormat log_format_hint(int argc, const char* const* argv,
                          const std::map<std::string, std::string>& env) {
  RawSettings raw;
  for (const char* key : {"log-format", "config"}) {
    if (auto it = env.find(env_name(key)); it != env.end()) raw[key] = RawValue{it->second, it->first};
    // The last --key VALUE or --key=VALUE, as parse_command_line takes it.
    std::string flag = "--" + std::string(key);
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == flag && i + 1 < argc)
        raw[key] = RawValue{argv[i + 1], flag};
      else if (arg.rfind(flag + "=", 0) == 0)
        raw[key] = RawValue{std::string(arg.substr(flag.size() + 1)), flag};
    }
  }
  if (auto file = config_file_of(raw); file && !raw.count("log-format")) {
    auto doc = read_json_file(file->first, file->second);
    if (doc && doc->is_object() && doc->contains("logFormat")) {
      nlohmann::json only = {{"logFormat", (*doc)["logFormat"]}};
      if (auto from_file = raw_from_json(only, file_origin(file->first))) raw.merge(*from_file);
    }
  }
  return log_format_of(raw);
}

std::map<std::string, std::string> environment(std::string_view prefix) {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    if (text.substr(0, prefix.size()) != prefix) continue;
    auto eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    // First wins, as with getenv().
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

}  // namespace meshcap::app
