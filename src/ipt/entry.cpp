#include "ipt/entry.hpp"

#include <arpa/inet.h>
#include <linux/if.h>  // IFNAMSIZ; <net/if.h> clashes with the netfilter headers
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CT.h>
#include <linux/netfilter/xt_TPROXY.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_owner.h>
#include <linux/netfilter/xt_set.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <algorithm>
#include <optional>

#include "meshcap/overloaded.hpp"

namespace meshcap::ipt {

namespace {

// Revisions as iptables 1.8 picks them on current kernels (checked with
// strace on `iptables-legacy ... -j CT --zone 1`: IPT_SO_GET_REVISION_TARGET
// asks for CT revision 2, which takes struct xt_ct_target_info_v1).
constexpr uint8_t kOwnerRevision = 1;
constexpr uint8_t kTproxyRevision = 1;
constexpr uint8_t kCtRevision = 2;
// `-m state --state NEW` is the conntrack match, revision 3, flagged as the
// state alias so that iptables-save prints it as written.
constexpr uint8_t kConntrackRevision = 3;
// `-m set --match-set NAME dst|src`: struct xt_set_info_match_v4, the
// revision iptables 1.8 writes (its iptables-save prints no other).
constexpr uint8_t kSetRevision = 4;

xt_set_info_match_v4 set_match(uint16_t index, bool source) {
  xt_set_info_match_v4 info{};  // no counter conditions, no flags
  info.match_set.index = index;
  info.match_set.dim = IPSET_DIM_ONE;
  info.match_set.flags = source ? IPSET_DIM_ONE_SRC : 0;
  return info;
}

// IptRule::new_only, `-m state --state NEW`.
xt_conntrack_mtinfo3 new_state_guard() {
  xt_conntrack_mtinfo3 info{};
  info.match_flags = XT_CONNTRACK_STATE | XT_CONNTRACK_STATE_ALIAS;
  info.state_mask = XT_CONNTRACK_STATE_BIT(IP_CT_NEW);
  return info;
}

// CtStateMatch, `-m state --state INVALID`: the same match as the guard.
xt_conntrack_mtinfo3 invalid_state() {
  xt_conntrack_mtinfo3 info{};
  info.match_flags = XT_CONNTRACK_STATE | XT_CONNTRACK_STATE_ALIAS;
  info.state_mask = XT_CONNTRACK_STATE_INVALID;
  return info;
}

// The parts of ipt_ip / ip6t_ip6 meshcap uses, family-neutral.
struct IpPart {
  std::optional<Cidr> src, dst;
  std::string in, out;
  uint16_t proto = 0;
};

void set_iface(const std::string& name, char* iface, unsigned char* mask) {
  std::memcpy(iface, name.c_str(), name.size() + 1);
  // An exact name: compare every byte including the terminator (iptables
  // does the same for a name without a trailing '+').
  std::memset(mask, 0xff, name.size() + 1);
}

// The interface name when the mask asks for exactly it; nullopt for wildcards.
std::optional<std::string> get_iface(const char* iface, const unsigned char* mask) {
  size_t n = strnlen(iface, IFNAMSIZ);
  if (n == 0) {
    for (size_t i = 0; i < IFNAMSIZ; ++i)
      if (mask[i]) return std::nullopt;
    return std::string();
  }
  if (n >= IFNAMSIZ) return std::nullopt;
  for (size_t i = 0; i < IFNAMSIZ; ++i)
    if (mask[i] != (i <= n ? 0xff : 0)) return std::nullopt;
  return std::string(iface, n);
}

template <class Data>
void append_part(EntryBuf& out, const char* name, uint8_t revision, const Data& data, bool target) {
  // xt_entry_match and xt_entry_target share their user-space layout.
  static_assert(sizeof(xt_entry_match) == sizeof(xt_entry_target));
  size_t size = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(Data));
  unsigned char* at = out.grow(size);
  if (target) {
    auto* t = reinterpret_cast<xt_entry_target*>(at);
    t->u.user.target_size = static_cast<uint16_t>(size);
    std::strncpy(t->u.user.name, name, sizeof t->u.user.name - 1);
    t->u.user.revision = revision;
  } else {
    auto* m = reinterpret_cast<xt_entry_match*>(at);
    m->u.user.match_size = static_cast<uint16_t>(size);
    std::strncpy(m->u.user.name, name, sizeof m->u.user.name - 1);
    m->u.user.revision = revision;
  }
  std::memcpy(at + XT_ALIGN(sizeof(xt_entry_match)), &data, sizeof(Data));
}

// An entry under construction: the header's room, zeroed, to be written
// last (write_header), when the parts after it are known. Built in one
// buffer, with room for the few parts a rule has: allocated once.
EntryBuf start_entry(Family family) {
  // Bytes: enough for every rule meshcap writes (the largest, a v6 TPROXY
  // rule with its guard, takes up to 512); a larger entry grows.
  constexpr size_t kRoom = 512;
  EntryBuf buf;
  buf.reserve(kRoom);
  buf.grow(header_size(family));
  return buf;
}

// Writes the header of an entry start_entry began: the ip part, and where
// the target (appended at `target_offset`) and the entry end.
void write_header(Family family, const IpPart& ip, size_t target_offset, EntryBuf& buf) {
  auto next_offset = static_cast<uint16_t>(buf.size());
  if (family == Family::V4) {
    ipt_entry e{};
    if (ip.src) {
      std::memcpy(&e.ip.src, ip.src->addr.data(), 4);
      std::memcpy(&e.ip.smsk, ip.src->mask().data(), 4);
    }
    if (ip.dst) {
      std::memcpy(&e.ip.dst, ip.dst->addr.data(), 4);
      std::memcpy(&e.ip.dmsk, ip.dst->mask().data(), 4);
    }
    if (!ip.in.empty()) set_iface(ip.in, e.ip.iniface, e.ip.iniface_mask);
    if (!ip.out.empty()) set_iface(ip.out, e.ip.outiface, e.ip.outiface_mask);
    e.ip.proto = ip.proto;
    e.target_offset = static_cast<uint16_t>(target_offset);
    e.next_offset = next_offset;
    std::memcpy(buf.data(), &e, sizeof e);
  } else {
    ip6t_entry e{};
    if (ip.src) {
      std::memcpy(&e.ipv6.src, ip.src->addr.data(), 16);
      std::memcpy(&e.ipv6.smsk, ip.src->mask().data(), 16);
    }
    if (ip.dst) {
      std::memcpy(&e.ipv6.dst, ip.dst->addr.data(), 16);
      std::memcpy(&e.ipv6.dmsk, ip.dst->mask().data(), 16);
    }
    if (!ip.in.empty()) set_iface(ip.in, e.ipv6.iniface, e.ipv6.iniface_mask);
    if (!ip.out.empty()) set_iface(ip.out, e.ipv6.outiface, e.ipv6.outiface_mask);
    e.ipv6.proto = ip.proto;
    // ip6tables only compares the protocol when told to (unlike ipt_ip).
    if (ip.proto) e.ipv6.flags |= IP6T_F_PROTO;
    e.target_offset = static_cast<uint16_t>(target_offset);
    e.next_offset = next_offset;
    std::memcpy(buf.data(), &e, sizeof e);
  }
}

void standard_target(EntryBuf& out, const std::string& name) {
  int verdict = 0;  // libiptc maps the name to the verdict or jump offset
  append_part(out, name.c_str(), 0, verdict, true);
}

void encode_target(Family family, const Action& action, EntryBuf& out) {
  std::visit(overloaded{
                 [&](const ReturnAction&) { standard_target(out, "RETURN"); },
                 [&](const JumpAction& a) { standard_target(out, a.chain); },
                 [&](const RedirectAction& a) {
                   // -j REDIRECT --to-ports PORT
                   if (family == Family::V4) {
                     nf_nat_ipv4_multi_range_compat r{};
                     r.rangesize = 1;
                     r.range[0].flags = NF_NAT_RANGE_PROTO_SPECIFIED;
                     r.range[0].min.tcp.port = htons(a.port);
                     r.range[0].max.tcp.port = htons(a.port);
                     append_part(out, "REDIRECT", 0, r, true);
                   } else {
                     nf_nat_range r{};
                     r.flags = NF_NAT_RANGE_PROTO_SPECIFIED;
                     r.min_proto.tcp.port = htons(a.port);
                     r.max_proto.tcp.port = htons(a.port);
                     append_part(out, "REDIRECT", 0, r, true);
                   }
                 },
                 [&](const TproxyAction& a) {
                   // -j TPROXY --on-port PORT --tproxy-mark MARK/0xffffffff
                   xt_tproxy_target_info_v1 t{};
                   t.mark_mask = 0xffffffff;
                   t.mark_value = a.mark;
                   t.lport = htons(a.port);
                   append_part(out, "TPROXY", kTproxyRevision, t, true);
                 },
                 [&](const CtZoneAction& a) {
                   // -j CT --zone ZONE
                   xt_ct_target_info_v1 t{};
                   t.zone = a.zone;
                   append_part(out, "CT", kCtRevision, t, true);
                 },
                 [&](const DropAction&) { standard_target(out, "DROP"); },
             },
             action);
}

}  // namespace

unsigned char* EntryBuf::grow(size_t n) {
  size_t at = words_.size();
  words_.resize(at + (n + 7) / 8);  // value-initialised: zero
  return reinterpret_cast<unsigned char*>(words_.data() + at);
}

size_t header_size(Family family) { return family == Family::V4 ? sizeof(ipt_entry) : sizeof(ip6t_entry); }

Result<EntryBuf> encode_rule(Family family, const IptRule& rule, const std::string& chain, size_t index,
                             SetDirectory* sets) {
  IpPart ip;
  EntryBuf entry = start_entry(family);
  std::string problem;
  auto where = [&] {
    return std::string(iptables_tool(family)) + " " + chain + " rule " +
           std::to_string(index + 1) + ": ";
  };
  auto set_proto = [&](Proto p) {
    auto value = static_cast<uint16_t>(p);
    if (ip.proto && ip.proto != value) problem = "matches both tcp and udp";
    ip.proto = value;
  };
  // An ipset lookup: -m set --match-set NAME dst|src.
  auto lookup = [&](const std::string& name, bool source) {
    if (!sets) {
      problem = "names ipset " + name + ", which this caller cannot resolve";
      return;
    }
    auto set_index = sets->index_of(name);
    if (!set_index) {
      problem = set_index.error().message;
      return;
    }
    append_part(entry, "set", kSetRevision, set_match(*set_index, source), false);
  };
  for (const auto& match : rule.matches) {
    if (const auto* p = std::get_if<PortMatch>(&match); p && !p->set.empty()) {
      set_proto(p->proto);
      lookup(p->set, p->source);
      if (!problem.empty()) return fail(ErrorKind::Other, where() + problem);
      continue;
    }
    if (const auto* a = std::get_if<AddrMatch>(&match); a && !a->set.empty()) {
      lookup(a->set, a->source);
      if (!problem.empty()) return fail(ErrorKind::Other, where() + problem);
      continue;
    }
    std::visit(overloaded{
                   [&](const IifMatch& m) {
                     if (!m.set.empty() || m.names.size() != 1 || !ip.in.empty())
                       problem = "needs exactly one input interface";
                     else if (m.names[0].empty() || m.names[0].size() >= IFNAMSIZ)
                       problem = "interface name '" + m.names[0] + "' does not fit";
                     else
                       ip.in = m.names[0];
                   },
                   [&](const OifMatch& m) {
                     if (!m.set.empty() || m.names.size() != 1 || !ip.out.empty())
                       problem = "needs exactly one output interface";
                     else if (m.names[0].empty() || m.names[0].size() >= IFNAMSIZ)
                       problem = "interface name '" + m.names[0] + "' does not fit";
                     else
                       ip.out = m.names[0];
                   },
                   [&](const ProtoMatch& m) { set_proto(m.proto); },
                   [&](const PortMatch& m) {
                     if (!m.set.empty() || m.ports.size() != 1) {
                       problem = "needs exactly one port or range per match";
                       return;
                     }
                     set_proto(m.proto);
                     // -p tcp -m tcp --dport FIRST:LAST (or udp, or --sport)
                     uint16_t range[2] = {m.ports[0].first, m.ports[0].last};
                     if (m.proto == Proto::Tcp) {
                       xt_tcp t{};
                       t.spts[1] = t.dpts[1] = 0xffff;
                       std::copy(range, range + 2, m.source ? t.spts : t.dpts);
                       append_part(entry, "tcp", 0, t, false);
                     } else {
                       xt_udp u{};
                       u.spts[1] = u.dpts[1] = 0xffff;
                       std::copy(range, range + 2, m.source ? u.spts : u.dpts);
                       append_part(entry, "udp", 0, u, false);
                     }
                   },
                   [&](const AddrMatch& m) {
                     auto& slot = m.source ? ip.src : ip.dst;
                     if (!m.set.empty() || m.cidrs.size() != 1 || slot)
                       problem = std::string("needs exactly one ") + (m.source ? "source" : "destination") +
                                 " address";
                     else if (m.cidrs[0].family != family)
                       problem = "address " + m.cidrs[0].str() + " is of the other family";
                     else
                       slot = m.cidrs[0];
                   },
                   [&](const OwnerMatch& m) {
                     if (!m.set.empty() || m.ids.size() != 1) {
                       problem = "needs exactly one owner id per match";
                       return;
                     }
                     // -m owner --uid-owner ID (or --gid-owner)
                     xt_owner_match_info o{};
                     if (m.gid) {
                       o.gid_min = o.gid_max = m.ids[0];
                       o.match = XT_OWNER_GID;
                     } else {
                       o.uid_min = o.uid_max = m.ids[0];
                       o.match = XT_OWNER_UID;
                     }
                     append_part(entry, "owner", kOwnerRevision, o, false);
                   },
                   [&](const CtStateMatch&) {
                     append_part(entry, "conntrack", kConntrackRevision, invalid_state(), false);
                   },
               },
               match);
    if (!problem.empty()) return fail(ErrorKind::Other, where() + problem);
  }
  // -m state --state NEW, last, as render_iptables places it
  if (rule.new_only)
    append_part(entry, "conntrack", kConntrackRevision, new_state_guard(), false);
  const size_t target_offset = entry.size();
  encode_target(family, rule.action, entry);
  write_header(family, ip, target_offset, entry);
  return entry;
}

namespace {

// `-m comment --comment meshcap`: the mark on meshcap's jumps.
void append_jump_mark(EntryBuf& out) {
  xt_comment_info info{};
  std::strncpy(info.comment, kIptablesJumpComment, sizeof info.comment - 1);
  append_part(out, "comment", 0, info, false);
}

}  // namespace

EntryBuf encode_jump(Family family, const std::string& target) {
  EntryBuf entry = start_entry(family);
  append_jump_mark(entry);
  const size_t target_offset = entry.size();
  standard_target(entry, target);
  write_header(family, IpPart{}, target_offset, entry);
  return entry;
}

namespace {

// The ip part of a dumped entry, or a description of what meshcap never writes.
struct Header {
  IpPart ip;
  uint16_t target_offset = 0;
  uint16_t next_offset = 0;
  std::string unknown;
};

Header read_header(Family family, const void* entry) {
  Header h;
  auto check_iface = [&](const char* iface, const unsigned char* mask, std::string& out) {
    if (auto name = get_iface(iface, mask))
      out = *name;
    else
      h.unknown = "interface wildcard";
  };
  auto check_addr = [&](const void* addr, const void* mask, std::optional<Cidr>& out) {
    // Most entries match no address: a zero mask, read as "any".
    const auto* m = static_cast<const uint8_t*>(mask);
    if (std::all_of(m, m + (family == Family::V4 ? 4 : 16), [](uint8_t b) { return b == 0; })) return;
    auto c = Cidr::from_mask(family, static_cast<const uint8_t*>(addr), m);
    if (!c)
      h.unknown = "non-prefix address mask";
    else if (c->prefix)
      out = c;
  };
  if (family == Family::V4) {
    const auto* e = static_cast<const ipt_entry*>(entry);
    check_addr(&e->ip.src, &e->ip.smsk, h.ip.src);
    check_addr(&e->ip.dst, &e->ip.dmsk, h.ip.dst);
    check_iface(e->ip.iniface, e->ip.iniface_mask, h.ip.in);
    check_iface(e->ip.outiface, e->ip.outiface_mask, h.ip.out);
    h.ip.proto = e->ip.proto;
    if (e->ip.invflags) h.unknown = "negated match (!)";
    if (e->ip.flags) h.unknown = "fragment or goto flag";
    h.target_offset = e->target_offset;
    h.next_offset = e->next_offset;
  } else {
    const auto* e = static_cast<const ip6t_entry*>(entry);
    check_addr(&e->ipv6.src, &e->ipv6.smsk, h.ip.src);
    check_addr(&e->ipv6.dst, &e->ipv6.dmsk, h.ip.dst);
    check_iface(e->ipv6.iniface, e->ipv6.iniface_mask, h.ip.in);
    check_iface(e->ipv6.outiface, e->ipv6.outiface_mask, h.ip.out);
    h.ip.proto = e->ipv6.proto;
    if (e->ipv6.invflags) h.unknown = "negated match (!)";
    if ((e->ipv6.flags & ~IP6T_F_PROTO) || e->ipv6.tos) h.unknown = "tos or goto flag";
    if (!(e->ipv6.flags & IP6T_F_PROTO)) h.ip.proto = 0;  // not compared by the kernel
    h.target_offset = e->target_offset;
    h.next_offset = e->next_offset;
  }
  return h;
}

template <class Data>
const Data* part_data(const xt_entry_match* m, size_t size) {
  if (size < XT_ALIGN(sizeof(xt_entry_match)) + sizeof(Data)) return nullptr;
  return reinterpret_cast<const Data*>(m->data);
}

std::optional<Action> decode_target(Family family, const void* entry, uint16_t target_offset,
                                    std::string_view name) {
  if (name == "RETURN") return ReturnAction{};
  if (name == "DROP") return DropAction{};
  if (iptables_owned_chain(name)) return JumpAction{std::string(name)};
  const auto* t =
      reinterpret_cast<const xt_entry_target*>(static_cast<const unsigned char*>(entry) + target_offset);
  size_t size = t->u.target_size;
  const auto* as_match = reinterpret_cast<const xt_entry_match*>(t);
  if (name == "REDIRECT" && t->u.user.revision == 0) {
    if (family == Family::V4) {
      const auto* r = part_data<nf_nat_ipv4_multi_range_compat>(as_match, size);
      if (!r || r->rangesize != 1 || r->range[0].flags != NF_NAT_RANGE_PROTO_SPECIFIED ||
          r->range[0].min.tcp.port != r->range[0].max.tcp.port || r->range[0].min_ip || r->range[0].max_ip)
        return std::nullopt;
      return RedirectAction{ntohs(r->range[0].min.tcp.port)};
    }
    const auto* r = part_data<nf_nat_range>(as_match, size);
    nf_inet_addr zero{};
    if (!r || r->flags != NF_NAT_RANGE_PROTO_SPECIFIED || r->min_proto.tcp.port != r->max_proto.tcp.port ||
        std::memcmp(&r->min_addr, &zero, sizeof zero) || std::memcmp(&r->max_addr, &zero, sizeof zero))
      return std::nullopt;
    return RedirectAction{ntohs(r->min_proto.tcp.port)};
  }
  if (name == "TPROXY" && t->u.user.revision == kTproxyRevision) {
    const auto* p = part_data<xt_tproxy_target_info_v1>(as_match, size);
    nf_inet_addr zero{};
    if (!p || p->mark_mask != 0xffffffff || std::memcmp(&p->laddr, &zero, sizeof zero)) return std::nullopt;
    return TproxyAction{ntohs(p->lport), p->mark_value};
  }
  if (name == "CT" && t->u.user.revision == kCtRevision) {
    const auto* c = part_data<xt_ct_target_info_v1>(as_match, size);
    if (!c || c->flags || c->ct_events || c->exp_events || c->helper[0] || c->timeout[0]) return std::nullopt;
    return CtZoneAction{c->zone};
  }
  return std::nullopt;
}

}  // namespace

JumpForm jump_form(Family family, const void* entry) {
  Header h = read_header(family, entry);
  if (!h.unknown.empty() || h.ip.src || h.ip.dst || !h.ip.in.empty() || !h.ip.out.empty() || h.ip.proto)
    return JumpForm::Other;
  size_t matches = h.target_offset - header_size(family);
  if (matches == 0) return JumpForm::Bare;
  EntryBuf mark;
  append_jump_mark(mark);
  const auto* m = static_cast<const unsigned char*>(entry) + header_size(family);
  // The kernel hands the match back with its own pointer in place of the
  // name's tail; compare the size, name, revision and the comment only.
  const auto* got = reinterpret_cast<const xt_entry_match*>(m);
  const auto* want = reinterpret_cast<const xt_entry_match*>(mark.data());
  if (matches != mark.size() || got->u.match_size != want->u.match_size ||
      std::strncmp(got->u.user.name, "comment", sizeof got->u.user.name) != 0 || got->u.user.revision != 0)
    return JumpForm::Other;
  const auto* info = reinterpret_cast<const xt_comment_info*>(got->data);
  return strnlen(info->comment, sizeof info->comment) == std::strlen(kIptablesJumpComment) &&
                 std::strcmp(info->comment, kIptablesJumpComment) == 0
             ? JumpForm::Marked
             : JumpForm::Other;
}

Result<IptRule> decode_rule(Family family, const void* entry, const std::string& target,
                            const std::string& where, SetDirectory* sets) {
  auto unknown = [&](const std::string& what) {
    return fail(ErrorKind::Verify,
                where + ": meshcap does not write " + what + "; run `meshcap apply` to converge");
  };
  Header h = read_header(family, entry);
  if (!h.unknown.empty()) return unknown(h.unknown);
  IptRule rule;
  if (h.ip.src) rule.matches.emplace_back(AddrMatch{true, {*h.ip.src}, ""});
  if (h.ip.dst) rule.matches.emplace_back(AddrMatch{false, {*h.ip.dst}, ""});
  if (!h.ip.in.empty()) rule.matches.emplace_back(IifMatch{{h.ip.in}, ""});
  if (!h.ip.out.empty()) rule.matches.emplace_back(OifMatch{{h.ip.out}, ""});
  // The extensions follow, appended in place; a bare -p goes before them.
  const size_t first_extension = rule.matches.size();
  bool ports = false;
  const auto* base = static_cast<const unsigned char*>(entry);
  for (size_t off = header_size(family); off < h.target_offset;) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(base + off);
    size_t size = m->u.match_size;
    if (size < sizeof(xt_entry_match) || off + size > h.target_offset) return unknown("a malformed match");
    std::string_view name(m->u.user.name, strnlen(m->u.user.name, sizeof m->u.user.name));
    off += size;
    if ((name == "tcp" || name == "udp") && m->u.user.revision == 0) {
      uint16_t proto = name == "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
      const uint16_t* spts = nullptr;
      const uint16_t* dpts = nullptr;
      if (name == "tcp") {
        const auto* t = part_data<xt_tcp>(m, size);
        if (!t || t->option || t->flg_mask || t->flg_cmp || t->invflags)
          return unknown("tcp flags, options or negations");
        spts = t->spts;
        dpts = t->dpts;
      } else {
        const auto* u = part_data<xt_udp>(m, size);
        if (!u || u->invflags) return unknown("negated udp ports");
        spts = u->spts;
        dpts = u->dpts;
      }
      const std::string ext(name);
      if (h.ip.proto != proto) return unknown("-m " + ext + " without -p " + ext);
      bool any_s = spts[0] == 0 && spts[1] == 0xffff;
      bool any_d = dpts[0] == 0 && dpts[1] == 0xffff;
      if (any_s && any_d) return unknown("-m " + ext + " without ports");
      auto p = static_cast<Proto>(proto);
      if (!any_s) rule.matches.emplace_back(PortMatch{p, true, {{spts[0], spts[1]}}, ""});
      if (!any_d) rule.matches.emplace_back(PortMatch{p, false, {{dpts[0], dpts[1]}}, ""});
      ports = true;
    } else if (name == "owner" && m->u.user.revision == kOwnerRevision) {
      const auto* o = part_data<xt_owner_match_info>(m, size);
      if (!o || o->invert) return unknown("a negated or malformed owner match");
      if (o->match == XT_OWNER_UID && o->uid_min == o->uid_max)
        rule.matches.emplace_back(OwnerMatch{false, {o->uid_min}, ""});
      else if (o->match == XT_OWNER_GID && o->gid_min == o->gid_max)
        rule.matches.emplace_back(OwnerMatch{true, {o->gid_min}, ""});
      else
        return unknown("an owner match other than one --uid-owner or --gid-owner id");
    } else if (name == "conntrack" && m->u.user.revision == kConntrackRevision) {
      // IptRule::new_only (last; lift_iptables checks that it goes with
      // TPROXY) or CtStateMatch.
      const auto* c = part_data<xt_conntrack_mtinfo3>(m, size);
      auto guard = new_state_guard();
      auto invalid = invalid_state();
      if (c && off == h.target_offset && std::memcmp(c, &guard, sizeof guard) == 0)
        rule.new_only = true;
      else if (c && std::memcmp(c, &invalid, sizeof invalid) == 0)
        rule.matches.emplace_back(CtStateMatch{CtState::Invalid});
      else
        return unknown("a conntrack match other than -m state --state NEW or INVALID");
    } else if (name == "set" && m->u.user.revision == kSetRevision && sets) {
      const auto* info = part_data<xt_set_info_match_v4>(m, size);
      if (!info || info->match_set.dim != IPSET_DIM_ONE || info->flags || info->packets.op ||
          info->bytes.op || (info->match_set.flags != 0 && info->match_set.flags != IPSET_DIM_ONE_SRC))
        return unknown("a set match other than one --match-set NAME dst or src");
      auto lookup = sets->match_of(info->match_set.index, info->match_set.flags != 0, h.ip.proto);
      if (!lookup) return fail(lookup.error().kind, where + ": " + lookup.error().message);
      if (std::holds_alternative<PortMatch>(*lookup)) ports = true;
      rule.matches.push_back(std::move(*lookup));
    } else {
      return unknown("match '" + std::string(name) + "' (revision " + std::to_string(m->u.user.revision) +
                     ")");
    }
  }
  if (h.ip.proto && !ports) {
    if (h.ip.proto != IPPROTO_TCP && h.ip.proto != IPPROTO_UDP)
      return unknown(std::string("-p ") + std::to_string(h.ip.proto));
    rule.matches.emplace(rule.matches.begin() + first_extension, ProtoMatch{static_cast<Proto>(h.ip.proto)});
  }
  if (h.next_offset < h.target_offset + sizeof(xt_entry_target)) return unknown("a malformed target");
  auto action = decode_target(family, entry, h.target_offset, target);
  if (!action) return unknown("target '" + target + "' with these options");
  rule.action = std::move(*action);
  return rule;
}

EntryBuf reappendable(Family family, const void* entry, const std::string& target) {
  uint16_t target_offset = family == Family::V4 ? static_cast<const ipt_entry*>(entry)->target_offset
                                                : static_cast<const ip6t_entry*>(entry)->target_offset;
  uint16_t next_offset = family == Family::V4 ? static_cast<const ipt_entry*>(entry)->next_offset
                                              : static_cast<const ip6t_entry*>(entry)->next_offset;
  EntryBuf copy(entry, next_offset);
  auto* t = reinterpret_cast<xt_entry_target*>(static_cast<unsigned char*>(copy.data()) + target_offset);
  if (t->u.user.name[0] == '\0') {
    std::memset(t->u.user.name, 0, sizeof t->u.user.name);
    std::strncpy(t->u.user.name, target.c_str(), sizeof t->u.user.name - 1);
  }
  return copy;
}

}  // namespace meshcap::ipt
