#include "meshcap/diff.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "meshcap/render.hpp"

namespace meshcap {

namespace {

template <class T>
void sort_unique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};

// A set holds no order and no duplicates; a single value is left alone.
void canonicalise(Match& m) {
  std::visit(overloaded{
                 [](IifMatch& x) { if (!x.set.empty()) sort_unique(x.names); },
                 [](OifMatch& x) { if (!x.set.empty()) sort_unique(x.names); },
                 [](ProtoMatch&) {},
                 [](PortMatch& x) { if (!x.set.empty()) sort_unique(x.ports); },
                 [](AddrMatch& x) { if (!x.set.empty()) sort_unique(x.cidrs); },
                 [](OwnerMatch& x) { if (!x.set.empty()) sort_unique(x.ids); },
             },
             m);
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

enum class Op : char { Same = ' ', Del = '-', Add = '+' };

// LCS table size above which the middle of the diff is shown as "all of want
// removed, all of got added": still correct, just less minimal.
constexpr size_t kMaxCells = 4'000'000;
constexpr size_t kContext = 2;

std::vector<std::pair<Op, std::string_view>> edit_script(const std::vector<std::string_view>& a,
                                                         const std::vector<std::string_view>& b) {
  size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    ++suf;
  size_t n = a.size() - pre - suf, m = b.size() - pre - suf;

  std::vector<std::pair<Op, std::string_view>> ops;
  for (size_t i = 0; i < pre; ++i) ops.emplace_back(Op::Same, a[i]);
  if ((n + 1) * (m + 1) > kMaxCells) {
    for (size_t i = 0; i < n; ++i) ops.emplace_back(Op::Del, a[pre + i]);
    for (size_t j = 0; j < m; ++j) ops.emplace_back(Op::Add, b[pre + j]);
  } else {
    // lcs[i][j]: LCS length of a[pre+i..] and b[pre+j..].
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;)
        at(i, j) = a[pre + i] == b[pre + j] ? at(i + 1, j + 1) + 1
                                            : std::max(at(i + 1, j), at(i, j + 1));
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[pre + i] == b[pre + j]) {
        ops.emplace_back(Op::Same, a[pre + i]);
        ++i, ++j;
      } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
        ops.emplace_back(Op::Del, a[pre + i++]);  // "-" before "+" within a change
      } else {
        ops.emplace_back(Op::Add, b[pre + j++]);
      }
    }
  }
  for (size_t i = a.size() - suf; i < a.size(); ++i) ops.emplace_back(Op::Same, a[i]);
  return ops;
}

}  // namespace

Plan canonical(const Plan& plan) {
  Plan out = plan;
  for (auto& table : out.tables)
    for (auto& chain : table.chains)
      for (auto& rule : chain.rules) {
        rule.note.clear();
        for (auto& m : rule.matches) canonicalise(m);
      }
  return out;
}

std::string diff_lines(const std::string& want, const std::string& got) {
  auto ops = edit_script(split_lines(want), split_lines(got));
  // Print every change with a little context; elide long unchanged runs.
  std::vector<bool> show(ops.size(), false);
  for (size_t k = 0; k < ops.size(); ++k) {
    if (ops[k].first == Op::Same) continue;
    size_t lo = k >= kContext ? k - kContext : 0;
    size_t hi = std::min(ops.size(), k + kContext + 1);
    for (size_t x = lo; x < hi; ++x) show[x] = true;
  }
  std::string out;
  bool elided = false;
  for (size_t k = 0; k < ops.size(); ++k) {
    if (!show[k]) {
      elided = true;
      continue;
    }
    if (elided && !out.empty()) out += "  ...\n";
    elided = false;
    out += static_cast<char>(ops[k].first);
    out += ' ';
    out += ops[k].second;
    out += '\n';
  }
  return out;
}

std::string diff(const Plan& want, const Plan& got) {
  Plan w = canonical(want), g = canonical(got);
  if (w == g) return "";
  auto text = diff_lines(render_nft(w), render_nft(g));
  // Plans that differ only where nft text cannot show it still must not look equal.
  return text.empty() ? "- (plans differ in a way the nft rendering does not show)\n" : text;
}

}  // namespace meshcap
