// The kernel's own tools as the oracle that each rendered text loads and
// means what it says: every render scenario (the golden files' inputs) is
// loaded with `nft -f` and `iptables-legacy-restore` in a throwaway netns
// and read back.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"
#include "support/child_checks.hpp"
#include "support/netns.hpp"
#include "support/render_scenarios.hpp"

namespace meshcap {
namespace {

namespace fs = std::filesystem;
using test::plan_of;
using test::Scenario;
using test::scenario_name;
using test::scenarios;
using test::sh;

// A scratch file the forked child can read.
fs::path scratch(const std::string& name, const std::string& text) {
  fs::path p = test::tmp_path(name.c_str());
  test::write_file(p, text);
  return p;
}

// nft's listing against our script: comments, blank lines and line wrapping
// dropped, set elements compared as sets (the kernel keeps them in its own order).
std::string normalise_nft(const std::string& text) {
  std::istringstream in(text);
  std::string line, joined;
  while (std::getline(in, line)) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    // A wrapped element list continues on the next line.
    bool open = !joined.empty() && joined.back() == ',';
    joined += (open ? " " : "\n") + line;
  }
  std::string out;
  std::istringstream lines(joined);
  while (std::getline(lines, line)) {
    const std::string key = "elements = { ";
    if (line.starts_with(key)) {
      std::vector<std::string> elems;
      std::istringstream e(line.substr(key.size(), line.size() - key.size() - 2));
      std::string item;
      while (std::getline(e >> std::ws, item, ',')) elems.push_back(item);
      std::sort(elems.begin(), elems.end());
      line = "elements = {";
      for (auto& x : elems) line += " " + x;
      line += " }";
    }
    out += line + "\n";
  }
  return out;
}

// The text of one table in our script (after the create/delete preamble).
std::string table_block(const std::string& script, const std::string& head) {
  auto start = script.find(head + " {\n");
  if (start == std::string::npos) return "";
  auto end = script.find("\n}\n", start);
  return script.substr(start, end + 3 - start);
}

// "-A" lines grouped by chain, in order: what iptables-save must reproduce.
std::map<std::string, std::vector<std::string>> appends(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("-A ")) continue;
    // iptables-save spells out TPROXY's default address.
    for (const char* dflt : {" --on-ip 0.0.0.0", " --on-ip ::"})
      if (auto p = line.find(dflt); p != std::string::npos) line.erase(p, std::strlen(dflt));
    auto chain = line.substr(3, line.find(' ', 3) - 3);
    out[chain].push_back(line);
  }
  return out;
}

class RenderKernel : public ::testing::TestWithParam<Scenario> {
 protected:
  void SetUp() override {
    if (!test::can_unshare_net()) MESHCAP_SKIP("needs root with CAP_SYS_ADMIN/NET_ADMIN");
  }
};

TEST_P(RenderKernel, NftScriptLoadsTwiceAndListsAsRendered) {
  if (sh("nft --version >/dev/null 2>&1; echo $?") != "0\n") MESHCAP_SKIP("nft not installed");
  Plan plan = plan_of(GetParam());
  std::string script = render_nft(plan);
  fs::path file = scratch(std::string(GetParam().name) + ".nft", script);
  int rc = test::run_in_new_netns([&] {
    test::Checks c;
    int st = 0;
    auto out = sh("nft -f " + file.string() + " 2>&1 && nft -f " + file.string() + " 2>&1", &st);
    if (!c.expect(st == 0, "nft -f failed:\n" + out)) return c.rc();
    std::string want_tables;
    for (const auto& t : plan.tables)
      want_tables += std::string("table ") + family_name(t.family) + " meshcap\n";
    c.expect_eq(want_tables, sh("nft list tables"), "nft list tables");
    for (const auto& t : plan.tables) {
      std::string head = std::string("table ") + family_name(t.family) + " meshcap";
      c.expect_eq(normalise_nft(table_block(script, head)), normalise_nft(sh("nft list " + head)),
                  "nft list " + head);
    }
    auto ip = sh("sed -n 's/^# ip /ip /p' " + file.string() + " | sh -e 2>&1", &st);
    c.expect(st == 0, "ip commands failed:\n" + ip);
    return c.rc();
  });
  fs::remove(file);
  EXPECT_EQ(rc, 0);
}

TEST_P(RenderKernel, IptablesRestoreLoadsEachFamily) {
  if (sh("iptables-legacy-restore --version >/dev/null 2>&1; echo $?") != "0\n")
    MESHCAP_SKIP("iptables-legacy-restore not installed");
  Plan plan = plan_of(GetParam());
  for (Family f : {Family::V4, Family::V6}) {
    std::string text = render_iptables(plan, f);
    bool v4 = f == Family::V4;
    EXPECT_EQ(text.find(v4 ? "IPv6" : "IPv4"), std::string::npos) << "--family selection leaked";
    fs::path file = scratch(std::string(GetParam().name) + (v4 ? ".v4" : ".v6"), text);
    std::string tool = v4 ? "iptables-legacy" : "ip6tables-legacy";
    int rc = test::run_in_new_netns([&] {
      test::Checks c;
      int st = 0;
      for (int i = 0; i < 2; ++i) {
        auto out = sh(tool + "-restore --noflush < " + file.string() + " 2>&1", &st);
        if (!c.expect(st == 0, tool + "-restore:\n" + out)) return c.rc();
      }
      // Each MESHCAP_* chain holds exactly our rules once (the restore declared
      // and so emptied it on the second run).
      auto saved = appends(sh(tool + "-save"));
      for (const auto& [chain, lines] : appends(text)) {
        if (!chain.starts_with("MESHCAP_")) continue;
        std::string want, got;
        for (auto& l : lines) want += l + "\n";
        for (auto& l : saved[chain]) got += l + "\n";
        c.expect_eq(want, got, tool + "-save, chain " + chain);
      }
      auto ip = sh("sed -n 's/^# ip /ip /p' " + file.string() + " | sh -e 2>&1", &st);
      c.expect(st == 0, "ip commands failed:\n" + ip);
      return c.rc();
    });
    fs::remove(file);
    EXPECT_EQ(rc, 0) << tool;
  }
}

// docs/commands.md#apply: a re-run with changed settings converges; here IPv6 is turned off.
TEST(RenderKernelConverge, TurningIpv6OffRemovesTheIpv6Table) {
  if (!test::can_unshare_net()) MESHCAP_SKIP("needs root with CAP_SYS_ADMIN/NET_ADMIN");
  if (sh("nft --version >/dev/null 2>&1; echo $?") != "0\n") MESHCAP_SKIP("nft not installed");
  Config config;
  config.ipv6 = Ipv6Mode::On;
  fs::path both = scratch("both.nft", render_nft(make_plan(config)));
  config.ipv6 = Ipv6Mode::Off;
  config.outbound_port = 15111;
  fs::path v4 = scratch("v4.nft", render_nft(make_plan(config)));
  int rc = test::run_in_new_netns([&] {
    test::Checks c;
    int st = 0;
    auto out = sh("nft -f " + both.string() + " 2>&1 && nft -f " + v4.string() + " 2>&1", &st);
    if (!c.expect(st == 0, "nft -f failed:\n" + out)) return c.rc();
    c.expect_eq("table ip meshcap\n", sh("nft list tables"), "nft list tables");
    auto listing = sh("nft list ruleset");
    c.expect(listing.find(":15001") == std::string::npos && listing.find(":15111") != std::string::npos,
             "old rules left behind:\n" + listing);
    return c.rc();
  });
  fs::remove(both);
  fs::remove(v4);
  EXPECT_EQ(rc, 0);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, RenderKernel, ::testing::ValuesIn(scenarios()), scenario_name);

}  // namespace
}  // namespace meshcap
