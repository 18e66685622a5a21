// The usual visitor helper: std::visit(overloaded{[](A&) {...}, [](B&) {...}}, v).
#pragma once

namespace meshcap {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
// clang 14 (the fuzz build) has no aggregate deduction for it yet.
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace meshcap
