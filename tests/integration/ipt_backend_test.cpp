// The iptables backend against a real kernel, each test in throwaway network
// namespaces. The oracle is iptables itself: after apply, iptables-legacy-save
// must print exactly what it prints after iptables-legacy-restore --noflush of
// render_iptables(plan) (the same lowered rules) in another fresh namespace.
#include "ipt/ipt_backend.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "meshcap/diff.hpp"
#include "meshcap/lower_iptables.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"
#include "support/named_netns.hpp"
#include "support/child_checks.hpp"
#include "support/configs.hpp"
#include "support/netns.hpp"

namespace meshcap {
namespace {

using test::Checks;
using test::read_file;
using test::run_in_new_netns;
using test::tmp_path;
using test::write_file;
using test::sh;
using ::testing::HasSubstr;
using ::testing::Not;

#define REQUIRE_NETNS() MESHCAP_REQUIRE_NETNS_AND("iptables-legacy-save")


// "[12:720]" -> "[0:0]": built-in chains count the namespace's own packets.
std::string zero_counters(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size();) {
    size_t colon = line.find(':', i), close = line.find(']', i);
    if (line[i] == '[' && colon != std::string::npos && close != std::string::npos && colon < close &&
        line.find_first_not_of("0123456789:", i + 1) == close) {
      out += "[0:0]";
      i = close + 1;
    } else {
      out += line[i++];
    }
  }
  return out;
}

// A save without its time-stamp comments and counters, tables sorted by name
// (a save lists tables in the order the namespace created them).
std::string normalised(const std::string& save) {
  std::istringstream in(save);
  std::vector<std::string> blocks;
  std::string line, block;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    block += zero_counters(line) + "\n";
    if (line == "COMMIT") {
      blocks.push_back(block);
      block.clear();
    }
  }
  if (!block.empty()) blocks.push_back(block);
  std::sort(blocks.begin(), blocks.end());
  std::string out;
  for (const auto& b : blocks) out += b;
  return out;
}

// Both families as the oracle prints them.
std::string saves() {
  return "## iptables\n" + normalised(sh("iptables-legacy-save 2>&1")) + "## ip6tables\n" +
         normalised(sh("ip6tables-legacy-save 2>&1"));
}

std::string without_meshcap(const std::string& text) {
  std::istringstream in(text);
  std::string out, line;
  while (std::getline(in, line))
    if (line.find("MESHCAP_") == std::string::npos) out += line + "\n";
  return out;
}

// What iptables-legacy-restore --noflush makes of the rendering, in a fresh
// namespace.
std::string saves_via_restore(const Plan& plan) {
  std::string v4 = tmp_path("v4"), v6 = tmp_path("v6"), out = tmp_path("save");
  write_file(v4, render_iptables(plan, Family::V4));
  write_file(v6, render_iptables(plan, Family::V6));
  int rc = run_in_new_netns([&] {
    int s4 = 0, s6 = 0;
    std::string e4 = sh("iptables-legacy-restore --noflush < " + v4 + " 2>&1", &s4);
    std::string e6 = sh("ip6tables-legacy-restore --noflush < " + v6 + " 2>&1", &s6);
    if (s4 != 0 || s6 != 0) {
      std::cerr << "restore failed: " << e4 << e6 << "\n" << read_file(v4) << read_file(v6);
      return 1;
    }
    write_file(out, saves());
    return 0;
  });
  std::string text = rc == 0 ? read_file(out) : "restore failed";
  for (const auto& p : {v4, v6, out}) std::remove(p.c_str());
  return text;
}

using test::cidr;

Config dual_stack() {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  return c;
}

Config everything_redirect() { return test::everything_on(); }

Config tproxy() {
  Config c = dual_stack();
  c.inbound_mode = InboundMode::Tproxy;
  c.inbound_ports = {false, {{80, 80}, {8000, 8100}}};
  c.capture_dns = true;
  return c;
}

Config ipv6_off() {
  Config c;
  c.ipv6 = Ipv6Mode::Off;
  c.exclude_outbound_ports = {{9999, 9999}};
  return c;
}

struct Scenario {
  const char* name;
  Config config;
};
std::vector<Scenario> scenarios() {
  return {{"default", dual_stack()},
          {"everything_redirect", everything_redirect()},
          {"tproxy", tproxy()},
          {"ipv6_off", ipv6_off()}};
}

// observe() reads netfilter state only; the routing state is sys_test's.
Plan tables_of(const Plan& plan) {
  Plan t;
  t.tables = plan.tables;
  return t;
}

// Applies `plan`, then checks the saves against the oracle and observe()
// against held_form(plan).
void expect_holds(Checks& c, NetfilterBackend& b, const Plan& plan, const std::string& oracle,
                  const std::string& what) {
  if (!c.ok(b.apply(plan), what + ": apply")) return;
  c.expect_eq(oracle, saves(), what + ": iptables-legacy-save after apply");
  auto got = b.observe();
  if (!c.ok(got, what + ": observe")) return;
  c.expect_eq("", diff(tables_of(b.held_form(plan)), *got), what + ": observe() vs held_form(plan)");
  c.expect(canonical(b.held_form(plan)).tables == canonical(*got).tables, what + ": canonical tables equal");
}

TEST(IptBackend, MatchesIptablesRestoreOfTheRendering) {
  REQUIRE_NETNS();
  for (const auto& s : scenarios()) {
    Plan plan = make_plan(s.config);
    std::string oracle = saves_via_restore(plan);
    ASSERT_NE(oracle, "restore failed") << s.name;
    EXPECT_THAT(oracle, HasSubstr("MESHCAP_OUTPUT")) << s.name;
    int rc = run_in_new_netns([&] {
      Checks c;
      auto b = make_iptables_backend();
      expect_holds(c, *b, plan, oracle, s.name);
      return c.rc();
    });
    EXPECT_EQ(rc, 0) << s.name;
  }
}

TEST(IptBackend, HandBuiltPlanWithEveryConstruct) {
  REQUIRE_NETNS();
  Plan plan;
  for (Family f : {Family::V4, Family::V6}) {
    bool v4 = f == Family::V4;
    Table t{f, {}};
    Chain out{"output", ChainKind::Nat, Hook::Output, {}};
    out.rules.push_back({{OifMatch{{"eth1", "eth2"}, "oifs"}}, ReturnAction{}, ""});
    out.rules.push_back({{PortMatch{Proto::Udp, true, {{5353, 5353}}, ""}}, ReturnAction{}, ""});
    out.rules.push_back(
        {{PortMatch{Proto::Tcp, true, {{1000, 2000}, {3000, 3000}}, "sports"}}, ReturnAction{}, ""});
    out.rules.push_back({{AddrMatch{true,
                                    v4 ? std::vector{cidr("10.0.0.0/8"), cidr("192.168.1.1")}
                                       : std::vector{cidr("fd00::/8"), cidr("2001:db8::1")},
                                    "srcs"},
                          OwnerMatch{true, {42}, ""}},
                         JumpAction{"inbound"},
                         ""});
    out.rules.push_back({{OifMatch{{"lo"}, ""}, ProtoMatch{Proto::Tcp}}, RedirectAction{15001}, ""});
    Chain in{"inbound", ChainKind::Nat, std::nullopt, {}};
    in.rules.push_back({{IifMatch{{"eth0", "eth3"}, "ifs"},
                         PortMatch{Proto::Tcp, false, {{100, 119}, {200, 200}}, "dports"}},
                        RedirectAction{15006},
                        ""});
    Chain divert{"inbound_tproxy", ChainKind::Mangle, Hook::Prerouting, {}};
    divert.rules.push_back({{ProtoMatch{Proto::Tcp}}, TproxyAction{15006, 1337}, ""});
    Chain raw{"raw_output", ChainKind::Raw, Hook::Output, {}};
    raw.rules.push_back({{OwnerMatch{false, {1, 2}, "uids"}, PortMatch{Proto::Udp, false, {{53, 53}}, ""}},
                         CtZoneAction{1},
                         ""});
    t.chains = {out, in, divert, raw};
    plan.tables.push_back(t);
  }
  std::string oracle = saves_via_restore(plan);
  ASSERT_NE(oracle, "restore failed");
  int rc = run_in_new_netns([&] {
    Checks c;
    auto b = make_iptables_backend();
    expect_holds(c, *b, plan, oracle, "every construct");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

TEST(IptBackend, ReapplyIsIdempotentAndAChangedConfigReplacesTheRules) {
  REQUIRE_NETNS();
  Plan first = make_plan(everything_redirect());
  Plan second = make_plan(tproxy());
  Plan third = make_plan(ipv6_off());
  std::string oracle1 = saves_via_restore(first);
  std::string oracle2 = saves_via_restore(second);
  std::string oracle3 = saves_via_restore(third);
  int rc = run_in_new_netns([&] {
    Checks c;
    auto b = make_iptables_backend();
    expect_holds(c, *b, first, oracle1, "first apply");
    expect_holds(c, *b, first, oracle1, "same plan again");
    std::string nat = sh("iptables-legacy-save -t nat");
    for (const char* jump : {"-A PREROUTING -m comment --comment meshcap -j MESHCAP_PREROUTING\n",
                             "-A OUTPUT -m comment --comment meshcap -j MESHCAP_OUTPUT\n"}) {
      size_t n = 0;
      for (size_t at = nat.find(jump); at != std::string::npos; at = nat.find(jump, at + 1)) ++n;
      c.expect(n == 1, std::string("exactly one ") + jump);
    }
    // tproxy uses mangle; going back to redirect must empty it of meshcap's
    // chains, and IPv6 off must leave no MESHCAP chain in ip6tables.
    expect_holds(c, *b, second, oracle2, "changed config (tproxy)");
    c.expect(sh("iptables-legacy-save -t mangle").find("MESHCAP_INBOUND_TPROXY") != std::string::npos,
             "tproxy chain in mangle");
    if (!c.ok(b->apply(third), "ipv6 off")) return c.rc();
    std::string now = saves();
    c.expect(now.find("MESHCAP_INBOUND_TPROXY") == std::string::npos, "no tproxy chain left");
    std::string v6 = normalised(sh("ip6tables-legacy-save"));
    c.expect(v6.find("MESHCAP") == std::string::npos, "no MESHCAP chain left in ip6tables:\n" + v6);
    // Tables created on the way (mangle, raw, ip6 nat) stay, empty: compare
    // only the MESHCAP lines with the oracle's.
    auto lines = [](const std::string& s) {
      std::istringstream in(s);
      std::string out, line;
      while (std::getline(in, line))
        if (line.find("MESHCAP") != std::string::npos) out += line + "\n";
      return out;
    };
    c.expect_eq(lines(oracle3), lines(now), "ipv6 off: meshcap's lines as the oracle's");
    auto got = b->observe();
    if (c.ok(got, "observe"))
      c.expect_eq("", diff(tables_of(b->held_form(third)), *got), "ipv6 off observed");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

TEST(IptBackend, RemoveTwiceLeavesNoMeshcapChain) {
  REQUIRE_NETNS();
  int rc = run_in_new_netns([&] {
    Checks c;
    auto b = make_iptables_backend();
    c.ok(b->remove(), "remove with nothing there");
    c.expect(normalised(sh("iptables-legacy-save")).empty(), "remove on nothing creates no table");
    c.ok(b->apply(make_plan(tproxy())), "apply");
    c.ok(b->remove(), "remove");
    c.ok(b->remove(), "remove again");
    c.expect(saves().find("MESHCAP") == std::string::npos, "no MESHCAP left:\n" + saves());
    auto got = b->observe();
    if (c.ok(got, "observe")) c.expect(got->tables.empty(), "observe finds nothing");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

TEST(IptBackend, LeavesOtherChainsAndRulesAlone) {
  REQUIRE_NETNS();
  int rc = run_in_new_netns([&] {
    Checks c;
    const char* setup[] = {
        "iptables-legacy -t nat -N OTHER",
        "iptables-legacy -t nat -A OTHER -p tcp --dport 7 -j RETURN",
        "iptables-legacy -t nat -A OUTPUT -d 192.0.2.1 -j OTHER",
        "iptables-legacy -t nat -A PREROUTING -p udp -j RETURN",
        "iptables-legacy -t mangle -A PREROUTING -j MARK --set-mark 7",
        "iptables-legacy -t raw -A OUTPUT -p icmp -j NOTRACK",
        "iptables-legacy -A INPUT -p tcp --dport 22 -j ACCEPT",
        "ip6tables-legacy -t nat -A OUTPUT -d 2001:db8::1 -j RETURN",
        // Listing instantiates a table, so the saves before and after show
        // the same set of tables.
        "iptables-legacy -t raw -S >/dev/null",
        "ip6tables-legacy -t mangle -S >/dev/null",
        "ip6tables-legacy -t raw -S >/dev/null",
    };
    for (const char* cmd : setup) c.expect(std::system(cmd) == 0, cmd);
    std::string before = saves();
    auto b = make_iptables_backend();
    c.ok(b->apply(make_plan(everything_redirect())), "apply");
    std::string during = saves();
    c.expect(during.find("MESHCAP_OUTPUT") != std::string::npos, "meshcap's chains are there");
    c.expect_eq(before, without_meshcap(during), "other rules while applied");
    // The jump goes after what was there, as `iptables -A` would put it.
    std::string nat = sh("iptables-legacy-save -t nat");
    c.expect(nat.find("-A OUTPUT -d 192.0.2.1/32 -j OTHER") <
                 nat.find("-A OUTPUT -m comment --comment meshcap -j MESHCAP_OUTPUT"),
             "jump appended after the existing OUTPUT rule");
    c.ok(b->apply(make_plan(tproxy())), "apply a changed config");
    c.expect_eq(before, without_meshcap(saves()), "other rules after a change");
    c.ok(b->remove(), "remove");
    std::string after = saves();
    c.expect(after.find("MESHCAP") == std::string::npos, "nothing of meshcap's left");
    c.expect_eq(before, after, "everything as it was before apply");
    for (const char* rule :
         {"-A OTHER -p tcp -m tcp --dport 7 -j RETURN", "-A OUTPUT -d 192.0.2.1/32 -j OTHER",
          "-A PREROUTING -j MARK --set-xmark 0x7/0xffffffff", "-A OUTPUT -p icmp -j NOTRACK",
          "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", "-A OUTPUT -d 2001:db8::1/128 -j RETURN"})
      c.expect(after.find(rule) != std::string::npos, std::string("still there: ") + rule);
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

TEST(IptBackend, ObserveRejectsWhatMeshcapNeverWrites) {
  REQUIRE_NETNS();
  int rc = run_in_new_netns([&] {
    Checks c;
    auto b = make_iptables_backend();
    c.ok(b->apply(make_plan(dual_stack())), "apply");
    c.expect(std::system("iptables-legacy -t nat -A MESHCAP_OUTPUT -m comment --comment x -j RETURN") == 0,
             "add a foreign rule");
    auto got = b->observe();
    c.expect(!got && got.error().kind == ErrorKind::Verify, "observe fails with Verify");
    if (!got) {
      c.expect(got.error().message.find("MESHCAP_OUTPUT rule") != std::string::npos,
               "names the chain and rule: " + got.error().message);
      c.expect(got.error().message.find("comment") != std::string::npos,
               "names the match: " + got.error().message);
    }
    c.ok(b->apply(make_plan(dual_stack())), "apply converges");
    got = b->observe();
    if (c.ok(got, "observe after converging"))
      c.expect_eq("", diff(tables_of(b->held_form(make_plan(dual_stack()))), *got), "converged");
    // A second jump from a built-in chain is a difference too.
    const char* extra = "iptables-legacy -t nat -A OUTPUT -m comment --comment meshcap -j MESHCAP_OUTPUT";
    c.expect(std::system(extra) == 0, "extra jump");
    got = b->observe();
    c.expect(!got && got.error().message.find("second jump") != std::string::npos, "extra jump seen");
    c.ok(b->apply(make_plan(dual_stack())), "apply again");
    c.expect(sh("iptables-legacy-save -t nat | grep -c -- '-j MESHCAP_OUTPUT'") == "1\n", "one jump again");
    // So is a jump without meshcap's mark.
    c.expect(std::system("iptables-legacy -t nat -I OUTPUT -j MESHCAP_OUTPUT") == 0, "bare jump");
    got = b->observe();
    c.expect(!got && got.error().message.find("lacks -m comment --comment meshcap") != std::string::npos,
             "bare jump seen");
    c.ok(b->apply(make_plan(dual_stack())), "apply once more");
    c.expect(sh("iptables-legacy-save -t nat | grep -c -- '-j MESHCAP_OUTPUT'") == "1\n", "one jump left");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

// Tables commit one at a time; when the kernel refuses a later one, the
// tables committed before it get meshcap's earlier chains back.
TEST(IptBackend, ARefusedCommitRestoresTheTablesCommittedBeforeIt) {
  REQUIRE_NETNS();
  Plan good = make_plan(everything_redirect());
  Plan bad = make_plan(tproxy());
  // TPROXY is only valid in PREROUTING: hooking a chain with it from OUTPUT
  // passes libiptc but the kernel refuses the ip6tables mangle table, which
  // commits after every IPv4 table (and, as a table meshcap starts to use,
  // before the IPv6 nat table it changes).
  for (auto& t : bad.tables)
    for (auto& c : t.chains)
      if (t.family == Family::V6 && c.kind == ChainKind::Mangle) c.hook = Hook::Output;
  int rc = run_in_new_netns([&] {
    Checks c;
    auto b = make_iptables_backend();
    c.ok(b->apply(good), "apply the good plan");
    std::string before = saves();
    auto r = b->apply(bad);
    c.expect(!r, "the kernel refuses the bad plan");
    if (!r) {
      c.expect(r.error().kind == ErrorKind::Kernel, "a Kernel error: " + r.error().message);
      c.expect(r.error().message.find("ip6tables table mangle") != std::string::npos,
               "names the table: " + r.error().message);
      const auto& m = r.error().message;
      auto restored = m.find("; restored ");
      c.expect(restored != std::string::npos && m.find("iptables table nat", restored) != std::string::npos &&
                   m.find("iptables table mangle", restored) != std::string::npos &&
                   m.find("ip6tables table nat", restored) == std::string::npos,
               "says what it restored, the IPv4 tables: " + m);
    }
    // Tables the bad plan instantiated (mangle) stay, empty of meshcap's.
    std::string after = saves();
    auto meshcap_lines = [](const std::string& s) {
      std::istringstream in(s);
      std::string out, line;
      while (std::getline(in, line))
        if (line.find("MESHCAP") != std::string::npos) out += line + "\n";
      return out;
    };
    c.expect_eq(meshcap_lines(before), meshcap_lines(after), "meshcap's rules as before");
    auto got = b->observe();
    if (c.ok(got, "observe"))
      c.expect_eq("", diff(tables_of(b->held_form(good)), *got), "still the good plan");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

TEST(IptBackend, WaitsForTheXtablesLock) {
  REQUIRE_NETNS();
  if (sh("flock --version >/dev/null 2>&1 && echo ok") != "ok\n") MESHCAP_SKIP("no flock(1)");
  int rc = run_in_new_netns([&] {
    Checks c;
    // An iptables command holding the lock for a second, as flock(1) does it.
    c.expect(std::system("flock /run/xtables.lock sleep 1 & sleep 0.2") == 0, "hold the lock");
    auto start = std::chrono::steady_clock::now();
    auto b = make_iptables_backend();
    c.ok(b->apply(make_plan(dual_stack())), "apply once the lock is free");
    auto waited = std::chrono::steady_clock::now() - start;
    c.expect(waited >= std::chrono::milliseconds(500), "apply waited for the lock");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

// One meshcap command holds the lock from its first iptables call to its
// end (kernel_backend's ForLifetime); another backend in the same process
// shares that hold instead of waiting for it, and the lock goes with the last
// holder. The per-call default releases it after every call.
TEST(IptBackend, ALifetimeHoldKeepsTheXtablesLockUntilTheBackendGoes) {
  REQUIRE_NETNS();
  if (sh("flock --version >/dev/null 2>&1 && echo ok") != "ok\n") MESHCAP_SKIP("no flock(1)");
  int rc = run_in_new_netns([&] {
    Checks c;
    auto free_now = [] { return std::system("flock -n /run/xtables.lock true") == 0; };
    {
      auto b = make_iptables_backend(XtablesLockHold::ForLifetime);
      c.ok(b->apply(make_plan(dual_stack())), "apply");
      c.expect(!free_now(), "the lock is still held after apply");
      auto start = std::chrono::steady_clock::now();
      auto other = make_iptables_backend();
      auto seen = other->observe();
      c.ok(seen, "a second backend observes");
      c.expect(std::chrono::steady_clock::now() - start < std::chrono::seconds(1), "without waiting for the lock");
      Plan want = b->held_form(make_plan(dual_stack()));
      want.policy_rules.clear();
      want.local_routes.clear();
      want.lo_addresses.clear();
      if (seen) c.expect_eq("", diff(want, *seen), "it reads what was applied");
      other.reset();
      c.expect(!free_now(), "still held while the first backend lives");
      c.ok(b->observe(), "read back");
    }
    c.expect(free_now(), "released with the backend");
    auto per_call = make_iptables_backend();
    c.ok(per_call->observe(), "a per-call observe");
    c.expect(free_now(), "released after the call");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

TEST(IptBackend, WhatOneEntryCannotHoldIsRefusedBeforeAnythingChanges) {
  REQUIRE_NETNS();
  Plan plan = make_plan(dual_stack());
  Plan odd = plan;
  auto& out = odd.tables[0].chains[1];
  ASSERT_EQ(out.name, "output");
  out.rules.push_back({{AddrMatch{true, {cidr("10.0.0.1")}, ""}, AddrMatch{true, {cidr("10.0.0.2")}, ""}},
                       ReturnAction{},
                       ""});
  int rc = run_in_new_netns([&] {
    Checks c;
    auto b = make_iptables_backend();
    c.ok(b->apply(plan), "apply");
    std::string before = saves();
    auto r = b->apply(odd);
    c.expect(!r, "two source addresses in one rule are refused");
    if (!r)
      c.expect(r.error().message.find("MESHCAP_OUTPUT rule") != std::string::npos &&
                   r.error().message.find("source address") != std::string::npos,
               "names the rule: " + r.error().message);
    c.expect_eq(before, saves(), "nothing changed");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

// Through the binary: apply, check, a different config fails check, cleanup.
TEST(IptBackendCli, ApplyCheckCleanup) {
  REQUIRE_NETNS();
  test::NamedNetns ns;
  ASSERT_TRUE(ns.ok());
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), MESHCAP_BINARY);
    args.push_back("--backend");
    args.push_back("iptables");
    return ns.exec(args);
  };
  auto applied = run({"apply", "--capture-dns"});
  ASSERT_EQ(applied.status, 0) << applied.err;
  EXPECT_THAT(applied.err, HasSubstr("via iptables"));
  for (const char* save : {"iptables-legacy-save", "ip6tables-legacy-save"})
    EXPECT_THAT(ns.exec({save}).out, HasSubstr("-A OUTPUT -m comment --comment meshcap -j MESHCAP_OUTPUT"));
  auto checked = run({"check", "--capture-dns"});
  EXPECT_EQ(checked.status, 0) << checked.err;
  auto other = run({"check", "--capture-dns", "--outbound-port", "16001"});
  EXPECT_EQ(other.status, 4) << other.err;
  EXPECT_THAT(other.err, HasSubstr("16001"));
  EXPECT_EQ(run({"apply", "--capture-dns"}).status, 0) << "re-apply";
  EXPECT_EQ(run({"cleanup"}).status, 0);
  EXPECT_THAT(ns.exec({"iptables-legacy-save"}).out, Not(HasSubstr("MESHCAP")));
  EXPECT_EQ(run({"cleanup"}).status, 0) << "cleanup with nothing to remove";
  EXPECT_EQ(run({"check", "--capture-dns"}).status, 4);
}

// Real traffic: an app-uid connection from the pod to its peer lands on the
// pod's listener on 15001, which reads the peer's address back with
// SO_ORIGINAL_DST (IPv4) and IP6T_SO_ORIGINAL_DST (IPv6).
TEST(IptBackendCli, AppConnectionLandsOnTheOutboundPort) {
  REQUIRE_NETNS();
  test::NamedNetns pod, peer;
  ASSERT_TRUE(pod.ok() && peer.ok());
  std::string host_end = "mcv" + std::to_string(getpid() % 100000);
  ASSERT_EQ(test::run_program(
                {"ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", pod.name()})
                .status,
            0);
  ASSERT_EQ(test::run_program({"ip", "link", "set", host_end, "netns", peer.name()}).status, 0);
  ASSERT_EQ(peer.exec({"ip", "addr", "add", "10.249.0.1/24", "dev", host_end}).status, 0);
  ASSERT_EQ(peer.exec({"ip", "link", "set", host_end, "up"}).status, 0);
  ASSERT_EQ(pod.exec({"ip", "addr", "add", "10.249.0.2/24", "dev", "eth0"}).status, 0);
  ASSERT_EQ(pod.exec({"ip", "link", "set", "eth0", "up"}).status, 0);
  ASSERT_EQ(peer.exec({"ip", "addr", "add", "fd00:249::1/64", "dev", host_end, "nodad"}).status, 0);
  ASSERT_EQ(pod.exec({"ip", "addr", "add", "fd00:249::2/64", "dev", "eth0", "nodad"}).status, 0);

  auto applied = pod.exec({MESHCAP_BINARY, "apply", "--backend", "iptables", "--ipv6", "on"});
  ASSERT_EQ(applied.status, 0) << applied.err;

  // The listener runs as root (not a proxy uid: it only accepts); the client
  // drops to nobody, an app uid, before connecting.
  // SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST are both 80.
  const char* script = R"PY(
import os, socket, struct, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
srv = socket.socket(family); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 15001)); srv.listen(1); srv.settimeout(5)
pid = os.fork()
if pid == 0:
    os.setgid(65534); os.setuid(65534)
    c = socket.socket(family); c.settimeout(5)
    try:
        c.connect((sys.argv[1], 8080)); c.recv(1)
    except Exception:
        pass
    os._exit(0)
conn, _ = srv.accept()
if family == socket.AF_INET6:
    raw = conn.getsockopt(socket.IPPROTO_IPV6, 80, 28)
    addr = socket.inet_ntop(family, raw[8:24])
else:
    raw = conn.getsockopt(socket.SOL_IP, 80, 16)
    addr = socket.inet_ntoa(raw[4:8])
port, = struct.unpack("!H", raw[2:4])
print("%s:%d" % (addr, port))
conn.close(); os.waitpid(pid, 0)
)PY";
  for (std::string peer_addr : {"10.249.0.1", "fd00:249::1"}) {
    auto probe = pod.exec({"/usr/bin/python3", "-c", script, peer_addr});
    EXPECT_EQ(probe.status, 0) << probe.err;
    EXPECT_EQ(probe.out, peer_addr + ":8080\n") << probe.err;
  }
}

// A /0 is stored by the kernel as "any" and reads back as no address: the
// apply's own read-back and a later check must agree with the plan.
TEST(IptBackendCli, WholeFamilyCidrsVerify) {
  REQUIRE_NETNS();
  const std::vector<std::vector<std::string>> cases = {
      {"--exclude-outbound-cidrs", "0.0.0.0/0"},
      {"--exclude-outbound-cidrs", "::/0"},
      {"--outbound-cidrs", "0.0.0.0/0"},
      {"--capture-dns", "--dns-servers", "0.0.0.0/0"},
  };
  const std::vector<std::string> expected = {
      "-A MESHCAP_OUTPUT -j RETURN",
      "-A MESHCAP_OUTPUT -j RETURN",
      "-A MESHCAP_OUTPUT -p tcp -j REDIRECT --to-ports 15001",
      "-A MESHCAP_OUTPUT -p udp -m udp --dport 53 -j REDIRECT --to-ports 15053",
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    test::NamedNetns ns;
    ASSERT_TRUE(ns.ok());
    auto run = [&](const char* command) {
      std::vector<std::string> args = {MESHCAP_BINARY, command, "--backend", "iptables", "--ipv6", "on"};
      args.insert(args.end(), cases[i].begin(), cases[i].end());
      return ns.exec(args);
    };
    std::string what = cases[i].back();
    auto applied = run("apply");
    EXPECT_EQ(applied.status, 0) << what << ": " << applied.err;
    auto checked = run("check");
    EXPECT_EQ(checked.status, 0) << what << ": " << checked.err;
    bool v6 = what == "::/0";
    auto save = ns.exec({v6 ? "ip6tables-legacy-save" : "iptables-legacy-save", "-t", "nat"}).out;
    EXPECT_THAT(save, HasSubstr(expected[i] + "\n")) << what;
    EXPECT_THAT(save, Not(HasSubstr("/0 "))) << what;
  }
}

// The user's MESHCAP_CUSTOM chain, a rule in it and a jump to it.
void add_users_chain(Checks& c, const std::function<int(const std::string&)>& run) {
  for (const char* cmd : {"iptables-legacy -t nat -N MESHCAP_CUSTOM",
                          "iptables-legacy -t nat -A MESHCAP_CUSTOM -p tcp --dport 7 -j RETURN",
                          "iptables-legacy -t nat -A OUTPUT -j MESHCAP_CUSTOM"})
    c.expect(run(cmd) == 0, cmd);
}

// Only the chains meshcap creates are meshcap's, not everything that shares
// its prefix.
TEST(IptBackend, AUsersChainWithMeshcapsPrefixIsNotMeshcaps) {
  REQUIRE_NETNS();
  int rc = run_in_new_netns([&] {
    Checks c;
    add_users_chain(c, [](const std::string& cmd) { return std::system(cmd.c_str()); });
    // apply instantiates the IPv6 nat table; list it so that both saves show it.
    c.expect(std::system("ip6tables-legacy -t nat -S >/dev/null") == 0, "list ip6 nat");
    std::string before = saves();
    auto b = make_iptables_backend();
    c.ok(b->remove(), "remove with only the user's chain there");
    c.expect_eq(before, saves(), "remove left the user's chain and jump alone");
    auto got = b->observe();
    if (c.ok(got, "observe")) c.expect(got->tables.empty(), "observe finds nothing of meshcap's");
    c.ok(b->apply(make_plan(dual_stack())), "apply");
    got = b->observe();
    if (c.ok(got, "observe after apply"))
      c.expect_eq("", diff(tables_of(b->held_form(make_plan(dual_stack()))), *got), "observed");
    c.ok(b->remove(), "remove");
    c.expect_eq(before, saves(), "remove took only meshcap's");
    return c.rc();
  });
  EXPECT_EQ(rc, 0);
}

// One family's section of an iptables rendering.
std::string section(const std::string& text, Family f) {
  size_t v6 = text.find("# === IPv6");
  return f == Family::V4 ? text.substr(0, v6) : text.substr(v6);
}

// Release 0.1.0's rendering (tests/fixtures/meshcap-0.1.0, the goldens of
// that release: bare jumps), loaded as its users did. This release's cleanup
// must remove exactly it, check must name the difference, and apply must
// converge from it; a user's MESHCAP_CUSTOM stays throughout.
TEST(IptBackendCli, FindsWhatRelease010Left) {
  REQUIRE_NETNS();
  std::string fixture_dir = std::string(MESHCAP_SOURCE_DIR) + "/tests/fixtures/meshcap-0.1.0/";
  // The fixture's settings (tests/unit/render_test.cpp, scenario "tproxy").
  const std::vector<std::string> tproxy = {"--inbound-mode", "tproxy", "--exclude-inbound-ports",
                                           "15020-15021", "--ipv6", "on"};
  for (const char* fixture : {"all_options.iptables", "tproxy.iptables"}) {
    SCOPED_TRACE(fixture);
    std::string text = read_file(fixture_dir + fixture);
    ASSERT_THAT(text, HasSubstr("-A OUTPUT -j MESHCAP_OUTPUT\n")) << "0.1.0 wrote bare jumps";
    test::NamedNetns ns;
    ASSERT_TRUE(ns.ok());
    auto meshcap = [&](std::vector<std::string> args) {
      args.insert(args.begin(), MESHCAP_BINARY);
      args.insert(args.end(), {"--backend", "iptables"});
      return ns.exec(args);
    };
    auto both_saves = [&] {
      return normalised(ns.exec({"iptables-legacy-save"}).out) + "## v6\n" +
             normalised(ns.exec({"ip6tables-legacy-save"}).out);
    };
    Checks c;
    add_users_chain(c, [&](const std::string& cmd) {
      std::vector<std::string> argv;
      std::istringstream in(cmd);
      for (std::string w; in >> w;) argv.push_back(w);
      return ns.exec(argv).status;
    });
    // Listing instantiates the tables the fixture fills, so the saves before
    // and after cleanup list the same tables.
    for (const char* tool : {"iptables-legacy", "ip6tables-legacy"})
      for (const char* table : {"nat", "mangle", "raw"}) ns.exec({tool, "-t", table, "-S"});
    std::string before = both_saves();
    ASSERT_EQ(c.rc(), 0);
    for (Family f : {Family::V4, Family::V6}) {
      auto loaded = ns.exec({f == Family::V4 ? "iptables-legacy-restore" : "ip6tables-legacy-restore",
                             "--noflush"},
                            {}, section(text, f));
      ASSERT_EQ(loaded.status, 0) << loaded.err;
    }
    ASSERT_THAT(both_saves(), HasSubstr("MESHCAP_OUTPUT"));
    if (std::string(fixture) == "tproxy.iptables") {
      std::vector<std::string> check = {"check"};
      check.insert(check.end(), tproxy.begin(), tproxy.end());
      auto checked = meshcap(check);
      EXPECT_EQ(checked.status, 4) << checked.err;
      EXPECT_THAT(checked.err, HasSubstr("lacks -m comment --comment meshcap (left by meshcap 0.1.0)"));
      std::vector<std::string> apply = {"apply"};
      apply.insert(apply.end(), tproxy.begin(), tproxy.end());
      auto applied = meshcap(apply);
      EXPECT_EQ(applied.status, 0) << applied.err;
      checked = meshcap(check);
      EXPECT_EQ(checked.status, 0) << checked.err;
      std::string nat = ns.exec({"iptables-legacy-save", "-t", "nat"}).out;
      EXPECT_THAT(nat, HasSubstr("-A OUTPUT -m comment --comment meshcap -j MESHCAP_OUTPUT\n"));
      EXPECT_THAT(nat, Not(HasSubstr("-A OUTPUT -j MESHCAP_OUTPUT\n")));
    }
    auto cleaned = meshcap({"cleanup"});
    EXPECT_EQ(cleaned.status, 0) << cleaned.err;
    EXPECT_EQ(before, both_saves()) << "cleanup removed exactly release 0.1.0's rules";
  }
}

// A non-root init container (Linkerd's runs as uid 65534 with NET_ADMIN and
// NET_RAW) shares the xtables lock file root made, read-only; one it cannot
// read at all is a one-line error with a hint. Each run has its own network
// namespace and a private /run holding the lock file.
TEST(IptBackendCli, NonRootTakesTheXtablesLockReadOnly) {
  REQUIRE_NETNS();
  if (sh("setpriv --version >/dev/null 2>&1 && unshare --version >/dev/null 2>&1 && echo ok") != "ok\n")
    MESHCAP_SKIP("no setpriv(1) or unshare(1)");
  auto run_as_nobody = [](const char* mode, int* status) {
    std::string script = std::string("mount -t tmpfs tmpfs /run && touch /run/xtables.lock && chmod ") + mode +
                         " /run/xtables.lock && ip link set lo up && "
                         "setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps +net_admin,+net_raw "
                         "--ambient-caps +net_admin,+net_raw " MESHCAP_BINARY
                         " apply --backend iptables --ipv6 off 2>&1; echo rc=$?; "
                         "iptables-legacy-save -t nat | grep -c -- \"-j MESHCAP_OUTPUT\"";
    return sh("unshare --net --mount sh -c '" + script + "'", status);
  };
  int status = 0;
  std::string out = run_as_nobody("0644", &status);
  EXPECT_THAT(out, HasSubstr("verified rules")) << out;
  EXPECT_THAT(out, HasSubstr("rc=0\n1\n")) << out;
  out = run_as_nobody("0600", &status);
  EXPECT_THAT(out, HasSubstr("cannot open the xtables lock /run/xtables.lock: Permission denied; "
                             "as a non-root user meshcap needs that file to exist and be readable by uid 65534"))
      << out;
  EXPECT_THAT(out, HasSubstr("rc=1\n0\n")) << out;
}

}  // namespace
}  // namespace meshcap
