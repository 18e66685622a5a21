#include "sys/xt_table.hpp"

// clang-format off
// glibc's netinet/in.h before any linux/ header that would define the same.
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
// clang-format on

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace meshcap::sys {

namespace {

static_assert(kXtHooks == NF_INET_NUMHOOKS);

template <class Info, class Entries>
tl::expected<XtTable, XtReadError> read(int fd, int level, int get_info, int get_entries, const char* table) {
  Info info{};
  std::strncpy(info.name, table, sizeof info.name - 1);
  auto len = static_cast<socklen_t>(sizeof info);
  if (getsockopt(fd, level, get_info, &info, &len) != 0) return tl::unexpected(XtReadError{errno, "info"});
  static_assert(sizeof(Entries) % 8 == 0);
  // Not zeroed beyond the header: the kernel writes every byte of the
  // entries, or fails (EAGAIN) when their size changed meanwhile.
  auto buf = std::make_unique_for_overwrite<uint64_t[]>((sizeof(Entries) + info.size + 7) / 8);
  std::memset(buf.get(), 0, sizeof(Entries));
  auto* entries = reinterpret_cast<Entries*>(buf.get());
  std::strncpy(entries->name, table, sizeof entries->name - 1);
  entries->size = info.size;
  len = static_cast<socklen_t>(sizeof(Entries) + info.size);
  if (getsockopt(fd, level, get_entries, entries, &len) != 0)
    return tl::unexpected(XtReadError{errno, "entries"});
  XtTable out;
  out.valid_hooks = info.valid_hooks;
  std::copy(std::begin(info.hook_entry), std::end(info.hook_entry), out.hook_entry);
  std::copy(std::begin(info.underflow), std::end(info.underflow), out.underflow);
  out.words = std::move(buf);
  out.header = sizeof(Entries);
  out.size = info.size;
  return out;
}

}  // namespace

tl::expected<XtTable, XtReadError> read_xt_table(int fd, Family family, const char* table, int attempts) {
  for (int attempt = 1;; ++attempt) {
    auto got = family == Family::V4
                   ? read<ipt_getinfo, ipt_get_entries>(fd, IPPROTO_IP, IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES, table)
                   : read<ip6t_getinfo, ip6t_get_entries>(fd, IPPROTO_IPV6, IP6T_SO_GET_INFO,
                                                          IP6T_SO_GET_ENTRIES, table);
    if (got || got.error().error != EAGAIN || attempt >= attempts) return got;
  }
}

}  // namespace meshcap::sys
