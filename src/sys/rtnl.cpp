#include "sys/rtnl.hpp"

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "sys/features.hpp"

namespace meshcap::sys {

bool SysUndo::empty() const {
  return added_rules.empty() && added_routes.empty() && added_addresses.empty() && removed_rules.empty() &&
         removed_routes.empty();
}

namespace {

// ---- transport ---------------------------------------------------------------

struct MnlClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, MnlClose>;

// The kernel never builds a dump message larger than 32 KiB for a reader whose
// buffer is that big, so one receive buffer of this size never truncates.
constexpr size_t kRecvSize = 32768;
// Our requests carry a header and a handful of fixed-size attributes.
constexpr size_t kSendSize = 512;

// A request the kernel refused: its errno and, when it said more, its own text.
struct NlFailure {
  int err = 0;
  std::string extack;
};

using Each = std::function<void(const nlmsghdr*)>;

// One NETLINK_ROUTE socket in the current namespace, used for one call.
class Rtnl {
 public:
  static Result<Rtnl> open() {
    MnlSocketPtr sock(mnl_socket_open(NETLINK_ROUTE));
    if (!sock || mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0)
      return fail(ErrorKind::Other, std::string("opening an rtnetlink socket: ") + std::strerror(errno));
    // Ask for the kernel's own explanation of a refusal, and for acks that do
    // not echo our whole request back. Old kernels lack these; that is fine.
    int on = 1;
    mnl_socket_setsockopt(sock.get(), NETLINK_EXT_ACK, &on, sizeof on);
    mnl_socket_setsockopt(sock.get(), NETLINK_CAP_ACK, &on, sizeof on);
    return Rtnl(std::move(sock));
  }

  // Sends one message and reads replies until its ack (or NLMSG_DONE for a
  // dump), handing every other reply to `each`. A dump that the kernel marks
  // as interrupted (its table changed meanwhile) fails with EAGAIN.
  tl::expected<void, NlFailure> exchange(nlmsghdr* nlh, const Each& each = {}) {
    nlh->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) return tl::unexpected(NlFailure{errno, {}});
    bool torn = false;  // a dump the kernel says it had to restart part way
    for (;;) {
      ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return tl::unexpected(NlFailure{errno, {}});
      }
      int len = static_cast<int>(n);
      for (auto* msg = reinterpret_cast<const nlmsghdr*>(buf_.data()); mnl_nlmsg_ok(msg, len);
           msg = mnl_nlmsg_next(msg, &len)) {
        if (!mnl_nlmsg_seq_ok(msg, seq_) || !mnl_nlmsg_portid_ok(msg, portid_)) continue;
        torn = torn || (msg->nlmsg_flags & NLM_F_DUMP_INTR) != 0;
        if (msg->nlmsg_type == NLMSG_ERROR) return ack_result(msg);
        if (msg->nlmsg_type == NLMSG_DONE) {
          int err = 0;
          if (mnl_nlmsg_get_payload_len(msg) >= sizeof err)
            std::memcpy(&err, mnl_nlmsg_get_payload(msg), sizeof err);
          if (err < 0) return tl::unexpected(NlFailure{-err, {}});
          if (torn) return tl::unexpected(NlFailure{EAGAIN, "the list changed while it was read"});
          return {};
        }
        if (each) each(msg);
      }
    }
  }

 private:
  explicit Rtnl(MnlSocketPtr sock)
      : sock_(std::move(sock)), portid_(mnl_socket_get_portid(sock_.get())), buf_(kRecvSize) {}

  static tl::expected<void, NlFailure> ack_result(const nlmsghdr* msg) {
    if (mnl_nlmsg_get_payload_len(msg) < sizeof(nlmsgerr)) return tl::unexpected(NlFailure{EBADMSG, {}});
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(msg));
    if (err->error == 0) return {};
    NlFailure failure{-err->error, {}};
    if (msg->nlmsg_flags & NLM_F_ACK_TLVS) {
      // The TLVs follow the echoed request: its header only when capped.
      size_t offset = sizeof(nlmsgerr);
      if (!(msg->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len > sizeof(nlmsghdr))
        offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
      if (offset > mnl_nlmsg_get_payload_len(msg)) return tl::unexpected(failure);
      const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(msg));
      auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(msg, offset));
      for (; mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
           attr = mnl_attr_next(attr)) {
        if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
          failure.extack = mnl_attr_get_str(attr);
      }
    }
    return tl::unexpected(failure);
  }

  MnlSocketPtr sock_;
  unsigned portid_;
  unsigned seq_ = 0;
  std::vector<char> buf_;
};

// Attributes of one message, indexed by type; absent ones are null.
template <size_t Max>
std::array<const nlattr*, Max + 1> parse_attrs(const nlmsghdr* nlh, size_t header_size) {
  std::array<const nlattr*, Max + 1> tb{};
  const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, header_size));
  for (; mnl_attr_ok(attr, static_cast<int>(end - reinterpret_cast<const char*>(attr)));
       attr = mnl_attr_next(attr)) {
    if (mnl_attr_get_type(attr) <= Max) tb[mnl_attr_get_type(attr)] = attr;
  }
  return tb;
}

uint32_t attr_u32(const nlattr* attr, uint32_t fallback) {
  return attr && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0 ? mnl_attr_get_u32(attr) : fallback;
}

uint8_t attr_u8(const nlattr* attr, uint8_t fallback) {
  return attr && mnl_attr_validate(attr, MNL_TYPE_U8) >= 0 ? mnl_attr_get_u8(attr) : fallback;
}

// ---- naming, for errors and debug logs ---------------------------------------

uint8_t af(Family f) { return f == Family::V4 ? AF_INET : AF_INET6; }
const char* ip_flag(Family f) { return f == Family::V4 ? "-4" : "-6"; }

std::string describe(const PolicyRule& r) {
  return fmt::format("ip {} rule fwmark {:#x} lookup {} priority {}", ip_flag(r.family), r.fwmark, r.table,
                     r.priority);
}

std::string describe(const LocalRoute& r) {
  return fmt::format("ip {} route local {} dev lo table {}", ip_flag(r.family),
                     r.family == Family::V4 ? "0.0.0.0/0" : "::/0", r.table);
}

std::string describe(const LoAddress& a) {
  return fmt::format("ip {} address {}/{} dev lo", ip_flag(a.address.family), a.address.addr_string(),
                     a.address.prefix);
}

Error kernel_error(const std::string& doing, Family family, const NlFailure& f) {
  std::string msg = doing + ": " + std::strerror(f.err);
  if (!f.extack.empty()) msg += " (" + f.extack + ")";
  if (family == Family::V6 && (f.err == EAFNOSUPPORT || !ipv6_enabled()))
    msg += "; IPv6 is disabled in this namespace, use --ipv6 off";
  else if (f.err == EPERM)
    msg += std::string("; ") + kNeedsNetAdmin;
  return Error{ErrorKind::Kernel, msg};
}

// ---- messages ----------------------------------------------------------------

nlmsghdr* start(char* buf, uint16_t type, uint16_t flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  return nlh;
}

// Table ids above 255 fit only the attribute; the header then says "see it".
uint8_t header_table(uint32_t table) {
  return table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
}

// ip rule add|del fwmark MARK lookup TABLE priority PRIO proto meshcap.
// No FRA_FWMASK: on add the kernel makes it all-ones, on delete it matches any.
nlmsghdr* rule_msg(char* buf, uint16_t type, uint16_t flags, const PolicyRule& r) {
  nlmsghdr* nlh = start(buf, type, NLM_F_ACK | flags);
  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = af(r.family);
  frh->action = FR_ACT_TO_TBL;
  frh->table = header_table(r.table);
  mnl_attr_put_u32(nlh, FRA_TABLE, r.table);
  mnl_attr_put_u32(nlh, FRA_PRIORITY, r.priority);
  if (r.fwmark != 0) mnl_attr_put_u32(nlh, FRA_FWMARK, r.fwmark);
  // The kernel matches the protocol on delete too, so we can only ever
  // delete our own copy of a rule an admin may have duplicated by hand.
  mnl_attr_put_u8(nlh, FRA_PROTOCOL, kRtProtoMeshcap);
  return nlh;
}

// A meshcap-tagged route as the kernel holds it. Ours are always local
// default routes, but deleting by the dumped key removes whatever carries the
// tag, so cleanup cannot get stuck on one it does not understand.
struct KernelRoute {
  LocalRoute route;
  uint8_t type = RTN_LOCAL;
  uint8_t dst_len = 0;
  std::array<uint8_t, 16> dst{};
  uint32_t metric = 0;  // tells apart copies that differ only in it
};

// ip route add|del local DEFAULT dev lo table TABLE proto meshcap.
nlmsghdr* route_msg(char* buf, uint16_t type, uint16_t flags, const KernelRoute& r) {
  nlmsghdr* nlh = start(buf, type, NLM_F_ACK | flags);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = af(r.route.family);
  rtm->rtm_dst_len = r.dst_len;
  rtm->rtm_table = header_table(r.route.table);
  rtm->rtm_protocol = kRtProtoMeshcap;
  // Local routes are host scoped; a delete with "nowhere" matches any scope.
  rtm->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_HOST : RT_SCOPE_NOWHERE;
  rtm->rtm_type = r.type;
  mnl_attr_put_u32(nlh, RTA_TABLE, r.route.table);
  if (r.dst_len != 0) mnl_attr_put(nlh, RTA_DST, r.route.family == Family::V4 ? 4 : 16, r.dst.data());
  if (r.metric != 0) mnl_attr_put_u32(nlh, RTA_PRIORITY, r.metric);
  if (type == RTM_NEWROUTE) mnl_attr_put_u32(nlh, RTA_OIF, if_nametoindex("lo"));
  return nlh;
}

// ip address add|del ADDR/PREFIX dev lo nodad.
nlmsghdr* addr_msg(char* buf, uint16_t type, uint16_t flags, const LoAddress& a) {
  nlmsghdr* nlh = start(buf, type, NLM_F_ACK | flags);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = af(a.address.family);
  ifa->ifa_prefixlen = a.address.prefix;
  ifa->ifa_flags = IFA_F_NODAD;  // lo never runs DAD; say so for the v6 code path anyway
  ifa->ifa_index = if_nametoindex("lo");
  auto len = static_cast<uint16_t>(a.address.addr_len());
  mnl_attr_put(nlh, IFA_LOCAL, len, a.address.addr.data());
  mnl_attr_put(nlh, IFA_ADDRESS, len, a.address.addr.data());
  mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  return nlh;
}

// A dump of every object of one family; `family_field` names the header's
// family member (each rtnetlink header spells it differently).
template <class Header>
nlmsghdr* dump_msg(char* buf, uint16_t type, uint8_t Header::*family_field, Family family) {
  nlmsghdr* nlh = start(buf, type, NLM_F_DUMP);
  auto* header = static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Header)));
  header->*family_field = af(family);
  return nlh;
}

// ---- reading state -------------------------------------------------------------

constexpr Family kFamilies[] = {Family::V4, Family::V6};

// One family's objects, as `parse` reads each reply (nullopt: not ours). A
// listing torn by a concurrent change is read again rather than acted on. A
// family the kernel was built or booted without (EAFNOSUPPORT) holds nothing.
template <class Item>
Result<std::vector<Item>> list(Rtnl& nl, nlmsghdr* request, const std::string& what, Family family,
                               const std::function<std::optional<Item>(const nlmsghdr*)>& parse) {
  for (int attempt = 1;; ++attempt) {
    std::vector<Item> items;
    auto r = nl.exchange(request, [&](const nlmsghdr* msg) {
      if (auto item = parse(msg)) items.push_back(std::move(*item));
    });
    if (r) return items;
    if (family == Family::V6 && r.error().err == EAFNOSUPPORT) return std::vector<Item>{};
    if (r.error().err != EAGAIN || attempt == 3) return tl::unexpected(kernel_error(what, family, r.error()));
  }
}

Result<std::vector<PolicyRule>> tagged_rules(Rtnl& nl) {
  std::vector<PolicyRule> out;
  for (Family family : kFamilies) {
    std::array<char, kSendSize> buf{};
    auto rules = list<PolicyRule>(
        nl, dump_msg(buf.data(), RTM_GETRULE, &fib_rule_hdr::family, family),
        fmt::format("listing ip {} rules", ip_flag(family)), family,
        [&](const nlmsghdr* nlh) -> std::optional<PolicyRule> {
          if (nlh->nlmsg_type != RTM_NEWRULE) return std::nullopt;
          const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
          auto tb = parse_attrs<FRA_MAX>(nlh, sizeof(fib_rule_hdr));
          if (attr_u8(tb[FRA_PROTOCOL], 0) != kRtProtoMeshcap) return std::nullopt;
          return PolicyRule{family, attr_u32(tb[FRA_FWMARK], 0), attr_u32(tb[FRA_TABLE], frh->table),
                            attr_u32(tb[FRA_PRIORITY], 0)};
        });
    if (!rules) return tl::unexpected(rules.error());
    out.insert(out.end(), rules->begin(), rules->end());
  }
  return out;
}

Result<std::vector<KernelRoute>> tagged_routes(Rtnl& nl) {
  std::vector<KernelRoute> out;
  for (Family family : kFamilies) {
    std::array<char, kSendSize> buf{};
    auto routes =
        list<KernelRoute>(nl, dump_msg(buf.data(), RTM_GETROUTE, &rtmsg::rtm_family, family),
                          fmt::format("listing ip {} routes", ip_flag(family)), family,
                          [&](const nlmsghdr* nlh) -> std::optional<KernelRoute> {
                            if (nlh->nlmsg_type != RTM_NEWROUTE) return std::nullopt;
                            const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
                            if (rtm->rtm_protocol != kRtProtoMeshcap) return std::nullopt;
                            auto tb = parse_attrs<RTA_MAX>(nlh, sizeof(rtmsg));
                            KernelRoute route{LocalRoute{family, attr_u32(tb[RTA_TABLE], rtm->rtm_table)},
                                              rtm->rtm_type,
                                              rtm->rtm_dst_len,
                                              {},
                                              attr_u32(tb[RTA_PRIORITY], 0)};
                            if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) <= route.dst.size())
                              std::memcpy(route.dst.data(), mnl_attr_get_payload(tb[RTA_DST]),
                                          mnl_attr_get_payload_len(tb[RTA_DST]));
                            return route;
                          });
    if (!routes) return tl::unexpected(routes.error());
    out.insert(out.end(), routes->begin(), routes->end());
  }
  return out;
}

// Whether lo holds the address, with any prefix length: the kernel allows an
// address only once per device, and any prefix serves as a source address.
Result<bool> lo_has_address(Rtnl& nl, const Cidr& address) {
  std::array<char, kSendSize> buf{};
  const unsigned lo = if_nametoindex("lo");
  auto matches =
      list<bool>(nl, dump_msg(buf.data(), RTM_GETADDR, &ifaddrmsg::ifa_family, address.family),
                 fmt::format("listing ip {} addresses", ip_flag(address.family)), address.family,
                 [&](const nlmsghdr* nlh) -> std::optional<bool> {
                   if (nlh->nlmsg_type != RTM_NEWADDR) return std::nullopt;
                   const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
                   if (ifa->ifa_index != lo) return std::nullopt;
                   auto tb = parse_attrs<IFA_MAX>(nlh, sizeof(ifaddrmsg));
                   // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer when one is set.
                   const nlattr* attr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
                   if (!attr || mnl_attr_get_payload_len(attr) != address.addr_len() ||
                       std::memcmp(mnl_attr_get_payload(attr), address.addr.data(), address.addr_len()) != 0)
                     return std::nullopt;
                   return true;
                 });
  if (!matches) return tl::unexpected(matches.error());
  return !matches->empty();
}

// ---- changing state ------------------------------------------------------------

// `tolerated` is the errno that means "already as wanted", so that rollback
// and cleanup can run again after one of them stopped half way.
Result<void> change(Rtnl& nl, nlmsghdr* nlh, const std::string& doing, Family family, int tolerated = 0) {
  spdlog::debug("{}", doing);
  auto r = nl.exchange(nlh);
  if (!r && r.error().err != tolerated) return tl::unexpected(kernel_error(doing, family, r.error()));
  return {};
}

Result<void> add_rule(Rtnl& nl, const PolicyRule& r, int tolerated = 0) {
  std::array<char, kSendSize> buf{};
  return change(nl, rule_msg(buf.data(), RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r), "adding " + describe(r),
                r.family, tolerated);
}

Result<void> del_rule(Rtnl& nl, const PolicyRule& r, int tolerated = 0) {
  std::array<char, kSendSize> buf{};
  return change(nl, rule_msg(buf.data(), RTM_DELRULE, 0, r), "deleting " + describe(r), r.family, tolerated);
}

Result<void> add_route(Rtnl& nl, const LocalRoute& r, int tolerated = 0) {
  std::array<char, kSendSize> buf{};
  return change(nl, route_msg(buf.data(), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, {r}),
                "adding " + describe(r), r.family, tolerated);
}

Result<void> del_route(Rtnl& nl, const KernelRoute& r, int tolerated = 0) {
  std::array<char, kSendSize> buf{};
  return change(nl, route_msg(buf.data(), RTM_DELROUTE, 0, r), "deleting " + describe(r.route),
                r.route.family, tolerated);
}

Result<void> add_address(Rtnl& nl, const LoAddress& a) {
  std::array<char, kSendSize> buf{};
  return change(nl, addr_msg(buf.data(), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, a), "adding " + describe(a),
                a.address.family);
}

Result<void> del_address(Rtnl& nl, const LoAddress& a, int tolerated = 0) {
  std::array<char, kSendSize> buf{};
  return change(nl, addr_msg(buf.data(), RTM_DELADDR, 0, a), "deleting " + describe(a), a.address.family,
                tolerated);
}

// Removes the first element of `have` that is wanted; false when none is.
template <class T, class Eq>
bool take(std::vector<T>& have, const Eq& is_wanted) {
  auto it = std::find_if(have.begin(), have.end(), is_wanted);
  if (it == have.end()) return false;
  have.erase(it);
  return true;
}

// The plan's entries once each, in plan order.
template <class T>
std::vector<T> unique(const std::vector<T>& items) {
  std::vector<T> out;
  for (const auto& item : items)
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  return out;
}

Result<void> converge(Rtnl& nl, const Plan& plan, SysUndo& undo) {
  auto rules = tagged_rules(nl);
  if (!rules) return tl::unexpected(rules.error());
  auto routes = tagged_routes(nl);
  if (!routes) return tl::unexpected(routes.error());

  // Routes before rules: a rule must never send marked packets to an empty table.
  for (const auto& want : unique(plan.local_routes)) {
    if (take(*routes, [&](const KernelRoute& k) { return k.route == want; })) continue;
    if (auto r = add_route(nl, want); !r) return r;
    undo.added_routes.push_back(want);
  }
  for (const auto& want : unique(plan.policy_rules)) {
    if (take(*rules, [&](const PolicyRule& k) { return k == want; })) continue;
    if (auto r = add_rule(nl, want); !r) return r;
    undo.added_rules.push_back(want);
  }
  for (const auto& want : unique(plan.lo_addresses)) {
    auto present = lo_has_address(nl, want.address);
    if (!present) return tl::unexpected(present.error());
    if (*present) continue;
    if (auto r = add_address(nl, want); !r) return r;
    undo.added_addresses.push_back(want);
  }

  // What is left is stale or a duplicate: rules first, for the same reason.
  for (const auto& stale : *rules) {
    if (auto r = del_rule(nl, stale); !r) return r;
    undo.removed_rules.push_back(stale);
  }
  for (const auto& stale : *routes) {
    if (auto r = del_route(nl, stale); !r) return r;
    undo.removed_routes.push_back(stale.route);
  }
  return {};
}

// Undoes in the reverse order of converge(); keeps going past a failure so
// that as much as possible is restored, and reports the first one.
Result<void> undo_changes(Rtnl& nl, const SysUndo& undo) {
  Result<void> first;
  auto note = [&](Result<void> r) {
    if (!r && first) first = std::move(r);
  };
  for (const auto& r : undo.removed_routes) note(add_route(nl, r, EEXIST));
  for (const auto& r : undo.removed_rules) note(add_rule(nl, r, EEXIST));
  for (const auto& a : undo.added_addresses) note(del_address(nl, a, EADDRNOTAVAIL));
  for (const auto& r : undo.added_rules) note(del_rule(nl, r, ENOENT));
  for (const auto& r : undo.added_routes) note(del_route(nl, KernelRoute{r}, ESRCH));
  return first;
}

}  // namespace

Result<SysUndo> apply_sys(const Plan& plan) {
  auto nl = Rtnl::open();
  if (!nl) return tl::unexpected(nl.error());
  SysUndo undo;
  if (auto r = converge(*nl, plan, undo); !r) {
    if (auto back = undo_changes(*nl, undo); !back) {
      // The caller must not believe the kernel is untouched.
      return fail(ErrorKind::Kernel,
                  r.error().message + "; undoing the partial change also failed: " + back.error().message);
    }
    return tl::unexpected(r.error());
  }
  return undo;
}

Result<void> rollback(const SysUndo& undo) {
  if (undo.empty()) return {};
  auto nl = Rtnl::open();
  if (!nl) return tl::unexpected(nl.error());
  return undo_changes(*nl, undo);
}

Result<Plan> observe_sys() {
  auto nl = Rtnl::open();
  if (!nl) return tl::unexpected(nl.error());
  auto rules = tagged_rules(*nl);
  if (!rules) return tl::unexpected(rules.error());
  auto routes = tagged_routes(*nl);
  if (!routes) return tl::unexpected(routes.error());

  Plan plan;
  plan.policy_rules = std::move(*rules);
  for (const auto& k : *routes) plan.local_routes.push_back(k.route);
  // A stable order independent of the kernel's (rules come sorted by
  // priority, routes by table walk), V4 first like make_plan().
  auto rule_key = [](const PolicyRule& r) { return std::tuple(r.family, r.priority, r.table, r.fwmark); };
  std::stable_sort(plan.policy_rules.begin(), plan.policy_rules.end(),
                   [&](const auto& a, const auto& b) { return rule_key(a) < rule_key(b); });
  std::stable_sort(plan.local_routes.begin(), plan.local_routes.end(), [](const auto& a, const auto& b) {
    return std::tuple(a.family, a.table) < std::tuple(b.family, b.table);
  });

  const LoAddress passthrough{Cidr::host(Family::V6, "::6")};
  auto present = lo_has_address(*nl, passthrough.address);
  if (!present) return tl::unexpected(present.error());
  if (*present) plan.lo_addresses.push_back(passthrough);
  return plan;
}

Result<void> remove_sys() {
  auto nl = Rtnl::open();
  if (!nl) return tl::unexpected(nl.error());
  auto rules = tagged_rules(*nl);
  if (!rules) return tl::unexpected(rules.error());
  for (const auto& r : *rules)
    if (auto d = del_rule(*nl, r, ENOENT); !d) return d;
  auto routes = tagged_routes(*nl);
  if (!routes) return tl::unexpected(routes.error());
  for (const auto& r : *routes)
    if (auto d = del_route(*nl, r, ESRCH); !d) return d;
  return {};
}

}  // namespace meshcap::sys
