#include "sys/backend_probe.hpp"

// clang-format off
// glibc's netinet/in.h before any linux/ header that would define the same.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <linux/netlink.h>
// clang-format on

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "meshcap/lower_iptables.hpp"
#include "sys/fd.hpp"
#include "meshcap/text.hpp"
#include "sys/file.hpp"
#include "sys/xt_table.hpp"

namespace meshcap::sys {

namespace {

constexpr const char* kTables[] = {"nat", "mangle", "raw", "filter"};

// The IPv4 and IPv6 flavours of the same interface.
struct V4 {
  using Entry = ipt_entry;
  static constexpr Family kMeshcapFamily = Family::V4;
  static constexpr int kFamily = AF_INET;
  static constexpr const char* kNames = "/proc/net/ip_tables_names";
  static constexpr const char* kWhat = "ip";
};
struct V6 {
  using Entry = ip6t_entry;
  static constexpr Family kMeshcapFamily = Family::V6;
  static constexpr int kFamily = AF_INET6;
  static constexpr const char* kNames = "/proc/net/ip6_tables_names";
  static constexpr const char* kWhat = "ip6";
};

std::set<std::string> listed(const char* names_file) {
  std::set<std::string> names;
  auto text = read_file(names_file);
  if (text)
    for (auto line : split(*text)) names.emplace(line);
  return names;
}

Error read_error(const char* what, const char* table, const char* step, int err) {
  return Error{ErrorKind::Other, std::string("reading the legacy iptables table ") + what + " " + table +
                                     ": " + step + ": " + std::strerror(err)};
}

// True when the table holds anything but meshcap's chains and the jumps to
// them (a user chain is a head entry with an ERROR target naming it, its
// rules, and a closing RETURN; the table ends with an ERROR entry "ERROR").
template <class F>
bool holds_foreign(const XtTable& table) {
  struct At {
    unsigned offset;
    const typename F::Entry* entry;
    const xt_entry_target* target;
  };
  std::vector<At> all;
  for (unsigned off = 0; off + sizeof(typename F::Entry) <= table.size;) {
    auto* e = reinterpret_cast<const typename F::Entry*>(table.data() + off);
    if (e->next_offset == 0) break;
    all.push_back({off, e, reinterpret_cast<const xt_entry_target*>(table.data() + off + e->target_offset)});
    off += e->next_offset;
  }
  auto is_error = [](const At& a) { return std::strcmp(a.target->u.user.name, XT_ERROR_TARGET) == 0; };
  auto error_name = [](const At& a) { return reinterpret_cast<const xt_error_target*>(a.target)->errorname; };
  std::set<unsigned> builtin_starts, policies;
  for (unsigned h = 0; h < NF_INET_NUMHOOKS; ++h)
    if (table.valid_hooks & (1u << h)) {
      builtin_starts.insert(table.hook_entry[h]);
      policies.insert(table.underflow[h]);
    }
  std::map<unsigned, std::string> chain_at;  // a user chain's first rule -> its name
  for (size_t i = 0; i + 1 < all.size(); ++i)
    if (is_error(all[i])) chain_at[all[i + 1].offset] = error_name(all[i]);

  std::string chain;  // "" in a built-in chain
  for (size_t i = 0; i < all.size(); ++i) {
    const At& a = all[i];
    if (builtin_starts.count(a.offset)) chain.clear();
    if (is_error(a)) {
      chain = error_name(a);
      if (chain != XT_ERROR_TARGET && !iptables_owned_chain(chain)) return true;
      continue;
    }
    if (policies.count(a.offset)) continue;
    bool closing = i + 1 < all.size() && is_error(all[i + 1]) && !chain.empty();
    if (closing) continue;
    if (!chain.empty()) continue;  // a rule in one of meshcap's chains
    bool ours = false;
    if (a.target->u.user.name[0] == '\0') {  // the standard target: a verdict or a jump
      int verdict = reinterpret_cast<const xt_standard_target*>(a.target)->verdict;
      auto to = verdict >= 0 ? chain_at.find(static_cast<unsigned>(verdict)) : chain_at.end();
      ours = to != chain_at.end() && iptables_owned_chain(to->second);
    }
    if (!ours) return true;
  }
  return false;
}

template <class F>
Result<std::optional<std::string>> family_user() {
  auto names = listed(F::kNames);
  if (names.empty()) return std::nullopt;
  UniqueFd fd(socket(F::kFamily, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!fd) {
    int err = errno;
    Error e = read_error(F::kWhat, "tables", "socket", err);
    if (err == EPERM) e.message += "; reading them needs CAP_NET_RAW (add NET_RAW, or pass --backend nft)";
    return tl::unexpected(e);
  }
  for (const char* table : kTables) {
    if (!names.count(table)) continue;
    auto read = read_xt_table(fd.get(), F::kMeshcapFamily, table, 10);
    if (!read) return tl::unexpected(read_error(F::kWhat, table, read.error().step, read.error().error));
    if (holds_foreign<F>(*read)) return std::string(F::kWhat) + " " + table;
  }
  return std::nullopt;
}

}  // namespace

bool nf_tables_available() {
  UniqueFd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!fd) return false;
  timeval timeout{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  struct {
    nlmsghdr nlh;
    nfgenmsg nfg;
  } req{};
  req.nlh.nlmsg_len = sizeof req;
  req.nlh.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  // No NLM_F_ACK: the generation itself answers yes in one message; a
  // refusal comes as an error either way.
  req.nlh.nlmsg_flags = NLM_F_REQUEST;
  req.nlh.nlmsg_seq = 1;
  req.nfg.nfgen_family = AF_UNSPEC;
  req.nfg.version = NFNETLINK_V0;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd.get(), &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return false;
  char buf[8192];
  for (;;) {
    ssize_t got = recv(fd.get(), buf, sizeof buf, 0);
    // No answer at all is not "unavailable": let the backend say what is wrong.
    if (got < 0) return true;
    int len = static_cast<int>(got);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
      if (nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) return true;
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(nlh))->error;
      return err != EOPNOTSUPP && err != EPROTONOSUPPORT;
    }
  }
}

Result<std::optional<std::string>> legacy_iptables_user() {
  auto v4 = family_user<V4>();
  if (!v4 || *v4) return v4;
  return family_user<V6>();
}

}  // namespace meshcap::sys
