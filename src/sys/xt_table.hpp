// A legacy iptables table read straight from the kernel (IPT_SO_GET_INFO,
// then IPT_SO_GET_ENTRIES), without libiptc: its handle would hold the table
// twice and open a socket of its own for every table. Both the backend probe
// and the iptables backend's read-back read tables this way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <tl/expected.hpp>

#include "meshcap/net.hpp"

namespace meshcap::sys {

inline constexpr int kXtHooks = 5;  // NF_INET_NUMHOOKS: PREROUTING ... POSTROUTING

struct XtTable {
  unsigned valid_hooks = 0;
  unsigned hook_entry[kXtHooks] = {};  // offsets of each built-in chain's first entry
  unsigned underflow[kXtHooks] = {};   // and of its policy
  // The kernel's reply: a header, then the entries, 8-byte aligned (the
  // header's size is a multiple of 8), so held as words.
  std::unique_ptr<uint64_t[]> words;
  size_t header = 0;  // bytes before the entries
  size_t size = 0;    // bytes of entries
  const unsigned char* data() const { return reinterpret_cast<const unsigned char*>(words.get()) + header; }
};

struct XtReadError {
  int error;         // errno
  const char* step;  // "info" or "entries"
};

// `table` through `fd`, a raw socket of `family`. A writer that does not take
// the xtables lock can change the entries' size between the two calls
// (EAGAIN): the table is read again then, `attempts` times in all.
tl::expected<XtTable, XtReadError> read_xt_table(int fd, Family family, const char* table, int attempts);

}  // namespace meshcap::sys
