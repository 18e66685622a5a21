// src/sys against a real kernel, each test in its own network namespace, with
// `ip` as the independent oracle. Bodies run in a forked child, so they report
// failures by printing and returning non-zero (CHECK) instead of gtest macros.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "meshcap/diff.hpp"
#include "netlink/netlink.hpp"
#include "support/caps.hpp"
#include "support/named_netns.hpp"
#include "support/netns.hpp"
#include "sys/features.hpp"
#include "sys/netns.hpp"
#include "sys/rtnl.hpp"

namespace meshcap {
namespace {

using test::run_in_new_netns;
using test::sh;

// Failure output from a forked child goes to stderr, which gtest shows.
#define CHECK(cond, ...)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      (void)std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      (void)std::fprintf(stderr, "  " __VA_ARGS__);                                       \
      (void)std::fputc('\n', stderr);                                                     \
      return 1;                                                                           \
    }                                                                                     \
  } while (0)

// The planner's tproxy + IPv6 output, on a given table.
Plan tproxy_plan(uint32_t table = 133) {
  Plan p;
  p.policy_rules = {{Family::V4, 0x539, table, 32000}, {Family::V6, 0x539, table, 32000}};
  p.local_routes = {{Family::V4, table}, {Family::V6, table}};
  p.lo_addresses = {{Cidr::host(Family::V6, "::6")}};
  return p;
}

// Everything apply_sys may touch, as `ip` prints it. Without the kernel's
// own routes of the local table: it derives them from the addresses (listed
// too) in a workqueue, so an IPv6 one can appear after `ip link set lo up` or
// an address add has returned.
constexpr const char* kSnapshotCommand =
    "ip -4 rule show; ip -6 rule show; ip -4 route show table all | grep -v 'table local proto kernel';"
    " ip -6 route show table all | grep -v 'table local proto kernel'; ip -6 addr show dev lo";

std::string snapshot() { return sh(kSnapshotCommand); }

// lo's IPv6 addresses with their IFA_PROTO ("::6/128 proto 154"): iproute2
// 6.1 does not print the address protocol.
std::string lo_addrs() {
  static const std::string script =
      std::string(__FILE__).substr(0, std::string(__FILE__).rfind('/')) + "/adversarial/lo_addrs.py";
  return sh("python3 " + script);
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Exactly one tagged rule, route and address each per family for `table`.
int check_programmed(uint32_t table) {
  const std::string t = std::to_string(table);
  auto rules4 = sh("ip -4 rule show"), rules6 = sh("ip -6 rule show");
  CHECK(count(rules4, "32000:\tfrom all fwmark 0x539 lookup " + t + " proto 154") == 1, "%s", rules4.c_str());
  CHECK(count(rules6, "32000:\tfrom all fwmark 0x539 lookup " + t + " proto 154") == 1, "%s", rules6.c_str());
  CHECK(count(rules4, "proto 154") == 1 && count(rules6, "proto 154") == 1);
  auto routes4 = sh("ip -4 route show table " + t), routes6 = sh("ip -6 route show table " + t);
  CHECK(routes4 == "local default dev lo proto 154 scope host \n", "%s", routes4.c_str());
  CHECK(routes6 == "local default dev lo proto 154 metric 1024 pref medium\n", "%s", routes6.c_str());
  auto lo = sh("ip -6 addr show dev lo");
  CHECK(count(lo, "inet6 ::6/128 ") == 1, "%s", lo.c_str());
  return 0;
}

class SysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static const bool can = test::can_unshare_net();
    if (!can) MESHCAP_SKIP("cannot create network namespaces (needs root with CAP_SYS_ADMIN)");
  }
  // Most tests program IPv6 too; a namespace without it cannot run them.
  void require_ipv6() {
    if (run_in_new_netns([] { return sys::ipv6_enabled() ? 0 : 1; }) != 0)
      MESHCAP_SKIP("IPv6 is disabled on this kernel");
  }
};

TEST_F(SysTest, ApplyAddsExactlyThePlan) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              auto undo = sys::apply_sys(tproxy_plan());
              CHECK(undo, "%s", undo.error().message.c_str());
              CHECK(undo->added_rules.size() == 2 && undo->added_routes.size() == 2 &&
                    undo->added_addresses.size() == 1 && undo->removed_rules.empty() &&
                    undo->removed_routes.empty());
              return check_programmed(133);
            }),
            0);
}

TEST_F(SysTest, ApplyTwiceChangesNothing) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              CHECK(sys::apply_sys(tproxy_plan()));
              auto before = snapshot();
              auto again = sys::apply_sys(tproxy_plan());
              CHECK(again, "%s", again.error().message.c_str());
              CHECK(again->empty());
              CHECK(snapshot() == before);
              return check_programmed(133);
            }),
            0);
}

TEST_F(SysTest, DuplicatesInThePlanOrTheKernelLeaveOneCopy) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              Plan doubled = tproxy_plan();
              doubled.policy_rules.push_back(doubled.policy_rules[0]);
              doubled.local_routes.push_back(doubled.local_routes[1]);
              CHECK(sys::apply_sys(doubled));
              // A second tagged route that differs only in its metric (the
              // kernel refuses exact duplicates of rules and routes).
              sh("ip -4 route add local default dev lo table 133 proto 154 metric 5");
              auto seen = sys::observe_sys();
              CHECK(seen && seen->local_routes.size() == 3);
              auto undo = sys::apply_sys(tproxy_plan());
              CHECK(undo, "%s", undo.error().message.c_str());
              CHECK(undo->removed_routes.size() == 1 && undo->removed_rules.empty());
              return check_programmed(133);
            }),
            0);
}

TEST_F(SysTest, NewTableReplacesTheOldOne) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              CHECK(sys::apply_sys(tproxy_plan(133)));
              auto undo = sys::apply_sys(tproxy_plan(134));
              CHECK(undo, "%s", undo.error().message.c_str());
              CHECK(undo->removed_rules.size() == 2 && undo->removed_routes.size() == 2);
              CHECK(sh("ip -4 route show table 133").empty());
              CHECK(sh("ip -6 route show table 133").empty());
              CHECK(count(sh("ip -4 rule show; ip -6 rule show"), "lookup 133") == 0);
              return check_programmed(134);
            }),
            0);
}

TEST_F(SysTest, RedirectPlanRemovesTproxyStateButKeepsTheAddress) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              CHECK(sys::apply_sys(tproxy_plan()));
              Plan redirect;  // redirect mode with IPv6: only ::6 on lo
              redirect.lo_addresses = tproxy_plan().lo_addresses;
              auto undo = sys::apply_sys(redirect);
              CHECK(undo, "%s", undo.error().message.c_str());
              auto all =
                  sh("ip -4 rule show; ip -6 rule show; ip -4 route show table all;"
                     " ip -6 route show table all");
              CHECK(count(all, "proto 154") == 0, "%s", all.c_str());
              CHECK(count(sh("ip -6 addr show dev lo"), "inet6 ::6/128 ") == 1);
              return 0;
            }),
            0);
}

TEST_F(SysTest, ObserveRoundTrips) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              auto empty = sys::observe_sys();
              CHECK(empty, "%s", empty.error().message.c_str());
              CHECK(*empty == Plan{});
              CHECK(sys::apply_sys(tproxy_plan()));
              auto seen = sys::observe_sys();
              CHECK(seen, "%s", seen.error().message.c_str());
              CHECK(*seen == tproxy_plan(), "rules %zu routes %zu addrs %zu", seen->policy_rules.size(),
                    seen->local_routes.size(), seen->lo_addresses.size());
              // Table ids above 255 only fit the attribute; they must survive too.
              CHECK(sys::apply_sys(tproxy_plan(1000)));
              seen = sys::observe_sys();
              CHECK(seen && *seen == tproxy_plan(1000));
              return 0;
            }),
            0);
}

TEST_F(SysTest, RollbackRestoresTheStateBefore) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              const auto pristine = snapshot();
              auto first = sys::apply_sys(tproxy_plan(133));
              CHECK(first);
              const auto programmed = snapshot();
              auto second = sys::apply_sys(tproxy_plan(134));
              CHECK(second);
              CHECK(sys::rollback(*second));
              CHECK(snapshot() == programmed, "%s\n---\n%s", programmed.c_str(), snapshot().c_str());
              CHECK(sys::rollback(*first));
              CHECK(snapshot() == pristine, "%s\n---\n%s", pristine.c_str(), snapshot().c_str());
              CHECK(sys::rollback(*first), "rolling back twice is harmless");
              return 0;
            }),
            0);
}

// What make_kernel_routing() does in a run: apply, read back, undo and
// remove on one socket, lo's index looked up once.
TEST_F(SysTest, OneSessionAppliesObservesUndoesAndRemoves) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              const auto pristine = snapshot();
              sys::RoutingSession session;
              auto empty = session.observe();
              CHECK(empty && *empty == Plan{});
              auto undo = session.apply(tproxy_plan());
              CHECK(undo, "%s", undo.error().message.c_str());
              if (int rc = check_programmed(133); rc != 0) return rc;
              auto seen = session.observe();
              CHECK(seen && *seen == tproxy_plan());
              CHECK(session.rollback(*undo));
              CHECK(snapshot() == pristine, "%s\n---\n%s", pristine.c_str(), snapshot().c_str());
              CHECK(session.apply(tproxy_plan(134)));
              if (int rc = check_programmed(134); rc != 0) return rc;
              CHECK(session.remove());
              seen = session.observe();
              CHECK(seen && *seen == Plan{}, "the tagged ::6 goes too");
              return 0;
            }),
            0);
}

TEST_F(SysTest, RemoveTwiceLeavesForeignRulesAndRoutes) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              CHECK(sys::remove_sys(), "nothing to remove is success");
              // Someone else's: an unrelated rule and route, and a rule with
              // exactly our key but not our tag.
              sh("ip -4 rule add fwmark 0x1 lookup 200 priority 100;"
                 " ip -4 route add local default dev lo table 200;"
                 " ip -6 rule add fwmark 0x539 lookup 133 priority 32000");
              const auto foreign = snapshot();
              CHECK(sys::apply_sys(tproxy_plan()));
              // The ::6 meshcap added carries its mark (IFA_PROTO, kernel >= 5.18).
              auto lo = lo_addrs();
              CHECK(count(lo, "::6/128 proto 154\n") == 1, "%s", lo.c_str());
              CHECK(sys::remove_sys());
              CHECK(sys::remove_sys());
              // Everything is as before, the tagged ::6 gone too.
              auto after = snapshot();
              CHECK(after == foreign, "%s\n---\n%s", foreign.c_str(), after.c_str());
              auto seen = sys::observe_sys();
              CHECK(seen && seen->policy_rules.empty() && seen->local_routes.empty());
              return 0;
            }),
            0);
}

TEST_F(SysTest, PreexistingPassthroughAddressIsLeftAlone) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              sh("ip -6 addr add ::6/128 dev lo");
              auto undo = sys::apply_sys(tproxy_plan());
              CHECK(undo && undo->added_addresses.empty());
              CHECK(sys::rollback(*undo));
              CHECK(count(sh("ip -6 addr show dev lo"), "inet6 ::6/128 ") == 1);
              CHECK(sys::apply_sys(tproxy_plan()) && sys::remove_sys());
              CHECK(count(sh("ip -6 addr show dev lo"), "inet6 ::6/128 ") == 1);
              // Untagged with another prefix: not ours either.
              sh("ip -6 addr del ::6/128 dev lo; ip -6 addr add ::6/64 dev lo nodad");
              CHECK(sys::apply_sys(tproxy_plan()) && sys::remove_sys());
              CHECK(count(sh("ip -6 addr show dev lo"), "inet6 ::6/64 ") == 1);
              return 0;
            }),
            0);
}

TEST_F(SysTest, DisabledIpv6FailsWholeAndSaysWhatToDo) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              CHECK(sys::ipv6_enabled());
              sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
              CHECK(!sys::ipv6_enabled());
              const auto before = snapshot();
              auto r = sys::apply_sys(tproxy_plan());
              CHECK(!r);
              CHECK(r.error().kind == ErrorKind::Kernel);
              const auto& msg = r.error().message;
              CHECK(msg.find("ip -6 ") != std::string::npos, "%s", msg.c_str());
              CHECK(msg.find("use --ipv6 off") != std::string::npos, "%s", msg.c_str());
              CHECK(msg.find('\n') == std::string::npos, "%s", msg.c_str());
              CHECK(snapshot() == before, "the v4 half was left behind");
              // An IPv4-only plan still works, and observe still reads.
              Plan v4;
              v4.policy_rules = {tproxy_plan().policy_rules[0]};
              v4.local_routes = {tproxy_plan().local_routes[0]};
              CHECK(sys::apply_sys(v4));
              auto seen = sys::observe_sys();
              CHECK(seen && *seen == v4);
              CHECK(sys::remove_sys());
              return 0;
            }),
            0);
}

TEST_F(SysTest, LoOnlyIpv6DisableCounts) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              sh("sysctl -qw net.ipv6.conf.lo.disable_ipv6=1");
              CHECK(!sys::ipv6_enabled());
              return 0;
            }),
            0);
}

TEST_F(SysTest, LoDownFailsWholeAndSaysWhatToDo) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              sh("ip link set lo down");
              const auto before = snapshot();
              // The kernel takes the IPv4 local route on a down lo and refuses
              // the IPv6 one, so the IPv4 route must be undone.
              auto r = sys::apply_sys(tproxy_plan());
              CHECK(!r);
              CHECK(r.error().kind == ErrorKind::Kernel);
              const auto& msg = r.error().message;
              CHECK(msg.find("lo is down in the pod's network namespace") != std::string::npos, "%s",
                    msg.c_str());
              CHECK(msg.find("`ip link set lo up`") != std::string::npos, "%s", msg.c_str());
              CHECK(msg.find('\n') == std::string::npos, "%s", msg.c_str());
              CHECK(snapshot() == before, "%s\n---\n%s", before.c_str(), snapshot().c_str());
              // What the message says to do works.
              sh("ip link set lo up");
              auto again = sys::apply_sys(tproxy_plan());
              CHECK(again, "%s", again.error().message.c_str());
              return check_programmed(133);
            }),
            0);
}

TEST_F(SysTest, ForeignRouteInOurTableIsExplained) {
  require_ipv6();
  for (const char* family : {"-4", "-6"}) {
    EXPECT_EQ(run_in_new_netns([family] {
                // An admin's route, exactly like ours but without the tag.
                sh(std::string("ip ") + family + " route add local default dev lo table 133");
                const auto before = snapshot();
                auto r = sys::apply_sys(tproxy_plan());
                CHECK(!r);
                CHECK(r.error().kind == ErrorKind::Kernel);
                const auto& msg = r.error().message;
                CHECK(msg.find(std::string("adding ip ") + family + " route local") == 0, "%s", msg.c_str());
                CHECK(msg.find("table 133 already holds a local default route that meshcap did not create") !=
                          std::string::npos,
                      "%s", msg.c_str());
                CHECK(msg.find("choose another --tproxy-table") != std::string::npos, "%s", msg.c_str());
                CHECK(msg.find('\n') == std::string::npos, "%s", msg.c_str());
                // With the foreign route in v6, meshcap's v4 route was added and undone.
                CHECK(snapshot() == before, "%s\n---\n%s", before.c_str(), snapshot().c_str());
                // The other way out the message names works too.
                auto elsewhere = sys::apply_sys(tproxy_plan(134));
                CHECK(elsewhere, "%s", elsewhere.error().message.c_str());
                return check_programmed(134);
              }),
              0)
        << family;
  }
}

TEST_F(SysTest, FailedMoveToANewTableKeepsTheOldOne) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              CHECK(sys::apply_sys(tproxy_plan(133)));
              const auto programmed = snapshot();
              // Moving to table 134 fails at its v6 route: nothing of 134 may
              // stay, and 133 must still be whole.
              sh("ip -6 route add local default dev lo table 134");
              const auto before = snapshot();
              auto r = sys::apply_sys(tproxy_plan(134));
              CHECK(!r);
              CHECK(snapshot() == before, "%s\n---\n%s", before.c_str(), snapshot().c_str());
              sh("ip -6 route del local default dev lo table 134");
              CHECK(snapshot() == programmed, "%s\n---\n%s", programmed.c_str(), snapshot().c_str());
              return check_programmed(133);
            }),
            0);
}

TEST_F(SysTest, AnUnwantedPassthroughAddressIsNoDifference) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              const Plan wants = tproxy_plan();
              Plan redirect_v4;  // wants no ::6
              auto seen = sys::observe_sys();
              CHECK(seen, "%s", seen.error().message.c_str());
              CHECK(seen->lo_addresses.empty());
              CHECK(!diff(wants, *seen).empty(), "a wanted but missing ::6 is a difference");
              sh("ip -6 addr add ::6/128 dev lo");
              seen = sys::observe_sys();
              CHECK(seen && seen->lo_addresses == wants.lo_addresses, "reported whenever lo has it");
              CHECK(diff(redirect_v4, *seen).empty(), "an unwanted ::6 (never removed) is no difference");
              CHECK(sys::apply_sys(wants));
              seen = sys::observe_sys();
              CHECK(seen && diff(wants, *seen).empty());
              return 0;
            }),
            0);
}

// Runs without the namespace lock (tested at the binary level): concurrent
// adds of the same state must not fail on each other's copies, nor blame
// them on someone else, and leave exactly one copy.
TEST_F(SysTest, ConcurrentAppliesOfOnePlanAllSucceed) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              for (int round = 0; round < 20; ++round) {
                CHECK(sys::remove_sys());
                sh("ip -6 addr del ::6/128 dev lo 2>/dev/null");
                std::vector<pid_t> children;
                for (int i = 0; i < 6; ++i) {
                  std::fflush(nullptr);
                  pid_t pid = fork();
                  if (pid == 0) {
                    auto r = sys::apply_sys(tproxy_plan());
                    if (!r) std::fprintf(stderr, "%s\n", r.error().message.c_str());
                    std::fflush(nullptr);
                    _exit(r ? 0 : 1);
                  }
                  children.push_back(pid);
                }
                int failed = 0;
                for (pid_t pid : children) {
                  int status = 0;
                  waitpid(pid, &status, 0);
                  failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                }
                CHECK(failed == 0, "round %d: %d of 6 failed", round, failed);
                if (int rc = check_programmed(133); rc != 0) return rc;
              }
              return 0;
            }),
            0);
}

// The whole binary: exit 3, one line saying what to do, and the namespace
// (netfilter and routing) exactly as before.
TEST_F(SysTest, ApplyRefusedByRoutingExplainsItselfAndLeavesNothing) {
  MESHCAP_REQUIRE_NETNS_AND("nft");
  require_ipv6();
  struct Case {
    const char* setup;  // an `ip` command, run in the namespace
    const char* says;
  };
  for (const Case& c : {Case{"link set lo down", "bring it up (`ip link set lo up`)"},
                        Case{"-4 route add local default dev lo table 133",
                             "that meshcap did not create (kernel: File exists): remove it"}}) {
    test::NamedNetns ns;
    ASSERT_TRUE(ns.ok());
    ASSERT_EQ(test::sh("ip -n " + ns.name() + " " + c.setup + " 2>&1"), "");
    auto state = [&] { return ns.ruleset() + ns.exec({"sh", "-c", kSnapshotCommand}).out; };
    const auto before = state();
    auto run = test::run_program({MESHCAP_BINARY, "apply", "--netns", ns.path(), "--inbound-mode", "tproxy"});
    EXPECT_EQ(run.status, 3) << c.setup << "\n" << run.err;
    EXPECT_NE(run.err.find(c.says), std::string::npos) << run.err;
    EXPECT_EQ(count(run.err, "\n"), 1) << run.err;
    EXPECT_EQ(state(), before) << c.setup;
  }
}

// ---- the netlink layer against a real kernel ----------------------------------

TEST_F(SysTest, NetlinkSilentKernelTimesOut) {
  EXPECT_EQ(run_in_new_netns([] {
              using namespace std::chrono;
              auto sock = netlink::Socket::open(NETLINK_ROUTE, {milliseconds(200), 0});
              CHECK(sock, "%s", sock.error().text().c_str());
              // A NOOP without NLM_F_ACK: the kernel accepts it and says nothing.
              alignas(nlmsghdr) char buf[256] = {};
              auto* noop = netlink::put_request(buf, NLMSG_NOOP, 0, sock->reserve_seq());
              auto start = steady_clock::now();
              auto r = sock->request(noop);
              auto waited = duration_cast<milliseconds>(steady_clock::now() - start).count();
              CHECK(!r);
              CHECK(r.error().error == ETIMEDOUT, "%s", r.error().text().c_str());
              CHECK(r.error().text() == "Connection timed out (the kernel did not answer within 200 ms)",
                    "%s", r.error().text().c_str());
              CHECK(r.error().seq == noop->nlmsg_seq);
              CHECK(waited >= 150 && waited < 2000, "waited %lld ms", static_cast<long long>(waited));
              // With an ack asked for, the same message is answered at once.
              noop = netlink::put_request(buf, NLMSG_NOOP, NLM_F_ACK, sock->reserve_seq());
              auto acked = sock->request(noop);
              CHECK(acked, "%s", acked.error().text().c_str());
              return 0;
            }),
            0);
}

TEST_F(SysTest, NetlinkBatchAnswersMapToTheirMessages) {
  require_ipv6();
  EXPECT_EQ(run_in_new_netns([] {
              sh("ip link set lo down");
              auto sock = netlink::Socket::open(NETLINK_ROUTE);
              CHECK(sock, "%s", sock.error().text().c_str());
              netlink::Batch batch(sock->reserve_seq(3));
              batch.add(NLMSG_NOOP, NLM_F_ACK);
              // ip -6 route add local default dev lo table 133, with lo down.
              nlmsghdr* route = batch.add(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
              auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(route, sizeof(rtmsg)));
              rtm->rtm_family = AF_INET6;
              rtm->rtm_table = 133;
              rtm->rtm_protocol = sys::kRtProtoMeshcap;
              rtm->rtm_scope = RT_SCOPE_HOST;
              rtm->rtm_type = RTN_LOCAL;
              mnl_attr_put_u32(route, RTA_OIF, if_nametoindex("lo"));
              // ip link show dev <no such index>
              nlmsghdr* link = batch.add(RTM_GETLINK, NLM_F_ACK);
              static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(link, sizeof(ifinfomsg)))->ifi_index =
                  999999;
              auto acks = sock->send(batch);
              CHECK(acks, "%s", acks.error().text().c_str());
              auto answers = batch.answers(*acks);
              CHECK(answers[0] && answers[0]->error == 0);
              CHECK(answers[1] && answers[1]->error == ENETDOWN);
              CHECK(answers[1]->message == "Nexthop device is not up", "%s", answers[1]->message.c_str());
              CHECK(answers[2] && answers[2]->error == ENODEV);
              // The socket is still in step: a dump afterwards reads whole.
              alignas(nlmsghdr) char buf[256] = {};
              nlmsghdr* dump = netlink::put_request(buf, RTM_GETLINK, NLM_F_DUMP, 0);
              mnl_nlmsg_put_extra_header(dump, sizeof(ifinfomsg));
              int links = 0;
              auto r = sock->dump(
                  dump, [&] { links = 0; },
                  [&](const nlmsghdr* nlh) {
                    links += nlh->nlmsg_type == RTM_NEWLINK;
                    return 0;
                  });
              CHECK(r, "%s", r.error().text().c_str());
              CHECK(links == 1, "%d links", links);  // lo alone
              return 0;
            }),
            0);
}

TEST_F(SysTest, CapabilitiesAreSeen) {
  EXPECT_TRUE(test::has_effective_cap(CAP_NET_ADMIN));
  EXPECT_TRUE(test::has_effective_cap(CAP_SYS_ADMIN));
}

TEST_F(SysTest, MissingCapabilitiesAreExplained) {
  EXPECT_EQ(run_in_new_netns([] {
              CHECK(test::drop_effective({CAP_NET_ADMIN, CAP_SYS_ADMIN}));
              CHECK(!test::has_effective_cap(CAP_NET_ADMIN) && !test::has_effective_cap(CAP_SYS_ADMIN));
              auto entered = sys::enter_netns("/proc/self/ns/net");
              CHECK(!entered && entered.error().kind == ErrorKind::Other);
              CHECK(entered.error().message == "entering a network namespace needs CAP_SYS_ADMIN", "%s",
                    entered.error().message.c_str());
              Plan v4;
              v4.policy_rules = {{Family::V4, 0x539, 133, 32000}};
              auto applied = sys::apply_sys(v4);
              CHECK(!applied && applied.error().kind == ErrorKind::Kernel);
              CHECK(applied.error().message.find("needs CAP_NET_ADMIN") != std::string::npos, "%s",
                    applied.error().message.c_str());
              return 0;
            }),
            0);
}

ino_t netns_inode(const char* path = "/proc/self/ns/net") {
  struct stat st {};
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

TEST_F(SysTest, EnterNetnsMovesAndRestores) {
  if (sh("command -v ip").empty()) MESHCAP_SKIP("no ip binary");
  EXPECT_EQ(run_in_new_netns([] {
              const std::string name = "meshcap-sys-test-" + std::to_string(getpid());
              const std::string path = "/var/run/netns/" + name;
              int status = 0;
              sh("ip netns add " + name, &status);
              CHECK(status == 0, "ip netns add failed");
              int rc = [&] {
                const ino_t home = netns_inode();
                const ino_t target = netns_inode(path.c_str());
                CHECK(home != 0 && target != 0 && home != target);
                {
                  auto guard = sys::enter_netns(path);
                  CHECK(guard, "%s", guard.error().message.c_str());
                  CHECK(guard->entered());
                  CHECK(netns_inode() == target);
                  // Netlink sockets opened now belong to the entered namespace.
                  Plan v4;
                  v4.policy_rules = {{Family::V4, 0x539, 133, 32000}};
                  CHECK(sys::apply_sys(v4));
                }
                CHECK(netns_inode() == home, "the destructor restores");
                CHECK(count(sh("ip -4 rule show"), "proto 154") == 0);
                CHECK(count(sh("ip netns exec " + name + " ip -4 rule show"), "proto 154") == 1);
                {
                  auto guard = sys::enter_netns(path);
                  CHECK(guard && netns_inode() == target);
                  CHECK(guard->restore());
                  CHECK(netns_inode() == home && !guard->entered());
                  CHECK(guard->restore(), "restoring twice is harmless");
                }
                CHECK(netns_inode() == home);
                auto stay = sys::enter_netns("");
                CHECK(stay && !stay->entered() && netns_inode() == home);
                return 0;
              }();
              sh("ip netns del " + name);
              return rc;
            }),
            0);
}

TEST_F(SysTest, EnterNetnsRejectsBadPaths) {
  EXPECT_EQ(run_in_new_netns([] {
              const ino_t home = netns_inode();
              for (const char* bad : {"/nonexistent/netns", "/proc/self/ns/uts", "/etc/hostname"}) {
                auto r = sys::enter_netns(bad);
                CHECK(!r, "%s accepted", bad);
                CHECK(r.error().kind == ErrorKind::BadInput, "%s: %s", bad, r.error().message.c_str());
                CHECK(r.error().message.find(bad) != std::string::npos);
                CHECK(netns_inode() == home);
              }
              return 0;
            }),
            0);
}

}  // namespace
}  // namespace meshcap
