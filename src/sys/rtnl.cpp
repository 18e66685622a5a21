#include "sys/rtnl.hpp"

#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <tuple>

#include "netlink/netlink.hpp"
#include "sys/features.hpp"

namespace meshcap::sys {

struct RoutingSession::Link {
  netlink::Socket sock;
  unsigned lo = 0;  // lo's ifindex, once asked
};

bool SysUndo::empty() const {
  return added_rules.empty() && added_routes.empty() && added_addresses.empty() && removed_rules.empty() &&
         removed_routes.empty();
}

namespace {

using netlink::Failure;
using netlink::Socket;
using Link = RoutingSession::Link;

// Our requests carry a header and a handful of fixed-size attributes.
constexpr size_t kSendSize = 512;

// One request's buffer, aligned for the header libmnl writes into it.
struct Buffer {
  alignas(nlmsghdr) std::array<char, kSendSize> data{};
};

Result<Socket> open_rtnl() {
  auto sock = Socket::open(NETLINK_ROUTE);
  if (!sock) return fail(ErrorKind::Other, "opening an rtnetlink socket: " + sock.error().text());
  return std::move(*sock);
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

// "doing: why; what to do". `why` replaces the kernel's bare words when the
// caller knows what the refusal means here.
Error kernel_error(const std::string& doing, Family family, const Failure& f, const std::string& why = {}) {
  if (!why.empty()) return Error{ErrorKind::Kernel, doing + ": " + why};
  std::string msg = doing + ": " + f.text();
  if (family == Family::V6 && (f.error == EAFNOSUPPORT || !ipv6_enabled()))
    msg += "; IPv6 is disabled in this namespace, use --ipv6 off";
  else if (f.error == EPERM)
    msg += std::string("; ") + kNeedsNetAdmin;
  return Error{ErrorKind::Kernel, msg};
}

// ---- messages ----------------------------------------------------------------

// Table ids above 255 fit only the attribute; the header then says "see it".
uint8_t header_table(uint32_t table) {
  return table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
}

// ip rule add|del fwmark MARK lookup TABLE priority PRIO proto meshcap.
// No FRA_FWMASK: on add the kernel makes it all-ones, on delete it matches any.
nlmsghdr* rule_msg(Buffer& buf, uint32_t seq, uint16_t type, uint16_t flags, const PolicyRule& r) {
  nlmsghdr* nlh = netlink::put_request(buf.data.data(), type, NLM_F_ACK | flags, seq);
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
nlmsghdr* route_msg(Buffer& buf, uint32_t seq, uint16_t type, uint16_t flags, const KernelRoute& r,
                    unsigned lo) {
  nlmsghdr* nlh = netlink::put_request(buf.data.data(), type, NLM_F_ACK | flags, seq);
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
  if (type == RTM_NEWROUTE) mnl_attr_put_u32(nlh, RTA_OIF, lo);
  return nlh;
}

// ip address add|del ADDR/PREFIX dev lo nodad.
nlmsghdr* addr_msg(Buffer& buf, uint32_t seq, uint16_t type, uint16_t flags, const LoAddress& a,
                   unsigned lo) {
  nlmsghdr* nlh = netlink::put_request(buf.data.data(), type, NLM_F_ACK | flags, seq);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = af(a.address.family);
  ifa->ifa_prefixlen = a.address.prefix;
  ifa->ifa_flags = IFA_F_NODAD;  // lo never runs DAD; say so for the v6 code path anyway
  ifa->ifa_index = lo;
  auto len = static_cast<uint16_t>(a.address.addr_len());
  mnl_attr_put(nlh, IFA_LOCAL, len, a.address.addr.data());
  mnl_attr_put(nlh, IFA_ADDRESS, len, a.address.addr.data());
  mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  // Marks the address as meshcap's (kernel 5.18 and later keep it; `ip
  // address` shows "proto 0x9a"): cleanup removes only a tagged ::6.
  if (type == RTM_NEWADDR) mnl_attr_put_u8(nlh, IFA_PROTO, kRtProtoMeshcap);
  return nlh;
}

// A dump of every object of one family, or of every family (AF_UNSPEC);
// `family_field` names the header's family member (each rtnetlink header
// spells it differently). The socket gives it its sequence number.
template <class Header>
nlmsghdr* dump_msg(Buffer& buf, uint16_t type, uint8_t Header::*family_field, uint8_t family) {
  nlmsghdr* nlh = netlink::put_request(buf.data.data(), type, NLM_F_DUMP, 0);
  auto* header = static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh, sizeof(Header)));
  header->*family_field = family;
  return nlh;
}

// ---- reading state -------------------------------------------------------------

std::optional<Family> family_of(uint8_t af) {
  if (af == AF_INET) return Family::V4;
  if (af == AF_INET6) return Family::V6;
  return std::nullopt;  // e.g. the multicast routing families of an AF_UNSPEC dump
}

// The objects of a dump, as `parse` reads each reply (nullopt: not ours). A
// listing torn by a concurrent change is read again rather than acted on. A
// family the kernel was built or booted without (EAFNOSUPPORT) holds nothing.
template <class Item>
Result<std::vector<Item>> list(Link& nl, nlmsghdr* request, const char* what, Family family,
                               const std::function<std::optional<Item>(const nlmsghdr*)>& parse) {
  std::vector<Item> items;
  auto r = nl.sock.dump(
      request, [&] { items.clear(); },
      [&](const nlmsghdr* msg) {
        if (auto item = parse(msg)) items.push_back(std::move(*item));
        return 0;
      });
  if (r) return items;
  if (family == Family::V6 && r.error().error == EAFNOSUPPORT) return std::vector<Item>{};
  return tl::unexpected(kernel_error(what, family, r.error()));
}

// Rules and routes are listed for both families in one dump each, and put
// in the order two dumps gave them: IPv4 first, each family in the kernel's
// order.
template <class Item, class FamilyOf>
void v4_first(std::vector<Item>& items, const FamilyOf& family_of_item) {
  std::stable_partition(items.begin(), items.end(),
                        [&](const Item& item) { return family_of_item(item) == Family::V4; });
}

Result<std::vector<PolicyRule>> tagged_rules(Link& nl) {
  Buffer buf;
  auto rules = list<PolicyRule>(
      nl, dump_msg(buf, RTM_GETRULE, &fib_rule_hdr::family, AF_UNSPEC), "listing ip rules", Family::V4,
      [&](const nlmsghdr* nlh) -> std::optional<PolicyRule> {
        if (nlh->nlmsg_type != RTM_NEWRULE) return std::nullopt;
        const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
        auto family = family_of(frh->family);
        if (!family) return std::nullopt;
        auto tb = netlink::parse_attrs<FRA_MAX>(nlh, sizeof(fib_rule_hdr));
        if (attr_u8(tb[FRA_PROTOCOL], 0) != kRtProtoMeshcap) return std::nullopt;
        return PolicyRule{*family, attr_u32(tb[FRA_FWMARK], 0), attr_u32(tb[FRA_TABLE], frh->table),
                          attr_u32(tb[FRA_PRIORITY], 0)};
      });
  if (rules) v4_first(*rules, [](const PolicyRule& r) { return r.family; });
  return rules;
}

Result<std::vector<KernelRoute>> tagged_routes(Link& nl) {
  Buffer buf;
  auto routes =
      list<KernelRoute>(nl, dump_msg(buf, RTM_GETROUTE, &rtmsg::rtm_family, AF_UNSPEC), "listing ip routes",
                        Family::V4, [&](const nlmsghdr* nlh) -> std::optional<KernelRoute> {
                          if (nlh->nlmsg_type != RTM_NEWROUTE) return std::nullopt;
                          const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
                          if (rtm->rtm_protocol != kRtProtoMeshcap) return std::nullopt;
                          auto family = family_of(rtm->rtm_family);
                          if (!family) return std::nullopt;
                          auto tb = netlink::parse_attrs<RTA_MAX>(nlh, sizeof(rtmsg));
                          KernelRoute route{LocalRoute{*family, attr_u32(tb[RTA_TABLE], rtm->rtm_table)},
                                            rtm->rtm_type,
                                            rtm->rtm_dst_len,
                                            {},
                                            attr_u32(tb[RTA_PRIORITY], 0)};
                          if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) <= route.dst.size())
                            std::memcpy(route.dst.data(), mnl_attr_get_payload(tb[RTA_DST]),
                                        mnl_attr_get_payload_len(tb[RTA_DST]));
                          return route;
                        });
  if (routes) v4_first(*routes, [](const KernelRoute& k) { return k.route.family; });
  return routes;
}

// lo's interface index, asked of the kernel by name once per socket (lo
// stays in its namespace for the namespace's life, under one index).
Result<unsigned> lo_index(Link& nl) {
  if (nl.lo != 0) return nl.lo;
  Buffer buf;
  nlmsghdr* nlh = netlink::put_request(buf.data.data(), RTM_GETLINK, 0, nl.sock.reserve_seq());
  static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)))->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "lo");
  unsigned index = 0;
  auto r = nl.sock.request(nlh, [&](const nlmsghdr* reply) {
    if (reply->nlmsg_type == RTM_NEWLINK && mnl_nlmsg_get_payload_len(reply) >= sizeof(ifinfomsg))
      index = static_cast<unsigned>(static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(reply))->ifi_index);
    return 0;
  });
  if (!r) return tl::unexpected(kernel_error("looking up lo", Family::V4, r.error()));
  if (index == 0) return fail(ErrorKind::Kernel, "looking up lo: the kernel named no interface");
  nl.lo = index;
  return index;
}

// lo's copy of the address, with any prefix length: the kernel allows an
// address only once per device, and any prefix serves as a source address.
struct HeldAddress {
  LoAddress address;    // as lo holds it (its prefix length)
  bool tagged = false;  // carries IFA_PROTO 154: meshcap added it
};

Result<std::optional<HeldAddress>> lo_address(Link& nl, const Cidr& address) {
  auto lo = lo_index(nl);
  if (!lo) return tl::unexpected(lo.error());
  Buffer buf;
  auto matches = list<HeldAddress>(
      nl, dump_msg(buf, RTM_GETADDR, &ifaddrmsg::ifa_family, af(address.family)),
      address.family == Family::V4 ? "listing ip -4 addresses" : "listing ip -6 addresses", address.family,
      [&](const nlmsghdr* nlh) -> std::optional<HeldAddress> {
        if (nlh->nlmsg_type != RTM_NEWADDR) return std::nullopt;
        const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
        if (ifa->ifa_index != *lo) return std::nullopt;
        auto tb = netlink::parse_attrs<IFA_MAX>(nlh, sizeof(ifaddrmsg));
        // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer when one is set.
        const nlattr* attr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!attr || mnl_attr_get_payload_len(attr) != address.addr_len() ||
            std::memcmp(mnl_attr_get_payload(attr), address.addr.data(), address.addr_len()) != 0)
          return std::nullopt;
        LoAddress held{address};
        held.address.prefix = ifa->ifa_prefixlen;
        return HeldAddress{held, attr_u8(tb[IFA_PROTO], 0) == kRtProtoMeshcap};
      });
  if (!matches) return tl::unexpected(matches.error());
  if (matches->empty()) return std::optional<HeldAddress>{};
  return std::optional<HeldAddress>{matches->front()};
}

// ---- changing state ------------------------------------------------------------

// What a refusal means for one kind of change, when the kernel's errno alone
// would leave the user guessing; empty when there is nothing to add.
using Explain = std::function<std::string(const Failure&)>;

// The kernel's words, to quote inside an explanation: "File exists" or
// "Network is down, Nexthop device is not up".
std::string kernel_words(const Failure& f) {
  std::string out = std::strerror(f.error);
  return f.message.empty() ? out : out + ", " + f.message;
}

// True when the kernel made the change; false when it answered `tolerated`,
// the errno that means "already so", so that rollback and cleanup can run
// again after one of them stopped half way.
Result<bool> change(Link& nl, const nlmsghdr* nlh, const std::string& doing, Family family, int tolerated = 0,
                    const Explain& explain = {}) {
  spdlog::debug("{}", doing);
  auto r = nl.sock.request(nlh);
  if (r) return true;
  if (r.error().error == tolerated) return false;
  return tl::unexpected(kernel_error(doing, family, r.error(), explain ? explain(r.error()) : std::string()));
}

Result<bool> add_rule(Link& nl, const PolicyRule& r, int tolerated = 0) {
  Buffer buf;
  return change(nl, rule_msg(buf, nl.sock.reserve_seq(), RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r),
                "adding " + describe(r), r.family, tolerated);
}

Result<bool> del_rule(Link& nl, const PolicyRule& r, int tolerated = 0) {
  Buffer buf;
  return change(nl, rule_msg(buf, nl.sock.reserve_seq(), RTM_DELRULE, 0, r), "deleting " + describe(r),
                r.family, tolerated);
}

Result<bool> add_route(Link& nl, const LocalRoute& r, int tolerated = 0) {
  Buffer buf;
  // The kernel refuses a route through a device that is down (IPv6 always),
  // and a runtime may hand over a namespace whose lo nobody brought up.
  auto explain = [](const Failure& f) -> std::string {
    if (f.error != ENETDOWN) return {};
    return "lo is down in the pod's network namespace (kernel: " + kernel_words(f) +
           "): bring it up (`ip link set lo up`) and run meshcap again";
  };
  auto lo = lo_index(nl);
  if (!lo) return tl::unexpected(lo.error());
  return change(nl, route_msg(buf, nl.sock.reserve_seq(), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, {r}, *lo),
                "adding " + describe(r), r.family, tolerated, explain);
}

Result<bool> del_route(Link& nl, const KernelRoute& r, int tolerated = 0) {
  Buffer buf;
  // A delete names no device: it matches ours on any.
  return change(nl, route_msg(buf, nl.sock.reserve_seq(), RTM_DELROUTE, 0, r, 0),
                "deleting " + describe(r.route), r.route.family, tolerated);
}

// The same answers for the lo address (EEXIST: it appeared between our look
// and our add, from another meshcap or the proxy's own setup: as wanted, and
// not ours to undo).
Result<bool> add_address(Link& nl, const LoAddress& a) {
  auto lo = lo_index(nl);
  if (!lo) return tl::unexpected(lo.error());
  Buffer buf;
  return change(nl, addr_msg(buf, nl.sock.reserve_seq(), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, a, *lo),
                "adding " + describe(a), a.address.family, EEXIST);
}

Result<bool> del_address(Link& nl, const LoAddress& a, int tolerated = 0) {
  auto lo = lo_index(nl);
  if (!lo) return tl::unexpected(lo.error());
  Buffer buf;
  return change(nl, addr_msg(buf, nl.sock.reserve_seq(), RTM_DELADDR, 0, a, *lo), "deleting " + describe(a),
                a.address.family, tolerated);
}

// Why an add of a rule or route that was not there when we looked says
// EEXIST: a meshcap running at the same time added our copy (fine: as wanted,
// and not ours to undo), or someone else's blocks it. Routes are keyed
// without their protocol, so an admin's untagged local default route in our
// table blocks ours; rules are too on kernels older than 4.17.
Result<void> explain_exists(Link& nl, const LocalRoute& want) {
  auto routes = tagged_routes(nl);
  if (!routes) return tl::unexpected(routes.error());
  if (std::any_of(routes->begin(), routes->end(), [&](const KernelRoute& k) { return k.route == want; }))
    return {};
  return tl::unexpected(kernel_error(
      "adding " + describe(want), want.family, Failure{EEXIST, {}, 0},
      fmt::format("table {} already holds a local default route that meshcap did not create (kernel: {}): "
                  "remove it (`ip {} route del local default table {}`) or choose another --tproxy-table",
                  want.table, std::strerror(EEXIST), ip_flag(want.family), want.table)));
}

Result<void> explain_exists(Link& nl, const PolicyRule& want) {
  auto rules = tagged_rules(nl);
  if (!rules) return tl::unexpected(rules.error());
  if (std::find(rules->begin(), rules->end(), want) != rules->end()) return {};
  return tl::unexpected(kernel_error(
      "adding " + describe(want), want.family, Failure{EEXIST, {}, 0},
      fmt::format(
          "a policy rule fwmark {:#x} lookup {} that meshcap did not create already exists (kernel: {}): "
          "remove it (`ip {} rule del fwmark {:#x} lookup {}`) or choose another "
          "--tproxy-mark/--tproxy-table",
          want.fwmark, want.table, std::strerror(EEXIST), ip_flag(want.family), want.fwmark, want.table)));
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

Result<void> converge(Link& nl, const Plan& plan, SysUndo& undo) {
  auto rules = tagged_rules(nl);
  if (!rules) return tl::unexpected(rules.error());
  auto routes = tagged_routes(nl);
  if (!routes) return tl::unexpected(routes.error());

  // Routes before rules: a rule must never send marked packets to an empty table.
  for (const auto& want : unique(plan.local_routes)) {
    if (take(*routes, [&](const KernelRoute& k) { return k.route == want; })) continue;
    auto added = add_route(nl, want, EEXIST);
    if (!added) return tl::unexpected(added.error());
    if (*added)
      undo.added_routes.push_back(want);
    else if (auto ok = explain_exists(nl, want); !ok)
      return ok;
  }
  for (const auto& want : unique(plan.policy_rules)) {
    if (take(*rules, [&](const PolicyRule& k) { return k == want; })) continue;
    auto added = add_rule(nl, want, EEXIST);
    if (!added) return tl::unexpected(added.error());
    if (*added)
      undo.added_rules.push_back(want);
    else if (auto ok = explain_exists(nl, want); !ok)
      return ok;
  }
  for (const auto& want : unique(plan.lo_addresses)) {
    auto present = lo_address(nl, want.address);
    if (!present) return tl::unexpected(present.error());
    if (*present) continue;
    auto added = add_address(nl, want);
    if (!added) return tl::unexpected(added.error());
    if (*added) undo.added_addresses.push_back(want);
  }

  // What is left is stale or a duplicate: rules first, for the same reason.
  for (const auto& stale : *rules) {
    if (auto r = del_rule(nl, stale); !r) return tl::unexpected(r.error());
    undo.removed_rules.push_back(stale);
  }
  for (const auto& stale : *routes) {
    if (auto r = del_route(nl, stale); !r) return tl::unexpected(r.error());
    undo.removed_routes.push_back(stale.route);
  }
  return {};
}

// Undoes in the reverse order of converge(); keeps going past a failure so
// that as much as possible is restored, and reports the first one.
Result<void> undo_changes(Link& nl, const SysUndo& undo) {
  Result<void> first;
  auto note = [&](const Result<bool>& r) {
    if (!r && first) first = tl::unexpected(r.error());
  };
  for (const auto& r : undo.removed_routes) note(add_route(nl, r, EEXIST));
  for (const auto& r : undo.removed_rules) note(add_rule(nl, r, EEXIST));
  for (const auto& a : undo.added_addresses) note(del_address(nl, a, EADDRNOTAVAIL));
  for (const auto& r : undo.added_rules) note(del_rule(nl, r, ENOENT));
  for (const auto& r : undo.added_routes) note(del_route(nl, KernelRoute{r}, ESRCH));
  return first;
}

// The tagged rules and routes, and those of `lo_addresses` that lo holds.
Result<Plan> observe(Link& nl, const std::vector<LoAddress>& lo_addresses) {
  auto rules = tagged_rules(nl);
  if (!rules) return tl::unexpected(rules.error());
  auto routes = tagged_routes(nl);
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

  for (const auto& a : unique(lo_addresses)) {
    auto present = lo_address(nl, a.address);
    if (!present) return tl::unexpected(present.error());
    if (*present) plan.lo_addresses.push_back(a);
  }
  return plan;
}

// The addresses meshcap may add to lo (the planner's lo_addresses).
const LoAddress kPassthrough{Cidr::host(Family::V6, "::6")};

}  // namespace

RoutingSession::RoutingSession() = default;
RoutingSession::~RoutingSession() = default;
RoutingSession::RoutingSession(RoutingSession&&) noexcept = default;
RoutingSession& RoutingSession::operator=(RoutingSession&&) noexcept = default;

Result<RoutingSession::Link*> RoutingSession::link() {
  if (!link_) {
    auto sock = open_rtnl();
    if (!sock) return tl::unexpected(sock.error());
    link_ = std::make_unique<Link>(Link{std::move(*sock)});
  }
  return link_.get();
}

Result<SysUndo> RoutingSession::apply(const Plan& plan) {
  auto nl = link();
  if (!nl) return tl::unexpected(nl.error());
  SysUndo undo;
  if (auto r = converge(**nl, plan, undo); !r) {
    if (auto back = undo_changes(**nl, undo); !back) {
      // The caller must not believe the kernel is untouched.
      return fail(ErrorKind::Kernel,
                  r.error().message + "; undoing the partial change also failed: " + back.error().message);
    }
    return tl::unexpected(r.error());
  }
  return undo;
}

Result<void> RoutingSession::rollback(const SysUndo& undo) {
  if (undo.empty()) return {};
  auto nl = link();
  if (!nl) return tl::unexpected(nl.error());
  return undo_changes(**nl, undo);
}

Result<Plan> RoutingSession::observe() {
  auto nl = link();
  if (!nl) return tl::unexpected(nl.error());
  return sys::observe(**nl, {kPassthrough});
}

Result<void> RoutingSession::remove() {
  auto link = this->link();
  if (!link) return tl::unexpected(link.error());
  Link& nl = **link;
  auto rules = tagged_rules(nl);
  if (!rules) return tl::unexpected(rules.error());
  for (const auto& r : *rules)
    if (auto d = del_rule(nl, r, ENOENT); !d) return tl::unexpected(d.error());
  auto routes = tagged_routes(nl);
  if (!routes) return tl::unexpected(routes.error());
  for (const auto& r : *routes)
    if (auto d = del_route(nl, r, ESRCH); !d) return tl::unexpected(d.error());
  // Last, like the rules' routes: an address nothing routes to is inert.
  // Only a ::6 meshcap tagged: an untagged one (an admin's, the proxy's, or
  // added by meshcap 0.1.0 or on a kernel without IFA_PROTO) cannot be told
  // from one that predates meshcap, so it stays.
  auto held = lo_address(nl, kPassthrough.address);
  if (!held) return tl::unexpected(held.error());
  if (*held && (*held)->tagged)
    if (auto d = del_address(nl, (*held)->address, EADDRNOTAVAIL); !d) return tl::unexpected(d.error());
  return {};
}

Result<SysUndo> apply_sys(const Plan& plan) { return RoutingSession().apply(plan); }

Result<void> rollback(const SysUndo& undo) { return RoutingSession().rollback(undo); }

Result<Plan> observe_sys() { return RoutingSession().observe(); }

Result<void> remove_sys() { return RoutingSession().remove(); }

}  // namespace meshcap::sys
