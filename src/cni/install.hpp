// `meshcap cni install|uninstall`: puts meshcap into the node's CNI setup as
// the last plugin of the primary network config (docs/commands.md, "CNI").
//
// The primary config is the file the runtime uses: the lexically first of
// *.conf, *.conflist, *.json in the conf dir. meshcap's entry is inserted into
// the file's text, not re-serialised, so every other byte stays as it was and
// uninstall gives back the original file exactly. A single-plugin config is
// turned into a list (renamed .conflist) holding the original object verbatim,
// and turned back on uninstall.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meshcap/result.hpp"

namespace meshcap::cni {

struct InstallRequest {
  enum class Action { Install, Uninstall } action = Action::Install;
  std::string bin_dir = "/opt/cni/bin";
  std::string conf_dir = "/etc/cni/net.d";
  bool watch = false;         // stay running, keep the entry there until SIGTERM
  bool keep_on_exit = false;  // with --watch: leave everything installed on SIGTERM
  bool check = false;         // only say whether the entry and the binary are in place
  bool help = false;
  std::string entry;  // meshcap's plugin object, one line of JSON
};

// `args` are the words after `cni`. Every problem at once, one line (BadInput).
// The entry's top-level keys (select, excludeNamespaces, dialects, backend,
// logLevel, logFile) and its `capture` object come from the flags; the names
// in --dialects are only checked for shape here (the app checks the whole
// entry with the plugin's own reader, src/app/cni_install.hpp).
Result<InstallRequest> parse_install(const std::vector<std::string>& args);
std::string install_help();

// Pure text operations on a config file (exposed for the tests).
// The file with meshcap's entry `entry` last; `file` is its name, and the
// result's name differs when a single-plugin config became a list.
struct ConfFile {
  std::string name;  // base name in the conf dir
  std::string text;
};
Result<ConfFile> with_entry(const ConfFile& file, const std::string& entry);
// The file without meshcap's entry (a converted config turned back).
Result<ConfFile> without_entry(const ConfFile& file);
// Whether the file holds exactly `entry` as its last plugin.
bool has_entry(const std::string& text, const std::string& entry);

// The primary config in `conf_dir`, if any.
Result<std::optional<std::string>> primary_config(const std::string& conf_dir);

Result<void> install(const InstallRequest& request);
Result<void> uninstall(const InstallRequest& request);
Result<void> check(const InstallRequest& request);
// install, then keep the entry in place until SIGTERM/SIGINT. `note` gets
// what happened meanwhile (the entry put back, a config it cannot use yet),
// one line each, for the caller to log.
Result<void> watch(const InstallRequest& request, const std::function<void(std::string_view)>& note);

}  // namespace meshcap::cni
