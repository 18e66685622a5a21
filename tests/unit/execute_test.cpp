// execute() over an in-memory namespace: apply -> verify -> rollback, check,
// cleanup, the other backend's leftovers and the lock, without root.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "app/run.hpp"
#include "meshcap/planner.hpp"
#include "support/fake_backend.hpp"
#include "sys/lock.hpp"

namespace meshcap {
namespace {

using app::Command;
using app::Environment;
using test::FakeNamespace;
using ::testing::HasSubstr;
using ::testing::Not;

class Execute : public ::testing::Test {
 protected:
  static Config config(uint16_t outbound_port = 15001, InboundMode mode = InboundMode::Redirect) {
    Config c;
    c.ipv6 = Ipv6Mode::On;
    c.outbound_port = outbound_port;
    c.inbound_mode = mode;
    return c;
  }
  static Config tproxy() { return config(15001, InboundMode::Tproxy); }

  // Other test processes take the same lock (of the runner's namespace) at
  // the same time, briefly: wait for them as meshcap would.
  Result<void> run(Command command, Config c, BackendKind kind = BackendKind::Nft,
                   std::chrono::milliseconds lock_timeout = sys::kLockTimeout) {
    app::Invocation inv;
    inv.command = command;
    c.backend = kind;
    Environment env;
    env.make_backend = [this](BackendKind k, IpsetMode) -> Result<std::unique_ptr<Backend>> { return ns_.backend(k); };
    env.lock_timeout = lock_timeout;
    return app::execute(inv, c, env);
  }
  static int exit_of(const Result<void>& r) { return r ? 0 : exit_code(r.error().kind); }

  // What a successful apply of `c` leaves in the fake: its plan, held by `backend`.
  std::string applied(const Config& c, const char* backend = "nft") {
    FakeNamespace expected;
    auto b = expected.backend(std::string(backend) == "nft" ? BackendKind::Nft : BackendKind::Iptables);
    EXPECT_TRUE(b->apply(make_plan(c)));
    return expected.dump();
  }

  FakeNamespace ns_;
};

TEST_F(Execute, ApplyProgramsAndVerifiesTheWholePlan) {
  auto r = run(Command::Apply, tproxy());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(ns_.dump(), applied(tproxy()));
  EXPECT_FALSE(ns_.routing.policy_rules.empty());
  EXPECT_EQ(exit_of(run(Command::Check, tproxy())), 0);
}

TEST_F(Execute, AKernelRefusalLeavesThePreviousStateAndExits3) {
  ASSERT_TRUE(run(Command::Apply, config()));
  std::string before = ns_.dump();
  ns_.refuse_next_commit = true;
  auto r = run(Command::Apply, tproxy());
  EXPECT_EQ(exit_of(r), 3);
  EXPECT_EQ(ns_.dump(), before) << "the routing state of the refused plan must be rolled back";
  EXPECT_EQ(exit_of(run(Command::Check, config())), 0);
}

TEST_F(Execute, AFailedVerificationRestoresThePreviousStateAndExits4) {
  ASSERT_TRUE(run(Command::Apply, config()));
  std::string before = ns_.dump();
  ns_.lose_a_rule_on_next_commit = true;
  auto r = run(Command::Apply, tproxy());
  ASSERT_EQ(exit_of(r), 4);
  EXPECT_THAT(r.error().message, HasSubstr("verification"));
  EXPECT_EQ(ns_.dump(), before);
  EXPECT_EQ(exit_of(run(Command::Check, config())), 0) << "the old config is intact";
}

TEST_F(Execute, AFailedFirstVerificationLeavesAnEmptyNamespace) {
  ns_.lose_a_rule_on_next_commit = true;
  EXPECT_EQ(exit_of(run(Command::Apply, tproxy())), 4);
  EXPECT_EQ(ns_.dump(), "");
}

TEST_F(Execute, VerifyNoneSkipsTheReadBack) {
  ns_.lose_a_rule_on_next_commit = true;
  Config c = config();
  c.verify = VerifyMode::None;
  EXPECT_EQ(exit_of(run(Command::Apply, c)), 0);
  EXPECT_EQ(exit_of(run(Command::Check, c)), 4) << "check still sees the lost rule";
}

TEST_F(Execute, CheckReportsADifferentConfigAndAnEmptyNamespace) {
  EXPECT_EQ(exit_of(run(Command::Check, config())), 4);
  ASSERT_TRUE(run(Command::Apply, config()));
  auto r = run(Command::Check, config(16001));
  ASSERT_EQ(exit_of(r), 4);
  EXPECT_THAT(r.error().message, HasSubstr("does not hold the intended rules"));
  EXPECT_EQ(exit_of(run(Command::Check, tproxy())), 4) << "missing routing state is a difference";
}

TEST_F(Execute, CheckNamesTheOtherBackendsLeftovers) {
  ASSERT_TRUE(run(Command::Apply, config(), BackendKind::Iptables));
  // Put nft's copy in place behind execute()'s back, as an older run would.
  ns_.tables["nft"] = ns_.tables["iptables"];
  auto r = run(Command::Check, config(), BackendKind::Nft);
  ASSERT_EQ(exit_of(r), 4);
  EXPECT_THAT(r.error().message, HasSubstr("the iptables backend still holds"));
  EXPECT_THAT(r.error().message, Not(HasSubstr("does not hold the intended rules")));
  auto both = run(Command::Check, config(16001), BackendKind::Nft);
  ASSERT_EQ(exit_of(both), 4);
  EXPECT_THAT(both.error().message, HasSubstr("does not hold the intended rules"));
  EXPECT_THAT(both.error().message, HasSubstr("the iptables backend still holds"));
}

TEST_F(Execute, ApplyWithOneBackendRemovesTheOthersState) {
  ASSERT_TRUE(run(Command::Apply, config(), BackendKind::Iptables));
  ASSERT_EQ(ns_.tables.count("iptables"), 1u);
  ASSERT_TRUE(run(Command::Apply, config(), BackendKind::Nft));
  EXPECT_EQ(ns_.dump(), applied(config(), "nft"));
  EXPECT_EQ(exit_of(run(Command::Check, config(), BackendKind::Nft)), 0);
  ASSERT_TRUE(run(Command::Apply, config(), BackendKind::Iptables));
  EXPECT_EQ(ns_.dump(), applied(config(), "iptables"));
}

TEST_F(Execute, AnOtherBackendThatCannotBeReadStopsNoRun) {
  // Non-root with only NET_ADMIN: legacy iptables cannot be read, nft can.
  ns_.unreadable.insert("iptables");
  ASSERT_TRUE(run(Command::Apply, config(), BackendKind::Nft));
  EXPECT_EQ(exit_of(run(Command::Check, config(), BackendKind::Nft)), 0);
  ASSERT_TRUE(run(Command::Cleanup, config(), BackendKind::Nft));
  EXPECT_EQ(ns_.tables.count("nft"), 0u);
}

TEST_F(Execute, AFailedApplyKeepsTheOtherBackendsState) {
  ASSERT_TRUE(run(Command::Apply, config(), BackendKind::Iptables));
  std::string before = ns_.dump();
  ns_.lose_a_rule_on_next_commit = true;
  EXPECT_EQ(exit_of(run(Command::Apply, config(), BackendKind::Nft)), 4);
  EXPECT_EQ(ns_.dump(), before);
}

TEST_F(Execute, AutoIsTheFactorysChoice) {
  ns_.auto_choice = BackendKind::Iptables;
  ASSERT_TRUE(run(Command::Apply, config(), BackendKind::Auto));
  EXPECT_EQ(ns_.tables.count("iptables"), 1u);
  EXPECT_EQ(ns_.tables.count("nft"), 0u);
}

TEST_F(Execute, CleanupRemovesEverythingButTheLoAddressAndIsIdempotent) {
  ASSERT_TRUE(run(Command::Apply, tproxy(), BackendKind::Iptables));
  ns_.tables["nft"] = ns_.tables["iptables"];
  ASSERT_TRUE(run(Command::Cleanup, config()));
  EXPECT_TRUE(ns_.tables.empty()) << "both backends' tables go";
  EXPECT_TRUE(ns_.routing.policy_rules.empty());
  EXPECT_TRUE(ns_.routing.local_routes.empty());
  EXPECT_EQ(ns_.routing.lo_addresses, make_plan(tproxy()).lo_addresses);
  EXPECT_TRUE(run(Command::Cleanup, config()));
}

TEST_F(Execute, AHeldLockIsExit1WithAWayForward) {
  auto held = sys::lock_netns();
  ASSERT_TRUE(held) << held.error().message;
  constexpr std::chrono::milliseconds kShort{200};
  auto r = run(Command::Apply, config(), BackendKind::Nft, kShort);
  ASSERT_EQ(exit_of(r), 1);
  EXPECT_THAT(r.error().message, HasSubstr("another meshcap holds this namespace's lock"));
  EXPECT_THAT(r.error().message, HasSubstr("try again"));
  EXPECT_EQ(ns_.applies, 0) << "nothing is touched without the lock";
  EXPECT_THAT(r.error().message, HasSubstr("waited 0.2 s"));
  EXPECT_EQ(exit_of(run(Command::Check, config(), BackendKind::Nft, kShort)), 1);
  EXPECT_EQ(exit_of(run(Command::Cleanup, config(), BackendKind::Nft, kShort)), 1);
}

TEST_F(Execute, TheLockIsFreeAgainAfterARun) {
  ASSERT_TRUE(run(Command::Apply, config()));
  auto again = sys::lock_netns();
  EXPECT_TRUE(again) << again.error().message;
}

TEST_F(Execute, DryRunNeedsNeitherLockNorBackend) {
  auto held = sys::lock_netns();
  ASSERT_TRUE(held) << held.error().message;
  app::Invocation inv;
  Config c = config();
  c.dry_run = true;
  Environment env;
  bool made = false;
  env.make_backend = [&](BackendKind, IpsetMode) -> Result<std::unique_ptr<Backend>> {
    made = true;
    return fail(ErrorKind::Other, "no backend in a dry run");
  };
  env.lock_timeout = std::chrono::milliseconds(0);
  testing::internal::CaptureStdout();
  auto r = app::execute(inv, c, env);
  auto out = testing::internal::GetCapturedStdout();
  EXPECT_TRUE(r);
  EXPECT_FALSE(made);
  EXPECT_THAT(out, HasSubstr("table ip meshcap"));
}

}  // namespace
}  // namespace meshcap
