// Golden files for every renderer, and the kernel's own tools as the oracle
// that the rendered text loads and means what it says (in throwaway netns).
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <gtest/gtest.h>

#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"
#include "support/netns.hpp"

namespace meshcap {
namespace {

namespace fs = std::filesystem;
using test::sh;

Cidr cidr(const char* text) { return *Cidr::parse(text); }

struct Scenario {
  const char* name;
  Config config;
  std::optional<Plan> plan = std::nullopt;  // hand-built instead of make_plan(config)
};

Plan plan_of(const Scenario& s) { return s.plan ? *s.plan : make_plan(s.config); }

// Every match and action in every form, including ones the planner does not
// use today (source ports, single owners, source sets, 16+ port sets).
Plan every_construct() {
  Plan plan;
  for (Family f : {Family::V4, Family::V6}) {
    bool v4 = f == Family::V4;
    Chain out{"output", ChainKind::Nat, Hook::Output, {}};
    out.rules.push_back({{OifMatch{{"eth1", "eth2"}, "out_ifs"}}, ReturnAction{}, "oif set"});
    out.rules.push_back({{PortMatch{Proto::Udp, true, {{5353, 5353}}, ""}}, ReturnAction{}, ""});
    out.rules.push_back(
        {{PortMatch{Proto::Tcp, true, {{1000, 2000}, {3000, 3000}}, "sports"}}, ReturnAction{}, ""});
    std::vector<Cidr> srcs = v4 ? std::vector{cidr("10.0.0.0/8"), cidr("192.168.1.1")}
                                : std::vector{cidr("fd00::/8"), cidr("2001:db8::1")};
    out.rules.push_back({{AddrMatch{true, srcs, "srcs"}, OwnerMatch{true, {42}, ""}},
                         JumpAction{"inbound"}, "source set and single gid"});
    out.rules.push_back({{OwnerMatch{false, {1337}, ""}}, ReturnAction{}, ""});
    out.rules.push_back({{OifMatch{{"lo"}, ""}, ProtoMatch{Proto::Tcp}}, RedirectAction{15001}, ""});
    Chain in{"inbound", ChainKind::Nat, std::nullopt, {}};
    std::vector<PortRange> many;
    for (uint16_t p = 100; p < 120; ++p) many.push_back({p, p});
    in.rules.push_back({{IifMatch{{"eth0", "eth3"}, "in_ifs"}, PortMatch{Proto::Tcp, false, many, "many"}},
                        RedirectAction{15006}, "two sets: a cross product in iptables"});
    Chain divert{"divert", ChainKind::Mangle, Hook::Prerouting, {}};
    divert.rules.push_back({{ProtoMatch{Proto::Tcp}}, TproxyAction{15006, 1337}, ""});
    Chain raw{"raw_output", ChainKind::Raw, Hook::Output, {}};
    raw.rules.push_back({{OwnerMatch{false, {1, 2}, "uids"}, PortMatch{Proto::Udp, false, {{53, 53}}, ""}},
                         CtZoneAction{1}, ""});
    plan.tables.push_back({f, {out, divert, raw, in}});
    plan.policy_rules.push_back({f, 1337, 133, 32000});
    plan.local_routes.push_back({f, 133});
  }
  plan.lo_addresses.push_back({cidr("::6")});
  return plan;
}

// gtest prints a parameter on failure; the name says it all.
void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::vector<Scenario> scenarios() {
  std::vector<Scenario> out;
  Config base;
  base.ipv6 = Ipv6Mode::On;
  out.push_back({"default", base});

  Config all = base;
  all.virt_interfaces = {"vnet0"};
  all.exclude_interfaces = {"eth9", "veth1"};
  all.proxy_uids = {1337, 1338};
  all.proxy_gids = {1337, 2000};
  all.exclude_inbound_ports = {{15020, 15021}, {15090, 15090}};
  all.outbound_cidrs = {false, {cidr("10.0.0.0/8"), cidr("192.168.0.0/16"), cidr("fd00::/8")}};
  all.exclude_outbound_cidrs = {cidr("10.96.0.1"), cidr("fd00:96::/64")};
  all.exclude_outbound_ports = {{3306, 3306}, {5432, 5432}, {6000, 6100}};
  for (uint16_t p = 7000; p < 7012; ++p) all.exclude_outbound_ports.push_back({p, p});
  all.include_outbound_ports = {{8080, 8080}, {9000, 9100}};
  all.capture_dns = true;
  all.dns_servers = {cidr("10.96.0.10"), cidr("fd00:96::a")};
  out.push_back({"all_options", all});

  Config tproxy = base;
  tproxy.inbound_mode = InboundMode::Tproxy;
  tproxy.exclude_inbound_ports = {{15020, 15021}};
  out.push_back({"tproxy", tproxy});

  Config v4only = base;
  v4only.ipv6 = Ipv6Mode::Off;
  out.push_back({"ipv6_off", v4only});

  Config listed = base;
  listed.inbound_ports = {false, {{80, 80}, {8080, 8080}, {9000, 9100}}};
  out.push_back({"inbound_ports_list", listed});

  Config no_inbound = base;
  no_inbound.inbound_ports = {false, {}};
  out.push_back({"no_inbound", no_inbound});

  Config dns = base;
  dns.capture_dns = true;
  out.push_back({"dns_all_servers", dns});

  // INVALID packets dropped in a mangle chain, ahead of the tproxy chain.
  Config drop = tproxy;
  drop.drop_invalid = true;
  out.push_back({"drop_invalid_tproxy", drop});

  // Istio's narrower loopback, Linkerd's source exclusions and lo left alone.
  Config dialect = base;
  dialect.drop_invalid = true;
  dialect.loopback_cidrs = {*Cidr::parse("127.0.0.1/32"), *Cidr::parse("::1/128")};
  dialect.exclude_inbound_sources = {*Cidr::parse("10.9.0.0/16"), *Cidr::parse("192.168.7.7/32"),
                                     *Cidr::parse("fd00:9::/64")};
  dialect.lo_passthrough = true;
  out.push_back({"dialect_knobs", dialect});

  out.push_back({"every_construct", base, every_construct()});
  return out;
}

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

// --- kernel oracles -------------------------------------------------------

// A scratch file the forked child can read.
fs::path scratch(const std::string& name, const std::string& text) {
  fs::path p = fs::temp_directory_path() /
               ("meshcap-render-" + std::to_string(getpid()) + "-" + name);
  write_file(p, text);
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

// The child's way of failing: say why on stderr, exit with `code`.
int bad(int code, const std::string& why) {
  std::fprintf(stderr, "%s\n", why.c_str());
  return code;
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
    int st = 0;
    auto out = sh("nft -f " + file.string() + " 2>&1 && nft -f " + file.string() + " 2>&1", &st);
    if (st != 0) return bad(1, "nft -f failed:\n" + out);
    std::string want_tables;
    for (const auto& t : plan.tables)
      want_tables += std::string("table ") + family_name(t.family) + " meshcap\n";
    auto tables = sh("nft list tables");
    if (tables != want_tables)
      return bad(2, "nft list tables:\n" + tables);
    for (const auto& t : plan.tables) {
      std::string head = std::string("table ") + family_name(t.family) + " meshcap";
      auto want = normalise_nft(table_block(script, head));
      auto got = normalise_nft(sh("nft list " + head));
      if (want != got)
        return bad(3, "nft list " + head + " differs:\n" + diff_lines(want, got));
    }
    auto ip = sh("sed -n 's/^# ip /ip /p' " + file.string() + " | sh -e 2>&1", &st);
    if (st != 0) return bad(4, "ip commands failed:\n" + ip);
    return 0;
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
      int st = 0;
      for (int i = 0; i < 2; ++i) {
        auto out = sh(tool + "-restore --noflush < " + file.string() + " 2>&1", &st);
        if (st != 0) return bad(1, tool + "-restore:\n" + out);
      }
      // Each MESHCAP_* chain holds exactly our rules once (the restore declared
      // and so emptied it on the second run).
      auto saved = appends(sh(tool + "-save"));
      for (const auto& [chain, lines] : appends(text)) {
        if (!chain.starts_with("MESHCAP_")) continue;
        if (saved[chain] != lines) {
          std::string want, got;
          for (auto& l : lines) want += l + "\n";
          for (auto& l : saved[chain]) got += l + "\n";
          return bad(2, tool + "-save, chain " + chain + ":\n" + diff_lines(want, got));
        }
      }
      auto ip = sh("sed -n 's/^# ip /ip /p' " + file.string() + " | sh -e 2>&1", &st);
      if (st != 0) return bad(3, "ip commands failed:\n" + ip);
      return 0;
    });
    fs::remove(file);
    EXPECT_EQ(rc, 0) << tool;
  }
}

// SPEC §4: a re-run with a changed config converges; here IPv6 is turned off.
TEST(RenderKernelConverge, TurningIpv6OffRemovesTheIpv6Table) {
  if (!test::can_unshare_net()) MESHCAP_SKIP("needs root with CAP_SYS_ADMIN/NET_ADMIN");
  if (sh("nft --version >/dev/null 2>&1; echo $?") != "0\n") MESHCAP_SKIP("nft not installed");
  Config c;
  c.ipv6 = Ipv6Mode::On;
  fs::path both = scratch("both.nft", render_nft(make_plan(c)));
  c.ipv6 = Ipv6Mode::Off;
  c.outbound_port = 15111;
  fs::path v4 = scratch("v4.nft", render_nft(make_plan(c)));
  int rc = test::run_in_new_netns([&] {
    int st = 0;
    auto out = sh("nft -f " + both.string() + " 2>&1 && nft -f " + v4.string() + " 2>&1", &st);
    if (st != 0) return bad(1, "nft -f failed:\n" + out);
    auto tables = sh("nft list tables");
    if (tables != "table ip meshcap\n") return bad(2, "nft list tables:\n" + tables);
    auto listing = sh("nft list ruleset");
    if (listing.find(":15001") != std::string::npos || listing.find(":15111") == std::string::npos)
      return bad(3, "old rules left behind:\n" + listing);
    return 0;
  });
  fs::remove(both);
  fs::remove(v4);
  EXPECT_EQ(rc, 0);
}

std::string scenario_name(const ::testing::TestParamInfo<Scenario>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, RenderGolden, ::testing::ValuesIn(scenarios()), scenario_name);
INSTANTIATE_TEST_SUITE_P(Scenarios, RenderKernel, ::testing::ValuesIn(scenarios()), scenario_name);

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
