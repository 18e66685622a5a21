#include <algorithm>

#include <gtest/gtest.h>

#include "meshcap/backend.hpp"
#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"

namespace meshcap {
namespace {

Plan plan_for(uint16_t outbound_port) {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  c.outbound_port = outbound_port;
  return make_plan(c);
}

TEST(FakeBackend, StartsEmpty) {
  FakeBackend fake;
  auto got = fake.observe();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->tables.empty());
  EXPECT_EQ(fake.dump(), "");
}

TEST(FakeBackend, ApplyThenObserveGivesTheTables) {
  FakeBackend fake;
  Plan want = plan_for(15001);
  ASSERT_TRUE(fake.apply(want));
  auto got = fake.observe();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->tables, want.tables);
  EXPECT_TRUE(got->policy_rules.empty()) << "observe holds tables only";
  Plan tables_only;
  tables_only.tables = want.tables;
  EXPECT_EQ(diff(tables_only, *got), "");
}

TEST(FakeBackend, ApplyReplacesWholly) {
  FakeBackend fake;
  ASSERT_TRUE(fake.apply(plan_for(15001)));
  ASSERT_TRUE(fake.apply(plan_for(15111)));
  EXPECT_EQ(fake.observe()->tables, plan_for(15111).tables);
  EXPECT_EQ(fake.dump().find(":15001"), std::string::npos);
}

TEST(FakeBackend, FailureKeepsThePreviousCopyOnce) {
  FakeBackend fake;
  ASSERT_TRUE(fake.apply(plan_for(15001)));
  std::string before = fake.dump();
  fake.fail_next_apply = true;
  auto r = fake.apply(plan_for(15111));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Kernel);
  EXPECT_EQ(fake.dump(), before);
  EXPECT_FALSE(fake.fail_next_apply);
  EXPECT_TRUE(fake.apply(plan_for(15111)));
  EXPECT_NE(fake.dump(), before);
}

TEST(FakeBackend, RefusesAJumpToNowhere) {
  FakeBackend fake;
  ASSERT_TRUE(fake.apply(plan_for(15001)));
  Plan broken = plan_for(15111);
  Rule jump;
  jump.action = JumpAction{"nowhere"};
  broken.tables[0].chains[0].rules.push_back(jump);
  auto r = fake.apply(broken);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Kernel);
  EXPECT_EQ(fake.observe()->tables, plan_for(15001).tables);
}

TEST(FakeBackend, RemoveIsIdempotent) {
  FakeBackend fake;
  EXPECT_TRUE(fake.remove());
  ASSERT_TRUE(fake.apply(plan_for(15001)));
  EXPECT_TRUE(fake.remove());
  EXPECT_TRUE(fake.observe()->tables.empty());
  EXPECT_TRUE(fake.remove());
}

TEST(FakeBackend, DumpIsSortedAndIgnoresOrderOfTablesAndNotes) {
  FakeBackend a, b;
  Plan p = plan_for(15001);
  ASSERT_TRUE(a.apply(p));
  std::reverse(p.tables.begin(), p.tables.end());
  for (auto& t : p.tables) {
    std::reverse(t.chains.begin(), t.chains.end());
    for (auto& c : t.chains)
      for (auto& r : c.rules) r.note = "changed";
  }
  ASSERT_TRUE(b.apply(p));
  EXPECT_EQ(a.dump(), b.dump());
  auto d = a.dump();
  EXPECT_LT(d.find("table ip meshcap {"), d.find("table ip6 meshcap {"));
  EXPECT_LT(d.find("chain inbound {"), d.find("chain output {"));
  EXPECT_EQ(d.find('#'), std::string::npos) << d;
}

}  // namespace
}  // namespace meshcap
