// The contract every Backend keeps, run over the fake, nft and iptables:
// apply, observe, re-apply converges, remove, undo, foreign state untouched,
// a kernel refusal rolls the routing state back too. The real backends run in
// a forked child inside a throwaway network namespace.
#include <gtest/gtest.h>

#include "app/run.hpp"
#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"
#include "support/child_checks.hpp"
#include "support/configs.hpp"
#include "support/fake_backend.hpp"
#include "support/netns.hpp"

namespace meshcap {
namespace {

using test::Checks;

// What a contract body gets: a way to make the backend under test, and a
// way to plant and read state that is not meshcap's.
struct Ctx {
  std::function<std::unique_ptr<Backend>()> make;
  std::function<void()> add_foreign;
  std::function<std::string()> foreign;
  // Makes the next netfilter commit fail; only the fake can (a real kernel
  // is made to refuse with a plan it cannot hold).
  std::function<void()> refuse_next_commit;
};
using Body = std::function<int(Ctx&)>;

struct Fake {
  static int run(const Body& body) {
    test::FakeNamespace ns;
    Ctx ctx{[&] { return ns.backend(BackendKind::Nft); },
            [&] {
              Plan other = make_plan(Config{});
              other.tables[0].chains[0].name = "admin";
              ns.tables["someone-else"] = other;
            },
            [&] {
              auto it = ns.tables.find("someone-else");
              return it == ns.tables.end() ? std::string() : diff(Plan{}, it->second);
            },
            [&] { ns.refuse_next_commit = true; }};
    return body(ctx);
  }
};

template <BackendKind kKind>
struct Kernel {
  static int run(const Body& body) {
    return test::run_in_new_netns([&] {
      Ctx ctx{[] {
                auto made = app::kernel_backend(kKind);
                if (!made) {
                  std::cerr << "making the backend: " << made.error().message << "\n";
                  std::exit(1);
                }
                return std::move(*made);
              },
              [] {
                test::sh(
                    "nft add table inet other && "
                    "nft add chain inet other c '{ type filter hook output priority 0; }' && "
                    "nft add rule inet other c tcp dport 22 counter accept && "
                    "iptables-legacy -t nat -A OUTPUT -p tcp --dport 2222 -j RETURN && "
                    "ip6tables-legacy -t mangle -N ADMIN && "
                    "ip rule add fwmark 7 lookup 77 priority 100 && "
                    "ip route add local 10.9.0.0/16 dev lo table 77");
              },
              [] {
                return test::sh(
                    "nft list table inet other; "
                    // Rules and user chains: the tables themselves
                    // stay once created, empty, in legacy iptables.
                    "(iptables-legacy-save; ip6tables-legacy-save) | grep -E '^(-A|:[^ ]+ - )' | "
                    "grep -v MESHCAP | uniq; "
                    "ip rule show | grep -v 'lookup 133'; ip route show table 77");
              },
              nullptr};
      return body(ctx);
    });
  }
};

template <class T>
class BackendContract : public ::testing::Test {
 protected:
  void SetUp() override {
    if constexpr (!std::is_same_v<T, Fake>) {
      MESHCAP_REQUIRE_NETNS_AND("nft");
      MESHCAP_REQUIRE_NETNS_AND("iptables-legacy-save");
    }
  }
};

using Kinds = ::testing::Types<Fake, Kernel<BackendKind::Nft>, Kernel<BackendKind::Iptables>>;
class KindNames {
 public:
  template <class T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, Fake>) return "fake";
    if constexpr (std::is_same_v<T, Kernel<BackendKind::Nft>>) return "nft";
    return "iptables";
  }
};
TYPED_TEST_SUITE(BackendContract, Kinds, KindNames);

Plan tproxy_plan(uint16_t outbound_port = 15001) {
  Config c = test::everything_on();
  c.inbound_mode = InboundMode::Tproxy;
  c.outbound_port = outbound_port;
  return make_plan(c);
}

Plan redirect_plan() {
  Config c;
  c.ipv6 = Ipv6Mode::On;
  return make_plan(c);
}

// Expects the backend to hold exactly `plan`.
void expect_holds(Checks& c, Backend& b, const Plan& plan, const std::string& what) {
  auto got = b.observe();
  if (!c.ok(got, what + ": observe")) return;
  c.expect_eq("", diff(b.held_form(plan), *got), what);
}

TYPED_TEST(BackendContract, ApplyThenObserveGivesThePlanBack) {
  EXPECT_EQ(TypeParam::run([](Ctx& ctx) {
              Checks c;
              auto b = ctx.make();
              c.ok(b->apply(tproxy_plan()), "apply");
              expect_holds(c, *b, tproxy_plan(), "after apply");
              expect_holds(c, *ctx.make(), tproxy_plan(), "read by a new backend object");
              c.expect(!b->observe()->policy_rules.empty(), "observe includes the routing state");
              return c.rc();
            }),
            0);
}

TYPED_TEST(BackendContract, ReapplyConvergesAndAChangedPlanReplaces) {
  EXPECT_EQ(TypeParam::run([](Ctx& ctx) {
              Checks c;
              auto b = ctx.make();
              c.ok(b->apply(tproxy_plan()), "apply");
              c.ok(b->apply(tproxy_plan()), "apply again");
              expect_holds(c, *b, tproxy_plan(), "after the same plan twice");
              c.ok(b->apply(tproxy_plan(16001)), "apply another port");
              expect_holds(c, *b, tproxy_plan(16001), "after a changed plan");
              c.ok(b->apply(redirect_plan()), "switch to redirect");
              expect_holds(c, *b, redirect_plan(), "after switching to redirect");
              c.expect(b->observe()->policy_rules.empty(), "redirect leaves no policy rule");
              return c.rc();
            }),
            0);
}

TYPED_TEST(BackendContract, RemoveTakesEverythingButLoAndIsIdempotent) {
  EXPECT_EQ(TypeParam::run([](Ctx& ctx) {
              Checks c;
              auto b = ctx.make();
              c.ok(b->remove(), "remove with nothing there");
              c.ok(b->apply(tproxy_plan()), "apply");
              c.ok(b->remove(), "remove");
              auto got = b->observe();
              if (c.ok(got, "observe")) {
                c.expect(got->tables.empty(), "no table left");
                c.expect(got->policy_rules.empty(), "no policy rule left");
                c.expect(got->local_routes.empty(), "no local route left");
              }
              c.ok(b->remove(), "remove again");
              return c.rc();
            }),
            0);
}

TYPED_TEST(BackendContract, UndoPutsBackTheStateBeforeTheLastApply) {
  EXPECT_EQ(TypeParam::run([](Ctx& ctx) {
              Checks c;
              auto b = ctx.make();
              c.ok(b->apply(redirect_plan()), "apply redirect");
              c.ok(b->apply(tproxy_plan()), "apply tproxy");
              c.ok(b->undo(), "undo");
              // Including the ::6 the tproxy plan added to lo.
              expect_holds(c, *b, redirect_plan(), "after undo");
              return c.rc();
            }),
            0);
}

TYPED_TEST(BackendContract, ForeignStateIsUntouched) {
  EXPECT_EQ(TypeParam::run([](Ctx& ctx) {
              Checks c;
              ctx.add_foreign();
              std::string before = ctx.foreign();
              c.expect(!before.empty(), "foreign state was planted");
              auto b = ctx.make();
              c.ok(b->apply(tproxy_plan()), "apply");
              c.expect_eq(before, ctx.foreign(), "after apply");
              c.ok(b->apply(redirect_plan()), "apply redirect");
              c.expect_eq(before, ctx.foreign(), "after a changed apply");
              c.ok(b->remove(), "remove");
              c.expect_eq(before, ctx.foreign(), "after remove");
              return c.rc();
            }),
            0);
}

TYPED_TEST(BackendContract, AKernelRefusalRollsTheRoutingStateBackToo) {
  EXPECT_EQ(TypeParam::run([](Ctx& ctx) {
              Checks c;
              auto b = ctx.make();
              c.ok(b->apply(redirect_plan()), "apply redirect");
              auto before = b->observe();
              if (!c.ok(before, "observe before")) return c.rc();
              // tproxy (routing state goes in first) plus a jump the kernel refuses.
              Plan broken = tproxy_plan();
              Rule jump;
              jump.action = JumpAction{"nowhere"};
              broken.tables[0].chains[0].rules.push_back(jump);
              auto r = b->apply(broken);
              c.expect(!r, "the refused plan fails");
              auto after = b->observe();
              if (c.ok(after, "observe after")) {
                c.expect_eq("", diff(*before, *after), "the namespace holds what it held before");
                c.expect(after->policy_rules.empty(), "no policy rule of the refused plan is left");
              }
              if (ctx.refuse_next_commit) {
                ctx.refuse_next_commit();
                c.expect(!b->apply(tproxy_plan()), "an injected refusal fails");
                auto injected = b->observe();
                if (c.ok(injected, "observe after the injected refusal"))
                  c.expect_eq("", diff(*before, *injected), "an injected refusal leaves what was there");
              }
              return c.rc();
            }),
            0);
}

}  // namespace
}  // namespace meshcap
