// Readable differences between the plan meshcap wants and the one observed.
#pragma once

#include <string>

#include "meshcap/plan.hpp"

namespace meshcap {

// Sorts every set-backed value list and drops notes, so that plans built by
// the planner and plans read back from the kernel compare equal. By value:
// a caller that moves its plan in pays no copy (large plans are megabytes).
Plan canonical(Plan plan);

// Empty when canonical(want) == canonical(got), but for addresses on lo that
// `want` does not ask for (meshcap never removes them); otherwise a line diff of their
// nft renderings ("- " missing, "+ " unexpected). By value, like canonical().
std::string diff(Plan want, Plan got);

// A line-based diff of two texts in the same format (used by diff() and tests).
std::string diff_lines(const std::string& want, const std::string& got);

}  // namespace meshcap
