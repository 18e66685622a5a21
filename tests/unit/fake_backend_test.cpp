// The Backend composition (routing first, then the netfilter commit, one
// undo) over the in-memory namespace of tests/support/fake_backend.hpp.
#include "support/fake_backend.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"

namespace meshcap {
namespace {

using test::FakeNamespace;

Plan plan_for(uint16_t outbound_port, InboundMode mode = InboundMode::Redirect) {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  c.outbound_port = outbound_port;
  c.inbound_mode = mode;
  return make_plan(c);
}

Plan tproxy_plan() { return plan_for(15001, InboundMode::Tproxy); }

TEST(FakeBackend, StartsEmpty) {
  FakeNamespace ns;
  auto got = ns.backend(BackendKind::Nft)->observe();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->tables.empty());
  EXPECT_TRUE(got->policy_rules.empty());
  EXPECT_EQ(ns.dump(), "");
}

TEST(FakeBackend, ObserveGivesTablesAndRoutingState) {
  FakeNamespace ns;
  auto b = ns.backend(BackendKind::Nft);
  Plan want = tproxy_plan();
  ASSERT_FALSE(want.policy_rules.empty());
  ASSERT_TRUE(b->apply(want));
  auto got = b->observe();
  ASSERT_TRUE(got);
  EXPECT_EQ(diff(want, *got), "");
  EXPECT_EQ(ns.tables.count("nft"), 1u);
  EXPECT_EQ(ns.tables.count("iptables"), 0u);
}

TEST(FakeBackend, ApplyReplacesWholly) {
  FakeNamespace ns;
  auto b = ns.backend(BackendKind::Nft);
  ASSERT_TRUE(b->apply(tproxy_plan()));
  ASSERT_TRUE(b->apply(plan_for(15111)));
  EXPECT_EQ(diff(plan_for(15111), *b->observe()), "");
  EXPECT_TRUE(ns.routing.policy_rules.empty()) << "redirect mode has no policy rules";
  EXPECT_EQ(ns.dump().find(":15001"), std::string::npos);
}

TEST(FakeBackend, ARefusedCommitRollsTheRoutingStateBack) {
  FakeNamespace ns;
  auto b = ns.backend(BackendKind::Nft);
  ASSERT_TRUE(b->apply(plan_for(15001)));
  std::string before = ns.dump();
  ns.refuse_next_commit = true;
  auto r = b->apply(tproxy_plan());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Kernel);
  EXPECT_EQ(ns.dump(), before) << "the tproxy policy rules went in first and must be gone again";
  EXPECT_FALSE(ns.refuse_next_commit) << "an injected failure fires once";
  EXPECT_TRUE(b->apply(tproxy_plan()));
  EXPECT_NE(ns.dump(), before);
}

TEST(FakeBackend, ARefusedRoutingChangeTouchesNoTable) {
  FakeNamespace ns;
  auto b = ns.backend(BackendKind::Nft);
  ASSERT_TRUE(b->apply(plan_for(15001)));
  std::string before = ns.dump();
  ns.refuse_next_routing = true;
  ASSERT_FALSE(b->apply(tproxy_plan()));
  EXPECT_EQ(ns.dump(), before);
}

TEST(FakeBackend, RefusesAJumpToNowhereAndKeepsEverything) {
  FakeNamespace ns;
  auto b = ns.backend(BackendKind::Nft);
  ASSERT_TRUE(b->apply(plan_for(15001)));
  std::string before = ns.dump();
  Plan broken = tproxy_plan();
  Rule jump;
  jump.action = JumpAction{"nowhere"};
  broken.tables[0].chains[0].rules.push_back(jump);
  auto r = b->apply(broken);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Kernel);
  EXPECT_EQ(ns.dump(), before);
}

TEST(FakeBackend, UndoPutsBackWhatTheLastApplyChanged) {
  FakeNamespace ns;
  auto b = ns.backend(BackendKind::Nft);
  ASSERT_TRUE(b->apply(plan_for(15001)));
  std::string before = ns.dump();
  ASSERT_TRUE(b->apply(tproxy_plan()));
  ASSERT_NE(ns.dump(), before);
  ASSERT_TRUE(b->undo());
  EXPECT_EQ(ns.dump(), before);
  EXPECT_TRUE(b->undo()) << "a second undo has nothing left to do";
  EXPECT_EQ(ns.dump(), before);
}

TEST(FakeBackend, UndoOfTheFirstApplyLeavesNothing) {
  FakeNamespace ns;
  auto b = ns.backend(BackendKind::Nft);
  ASSERT_TRUE(b->apply(tproxy_plan()));
  ASSERT_TRUE(b->undo());
  EXPECT_TRUE(ns.tables.empty());
  EXPECT_TRUE(ns.routing.policy_rules.empty());
  EXPECT_TRUE(ns.routing.lo_addresses.empty()) << "the ::6 this apply added goes too";
}

TEST(FakeBackend, RemoveIsIdempotentAndKeepsLoAddresses) {
  FakeNamespace ns;
  auto b = ns.backend(BackendKind::Nft);
  EXPECT_TRUE(b->remove());
  ASSERT_TRUE(b->apply(tproxy_plan()));
  EXPECT_TRUE(b->remove());
  auto got = b->observe();
  EXPECT_TRUE(got->tables.empty());
  EXPECT_TRUE(got->policy_rules.empty());
  EXPECT_TRUE(got->local_routes.empty());
  EXPECT_EQ(got->lo_addresses, tproxy_plan().lo_addresses) << "::6 on lo may predate meshcap";
  EXPECT_TRUE(b->remove());
}

TEST(FakeBackend, StraysAreTheOtherBackendsTables) {
  FakeNamespace ns;
  ASSERT_TRUE(ns.backend(BackendKind::Iptables)->apply(plan_for(15001)));
  auto nft = ns.backend(BackendKind::Nft);
  ASSERT_TRUE(nft->apply(plan_for(15001)));
  auto strays = nft->strays();
  ASSERT_TRUE(strays);
  ASSERT_EQ(strays->size(), 1u);
  EXPECT_EQ((*strays)[0].backend, "iptables");
  EXPECT_EQ((*strays)[0].held.tables, plan_for(15001).tables);
  ASSERT_TRUE(nft->remove_strays(*strays));
  EXPECT_TRUE(nft->strays()->empty());
  EXPECT_EQ(ns.tables.count("nft"), 1u) << "only the other backend's tables go";
}

TEST(FakeBackend, DumpIsSortedAndIgnoresOrderOfTablesAndNotes) {
  FakeNamespace a, b;
  Plan p = plan_for(15001);
  ASSERT_TRUE(a.backend(BackendKind::Nft)->apply(p));
  std::reverse(p.tables.begin(), p.tables.end());
  for (auto& t : p.tables) {
    std::reverse(t.chains.begin(), t.chains.end());
    for (auto& c : t.chains)
      for (auto& r : c.rules) r.note = "changed";
  }
  ASSERT_TRUE(b.backend(BackendKind::Nft)->apply(p));
  EXPECT_EQ(a.dump(), b.dump());
  auto d = a.dump();
  EXPECT_LT(d.find("table ip meshcap {"), d.find("table ip6 meshcap {"));
  EXPECT_LT(d.find("chain inbound {"), d.find("chain output {"));
  EXPECT_EQ(d.find("changed"), std::string::npos) << d;
}

TEST(FakeBackend, AnUnreadableOtherBackendIsReportedNotFatal) {
  FakeNamespace ns;
  ns.unreadable.insert("iptables");
  auto nft = ns.backend(BackendKind::Nft);
  ASSERT_TRUE(nft->apply(plan_for(15001)));
  auto strays = nft->strays();
  ASSERT_TRUE(strays);
  ASSERT_EQ(strays->size(), 1u);
  EXPECT_EQ((*strays)[0].backend, "iptables");
  EXPECT_NE((*strays)[0].unreadable.find("cannot be read"), std::string::npos);
  EXPECT_TRUE((*strays)[0].held.tables.empty());
  EXPECT_TRUE(nft->remove_strays(*strays)) << "nothing readable to remove is success";
  EXPECT_EQ(ns.tables.count("nft"), 1u);
}

}  // namespace
}  // namespace meshcap
