// The usual visitor helper: std::visit(overloaded{[](A&) {...}, [](B&) {...}}, v).
#pragma once

namespace meshcap {

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};

}  // namespace meshcap
