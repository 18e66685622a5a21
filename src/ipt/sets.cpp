#include "ipt/sets.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <string_view>

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

// The name of the chain that stands for an unused set: a space never occurs
// in a planned chain's name.
constexpr std::string_view kUnusedPrefix = "ipset ";
constexpr std::string_view kUnusedSuffix = " (no rule uses it)";

}  // namespace

// ---- KernelSets ----------------------------------------------------------------

Result<ipset::Session*> KernelSets::session() {
  if (session_) return &*session_;
  if (absent_) return nullptr;
  auto opened = ipset::Session::open_if_present();
  if (!opened) return tl::unexpected(opened.error());
  if (!*opened) {
    absent_ = true;
    return nullptr;
  }
  session_.emplace(std::move(**opened));
  return &*session_;
}

Result<std::vector<ipset::Header>> KernelSets::owned() {
  auto s = session();
  if (!s) return tl::unexpected(s.error());
  if (!*s) return std::vector<ipset::Header>();
  auto headers = (*s)->list();
  if (!headers) return headers;
  std::erase_if(*headers, [](const ipset::Header& h) { return !ipset_owned(h.name); });
  return headers;
}

Result<void> probe_ipsets(KernelSets& kernel) {
  auto s = kernel.session();
  if (!s) return tl::unexpected(s.error());
  if (!*s) return fail(ErrorKind::Kernel, "the kernel has no ip_set");
  return (*s)->probe();
}

Result<std::vector<std::string>> unused_sets(KernelSets& kernel) {
  auto owned = kernel.owned();
  if (!owned) return tl::unexpected(owned.error());
  std::vector<std::string> unused;
  for (const auto& h : *owned)
    if (h.references == 0) unused.push_back(h.name);
  std::sort(unused.begin(), unused.end());
  return unused;
}

Chain unused_set_chain(const std::string& set) {
  return Chain{
      std::string(kUnusedPrefix) + set + std::string(kUnusedSuffix), ChainKind::Nat, std::nullopt, {}};
}

bool is_unused_set_chain(const Chain& chain) {
  return chain.name.starts_with(kUnusedPrefix) && chain.name.ends_with(kUnusedSuffix);
}

void show_unused_sets(Plan& observed, const std::vector<std::string>& sets) {
  for (const auto& name : sets) {
    Family family = name.starts_with(kIpsetPrefix6) ? Family::V6 : Family::V4;
    auto table = std::find_if(observed.tables.begin(), observed.tables.end(),
                              [&](const Table& t) { return t.family == family; });
    if (table == observed.tables.end())
      table = observed.tables.insert(family == Family::V4 ? observed.tables.begin() : observed.tables.end(),
                                     Table{family, {}});
    table->chains.push_back(unused_set_chain(name));
  }
}

// ---- SetTransaction ------------------------------------------------------------

Result<void> SetTransaction::begin(const IptRuleset& lowered) {
  auto owned = kernel_.owned();
  if (!owned) return tl::unexpected(owned.error());
  // A set of meshcap's that no rule uses was left by a run that was stopped,
  // whatever lists that run or this one has: it goes. One in use holds the
  // old contents (or is named by someone else's rule).
  for (const auto& h : *owned) {
    bool gone = false;
    if (h.references == 0) {
      auto destroyed = (*kernel_.session())->destroy(h.name);
      if (!destroyed) return tl::unexpected(destroyed.error());
      gone = *destroyed;  // false: a rule took it meanwhile
    }
    if (!gone) used_.push_back(h.name);
  }
  auto wanted = iptables_sets(lowered);
  if (wanted.empty()) return {};
  auto session = kernel_.session();
  if (!session) return tl::unexpected(session.error());
  if (!*session) return fail(ErrorKind::Kernel, "the kernel has no ip_set for the sets of these lists");
  ipset::Session& s = **session;
  auto in_use = [&](const std::string& n) { return std::find(used_.begin(), used_.end(), n) != used_.end(); };
  for (const auto& w : wanted) {
    ipset::Set want = to_kernel(w, w.name);
    // A set in use that already holds exactly these elements stays: a
    // re-run with the same settings changes no set.
    bool kept = false;
    auto names = ipset_written_names(w.name);
    for (const std::string& live : names) {
      if (kept || !in_use(live)) continue;
      auto held = s.read(live);
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
    if (auto ok = s.create(want); !ok) return ok;
    created_.push_back(*name);
    written_[w.name] = *name;
  }
  return {};
}

Result<void> SetTransaction::finish() {
  for (const auto& name : used_) {
    if (std::find(created_.begin(), created_.end(), name) != created_.end()) continue;
    // In use by someone else's rule: not meshcap's to break (the next run tries again).
    auto gone = (*kernel_.session())->destroy(name);
    if (!gone) return tl::unexpected(gone.error());
  }
  return {};
}

void SetTransaction::abandon() {
  for (const auto& name : made_) (void)(*kernel_.session())->destroy(name);
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
  auto s = kernel_.session();
  if (!s) return tl::unexpected(s.error());
  if (!*s) return fail(ErrorKind::Kernel, "ipset " + *name + ": the kernel has no ip_set to read it from");
  auto set = (*s)->read(*name);
  if (!set) return tl::unexpected(set.error());
  if (!*set) return fail(ErrorKind::Verify, "ipset " + *name + " is gone; run `meshcap apply` to converge");
  auto& kept = read_[index] = std::move(**set);
  return lookup(kept, source, proto);
}

}  // namespace meshcap::ipt
