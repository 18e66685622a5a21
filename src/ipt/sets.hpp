// The ipsets of the iptables backend's transaction (src/ipset speaks to the
// kernel). A rule names its set by the kernel's index, so the table commit
// that installs the rules is also the instant the new sets take over: new
// contents go into sets under names no rule uses yet (a set's name, or that
// name plus a suffix: ipset_written_names), the commit switches the rules to
// them, and the sets no rule uses any more are destroyed afterwards. A run
// killed at any point leaves the old rules on the old sets or the new rules
// on the new ones, plus sets no rule uses: every run destroys those first,
// whatever lists it plans, and observe() shows them, so `check` sees them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ipset/ipset.hpp"
#include "ipt/entry.hpp"

namespace meshcap::ipt {

// The namespace's ipsets through one ip_set socket, opened on first use and
// kept by the backend for its life: the observation before an apply, the
// apply and the read-back after it share it.
class KernelSets {
 public:
  // nullptr when the kernel has no ip_set (no set can exist then).
  Result<ipset::Session*> session();
  // meshcap's sets, headers only: one list dump; none without ip_set.
  Result<std::vector<ipset::Header>> owned();

 private:
  std::optional<ipset::Session> session_;
  bool absent_ = false;
};

// Whether ipsets can be used here (ip_set and the xt_set match); the error
// says why not.
Result<void> probe_ipsets(KernelSets& kernel);

// meshcap's sets that no rule uses, sorted: left by a run that was stopped.
Result<std::vector<std::string>> unused_sets(KernelSets& kernel);

// How observe() shows such a set: as a chain of its family's table named
// "ipset NAME (no rule uses it)", which no plan has (no planned chain name
// holds a space), so that the observation equals no plan and the difference
// names the set. apply() drops these chains from the plan it is given (an
// earlier observation, when a failed verification puts it back).
Chain unused_set_chain(const std::string& set);
bool is_unused_set_chain(const Chain& chain);
void show_unused_sets(Plan& observed, const std::vector<std::string>& sets);

class SetTransaction final : public SetDirectory {
 public:
  explicit SetTransaction(KernelSets& kernel) : kernel_(kernel) {}
  // Destroys meshcap's sets that no rule uses (whatever `lowered` holds:
  // one list dump when there are none), then creates the sets of `lowered`
  // under the names their rules do not use yet (a set in use that holds
  // exactly the wanted elements is kept instead). Without ip_set in the
  // kernel and no sets wanted, there is nothing to do.
  Result<void> begin(const IptRuleset& lowered);
  // After every table committed: destroys the sets rules used at begin()
  // that the new rules do not (the old contents). A set someone else's rule
  // uses is left alone.
  Result<void> finish();
  // After a failed commit put the old tables back: destroys what begin()
  // created, which no rule uses.
  void abandon();

  Result<uint16_t> index_of(const std::string& name) override;
  Result<Match> match_of(uint16_t index, bool source, uint16_t proto) override;

 private:
  KernelSets& kernel_;
  std::vector<std::string> used_;               // meshcap's sets rules used at begin()
  std::map<std::string, std::string> written_;  // a set's name in the plan -> its name in the kernel
  std::vector<std::string> created_;            // the sets the rules use after the commit
  std::vector<std::string> made_;               // those of them this run created
};

// Reads the sets xt_set matches name, for observe().
class SetReader final : public SetDirectory {
 public:
  explicit SetReader(KernelSets& kernel) : kernel_(kernel) {}
  Result<uint16_t> index_of(const std::string& name) override;
  Result<Match> match_of(uint16_t index, bool source, uint16_t proto) override;

 private:
  KernelSets& kernel_;
  std::map<uint16_t, ipset::Set> read_;
};

}  // namespace meshcap::ipt
