// --verify traffic: prove with a real connection that the outbound path lands
// on the proxy's port.
#pragma once

#include <optional>
#include <string>

#include "meshcap/config.hpp"
#include "meshcap/result.hpp"

namespace meshcap::app {

struct TrafficProbe {
  Cidr destination;  // a host address the plan captures to the outbound port
  uint16_t port;
  std::string oif;   // the interface the namespace routes it through; empty: no route
  std::string line;  // the capture-table line that captures it
};

// The interface the namespace this process is in sends a connection to
// `dst` through ("lo" for a local destination) and the source address it
// picks; nullopt when there is no route.
struct Route {
  std::string oif;
  Cidr source;
};
std::optional<Route> route_to(const Cidr& dst);

// A connection this process could open that the plan of `config` captures
// to the outbound port, as the plan's interpreter says; nullopt when the
// settings capture none (nothing to prove). When the namespace routes none
// of the captured candidates, the probe comes back with an empty `oif` and
// verify_traffic() explains why it cannot run.
std::optional<TrafficProbe> choose_probe(const Config& config);

// Listens on the outbound port, connects to the probe destination as this
// process (which is no proxy uid/gid), and checks the connection lands on the
// listener with the probe as its original destination.
Result<void> verify_traffic(const Config& config, const TrafficProbe& probe);

}  // namespace meshcap::app
