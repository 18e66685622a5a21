#include "ipt/sets.hpp"

#include <arpa/inet.h>  // before the netfilter headers, as in entry.cpp
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <algorithm>
#include <cstring>

namespace meshcap::ipt {

namespace {

ipset::Set to_kernel(const IptSet& s, const std::string& name) {
  ipset::Set set;
  set.name = name;
  set.family = s.family;
  if (const auto* a = std::get_if<AddrMatch>(&s.match)) {
    set.kind = ipset::Kind::Net;
    set.cidrs = a->cidrs;
  } else {
    set.kind = ipset::Kind::Port;
    set.ports = std::get<PortMatch>(s.match).ports;
  }
  ipset::normalize(set);
  return set;
}

Result<ipset::Session*> session(std::optional<ipset::Session>& s) {
  if (!s) {
    auto opened = ipset::Session::open();
    if (!opened) return tl::unexpected(opened.error());
    s.emplace(std::move(*opened));
  }
  return &*s;
}

// The match an xt_set match stands for, from the set it names.
Result<Match> lookup(const ipset::Set& set, bool source, uint16_t proto) {
  std::string base = ipset_base_name(set.name);
  if (set.kind == ipset::Kind::Net) return Match{AddrMatch{source, set.cidrs, base}};
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
    return fail(ErrorKind::Verify, "the port set " + set.name +
                                       " is used without -p tcp or udp, which meshcap does not write; "
                                       "run `meshcap apply` to converge");
  return Match{PortMatch{static_cast<Proto>(proto), source, set.ports, base}};
}

}  // namespace

Result<void> probe_ipsets() {
  auto s = ipset::Session::open();
  if (!s) return tl::unexpected(s.error());
  return s->probe();
}

bool uses_ipset(Family family, const EntryBuf& entry) {
  const auto* base = static_cast<const unsigned char*>(entry.data());
  size_t head = header_size(family);
  uint16_t target_offset = family == Family::V4 ? static_cast<const ipt_entry*>(entry.data())->target_offset
                                                : static_cast<const ip6t_entry*>(entry.data())->target_offset;
  for (size_t off = head;
       off + sizeof(xt_entry_match) <= target_offset && off + sizeof(xt_entry_match) <= entry.size();) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(base + off);
    if (m->u.match_size < sizeof(xt_entry_match)) return false;
    if (strncmp(m->u.user.name, "set", sizeof m->u.user.name) == 0) return true;
    off += m->u.match_size;
  }
  return false;
}

// ---- SetTransaction ------------------------------------------------------------

Result<void> SetTransaction::begin(const IptRuleset& lowered) {
  begun_ = true;
  auto wanted = iptables_sets(lowered);
  auto s = session(session_);
  if (!s) return tl::unexpected(s.error());
  auto headers = (*s)->list();
  if (!headers) {
    if (wanted.empty()) {
      // No ip_set in this kernel: no set of meshcap's can exist.
      session_.reset();
      return {};
    }
    return tl::unexpected(headers.error());
  }
  // A set meshcap owns that the kernel will not destroy is in use by a rule
  // (the old contents); the others are left by a run that was stopped.
  std::vector<std::string> used;
  for (const auto& h : *headers) {
    if (!ipset_owned(h.name)) continue;
    auto gone = (*s)->destroy(h.name);
    if (!gone) return tl::unexpected(gone.error());
    if (!*gone) used.push_back(h.name);
  }
  auto in_use = [&](const std::string& n) { return std::find(used.begin(), used.end(), n) != used.end(); };
  for (const auto& w : wanted) {
    ipset::Set want = to_kernel(w, w.name);
    // A set in use that already holds exactly these elements stays: a
    // re-run with the same settings changes no set.
    bool kept = false;
    auto names = ipset_written_names(w.name);
    for (const std::string& live : names) {
      if (kept || !in_use(live)) continue;
      auto held = (*s)->read(live);
      if (!held) return tl::unexpected(held.error());
      want.name = live;
      // bitmap:port has no family of its own: the kernel lists it as unspecified.
      if (*held && want.kind == ipset::Kind::Port) (*held)->family = want.family;
      if (*held && **held == want) {
        kept = true;
        created_.push_back(live);  // not destroyed by finish()
        written_[w.name] = live;
      }
    }
    if (kept) continue;
    auto name = std::find_if(names.begin(), names.end(), [&](const std::string& n) { return !in_use(n); });
    if (name == names.end())
      return fail(ErrorKind::Kernel, "ipset " + w.name +
                                         " is in use under each of its names; run `meshcap cleanup` "
                                         "then apply again");
    want.name = *name;
    made_.push_back(*name);  // perhaps half made, if create fails
    if (auto ok = (*s)->create(want); !ok) return ok;
    created_.push_back(*name);
    written_[w.name] = *name;
  }
  return {};
}

Result<void> SetTransaction::finish() {
  if (!session_) return {};
  auto headers = session_->list();
  if (!headers) return tl::unexpected(headers.error());
  for (const auto& h : *headers) {
    if (!ipset_owned(h.name) || std::find(created_.begin(), created_.end(), h.name) != created_.end())
      continue;
    // In use by someone else's rule: not meshcap's to break (the next run tries again).
    auto gone = session_->destroy(h.name);
    if (!gone) return tl::unexpected(gone.error());
  }
  return {};
}

void SetTransaction::abandon() {
  if (!session_) return;
  for (const auto& name : made_) (void)session_->destroy(name);
}

Result<uint16_t> SetTransaction::index_of(const std::string& name) {
  auto it = written_.find(name);
  if (it == written_.end()) return fail(ErrorKind::Other, "ipset " + name + " was not created");
  return ipset::index_of(it->second);
}

Result<Match> SetTransaction::match_of(uint16_t, bool, uint16_t) {
  return fail(ErrorKind::Other, "a transaction does not read sets back");
}

// ---- SetReader -----------------------------------------------------------------

Result<uint16_t> SetReader::index_of(const std::string& name) { return ipset::index_of(name); }

Result<Match> SetReader::match_of(uint16_t index, bool source, uint16_t proto) {
  if (auto it = read_.find(index); it != read_.end()) return lookup(it->second, source, proto);
  auto name = ipset::name_of(index);
  if (!name) return tl::unexpected(name.error());
  if (!ipset_owned(*name))
    return fail(ErrorKind::Verify, "-m set --match-set " + *name +
                                       ": a set that is not meshcap's; run `meshcap apply` to converge");
  auto s = session(session_);
  if (!s) return tl::unexpected(s.error());
  auto set = (*s)->read(*name);
  if (!set) return tl::unexpected(set.error());
  if (!*set) return fail(ErrorKind::Verify, "ipset " + *name + " is gone; run `meshcap apply` to converge");
  auto& kept = read_[index] = std::move(**set);
  return lookup(kept, source, proto);
}

}  // namespace meshcap::ipt
