#include "app/validate.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "app/traffic.hpp"
#include "sys/netns.hpp"

namespace meshcap::app {

Result<void> validate(const Config& config) {
  auto guard = sys::enter_netns(config.netns);
  if (!guard) return tl::unexpected(guard.error());
  auto probe = choose_probe(config);
  if (!probe)
    return fail(ErrorKind::BadInput,
                "validate: these settings capture no IPv4 connection uid " + std::to_string(getuid()) +
                    " could open (it is a proxy uid or gid, or nothing is captured outbound); run it "
                    "as the app's user with the pod's settings");
  std::string target = probe->destination.addr_string() + ":" + std::to_string(probe->port);
  if (auto ok = verify_traffic(config, *probe); !ok) {
    // verify_traffic() speaks to `apply --verify traffic`; say it for validate.
    std::string why = ok.error().message;
    for (std::string_view noise : {"traffic verification failed: ", " (use --verify rules to skip it)"})
      if (auto at = why.find(noise); at != std::string::npos) why.erase(at, noise.size());
    return fail(ok.error().kind, "validate: traffic is not captured: " + why +
                                     "; the pod's rules are missing (was the CNI plugin installed when "
                                     "the pod started?) or its settings differ from these");
  }
  spdlog::info(
      "validate: a connection to {} landed on the outbound port {} with its original "
      "destination: traffic is captured",
      target, config.outbound_port);
  return {};
}

}  // namespace meshcap::app
