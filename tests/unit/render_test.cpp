// Golden files for every renderer, and the translation rules one at a time.
// No kernel: that the texts load and list back as rendered is checked in
// tests/integration/render_load_test.cpp.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"
#include "support/render_scenarios.hpp"

namespace meshcap {
namespace {

namespace fs = std::filesystem;
using test::cidr;
using test::plan_of;
using test::Scenario;
using test::scenario_name;
using test::scenarios;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

fs::path golden_dir() { return fs::path(MESHCAP_SOURCE_DIR) / "tests" / "golden"; }

void expect_golden(const std::string& file, const std::string& actual) {
  fs::path path = golden_dir() / file;
  if (std::getenv("UPDATE_GOLDEN")) {
    write_file(path, actual);
    return;
  }
  ASSERT_TRUE(fs::exists(path)) << path << " missing; run with UPDATE_GOLDEN=1";
  std::string want = read_file(path);
  EXPECT_TRUE(want == actual) << file << " differs from the golden file (UPDATE_GOLDEN=1 rewrites "
                              << "it after review):\n"
                              << diff_lines(want, actual);
}

class RenderGolden : public ::testing::TestWithParam<Scenario> {};

TEST_P(RenderGolden, MatchesGoldenFiles) {
  Plan plan = plan_of(GetParam());
  std::string name = GetParam().name;
  expect_golden(name + ".nft", render_nft(plan));
  expect_golden(name + ".iptables", render_iptables(plan));
  expect_golden(name + ".json", render_json(plan).dump(2) + "\n");
}

INSTANTIATE_TEST_SUITE_P(Scenarios, RenderGolden, ::testing::ValuesIn(scenarios()), scenario_name);

// --- hand-built plans: the translation rules one at a time -------------------

Plan one_rule(Rule rule, ChainKind kind = ChainKind::Nat, Hook hook = Hook::Output) {
  Plan plan;
  plan.tables.push_back({Family::V4, {{"output", kind, hook, {std::move(rule)}}}});
  return plan;
}

TEST(RenderIptables, PortSetsBecomeOneRulePerElement) {
  // The same rules the libiptc backend programs (lower_iptables), one a port or range.
  std::vector<PortRange> ports{{1, 1}, {2, 2}, {8000, 8100}};
  auto text = render_iptables(
      one_rule({{PortMatch{Proto::Tcp, false, ports, "ports"}}, ReturnAction{}, ""}), Family::V4);
  for (const char* port : {"1", "2", "8000:8100"})
    EXPECT_NE(text.find(std::string("-A MESHCAP_OUTPUT -p tcp -m tcp --dport ") + port + " -j RETURN\n"),
              std::string::npos)
        << text;
  EXPECT_EQ(text.find("multiport"), std::string::npos) << text;
}

TEST(RenderIptables, TwoSetsGiveTheCrossProduct) {
  Rule r{{IifMatch{{"a", "b"}, "ifs"}, OwnerMatch{false, {1, 2}, "uids"}}, ReturnAction{}, ""};
  auto text = render_iptables(one_rule(r), Family::V4);
  for (const char* line : {"-A MESHCAP_OUTPUT -i a -m owner --uid-owner 1 -j RETURN\n",
                           "-A MESHCAP_OUTPUT -i a -m owner --uid-owner 2 -j RETURN\n",
                           "-A MESHCAP_OUTPUT -i b -m owner --uid-owner 1 -j RETURN\n",
                           "-A MESHCAP_OUTPUT -i b -m owner --uid-owner 2 -j RETURN\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
}

TEST(RenderIptables, FamilySelectionAndJumps) {
  Plan plan = one_rule({{ProtoMatch{Proto::Tcp}}, RedirectAction{15001}, "why"});
  auto text = render_iptables(plan, Family::V4);
  EXPECT_EQ(text,
            "# === IPv4: iptables-restore --noflush ===\n"
            "*nat\n"
            ":MESHCAP_OUTPUT - [0:0]\n"
            "-A OUTPUT -m comment --comment meshcap -j MESHCAP_OUTPUT\n"
            "# why\n"
            "-A MESHCAP_OUTPUT -p tcp -j REDIRECT --to-ports 15001\n"
            "COMMIT\n");
  EXPECT_EQ(render_iptables(plan, Family::V6),
            "# === IPv6: ip6tables-restore --noflush ===\n# (no rules for this family)\n");
}

TEST(RenderNft, AbsentFamilyIsDeleted) {
  auto text = render_nft(one_rule({{}, ReturnAction{}, ""}));
  EXPECT_NE(text.find("table ip6 meshcap {}\ndelete table ip6 meshcap\n"), std::string::npos);
  EXPECT_EQ(render_nft(Plan{}),
            "table ip meshcap {}\ndelete table ip meshcap\n"
            "table ip6 meshcap {}\ndelete table ip6 meshcap\n");
}

TEST(RenderNft, FamilySelectionLeavesTheOtherFamilyAlone) {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  c.inbound_mode = InboundMode::Tproxy;
  Plan plan = make_plan(c);
  auto v6 = render_nft(plan, Family::V6);
  EXPECT_EQ(v6.find("table ip meshcap"), std::string::npos) << v6;
  EXPECT_EQ(v6.find("ip -4 "), std::string::npos) << v6;
  EXPECT_NE(v6.find("table ip6 meshcap {\n"), std::string::npos) << v6;
  EXPECT_NE(v6.find("# ip -6 rule add fwmark 0x539 lookup 133 priority 32000\n"),
            std::string::npos)
      << v6;
  auto v4 = render_nft(plan, Family::V4);
  EXPECT_EQ(v4.find("ip6"), std::string::npos) << v4;
  EXPECT_EQ(v4.find("ip -6 "), std::string::npos) << v4;
  // Selecting a family the plan lacks removes just that family's table.
  plan.tables.pop_back();
  EXPECT_NE(render_nft(plan, Family::V6).find("delete table ip6 meshcap\n"), std::string::npos);
}

TEST(RenderNft, OnlyCommandsStartWithHashIp) {
  for (const auto& s : scenarios()) {
    Plan plan = plan_of(s);
    for (const auto& text : {render_nft(plan), render_iptables(plan)}) {
      std::istringstream in(text);
      std::string line;
      while (std::getline(in, line)) {
        if (line.starts_with("# ip ")) {
          EXPECT_TRUE(line.starts_with("# ip -4 ") || line.starts_with("# ip -6 ")) << line;
        }
      }
    }
  }
}

TEST(RenderNft, NotesNeverPassForIpCommands) {
  Plan plan = one_rule({{}, ReturnAction{}, "ip addresses of\nthe pod"});
  for (const auto& text : {render_nft(plan), render_iptables(plan)}) {
    EXPECT_EQ(text.find("# ip "), std::string::npos) << text;
    EXPECT_NE(text.find("# (ip addresses of the pod)\n"), std::string::npos) << text;
  }
}

TEST(RenderJson, KeysAndTypes) {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  c.inbound_mode = InboundMode::Tproxy;
  auto j = render_json(make_plan(c));
  ASSERT_EQ(j["tables"].size(), 2u);
  EXPECT_EQ(j["tables"][0]["family"], "ip");
  EXPECT_EQ(j["tables"][1]["family"], "ip6");
  EXPECT_EQ(j["policyRules"][0]["fwmark"], 1337);
  EXPECT_EQ(j["loAddresses"][0]["address"], "::6/128");
  EXPECT_EQ(render_json(make_plan(c)).dump(), j.dump()) << "not deterministic";
}

}  // namespace
}  // namespace meshcap
