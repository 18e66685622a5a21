#include <algorithm>
#include <set>
#include <sstream>

#include "meshcap/backend.hpp"
#include "meshcap/diff.hpp"
#include "meshcap/render.hpp"

namespace meshcap {

namespace {

// What the kernel would refuse: a jump to a chain the table does not have.
Result<void> check(const Plan& plan) {
  for (const auto& t : plan.tables) {
    std::set<std::string> names;
    for (const auto& c : t.chains) names.insert(c.name);
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        if (auto* j = std::get_if<JumpAction>(&r.action); j && !names.count(j->chain))
          return fail(ErrorKind::Kernel, std::string("fake: table ") + family_name(t.family) +
                                             " " + kTableName + ": chain " + c.name +
                                             " jumps to missing chain " + j->chain);
  }
  return {};
}

}  // namespace

Result<void> FakeBackend::apply(const Plan& plan) {
  if (fail_next_apply) {
    fail_next_apply = false;
    return fail(ErrorKind::Kernel, "fake: apply refused as requested (fail_next_apply)");
  }
  if (auto ok = check(plan); !ok) return ok;
  held_ = Plan{};
  held_.tables = plan.tables;
  return {};
}

Result<Plan> FakeBackend::observe() { return held_; }

Result<void> FakeBackend::remove() {
  held_ = Plan{};
  return {};
}

// The nft rendering of the held tables, with tables and chains in name
// order and notes and the create/delete preamble left out, so two fakes
// holding the same rules dump the same text.
std::string FakeBackend::dump() const {
  Plan sorted = canonical(held_);
  std::sort(sorted.tables.begin(), sorted.tables.end(),
            [](const Table& a, const Table& b) { return a.family < b.family; });
  for (auto& t : sorted.tables)
    std::sort(t.chains.begin(), t.chains.end(),
              [](const Chain& a, const Chain& b) { return a.name < b.name; });
  std::istringstream in(render_nft(sorted));
  std::string out, line;
  while (std::getline(in, line)) {
    bool preamble = line.starts_with("delete table ") ||
                    (line.starts_with("table ") && line.ends_with(" {}"));
    if (!preamble && !line.empty()) out += line + "\n";
  }
  return out;
}

}  // namespace meshcap
