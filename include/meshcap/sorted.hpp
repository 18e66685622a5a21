// Sorting the lists meshcap keeps in order.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

namespace meshcap {

// Sorts [first, last) unless it already is in order. Most lists meshcap
// sorts arrive sorted (a normalised configuration, a plan's sets, a list
// sorted once already): checking is linear, sorting is not.
template <class It, class Less = std::less<>>
void sort_once(It first, It last, Less less = {}) {
  if (!std::is_sorted(first, last, less)) std::sort(first, last, less);
}

// Sorts `v` (unless it already is in order) and drops repeated values.
template <class T>
void sort_unique(std::vector<T>& v) {
  sort_once(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Orders 16 bytes as one big-endian number: addresses and set keys, whose
// comparisons are most of what sorting 10,000 of them costs. Two 64-bit
// loads, where std::array's operator<=> calls memcmp.
inline std::strong_ordering compare_bytes(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b) {
  uint64_t x[2], y[2];
  std::memcpy(x, a.data(), sizeof x);
  std::memcpy(y, b.data(), sizeof y);
  for (int i = 0; i < 2; ++i) {
    uint64_t u = __builtin_bswap64(x[i]), v = __builtin_bswap64(y[i]);
    if (u != v) return u < v ? std::strong_ordering::less : std::strong_ordering::greater;
  }
  return std::strong_ordering::equal;
}

}  // namespace meshcap
