// The native nftables backend: libnftnl objects over one libmnl socket.
#pragma once

#include <memory>

#include "meshcap/backend.hpp"

namespace meshcap {

// apply() replaces `table ip meshcap` and `table ip6 meshcap` in one netlink
// batch (add + delete + add again, so it converges whatever was there);
// observe() reads them back into a Plan; remove() deletes both, absent or not.
std::unique_ptr<NetfilterBackend> make_nft_backend();

}  // namespace meshcap
