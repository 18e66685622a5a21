// --verify traffic: prove with a real connection that the outbound path lands
// on the proxy's port.
#pragma once

#include <optional>

#include "meshcap/config.hpp"
#include "meshcap/result.hpp"

namespace meshcap::app {

struct TrafficProbe {
  Cidr destination;  // a host address the plan captures
  uint16_t port;
};

// A destination the configuration captures to the outbound port over IPv4,
// or nullopt when it captures none (nothing to prove).
std::optional<TrafficProbe> choose_probe(const Config& config);

// Listens on the outbound port, connects to the probe destination as this
// process (which is no proxy uid/gid), and checks the connection lands on the
// listener with the probe as its original destination.
Result<void> verify_traffic(const Config& config, const TrafficProbe& probe);

}  // namespace meshcap::app
