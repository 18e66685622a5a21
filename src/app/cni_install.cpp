#include "app/cni_install.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "app/cni_request.hpp"
#include "app/log.hpp"
#include "sys/file.hpp"

namespace meshcap::app {

namespace install = meshcap::cni;

Result<install::InstallRequest> parse_cni_install(const std::vector<std::string>& args) {
  auto r = install::parse_install(args);
  if (!r || r->help) return r;
  auto conf = nlohmann::json::parse(r->entry);
  conf["cniVersion"] = cni::supported_versions().back();
  conf["name"] = "install";
  if (auto plugin = cni::read_plugin_settings(conf); !plugin) {
    std::string msg = plugin.error().msg;
    if (msg.rfind("invalid configuration: ", 0) == 0) msg.erase(0, 23);
    return fail(ErrorKind::BadInput,
                "the plugin would refuse this entry: " + msg + "; see `meshcap cni --help`");
  }
  return r;
}

int cni_install_command(int argc, char** argv) {
  setup_logging(LogFormat::Text, "info");
  auto r = parse_cni_install(std::vector<std::string>(argv + 2, argv + argc));
  if (!r) {
    spdlog::error("{}", r.error().message);
    return exit_code(r.error().kind);
  }
  if (r->help) {
    sys::write_all(STDOUT_FILENO, install::install_help());
    return 0;
  }
  Result<void> done;
  if (r->check)
    done = install::check(*r);
  else if (r->action == install::InstallRequest::Action::Uninstall)
    done = install::uninstall(*r);
  else if (r->watch)
    done = install::watch(*r, [](std::string_view line) { spdlog::info("{}", line); });
  else
    done = install::install(*r);
  if (!done) {
    spdlog::error("{}", done.error().message);
    return exit_code(done.error().kind);
  }
  return 0;
}

}  // namespace meshcap::app
