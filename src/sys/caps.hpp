// Capabilities the process is permitted but not yet using.
#pragma once

namespace meshcap::sys {

// Makes the effective capability set equal to the permitted set.
//
// The image's /meshcap carries its capabilities as *permitted-only* file
// capabilities (cap_net_admin,cap_net_raw+p, see scripts/make-rootfs.sh), so
// that a non-root init container (Linkerd's runs as uid 65534, and Kubernetes
// grants no ambient capabilities) gets NET_ADMIN and NET_RAW at execve. They
// are not marked effective on purpose: for a file with the effective bit the
// kernel refuses execve outright when the bounding set lacks one of them,
// which would break `--dry-run`, `--version` and unprivileged containers.
// Root already runs with effective = permitted, so this changes nothing there.
// Call it first thing in main(), before any thread exists. Returns false when
// capget/capset failed; what needed the capability then fails with its own
// "needs CAP_NET_ADMIN" message.
bool raise_permitted_capabilities();

}  // namespace meshcap::sys
