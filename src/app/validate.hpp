// `meshcap validate`: the unprivileged init container of a pod whose rules a
// CNI plugin programmed proves that its connections are captured.
#pragma once

#include "meshcap/config.hpp"
#include "meshcap/result.hpp"

namespace meshcap::app {

// In config.netns (empty: here), holds a listener on the outbound port,
// connects to a destination the settings capture, and checks the connection
// lands on the listener with its original destination. Needs no privilege
// (entering another namespace does). Not captured: ErrorKind::Verify;
// settings that capture no IPv4 connection this process could open:
// ErrorKind::BadInput.
Result<void> validate(const Config& config);

}  // namespace meshcap::app
