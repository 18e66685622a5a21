#include "ipt/ipt_backend.hpp"

#include <libiptc/libiptc.h>
// libip6tc.h, unlike libiptc.h, has no extern "C" of its own.
extern "C" {
#include <libiptc/libip6tc.h>
}
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ipt/entry.hpp"
#include "ipt/lock.hpp"
#include "ipt/sets.hpp"
#include "meshcap/lower_iptables.hpp"

namespace meshcap {

namespace ipt {
namespace {

// A table read races a concurrent writer that does not take the lock.
constexpr int kInitAttempts = 3;

// libiptc and libip6tc have the same API under two prefixes and entry types;
// this table of thin wrappers lets one code path drive both.
struct Lib {
  Family family;
  const char* tool;        // for messages: "iptables" / "ip6tables"
  const char* names_file;  // the tables this namespace has instantiated
  xtc_handle* (*init)(const char*);
  void (*free)(xtc_handle*);
  const char* (*first_chain)(xtc_handle*);
  const char* (*next_chain)(xtc_handle*);
  int (*builtin)(const char*, xtc_handle*);
  const void* (*first_rule)(const char*, xtc_handle*);
  const void* (*next_rule)(const void*, xtc_handle*);
  const char* (*get_target)(const void*, xtc_handle*);
  int (*append)(const char*, const void*, xtc_handle*);
  int (*insert)(const char*, const void*, unsigned, xtc_handle*);
  int (*delete_num)(const char*, unsigned, xtc_handle*);
  int (*flush)(const char*, xtc_handle*);
  int (*create)(const char*, xtc_handle*);
  int (*remove_chain)(const char*, xtc_handle*);
  int (*commit)(xtc_handle*);
  const char* (*strerror)(int);
};

const Lib kV4{
    Family::V4,
    "iptables",
    "/proc/thread-self/net/ip_tables_names",
    iptc_init,
    iptc_free,
    iptc_first_chain,
    iptc_next_chain,
    iptc_builtin,
    [](const char* c, xtc_handle* h) -> const void* { return iptc_first_rule(c, h); },
    [](const void* e, xtc_handle* h) -> const void* {
      return iptc_next_rule(static_cast<const ipt_entry*>(e), h);
    },
    [](const void* e, xtc_handle* h) { return iptc_get_target(static_cast<const ipt_entry*>(e), h); },
    [](const char* c, const void* e, xtc_handle* h) {
      return iptc_append_entry(c, static_cast<const ipt_entry*>(e), h);
    },
    [](const char* c, const void* e, unsigned n, xtc_handle* h) {
      return iptc_insert_entry(c, static_cast<const ipt_entry*>(e), n, h);
    },
    iptc_delete_num_entry,
    iptc_flush_entries,
    iptc_create_chain,
    iptc_delete_chain,
    iptc_commit,
    iptc_strerror,
};

const Lib kV6{
    Family::V6,
    "ip6tables",
    "/proc/thread-self/net/ip6_tables_names",
    ip6tc_init,
    ip6tc_free,
    ip6tc_first_chain,
    ip6tc_next_chain,
    ip6tc_builtin,
    [](const char* c, xtc_handle* h) -> const void* { return ip6tc_first_rule(c, h); },
    [](const void* e, xtc_handle* h) -> const void* {
      return ip6tc_next_rule(static_cast<const ip6t_entry*>(e), h);
    },
    [](const void* e, xtc_handle* h) { return ip6tc_get_target(static_cast<const ip6t_entry*>(e), h); },
    [](const char* c, const void* e, xtc_handle* h) {
      return ip6tc_append_entry(c, static_cast<const ip6t_entry*>(e), h);
    },
    [](const char* c, const void* e, unsigned n, xtc_handle* h) {
      return ip6tc_insert_entry(c, static_cast<const ip6t_entry*>(e), n, h);
    },
    ip6tc_delete_num_entry,
    ip6tc_flush_entries,
    ip6tc_create_chain,
    ip6tc_delete_chain,
    ip6tc_commit,
    ip6tc_strerror,
};

const Lib& lib_for(Family f) { return f == Family::V4 ? kV4 : kV6; }

constexpr ChainKind kKinds[] = {ChainKind::Nat, ChainKind::Mangle, ChainKind::Raw};

using HandlePtr = std::unique_ptr<xtc_handle, void (*)(xtc_handle*)>;

struct Opened {
  const Lib* lib;
  ChainKind kind;
  HandlePtr handle;
  std::string what() const { return std::string(lib->tool) + " table " + chain_kind_name(kind); }
};

// Whether this namespace has instantiated the table. Tables appear on first
// use, so asking libiptc would create them; this file does not.
bool table_exists(const Lib& lib, ChainKind kind) {
  std::ifstream in(lib.names_file);
  // The file is root's alone (0440): a non-root process with NET_ADMIN cannot
  // tell, and opens the table, instantiating it empty if it was not there.
  if (!in) return true;
  std::string line;
  while (std::getline(in, line))
    if (line == chain_kind_name(kind)) return true;
  return false;
}

Result<Opened> open_table(const Lib& lib, ChainKind kind) {
  int err = 0;
  for (int attempt = 0; attempt < kInitAttempts; ++attempt) {
    errno = 0;
    if (xtc_handle* h = lib.init(chain_kind_name(kind))) return Opened{&lib, kind, HandlePtr(h, lib.free)};
    err = errno;
    if (err != EAGAIN) break;
  }
  std::string text =
      std::string(lib.tool) + ": cannot open table " + chain_kind_name(kind) + ": " + lib.strerror(err);
  if (err == ENOENT || err == ENOPROTOOPT || err == EAFNOSUPPORT || err == EPFNOSUPPORT) {
    bool v6 = lib.family == Family::V6;
    text += std::string("; this kernel has no legacy ") + lib.tool + " " + chain_kind_name(kind) + " table (" +
            (v6 ? "ip6_tables, ip6table_" : "ip_tables, iptable_") + chain_kind_name(kind) + "): use " +
            (v6 ? "--ipv6 off or " : "") + "--backend nft";
  }
  return fail(ErrorKind::Kernel, text);
}

Error lib_error(const Opened& t, const std::string& step) {
  return Error{ErrorKind::Kernel, t.what() + ": " + step + ": " + t.lib->strerror(errno)};
}

// What a table holds of meshcap's: its chains (entries ready to append again)
// and every rule of a built-in chain that jumps to one of them.
struct Jump {
  std::string builtin;
  std::string target;
  unsigned position = 0;  // in the built-in chain, from 0
  JumpForm form = JumpForm::Other;
  EntryBuf entry;
};
struct ChainCopy {
  std::string name;
  std::vector<EntryBuf> entries;
  std::vector<std::string> targets;  // what libiptc names each entry's target
};
struct Held {
  std::vector<ChainCopy> chains;
  std::vector<Jump> jumps;
  bool empty() const { return chains.empty() && jumps.empty(); }
};

Held read_held(const Opened& t) {
  const Lib& lib = *t.lib;
  xtc_handle* h = t.handle.get();
  std::vector<std::string> names;
  for (const char* c = lib.first_chain(h); c; c = lib.next_chain(h)) names.emplace_back(c);
  Held held;
  for (const auto& name : names) {
    bool builtin = lib.builtin(name.c_str(), h);
    // Only the chains meshcap creates, by exact name: a user's MESHCAP_CUSTOM
    // and the jumps to it are not meshcap's.
    if (!builtin && !iptables_owned_chain(name)) continue;
    ChainCopy copy{name, {}, {}};
    unsigned position = 0;
    for (const void* e = lib.first_rule(name.c_str(), h); e; e = lib.next_rule(e, h), ++position) {
      std::string target = lib.get_target(e, h);
      if (builtin) {
        if (iptables_owned_chain(target))
          held.jumps.push_back(
              Jump{name, target, position, jump_form(lib.family, e), reappendable(lib.family, e, target)});
      } else {
        copy.entries.push_back(reappendable(lib.family, e, target));
        copy.targets.push_back(target);
      }
    }
    if (!builtin) held.chains.push_back(std::move(copy));
  }
  return held;
}

// Rewrites the handle's chains and jumps of meshcap's from `now` to `want`.
// Other chains and rules are left where they are. With `exact`, jumps go back
// to their recorded positions (restoring a snapshot); otherwise an existing
// marked jump is kept in place and a missing one is appended, as `-A` would
// (so a bare jump of release 0.1.0 is replaced by a marked one at the end).
Result<void> converge(const Opened& t, const Held& now, const Held& want, bool exact) {
  const Lib& lib = *t.lib;
  xtc_handle* h = t.handle.get();

  std::vector<const Jump*> kept;
  std::vector<const Jump*> doomed;
  for (const auto& j : now.jumps) {
    bool keep = false;
    if (!exact && j.form == JumpForm::Marked) {
      bool wanted = std::any_of(want.jumps.begin(), want.jumps.end(), [&](const Jump& w) {
        return w.builtin == j.builtin && w.target == j.target;
      });
      bool dup = std::any_of(kept.begin(), kept.end(),
                             [&](const Jump* k) { return k->builtin == j.builtin && k->target == j.target; });
      keep = wanted && !dup;
    }
    (keep ? kept : doomed).push_back(&j);
  }
  // From the bottom up, so earlier positions stay valid.
  std::sort(doomed.begin(), doomed.end(), [](const Jump* a, const Jump* b) {
    return a->builtin != b->builtin ? a->builtin < b->builtin : a->position > b->position;
  });
  for (const Jump* j : doomed) {
    spdlog::debug("{}: -D {} {} (-j {})", t.what(), j->builtin, j->position + 1, j->target);
    if (!lib.delete_num(j->builtin.c_str(), j->position, h))
      return tl::unexpected(lib_error(t, "deleting the jump from " + j->builtin + " to " + j->target));
  }

  auto wanted_chain = [&](const std::string& name) {
    return std::any_of(want.chains.begin(), want.chains.end(),
                       [&](const ChainCopy& c) { return c.name == name; });
  };
  // Emptied first: a chain still referenced by another cannot be deleted.
  for (const auto& c : now.chains)
    if (!lib.flush(c.name.c_str(), h)) return tl::unexpected(lib_error(t, "flushing " + c.name));
  for (const auto& c : now.chains)
    if (!wanted_chain(c.name)) {
      spdlog::debug("{}: -X {}", t.what(), c.name);
      if (!lib.remove_chain(c.name.c_str(), h))
        return tl::unexpected(lib_error(t, "deleting chain " + c.name));
    }
  for (const auto& c : want.chains) {
    bool exists = std::any_of(now.chains.begin(), now.chains.end(),
                              [&](const ChainCopy& n) { return n.name == c.name; });
    if (!exists && !lib.create(c.name.c_str(), h))
      return tl::unexpected(lib_error(t, "creating chain " + c.name));
  }
  for (const auto& c : want.chains) {
    spdlog::debug("{}: {} with {} rules", t.what(), c.name, c.entries.size());
    for (size_t i = 0; i < c.entries.size(); ++i)
      if (!lib.append(c.name.c_str(), c.entries[i].data(), h))
        return tl::unexpected(lib_error(t, "appending rule " + std::to_string(i + 1) + " of " + c.name));
  }

  std::vector<const Jump*> add;
  for (const auto& w : want.jumps) {
    bool have = std::any_of(kept.begin(), kept.end(),
                            [&](const Jump* k) { return k->builtin == w.builtin && k->target == w.target; });
    if (!have) add.push_back(&w);
  }
  std::sort(add.begin(), add.end(), [](const Jump* a, const Jump* b) { return a->position < b->position; });
  for (const Jump* j : add) {
    int ok = 0;
    if (exact) {
      unsigned count = 0;
      for (const void* e = lib.first_rule(j->builtin.c_str(), h); e; e = lib.next_rule(e, h)) ++count;
      ok = lib.insert(j->builtin.c_str(), j->entry.data(), std::min(j->position, count), h);
    } else {
      ok = lib.append(j->builtin.c_str(), j->entry.data(), h);
    }
    spdlog::debug("{}: {} {} -j {}", t.what(), exact ? "-I" : "-A", j->builtin, j->target);
    if (!ok) return tl::unexpected(lib_error(t, "adding the jump from " + j->builtin + " to " + j->target));
  }
  return {};
}

// The chains of one table as entries; errors name the rule and touch nothing.
Result<Held> wanted(const IptTable* table, SetDirectory* sets) {
  Held want;
  if (!table) return want;
  for (const auto& c : table->chains) {
    ChainCopy copy{c.name, {}, {}};
    copy.entries.reserve(c.rules.size());
    for (size_t i = 0; i < c.rules.size(); ++i) {
      auto e = encode_rule(table->family, c.rules[i], copy.name, i, sets);
      if (!e) return tl::unexpected(e.error());
      copy.entries.push_back(std::move(*e));
    }
    want.chains.push_back(std::move(copy));
  }
  for (const auto& j : table->jumps)
    want.jumps.push_back(Jump{j.builtin, j.chain, 0, JumpForm::Marked, encode_jump(table->family, j.chain)});
  return want;
}

// When a table commits, among its family's: legacy iptables has no
// transaction across tables, so a run stopped between two commits leaves
// some tables old and some new. A connection is decided by one table per
// direction, except inbound when the inbound mode changes: mangle's TPROXY
// takes a connection before nat's REDIRECT sees it (the socket it assigns
// wins). So tables meshcap starts to use commit first (mangle gaining TPROXY
// captures inbound as the new settings do, while nat still captures the rest
// as the old ones did), changed tables next, tables it stops using last (nat
// stops redirecting inbound while mangle still proxies it as before). Every
// connection is then handled exactly as under the old or exactly as under
// the new settings at every step. What no order gives: one instant at which
// a family's outbound (nat) and inbound (mangle) switch together, nor v4 and
// v6 together, when the inbound mode changes; the nft backend does both.
enum class Phase { Starts, Changes, Stops };

Phase phase_of(const Held& before, const IptTable* want) {
  if (!want) return Phase::Stops;
  return before.empty() ? Phase::Starts : Phase::Changes;
}

struct Prepared {
  Opened table;
  Held before;
  Phase phase = Phase::Changes;
};

std::string commit_hint(int err) {
  if (err == ENOENT)
    return " (a match or target the rules need is missing from the kernel: xt_owner, xt_REDIRECT, "
           "xt_TPROXY, xt_CT?)";
  if (err == EAGAIN) return " (another program changed the table meanwhile; try again)";
  return "";
}

// Commits each table in turn. One commit (IPT_SO_SET_REPLACE) is atomic for
// its table, but the kernel has no transaction across tables or families:
// when a later commit fails, the tables already committed get their earlier
// meshcap chains and jumps back from the snapshot taken while preparing.
// A fresh handle is needed for that, because the kernel only takes a
// replacement built from the table's current entry count.
Result<void> commit_all(std::vector<Prepared>& tables) {
  for (size_t i = 0; i < tables.size(); ++i) {
    auto& t = tables[i].table;
    errno = 0;
    if (t.lib->commit(t.handle.get())) {
      spdlog::debug("{}: committed", t.what());
      continue;
    }
    int err = errno;
    std::string text = "the kernel rejected " + t.what() + ": " + t.lib->strerror(err) + commit_hint(err);
    std::string restored;
    for (size_t j = 0; j < i; ++j) {
      const auto& done = tables[j];
      auto again = open_table(*done.table.lib, done.table.kind);
      Result<void> ok = again ? Result<void>{} : tl::unexpected(again.error());
      if (ok) ok = converge(*again, read_held(*again), done.before, true);
      if (ok && !done.table.lib->commit(again->handle.get()))
        ok = tl::unexpected(lib_error(*again, "commit"));
      if (!ok) {
        return fail(ErrorKind::Other, text + "; restoring " + done.table.what() + " failed too (" +
                                          ok.error().message +
                                          "): state unknown, run `meshcap cleanup` then apply again");
      }
      restored += (restored.empty() ? "" : ", ") + done.table.what();
    }
    return fail(ErrorKind::Kernel,
                text + (restored.empty() ? "; nothing was changed" : "; restored " + restored));
  }
  return {};
}

// The tables' part of converge_all.
Result<void> converge_tables(const IptRuleset& lowered, SetTransaction& sets) {
  std::vector<Prepared> tables;
  for (Family family : {Family::V4, Family::V6}) {
    const Lib& lib = lib_for(family);
    for (ChainKind kind : kKinds) {
      const IptTable* table = nullptr;
      for (const auto& t : lowered.tables)
        if (t.family == family && t.kind == kind) table = &t;
      if (!table && !table_exists(lib, kind)) continue;
      auto want = wanted(table, &sets);
      if (!want) return tl::unexpected(want.error());
      auto opened = open_table(lib, kind);
      if (!opened) return tl::unexpected(opened.error());
      Held before = read_held(*opened);
      if (!table && before.empty()) continue;
      if (auto ok = converge(*opened, before, *want, false); !ok) return ok;
      Phase phase = phase_of(before, table);
      tables.push_back(Prepared{std::move(*opened), std::move(before), phase});
    }
  }
  // Per family (v4 and v6 packets never see each other's tables), in phase order.
  std::stable_sort(tables.begin(), tables.end(), [](const Prepared& a, const Prepared& b) {
    return std::pair(a.table.lib->family, a.phase) < std::pair(b.table.lib->family, b.phase);
  });
  // Old rules on sets: those sets go once the rules are gone.
  for (const auto& t : tables)
    for (const auto& c : t.before.chains)
      for (const auto& e : c.entries)
        if (!sets.begun() && uses_ipset(t.table.lib->family, e))
          if (auto ok = sets.begin(lowered); !ok) return ok;
  return commit_all(tables);
}

// Makes both families hold `lowered` (a table it lacks = none of meshcap's
// chains there), and the kernel its ipsets (ipt/sets.hpp): touched when
// `lowered` names sets, the tables' old rules use some, or `removing`.
Result<void> converge_all(const IptRuleset& lowered, bool removing = false) {
  auto lock = XtablesLock::acquire();
  if (!lock) return tl::unexpected(lock.error());
  SetTransaction sets;
  if (removing || !iptables_sets(lowered).empty())
    if (auto ok = sets.begin(lowered); !ok) {
      sets.abandon();
      return ok;
    }
  auto ok = converge_tables(lowered, sets);
  if (!ok) {
    sets.abandon();
    return ok;
  }
  if (!sets.begun()) return {};
  // Once the tables committed, a set that cannot go yet only waits for the
  // next run (which destroys what no rule uses); cleanup says so.
  auto done = sets.finish();
  if (!done && removing) return done;
  return {};
}

class IptablesBackend final : public NetfilterBackend {
 public:
  explicit IptablesBackend(bool ipsets) : ipsets_(ipsets) {}

  const char* name() const override { return "iptables"; }

  Result<void> apply(const Plan& plan) override { return converge_all(lower_iptables(plan, options(plan))); }

  Result<void> remove() override { return converge_all(IptRuleset{}, true); }

  Result<Plan> observe() override {
    auto lock = XtablesLock::acquire();
    if (!lock) return tl::unexpected(lock.error());
    IptRuleset held;
    SetReader sets;
    for (Family family : {Family::V4, Family::V6}) {
      const Lib& lib = lib_for(family);
      for (ChainKind kind : kKinds) {
        if (!table_exists(lib, kind)) continue;
        auto opened = open_table(lib, kind);
        if (!opened) return tl::unexpected(opened.error());
        Held copy = read_held(*opened);
        // libiptc's handle holds the whole table twice (the kernel's blob and
        // its own cache): gone before the copy is decoded, so a 10,000-rule
        // table is not held four times at once.
        opened->handle.reset();
        auto table = decode(*opened, copy, sets);
        if (!table) return tl::unexpected(table.error());
        if (!table->chains.empty() || !table->jumps.empty()) held.tables.push_back(std::move(*table));
      }
    }
    return lift_iptables(held);
  }

  Plan held_form(const Plan& plan) const override { return iptables_held_form(plan, options(plan)); }

 private:
  // Ipsets where usable, probed once per run, and only for a plan with a
  // list long enough to become one (the others lower the same either way).
  IptOptions options(const Plan& plan) const {
    if (!ipsets_ || !ipset_candidates(plan)) return IptOptions{false};
    if (!usable_) {
      auto probe = probe_ipsets();
      if (!probe)
        spdlog::info("--ipset auto: large lists stay one rule per element: {}", probe.error().message);
      usable_ = probe.has_value();
    }
    return IptOptions{*usable_};
  }

  bool ipsets_;
  mutable std::optional<bool> usable_;

  static Result<IptTable> decode(const Opened& t, const Held& held, SetDirectory& sets) {
    Family family = t.lib->family;
    IptTable table{family, t.kind, {}, {}};
    for (const auto& j : held.jumps) {
      std::string where = t.what() + " " + j.builtin + " rule " + std::to_string(j.position + 1);
      if (j.form == JumpForm::Other)
        return fail(ErrorKind::Verify, where + ": the jump to " + j.target +
                                           " has matches of its own; run `meshcap apply` to converge");
      if (j.form == JumpForm::Bare)
        return fail(ErrorKind::Verify, where + ": the jump to " + j.target + " lacks -m comment --comment " +
                                           kIptablesJumpComment +
                                           " (left by meshcap 0.1.0); run `meshcap apply` to converge");
      table.jumps.push_back(IptJump{j.builtin, j.target});
    }
    for (const auto& c : held.chains) {
      IptChain chain{c.name, {}};
      chain.rules.reserve(c.entries.size());
      for (size_t i = 0; i < c.entries.size(); ++i) {
        auto rule = decode_rule(family, c.entries[i].data(), c.targets[i],
                                t.what() + " " + c.name + " rule " + std::to_string(i + 1), &sets);
        if (!rule) return tl::unexpected(rule.error());
        chain.rules.push_back(std::move(*rule));
      }
      table.chains.push_back(std::move(chain));
    }
    return table;
  }
};

}  // namespace
}  // namespace ipt

std::unique_ptr<NetfilterBackend> make_iptables_backend(bool ipsets) {
  return std::make_unique<ipt::IptablesBackend>(ipsets);
}

}  // namespace meshcap
