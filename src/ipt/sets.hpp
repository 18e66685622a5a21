// The ipsets of the iptables backend's transaction (src/ipset speaks to the
// kernel). A rule names its set by the kernel's index, so the table commit
// that installs the rules is also the instant the new sets take over: new
// contents go into sets under names no rule uses yet (a set's name, or that
// name plus a suffix: ipset_written_names), the commit switches the rules to them, and the
// sets no rule uses any more are destroyed afterwards. A run killed at any
// point leaves the old rules on the old sets or the new rules on the new
// ones, plus sets no rule uses, which the next run destroys first.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ipset/ipset.hpp"
#include "ipt/entry.hpp"

namespace meshcap::ipt {

// Whether ipsets can be used here (ip_set and the xt_set match); the error
// says why not.
Result<void> probe_ipsets();

// Whether an entry holds an xt_set match.
bool uses_ipset(Family family, const EntryBuf& entry);

class SetTransaction final : public SetDirectory {
 public:
  // Destroys meshcap's sets that no rule uses, then creates the sets of
  // `lowered` under the names their rules do not use yet (a set in use that
  // holds exactly the wanted elements is kept instead). Without ip_set in
  // the kernel and no sets wanted, there is nothing to do.
  Result<void> begin(const IptRuleset& lowered);
  bool begun() const { return begun_; }
  // After every table committed: destroys meshcap's sets no rule uses any
  // more (the old contents). A set someone else's rule uses is left alone.
  Result<void> finish();
  // After a failed commit put the old tables back: destroys what begin()
  // created, which no rule uses.
  void abandon();

  Result<uint16_t> index_of(const std::string& name) override;
  Result<Match> match_of(uint16_t index, bool source, uint16_t proto) override;

 private:
  bool begun_ = false;
  std::optional<ipset::Session> session_;
  std::map<std::string, std::string> written_;  // a set's name in the plan -> its name in the kernel
  std::vector<std::string> created_;            // the sets the rules use after the commit
  std::vector<std::string> made_;               // those of them this run created
};

// Reads the sets xt_set matches name, for observe().
class SetReader final : public SetDirectory {
 public:
  Result<uint16_t> index_of(const std::string& name) override;
  Result<Match> match_of(uint16_t index, bool source, uint16_t proto) override;

 private:
  std::optional<ipset::Session> session_;
  std::map<uint16_t, ipset::Set> read_;
};

}  // namespace meshcap::ipt
