#include "meshcap/diff.hpp"

#include <algorithm>
#include <utility>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <vector>

#include "meshcap/overloaded.hpp"
#include "meshcap/render.hpp"
#include "meshcap/sorted.hpp"
#include "meshcap/text.hpp"

namespace meshcap {

namespace {

// A set holds no order and no duplicates; a single value is left alone.
void canonicalise(Match& m) {
  std::visit(overloaded{
                 [](IifMatch& x) { if (!x.set.empty()) sort_unique(x.names); },
                 [](OifMatch& x) { if (!x.set.empty()) sort_unique(x.names); },
                 [](ProtoMatch&) {},
                 [](PortMatch& x) { if (!x.set.empty()) sort_unique(x.ports); },
                 [](AddrMatch& x) { if (!x.set.empty()) sort_unique(x.cidrs); },
                 [](OwnerMatch& x) { if (!x.set.empty()) sort_unique(x.ids); },
                 [](CtStateMatch&) {},
             },
             m);
}

using Lines = std::vector<std::string_view>;

enum class Op : char { Same = ' ', Del = '-', Add = '+' };

using Ops = std::vector<std::pair<Op, std::string_view>>;

// Beyond this many edits the middle of the diff is shown as "all of want
// removed, all of got added": still correct, just not minimal. Bounds the
// work at O((N+M) * kMaxEdits) time and O(kMaxEdits^2) memory.
constexpr int kMaxEdits = 2000;
constexpr size_t kContext = 2;

// Myers' O((N+M)D) shortest edit script between a[0..n) and b[0..m);
// false when it needs more than kMaxEdits edits.
bool myers(const std::string_view* a, int n, const std::string_view* b, int m, Ops& out) {
  // trace[d][k + d]: furthest x reached on diagonal k = x - y with d edits.
  std::vector<std::vector<int>> trace;
  for (int d = 0; d <= std::min(n + m, kMaxEdits); ++d) {
    std::vector<int> v(2 * d + 1, 0);
    auto prev = [&](int k) { return trace[d - 1][k + d - 1]; };
    for (int k = -d; k <= d; k += 2) {
      int x = d == 0 ? 0
              : (k == -d || (k != d && prev(k - 1) < prev(k + 1))) ? prev(k + 1)
                                                                     : prev(k - 1) + 1;
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) ++x, ++y;
      v[k + d] = x;
      if (x < n || y < m) continue;
      trace.push_back(std::move(v));
      // Walk back from the end, one edit (and the snake after it) per step.
      Ops rev;
      x = n, y = m;
      for (int e = d; e > 0; --e) {
        auto pv = [&](int kk) { return trace[e - 1][kk + e - 1]; };
        int kk = x - y;
        int pk = (kk == -e || (kk != e && pv(kk - 1) < pv(kk + 1))) ? kk + 1 : kk - 1;
        int px = pv(pk), py = px - pk;
        for (; x > px && y > py; --x, --y) rev.emplace_back(Op::Same, a[x - 1]);
        if (pk == kk + 1)
          rev.emplace_back(Op::Add, b[--y]);
        else
          rev.emplace_back(Op::Del, a[--x]);
      }
      for (; x > 0; --x) rev.emplace_back(Op::Same, a[x - 1]);
      out.insert(out.end(), rev.rbegin(), rev.rend());
      return true;
    }
    trace.push_back(std::move(v));
  }
  return false;
}

Ops edit_script(const Lines& a, const Lines& b) {
  size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    ++suf;
  size_t n = a.size() - pre - suf, m = b.size() - pre - suf;

  Ops ops;
  for (size_t i = 0; i < pre; ++i) ops.emplace_back(Op::Same, a[i]);
  if (!myers(a.data() + pre, static_cast<int>(n), b.data() + pre, static_cast<int>(m), ops)) {
    for (size_t i = 0; i < n; ++i) ops.emplace_back(Op::Del, a[pre + i]);
    for (size_t j = 0; j < m; ++j) ops.emplace_back(Op::Add, b[pre + j]);
  }
  for (size_t i = a.size() - suf; i < a.size(); ++i) ops.emplace_back(Op::Same, a[i]);
  return ops;
}

}  // namespace

Plan canonical(Plan plan) {
  Plan out = std::move(plan);
  // Tables and routing state have no order of their own; whoever reads them
  // back (netlink dumps) may list them in another one.
  auto by_family = [](const auto& a, const auto& b) { return a.family < b.family; };
  std::stable_sort(out.tables.begin(), out.tables.end(), by_family);
  std::sort(out.policy_rules.begin(), out.policy_rules.end(), [](const auto& a, const auto& b) {
    return std::tie(a.family, a.priority, a.fwmark, a.table) <
           std::tie(b.family, b.priority, b.fwmark, b.table);
  });
  std::sort(out.local_routes.begin(), out.local_routes.end(), [](const auto& a, const auto& b) {
    return std::tie(a.family, a.table) < std::tie(b.family, b.table);
  });
  std::sort(out.lo_addresses.begin(), out.lo_addresses.end(),
            [](const auto& a, const auto& b) { return a.address < b.address; });
  for (auto& table : out.tables)
    for (auto& chain : table.chains)
      for (auto& rule : chain.rules) {
        rule.note.clear();
        for (auto& m : rule.matches) canonicalise(m);
      }
  return out;
}

std::string diff_lines(const std::string& want, const std::string& got) {
  auto ops = edit_script(split(want), split(got));
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

std::string diff(Plan want, Plan got) {
  Plan w = canonical(std::move(want)), g = canonical(std::move(got));
  // An address on lo is ensured, never owned: meshcap adds ::6 when it is
  // missing and never removes it (it may predate meshcap), so one the plan
  // does not ask for is no difference; a wanted one that is missing still is.
  std::erase_if(g.lo_addresses, [&](const LoAddress& a) {
    return std::find(w.lo_addresses.begin(), w.lo_addresses.end(), a) == w.lo_addresses.end();
  });
  if (w == g) return "";
  auto text = diff_lines(render_nft(w), render_nft(g));
  // Plans that differ only where nft text cannot show it still must not look equal.
  return text.empty() ? "- (plans differ in a way the nft rendering does not show)\n" : text;
}

}  // namespace meshcap
