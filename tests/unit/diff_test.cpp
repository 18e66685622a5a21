#include "meshcap/diff.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "meshcap/planner.hpp"

namespace meshcap {
namespace {

Plan sample() {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  c.proxy_uids = {1337, 1338};
  c.exclude_outbound_ports = {{3306, 3306}, {8000, 8100}};
  return make_plan(c);
}

Chain& chain(Plan& p, const std::string& name) {
  for (auto& c : p.tables[0].chains)
    if (c.name == name) return c;
  throw std::runtime_error("no chain " + name);
}

TEST(Diff, EqualPlansGiveNothing) {
  EXPECT_EQ(diff(sample(), sample()), "");
  EXPECT_EQ(diff(Plan{}, Plan{}), "");
}

TEST(Diff, NotesDoNotMatter) {
  Plan got = sample();
  chain(got, "output").rules[0].note = "something else";
  EXPECT_EQ(diff(sample(), got), "");
}

TEST(Diff, SetOrderAndDuplicatesDoNotMatter) {
  Plan got = sample();
  for (auto& r : chain(got, "output").rules)
    for (auto& m : r.matches)
      if (auto* o = std::get_if<OwnerMatch>(&m); o && !o->gid) o->ids = {1338, 1337, 1338};
  EXPECT_EQ(diff(sample(), got), "");
}

TEST(Diff, OrderOfTablesAndRoutingStateDoesNotMatter) {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  c.inbound_mode = InboundMode::Tproxy;
  Plan want = make_plan(c), got = make_plan(c);
  std::reverse(got.tables.begin(), got.tables.end());
  std::reverse(got.policy_rules.begin(), got.policy_rules.end());
  std::reverse(got.local_routes.begin(), got.local_routes.end());
  EXPECT_EQ(diff(want, got), "");
  got.policy_rules.pop_back();
  auto d = diff(want, got);
  EXPECT_NE(d.find("- # ip -"), std::string::npos) << d;
}

TEST(Diff, SingleValueIsNotASet) {
  Plan got = sample();
  auto& rule = chain(got, "output").rules[0];
  rule.matches.insert(rule.matches.begin(), OifMatch{{"eth0"}, ""});
  EXPECT_NE(diff(sample(), got), "");
}

TEST(Diff, MissingRuleShowsAsMinus) {
  Plan want = sample(), got = sample();
  auto& rules = chain(got, "output").rules;
  rules.pop_back();  // "meta l4proto tcp redirect to :15001"
  auto d = diff(want, got);
  EXPECT_NE(d.find("- \t\tmeta l4proto tcp redirect to :15001\n"), std::string::npos) << d;
  EXPECT_EQ(d.find("\n+ "), std::string::npos) << d;
}

TEST(Diff, UnexpectedRuleShowsAsPlus) {
  Plan want = sample(), got = sample();
  chain(got, "output").rules.push_back({{PortMatch{Proto::Tcp, false, {{22, 22}}, ""}},
                                        ReturnAction{}, ""});
  auto d = diff(want, got);
  EXPECT_NE(d.find("+ \t\ttcp dport 22 return\n"), std::string::npos) << d;
  EXPECT_EQ(d.find("\n- "), std::string::npos) << d;
  EXPECT_EQ(d.rfind("- ", 0), std::string::npos) << d;
}

TEST(Diff, MissingTableIsVisible) {
  Plan got = sample();
  got.tables.pop_back();
  auto d = diff(sample(), got);
  EXPECT_NE(d.find("- table ip6 meshcap {\n"), std::string::npos) << d;
}

TEST(DiffLines, ContextAndElision) {
  std::string a, b;
  for (int i = 0; i < 20; ++i) a += "line " + std::to_string(i) + "\n";
  b = a;
  b.replace(b.find("line 10\n"), 8, "line ten\n");
  EXPECT_EQ(diff_lines(a, b),
            "  line 8\n  line 9\n- line 10\n+ line ten\n  line 11\n  line 12\n");
  EXPECT_EQ(diff_lines(a, a), "");
  EXPECT_EQ(diff_lines("", "x\n"), "+ x\n");
  EXPECT_EQ(diff_lines("x\n", ""), "- x\n");
}

TEST(DiffLines, SeparateHunksAreMarked) {
  std::string a, b;
  for (int i = 0; i < 20; ++i) a += std::to_string(i) + "\n";
  b = a;
  b.replace(b.find("\n3\n") + 1, 2, "three\n");
  b.replace(b.find("\n16\n") + 1, 3, "sixteen\n");
  auto d = diff_lines(a, b);
  EXPECT_NE(d.find("- 3\n+ three\n"), std::string::npos) << d;
  EXPECT_NE(d.find("  5\n  ...\n  14\n"), std::string::npos) << d;
}

// Against a textbook LCS: the diff is minimal, and its "-"/"+" lines are
// lines of want/got in order.
TEST(DiffLines, MinimalOnRandomInputs) {
  std::mt19937 rng(7);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> a(rng() % 12), b(rng() % 12);
    for (auto& l : a) l = std::string(1, static_cast<char>('a' + rng() % 4));
    for (auto& l : b) l = std::string(1, static_cast<char>('a' + rng() % 4));
    std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
    for (size_t i = a.size(); i-- > 0;)
      for (size_t j = b.size(); j-- > 0;)
        lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::string ta, tb;
    for (auto& l : a) ta += l + "\n";
    for (auto& l : b) tb += l + "\n";
    std::istringstream in(diff_lines(ta, tb));
    std::string line;
    size_t edits = 0, ia = 0, ib = 0;
    while (std::getline(in, line)) {
      if (line[0] == '-') {
        ++edits;
        while (ia < a.size() && a[ia] != line.substr(2)) ++ia;
        ASSERT_LT(ia++, a.size()) << ta << "--\n" << tb;
      } else if (line[0] == '+') {
        ++edits;
        while (ib < b.size() && b[ib] != line.substr(2)) ++ib;
        ASSERT_LT(ib++, b.size()) << ta << "--\n" << tb;
      }
    }
    EXPECT_EQ(edits, a.size() + b.size() - 2 * static_cast<size_t>(lcs[0][0])) << ta << "--\n" << tb;
  }
}

TEST(DiffLines, LargeInputsStayFast) {
  std::string a, b;
  for (int i = 0; i < 20000; ++i) {
    a += "rule " + std::to_string(i) + "\n";
    b += "rule " + std::to_string(i % 7 == 0 ? -i : i) + "\n";
  }
  auto start = std::chrono::steady_clock::now();
  auto d = diff_lines(a, b);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_NE(d.find("- rule 7\n"), std::string::npos);
  EXPECT_NE(d.find("+ rule -7\n"), std::string::npos);
  // Scattered changes in a long text still give a short diff.
  b = a;
  for (int i : {100, 9000, 19000}) {
    std::string line = "rule " + std::to_string(i) + "\n";
    b.replace(b.find(line), line.size(), "changed " + std::to_string(i) + "\n");
  }
  start = std::chrono::steady_clock::now();
  d = diff_lines(a, b);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_LT(std::count(d.begin(), d.end(), '\n'), 40) << d;
  EXPECT_NE(d.find("- rule 9000\n+ changed 9000\n"), std::string::npos) << d;
  // Completely different texts too.
  start = std::chrono::steady_clock::now();
  d = diff_lines(a, b + a);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace meshcap
