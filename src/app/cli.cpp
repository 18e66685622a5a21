#include "app/cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <sstream>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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
  out << "Flags (each may also be set by its environment variable, or by its camelCase key in\n"
         "the --config file; a flag overrides its variable, and both override the file):\n";
  size_t width = 0;
  for (const auto& s : settings()) width = std::max(width, usage(s).size());
  auto line = [&](const std::string& left, const std::string& right) {
    out << "  " << left << std::string(width + 3 - left.size(), ' ') << right << "\n";
  };
  for (const auto& s : settings())
    line(usage(s), std::string(s.help) + " [env: " + env_name(s.flag) + "] [default: " +
                       shown_default(s) + "]");
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
    auto name = "--" + std::string(s.flag);
    auto* option =
        is_switch(s) ? app.add_flag(name) : app.add_option(name)->type_name(std::string(s.metavar));
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    options.emplace_back(std::string(s.flag), option);
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
  for (const auto& s : settings()) flag_of_env[env_name(s.flag)] = std::string(s.flag);
  for (const auto& [name, value] : env) {
    if (name.rfind("MESHCAP_", 0) != 0) continue;
    if (auto it = flag_of_env.find(name); it != flag_of_env.end())
      inv.raw[it->second] = RawValue{value, name};
    else
      inv.unknown_env.push_back(name);  // Kubernetes adds MESHCAP_SERVICE_HOST and the like
  }

  // The settings are options of the top-level app only; a command falls
  // through to them. Giving every command its own copy built four option
  // sets on every run, most of meshcap's start-up CPU (CLI11 checks each new
  // option against all earlier ones). One copy also keeps the order rule:
  // settings before the command count, those after it win (TakeLast).
  CLI::App app{"", "meshcap"};
  auto top = add_settings(app);
  auto* version = app.add_flag("--version");
  std::vector<CLI::App*> subs;
  for (const auto& c : kCommands) {
    auto* sub = app.add_subcommand(c.name, c.help);
    sub->fallthrough();
    sub->allow_extras();
    subs.push_back(sub);
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
    return bad_command_line("bad command line: " + printable(e.what(), true, 200));
  }

  if (auto stray = app.remaining(true); !stray.empty()) {
    const auto& raw_first = stray.front();
    const std::string first = printable(raw_first);
    if (raw_first.rfind("-", 0) == 0) return bad_command_line("unknown flag " + first);
    if (app.get_subcommands().empty())
      return bad_command_line("unknown command \"" + first + "\" (commands: apply, check, cleanup, validate)");
    return bad_command_line("unexpected argument \"" + first + "\"");
  }
  if (version->count() > 0) {
    inv.exit_now = true;
    inv.output = "meshcap " MESHCAP_VERSION "\n";
    return inv;
  }

  take(top, inv.raw);
  for (const auto* sub : subs)
    if (sub->parsed()) inv.command = command_named(sub->get_name())->command;
  return inv;
}

namespace {

// The whole file, or why it cannot be read.
Result<std::string> read_file(const std::string& path, const std::string& named) {
  auto cannot = [&](int err) {
    return fail(ErrorKind::BadInput, "invalid configuration: cannot read " + named + ": " +
                                         std::strerror(err));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot(errno);
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return cannot(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
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
    // The last --key VALUE or --key=VALUE, as CLI11 would take it.
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
