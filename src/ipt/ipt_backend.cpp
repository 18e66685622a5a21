#include "ipt/ipt_backend.hpp"

#include <libiptc/libiptc.h>
// libip6tc.h, unlike libiptc.h, has no extern "C" of its own.
extern "C" {
#include <libiptc/libip6tc.h>
}
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ipt/entry.hpp"
#include "ipt/lock.hpp"
#include "ipt/sets.hpp"
#include "meshcap/lower_iptables.hpp"
#include "sys/fd.hpp"
#include "meshcap/text.hpp"
#include "sys/file.hpp"
#include "sys/xt_table.hpp"

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
  // For errors; debug lines take the two names as arguments instead, so
  // that a line not logged builds no string.
  std::string what() const { return std::string(lib->tool) + " table " + chain_kind_name(kind); }
};

// The tables a family has instantiated in this namespace, as its names file
// lists them. Tables appear on first use, so asking libiptc would create
// them; the file does not.
struct Listed {
  // The file is root's alone (0440): a non-root process with NET_ADMIN cannot
  // tell, and opens the table, instantiating it empty if it was not there.
  bool readable = false;
  std::vector<std::string> names;
};

// The lists, read once per hold of the xtables lock (XtablesLock::hold):
// programs that change tables take the lock, so a list stays true while it
// is held, but for the tables meshcap opens itself (mark_opened). A table
// another program instantiates without the lock meanwhile is new and empty:
// it holds nothing of meshcap's whether it is listed or not. A hold is taken
// in one network namespace and used there (one per meshcap command).
struct TableNames {
  uint64_t hold = 0;
  std::optional<Listed> family[2];
};

Listed& listed(const Lib& lib, const XtablesLock& lock) {
  static TableNames cache;
  if (cache.hold != lock.hold()) cache = TableNames{lock.hold(), {}};
  auto& slot = cache.family[lib.family == Family::V4 ? 0 : 1];
  if (!slot) {
    slot.emplace();
    auto text = sys::read_file(lib.names_file);
    slot->readable = text.has_value();
    if (text)
      for (auto line : split(*text)) slot->names.emplace_back(line);
  }
  return *slot;
}

bool table_exists(const Lib& lib, ChainKind kind, const XtablesLock& lock) {
  const Listed& l = listed(lib, lock);
  return !l.readable || std::find(l.names.begin(), l.names.end(), chain_kind_name(kind)) != l.names.end();
}

// Opening a table instantiates it, if it was not there.
void mark_opened(const Lib& lib, ChainKind kind, const XtablesLock& lock) {
  if (!table_exists(lib, kind, lock)) listed(lib, lock).names.emplace_back(chain_kind_name(kind));
}

Error open_error(const Lib& lib, ChainKind kind, int err) {
  std::string text =
      std::string(lib.tool) + ": cannot open table " + chain_kind_name(kind) + ": " + lib.strerror(err);
  if (err == ENOENT || err == ENOPROTOOPT || err == EAFNOSUPPORT || err == EPFNOSUPPORT) {
    bool v6 = lib.family == Family::V6;
    text += std::string("; this kernel has no legacy ") + lib.tool + " " + chain_kind_name(kind) + " table (" +
            (v6 ? "ip6_tables, ip6table_" : "ip_tables, iptable_") + chain_kind_name(kind) + "): use " +
            (v6 ? "--ipv6 off or " : "") + "--backend nft";
  }
  return Error{ErrorKind::Kernel, text};
}

Result<Opened> open_table(const Lib& lib, ChainKind kind, const XtablesLock& lock) {
  int err = 0;
  for (int attempt = 0; attempt < kInitAttempts; ++attempt) {
    errno = 0;
    if (xtc_handle* h = lib.init(chain_kind_name(kind))) {
      mark_opened(lib, kind, lock);
      return Opened{&lib, kind, HandlePtr(h, lib.free)};
    }
    err = errno;
    if (err != EAGAIN) break;
  }
  return tl::unexpected(open_error(lib, kind, err));
}

const char* const kHookNames[NF_INET_NUMHOOKS] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};

// One entry of a blob: where it is, and what libiptc would name its target.
struct BlobRule {
  const void* entry;
  std::string target;
};
struct BlobChain {
  std::string name;
  bool builtin = false;
  std::vector<BlobRule> rules;  // without a built-in chain's policy or a user chain's closing RETURN
};

// The blob's chains as iptc_first_chain / iptc_first_rule / iptc_get_target
// walk them: a built-in chain from its hook entry up to its policy, a user
// chain from the ERROR entry naming it to the RETURN closing it; a standard
// target is named by its verdict (ACCEPT, DROP, QUEUE, RETURN), by the chain
// its jump lands in, or "" when it falls through to the next entry.
Result<std::vector<BlobChain>> chains_of(const Lib& lib, ChainKind kind, const sys::XtTable& b) {
  auto malformed = [&] {
    return fail(ErrorKind::Kernel, std::string(lib.tool) + " table " + chain_kind_name(kind) +
                                       ": the kernel handed out a malformed table");
  };
  struct At {
    unsigned offset;
    const unsigned char* entry;
    const xt_entry_target* target;
  };
  size_t head = lib.family == Family::V4 ? sizeof(ipt_entry) : sizeof(ip6t_entry);
  std::vector<At> all;
  for (size_t off = 0; off < b.size;) {
    const unsigned char* e = b.data() + off;
    if (off + head > b.size) return malformed();
    uint16_t target_offset = lib.family == Family::V4 ? reinterpret_cast<const ipt_entry*>(e)->target_offset
                                                      : reinterpret_cast<const ip6t_entry*>(e)->target_offset;
    uint16_t next_offset = lib.family == Family::V4 ? reinterpret_cast<const ipt_entry*>(e)->next_offset
                                                    : reinterpret_cast<const ip6t_entry*>(e)->next_offset;
    if (target_offset < head || next_offset < target_offset + sizeof(xt_entry_target) ||
        off + next_offset > b.size)
      return malformed();
    all.push_back(
        At{static_cast<unsigned>(off), e, reinterpret_cast<const xt_entry_target*>(e + target_offset)});
    off += next_offset;
  }
  auto is_error = [](const At& a) { return std::strcmp(a.target->u.user.name, XT_ERROR_TARGET) == 0; };
  auto error_name = [](const At& a) {
    const char* n = reinterpret_cast<const xt_error_target*>(a.target)->errorname;
    return std::string(n, strnlen(n, XT_FUNCTION_MAXNAMELEN));
  };

  // Every chain's span of offsets, for the jumps.
  struct Span {
    unsigned first, last;
    size_t chain;
  };
  std::vector<BlobChain> chains;
  std::vector<Span> spans;
  size_t current = SIZE_MAX;
  std::vector<size_t> chain_of(all.size(), SIZE_MAX);
  std::vector<bool> rule(all.size(), false);
  for (size_t i = 0; i < all.size(); ++i) {
    const At& a = all[i];
    for (unsigned h = 0; h < NF_INET_NUMHOOKS; ++h)
      if ((b.valid_hooks & (1u << h)) && b.hook_entry[h] == a.offset) {
        chains.push_back(BlobChain{kHookNames[h], true, {}});
        spans.push_back(Span{a.offset, a.offset, chains.size() - 1});
        current = chains.size() - 1;
      }
    if (is_error(a)) {
      std::string name = error_name(a);
      if (name == XT_ERROR_TARGET) break;  // the table's end
      chains.push_back(BlobChain{name, false, {}});
      spans.push_back(Span{a.offset, a.offset, chains.size() - 1});
      current = chains.size() - 1;
      chain_of[i] = current;
      continue;
    }
    if (current == SIZE_MAX) return malformed();
    chain_of[i] = current;
    spans.back().last = a.offset;
    bool policy = false;
    for (unsigned h = 0; h < NF_INET_NUMHOOKS; ++h)
      if ((b.valid_hooks & (1u << h)) && b.underflow[h] == a.offset) policy = true;
    bool closing = !chains[current].builtin && i + 1 < all.size() && is_error(all[i + 1]);
    rule[i] = !policy && !closing;
  }
  for (size_t i = 0; i < all.size(); ++i) {
    if (!rule[i]) continue;
    const At& a = all[i];
    std::string target;
    if (a.target->u.user.name[0] != '\0') {
      target = a.target->u.user.name;
    } else {
      int verdict = reinterpret_cast<const xt_standard_target*>(a.target)->verdict;
      unsigned next = i + 1 < all.size() ? all[i + 1].offset : static_cast<unsigned>(b.size);
      if (verdict < 0) {
        target = verdict == -NF_ACCEPT - 1  ? "ACCEPT"
                 : verdict == -NF_DROP - 1  ? "DROP"
                 : verdict == -NF_QUEUE - 1 ? "QUEUE"
                 : verdict == XT_RETURN     ? "RETURN"
                                            : "UNKNOWN";
      } else if (static_cast<unsigned>(verdict) != next) {
        auto to = std::find_if(spans.begin(), spans.end(), [&](const Span& s) {
          return static_cast<unsigned>(verdict) >= s.first && static_cast<unsigned>(verdict) <= s.last;
        });
        if (to == spans.end()) return malformed();
        target = chains[to->chain].name;
      }
    }
    chains[chain_of[i]].rules.push_back(BlobRule{a.entry, std::move(target)});
  }
  return chains;
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
  // A chain to write: its rules, encoded one at a time as they are appended
  // (libiptc copies each entry), instead of `entries`.
  const IptChain* lowered = nullptr;
  SetDirectory* sets = nullptr;  // the kernel index of each ipset `lowered` names
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
    ChainCopy copy{name, {}, {}, nullptr};
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
    spdlog::debug("{} table {}: -D {} {} (-j {})", t.lib->tool, chain_kind_name(t.kind), j->builtin,
                  j->position + 1, j->target);
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
      spdlog::debug("{} table {}: -X {}", t.lib->tool, chain_kind_name(t.kind), c.name);
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
    size_t count = c.lowered ? c.lowered->rules.size() : c.entries.size();
    spdlog::debug("{} table {}: {} with {} rules", t.lib->tool, chain_kind_name(t.kind), c.name, count);
    for (size_t i = 0; i < count; ++i) {
      // An entry of a lowered chain lives only until libiptc has copied it.
      std::optional<EntryBuf> encoded;
      if (c.lowered) {
        auto e = encode_rule(lib.family, c.lowered->rules[i], c.name, i, c.sets);
        if (!e) return tl::unexpected(e.error());
        encoded = std::move(*e);
      }
      if (!lib.append(c.name.c_str(), (encoded ? *encoded : c.entries[i]).data(), h))
        return tl::unexpected(lib_error(t, "appending rule " + std::to_string(i + 1) + " of " + c.name));
    }
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
    spdlog::debug("{} table {}: {} {} -j {}", t.lib->tool, chain_kind_name(t.kind), exact ? "-I" : "-A",
                  j->builtin, j->target);
    if (!ok) return tl::unexpected(lib_error(t, "adding the jump from " + j->builtin + " to " + j->target));
  }
  return {};
}

// The chains of one table, to be encoded as converge() appends them: a rule
// one entry cannot hold fails there, before any commit, so nothing changes
// (the table may have been instantiated, empty, by opening it). `sets` gives
// the kernel index of each ipset a rule names.
Held wanted(const IptTable* table, SetDirectory* sets) {
  Held want;
  if (!table) return want;
  for (const auto& c : table->chains) want.chains.push_back(ChainCopy{c.name, {}, {}, &c, sets});
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
Result<void> commit_all(std::vector<Prepared>& tables, const XtablesLock& lock) {
  for (size_t i = 0; i < tables.size(); ++i) {
    auto& t = tables[i].table;
    errno = 0;
    if (t.lib->commit(t.handle.get())) {
      spdlog::debug("{} table {}: committed", t.lib->tool, chain_kind_name(t.kind));
      continue;
    }
    int err = errno;
    std::string text = "the kernel rejected " + t.what() + ": " + t.lib->strerror(err) + commit_hint(err);
    std::string restored;
    for (size_t j = 0; j < i; ++j) {
      const auto& done = tables[j];
      auto again = open_table(*done.table.lib, done.table.kind, lock);
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

// The tables' part of converge_all. Each table's lowered rules are dropped
// once libiptc holds them, so a big rule set is not held twice until the
// commit.
Result<void> converge_tables(IptRuleset& lowered, SetTransaction& sets, const XtablesLock& lock) {
  std::vector<Prepared> tables;
  for (Family family : {Family::V4, Family::V6}) {
    const Lib& lib = lib_for(family);
    for (ChainKind kind : kKinds) {
      IptTable* table = nullptr;
      for (auto& t : lowered.tables)
        if (t.family == family && t.kind == kind) table = &t;
      if (!table && !table_exists(lib, kind, lock)) continue;
      auto opened = open_table(lib, kind, lock);
      if (!opened) return tl::unexpected(opened.error());
      Held before = read_held(*opened);
      if (!table && before.empty()) continue;
      if (auto ok = converge(*opened, before, wanted(table, &sets), false); !ok) return ok;
      if (table) std::vector<IptChain>().swap(table->chains);
      Phase phase = phase_of(before, table);
      tables.push_back(Prepared{std::move(*opened), std::move(before), phase});
    }
  }
  // Per family (v4 and v6 packets never see each other's tables), in phase order.
  std::stable_sort(tables.begin(), tables.end(), [](const Prepared& a, const Prepared& b) {
    return std::pair(a.table.lib->family, a.phase) < std::pair(b.table.lib->family, b.phase);
  });
  return commit_all(tables, lock);
}

// Makes both families hold `lowered` (a table it lacks = none of meshcap's
// chains there), and the kernel its ipsets (ipt/sets.hpp). Every run
// converges meshcap's sets, whatever `lowered` holds: the ones no rule uses
// (left by a run that was stopped) go first, the ones the old rules used go
// after the commit.
Result<void> converge_all(IptRuleset lowered, KernelSets& kernel, const XtablesLock& lock,
                          bool removing = false) {
  SetTransaction sets(kernel);
  if (auto ok = sets.begin(lowered); !ok) {
    sets.abandon();
    return ok;
  }
  auto ok = converge_tables(lowered, sets, lock);
  if (!ok) {
    sets.abandon();
    return ok;
  }
  // Once the tables committed, a set that cannot go yet only waits for the
  // next run (which destroys what no rule uses); cleanup says so.
  auto done = sets.finish();
  if (!done && removing) return done;
  return {};
}

class IptablesBackend final : public NetfilterBackend {
 public:
  IptablesBackend(XtablesLockHold hold, bool ipsets) : hold_(hold), ipsets_(ipsets) {}

  const char* name() const override { return "iptables"; }

  Result<void> apply(const Plan& plan) override {
    auto lock = take_lock();
    if (!lock) return tl::unexpected(lock.error());
    // A plan observed earlier (put back by undo) shows unused sets as chains.
    bool shows_unused = std::any_of(plan.tables.begin(), plan.tables.end(), [](const Table& t) {
      return std::any_of(t.chains.begin(), t.chains.end(), is_unused_set_chain);
    });
    if (!shows_unused) return converge_all(lower_iptables(plan, options(plan)), kernel_sets_, *lock);
    Plan without = plan;
    for (auto& t : without.tables) std::erase_if(t.chains, is_unused_set_chain);
    std::erase_if(without.tables, [](const Table& t) { return t.chains.empty(); });
    return converge_all(lower_iptables(without, options(without)), kernel_sets_, *lock);
  }

  Result<void> remove() override {
    auto lock = take_lock();
    if (!lock) return tl::unexpected(lock.error());
    return converge_all(IptRuleset{}, kernel_sets_, *lock, true);
  }

  Result<Plan> observe() override {
    auto lock = take_lock();
    if (!lock) return tl::unexpected(lock.error());
    IptRuleset held;
    SetReader sets(kernel_sets_);
    for (Family family : {Family::V4, Family::V6}) {
      const Lib& lib = lib_for(family);
      for (ChainKind kind : kKinds) {
        if (!table_exists(lib, kind, *lock)) continue;
        auto table = read_table(lib, kind, *lock, sets);
        if (!table) return tl::unexpected(table.error());
        if (!table->chains.empty() || !table->jumps.empty()) held.tables.push_back(std::move(*table));
      }
    }
    auto plan = lift_iptables(std::move(held));
    if (!plan) return plan;
    // meshcap's sets no rule uses are meshcap's state too: the observation
    // shows them, so that it equals no plan until a run has destroyed them.
    auto unused = unused_sets(kernel_sets_);
    if (!unused) return tl::unexpected(unused.error());
    show_unused_sets(*plan, *unused);
    return plan;
  }

  Plan held_form(const Plan& plan) const override { return iptables_held_form(plan, options(plan)); }

 private:
  Result<XtablesLock> take_lock() {
    if (held_) return *held_;
    auto lock = XtablesLock::acquire();
    if (lock && hold_ == XtablesLockHold::ForLifetime) held_ = *lock;
    return lock;
  }

  // Ipsets where usable, probed once per run, and only for a plan with a
  // list long enough to become one (the others lower the same either way).
  IptOptions options(const Plan& plan) const {
    if (!ipsets_ || !ipset_candidates(plan)) return IptOptions{false};
    if (!usable_) {
      auto probe = probe_ipsets(kernel_sets_);
      if (!probe)
        spdlog::info("--ipset auto: large lists stay one rule per element: {}", probe.error().message);
      usable_ = probe.has_value();
    }
    return IptOptions{*usable_};
  }

  XtablesLockHold hold_;
  std::optional<XtablesLock> held_;  // ForLifetime, from the first call on
  bool ipsets_;
  mutable std::optional<bool> usable_;
  // One ip_set socket for the backend's life, opened in the namespace of
  // its first use (as read_fd_ below).
  mutable KernelSets kernel_sets_;

  // One table, read with the backend's socket for its family (opened on the
  // first read, in the namespace of that moment, and kept: the observation
  // before an apply and the read-back after it share it).
  Result<IptTable> read_table(const Lib& lib, ChainKind kind, const XtablesLock& lock, SetDirectory& sets) {
    bool v4 = lib.family == Family::V4;
    sys::UniqueFd& fd = read_fd_[v4 ? 0 : 1];
    if (!fd) {
      fd = sys::UniqueFd(::socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
      if (!fd) return tl::unexpected(open_error(lib, kind, errno));
    }
    auto blob = sys::read_xt_table(fd.get(), lib.family, chain_kind_name(kind), kInitAttempts);
    if (!blob) return tl::unexpected(open_error(lib, kind, blob.error().error));
    mark_opened(lib, kind, lock);
    auto chains = chains_of(lib, kind, *blob);
    if (!chains) return tl::unexpected(chains.error());
    return decode(lib, kind, *chains, sets);
  }

  // meshcap's chains and the jumps to them, decoded straight from the
  // kernel's entries.
  static Result<IptTable> decode(const Lib& lib, ChainKind kind, const std::vector<BlobChain>& chains,
                                 SetDirectory& sets) {
    Family family = lib.family;
    IptTable table{family, kind, {}, {}};
    std::string what = std::string(lib.tool) + " table " + chain_kind_name(kind);
    std::string where;  // reused for every rule: a 10,000-rule chain allocates it once
    for (const auto& c : chains) {
      if (!c.builtin && !iptables_owned_chain(c.name)) continue;
      IptChain chain{c.name, {}};
      if (!c.builtin) chain.rules.reserve(c.rules.size());
      // A rule's place, for errors: the chain's part is made once, and only
      // for a chain with a rule to read (a built-in chain: a refused jump).
      std::string prefix;
      auto place = [&](size_t position) -> const std::string& {
        if (prefix.empty()) prefix = what + " " + c.name + " rule ";
        return where.assign(prefix).append(std::to_string(position + 1));
      };
      for (size_t position = 0; position < c.rules.size(); ++position) {
        const auto& [e, target] = c.rules[position];
        if (c.builtin && !iptables_owned_chain(target)) continue;
        if (!c.builtin) {
          auto rule = decode_rule(family, e, target, place(position), &sets);
          if (!rule) return tl::unexpected(rule.error());
          chain.rules.push_back(std::move(*rule));
          continue;
        }
        JumpForm form = jump_form(family, e);
        if (form == JumpForm::Other)
          return fail(ErrorKind::Verify, place(position) + ": the jump to " + target +
                                             " has matches of its own; run `meshcap apply` to converge");
        if (form == JumpForm::Bare)
          return fail(ErrorKind::Verify, place(position) + ": the jump to " + target +
                                             " lacks -m comment --comment " +
                                             kIptablesJumpComment +
                                             " (left by meshcap 0.1.0); run `meshcap apply` to converge");
        table.jumps.push_back(IptJump{c.name, target});
      }
      if (!c.builtin) table.chains.push_back(std::move(chain));
    }
    return table;
  }

  sys::UniqueFd read_fd_[2];  // raw sockets for reading, v4 and v6
};

}  // namespace
}  // namespace ipt

std::unique_ptr<NetfilterBackend> make_iptables_backend(XtablesLockHold hold, bool ipsets) {
  return std::make_unique<ipt::IptablesBackend>(hold, ipsets);
}

}  // namespace meshcap
