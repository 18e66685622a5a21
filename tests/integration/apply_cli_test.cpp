// The meshcap binary against a real kernel, each test in its own namespace:
// apply/check/cleanup, exit codes, --netns, logging, no exec, atomicity.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/meshcap_netns.hpp"
#include "support/named_netns.hpp"
#include "sys/lock.hpp"

namespace meshcap {
namespace {

using test::NamedNetns;
using test::Outcome;
using ::testing::HasSubstr;
using ::testing::Not;

class ApplyCli : public test::MeshcapInNetns {
 protected:
  std::string iptables_save() { return ns_.exec({"iptables-legacy-save"}).out; }
  // An interface and a default route, so connect() to an outside address
  // gets as far as the OUTPUT hook.
  void add_default_route() {
    add_interface("eth0", "10.247.0.2/24");
    ASSERT_EQ(ns_.exec({"ip", "route", "add", "default", "via", "10.247.0.1"}).status, 0);
  }
};

TEST_F(ApplyCli, ApplyCheckCleanupRoundTrip) {
  auto applied = meshcap({"apply"});
  ASSERT_EQ(applied.status, 0) << applied.err;
  EXPECT_THAT(applied.err, HasSubstr("verified rules"));
  EXPECT_EQ(applied.out, "");
  auto rules = ns_.ruleset();
  EXPECT_THAT(rules, HasSubstr("table ip meshcap"));
  EXPECT_THAT(rules, HasSubstr("table ip6 meshcap"));

  EXPECT_EQ(meshcap({"check"}).status, 0);
  auto other = meshcap({"check", "--outbound-port", "16001"});
  EXPECT_EQ(other.status, 4) << "check with another config must fail";
  EXPECT_THAT(other.err, HasSubstr("16001"));

  EXPECT_EQ(meshcap({"cleanup"}).status, 0);
  EXPECT_THAT(ns_.ruleset(), Not(HasSubstr("meshcap")));
  EXPECT_EQ(meshcap({"cleanup"}).status, 0) << "cleanup with nothing to remove succeeds";
  EXPECT_EQ(meshcap({"check"}).status, 4);
}

TEST_F(ApplyCli, ReapplyConvergesToOneCopy) {
  ASSERT_EQ(meshcap({"apply"}).status, 0);
  auto first = ns_.ruleset();
  ASSERT_EQ(meshcap({"apply"}).status, 0);
  EXPECT_EQ(ns_.ruleset(), first) << "re-applying the same config changes nothing";
  ASSERT_EQ(meshcap({"apply", "--exclude-outbound-ports", "9999", "--ipv6", "off"}).status, 0);
  auto changed = ns_.ruleset();
  EXPECT_THAT(changed, HasSubstr("9999"));
  EXPECT_THAT(changed, Not(HasSubstr("table ip6 meshcap"))) << "turning IPv6 off removes its table";
  EXPECT_EQ(meshcap({"check", "--exclude-outbound-ports", "9999", "--ipv6", "off"}).status, 0);
}

TEST_F(ApplyCli, CheckNamesARuleDeletedByHand) {
  ASSERT_EQ(meshcap({"apply", "--ipv6", "off"}).status, 0);
  // Find the handle of the `oifname "lo" return` rule and delete it.
  auto listing = ns_.exec({"nft", "-a", "list", "chain", "ip", "meshcap", "output"}).out;
  const std::string marker = "oifname \"lo\" return # handle ";
  auto pos = listing.find(marker);
  ASSERT_NE(pos, std::string::npos) << listing;
  pos += marker.size();
  std::string handle = listing.substr(pos, listing.find('\n', pos) - pos);
  ASSERT_EQ(ns_.exec({"nft", "delete", "rule", "ip", "meshcap", "output", "handle", handle}).status, 0);
  auto check = meshcap({"check", "--ipv6", "off"});
  EXPECT_EQ(check.status, 4);
  EXPECT_THAT(check.err, HasSubstr("oifname \"lo\" return"));
  EXPECT_EQ(meshcap({"apply", "--ipv6", "off"}).status, 0);
  EXPECT_EQ(meshcap({"check", "--ipv6", "off"}).status, 0);
}

TEST_F(ApplyCli, BadInputTouchesNothing) {
  auto before = ns_.ruleset();
  auto o = meshcap({"apply", "--outbound-port", "0", "--exclude-outbound-cidrs", "nonsense"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_EQ(ns_.ruleset(), before);
  EXPECT_EQ(ns_.exec({"ip", "-6", "addr", "show", "dev", "lo"}).out.find("::6"), std::string::npos);
}

TEST_F(ApplyCli, OtherTablesAndIptablesChainsAreUntouched) {
  ASSERT_EQ(ns_.exec({"nft", "add", "table", "inet", "other"}).status, 0);
  ASSERT_EQ(ns_.exec({"nft", "add", "chain", "inet", "other", "c", "{ type filter hook output priority 0; }"}).status, 0);
  ASSERT_EQ(ns_.exec({"nft", "add", "rule", "inet", "other", "c", "tcp", "dport", "22", "counter", "accept"}).status, 0);
  ASSERT_EQ(ns_.exec({"iptables-legacy", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "2222", "-j", "RETURN"}).status, 0);
  auto other_before = ns_.exec({"nft", "list", "table", "inet", "other"}).out;
  auto ipt_before = iptables_save();
  // --backend nft: with a legacy rule in place, auto would pick iptables.
  for (auto cmd : {"apply", "apply", "cleanup"}) {
    ASSERT_EQ(meshcap({cmd, "--backend", "nft", "--exclude-outbound-cidrs", "10.0.0.0/8"}).status, 0) << cmd;
    EXPECT_EQ(ns_.exec({"nft", "list", "table", "inet", "other"}).out, other_before) << cmd;
    auto ipt = iptables_save();
    // iptables-save stamps the time; compare the rules only.
    auto strip = [](std::string s) {
      std::string out;
      std::stringstream in(s);
      for (std::string l; std::getline(in, l);)
        if (l.rfind("#", 0) != 0) out += l + "\n";
      return out;
    };
    EXPECT_EQ(strip(ipt), strip(ipt_before)) << cmd;
  }
}

TEST_F(ApplyCli, NeverRunsAnotherProgram) {
  add_default_route();
  std::string trace = "/tmp/meshcap-strace-" + std::to_string(getpid());
  auto o = ns_.exec({"strace", "-f", "-qq", "-e", "trace=execve,execveat,fork,vfork", "-o", trace,
                     MESHCAP_BINARY, "apply", "--verify", "traffic"});
  ASSERT_EQ(o.status, 0) << o.err;
  auto log = test::sh("cat " + trace);
  std::remove(trace.c_str());
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << "expected only meshcap's own execve:\n" << log;
  EXPECT_THAT(log, HasSubstr(MESHCAP_BINARY));
}

TEST_F(ApplyCli, NetnsFlagProgramsTheNamedNamespaceOnly) {
  NamedNetns target;
  ASSERT_TRUE(target.ok());
  auto o = meshcap({"apply", "--netns", target.path()});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(target.ruleset(), HasSubstr("table ip meshcap"));
  EXPECT_THAT(ns_.ruleset(), Not(HasSubstr("meshcap")));
  EXPECT_EQ(meshcap({"check", "--netns", target.path()}).status, 0);
  EXPECT_EQ(meshcap({"cleanup", "--netns", target.path()}).status, 0);
  EXPECT_THAT(target.ruleset(), Not(HasSubstr("meshcap")));
  auto bad = meshcap({"apply", "--netns", "/nonexistent/netns"});
  EXPECT_EQ(bad.status, 2) << bad.err;
}

TEST_F(ApplyCli, KernelRefusalExitsThreeAndChangesNothing) {
  // A table named meshcap owned by another live netlink socket: the kernel
  // refuses to replace it, so the whole batch must fail.
  std::string fifo = "/tmp/meshcap-owner-" + std::to_string(getpid());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::thread holder([&] { ns_.exec({"sh", "-c", "nft -i < " + fifo}); });
  FILE* in = fopen(fifo.c_str(), "w");
  ASSERT_NE(in, nullptr);
  fputs("add table ip meshcap { flags owner; }\n", in);
  fflush(in);
  for (int i = 0; i < 50 && ns_.ruleset().find("owner") == std::string::npos; ++i) usleep(20000);
  auto before = ns_.ruleset();
  auto rules_before = ns_.exec({"ip", "-4", "rule", "show"}).out;
  auto o = meshcap({"apply", "--inbound-mode", "tproxy", "--ipv6", "off"});
  EXPECT_EQ(o.status, 3) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr("meshcap"));
  EXPECT_EQ(ns_.ruleset(), before);
  EXPECT_EQ(ns_.exec({"ip", "-4", "rule", "show"}).out, rules_before) << "policy rules rolled back";
  fclose(in);
  holder.join();
  std::remove(fifo.c_str());
}

TEST_F(ApplyCli, TproxyRoutingStateIsProgrammedAndCleanedUp) {
  ASSERT_EQ(meshcap({"apply", "--inbound-mode", "tproxy"}).status, 0);
  EXPECT_THAT(ns_.exec({"ip", "-4", "rule", "show"}).out, HasSubstr("lookup 133"));
  EXPECT_THAT(ns_.exec({"ip", "-6", "route", "show", "table", "133"}).out, HasSubstr("local"));
  EXPECT_EQ(meshcap({"check", "--inbound-mode", "tproxy"}).status, 0);
  ASSERT_EQ(meshcap({"apply"}).status, 0) << "switching back to redirect removes the policy rules";
  EXPECT_THAT(ns_.exec({"ip", "-4", "rule", "show"}).out, Not(HasSubstr("lookup 133")));
  ASSERT_EQ(meshcap({"apply", "--inbound-mode", "tproxy"}).status, 0);
  ASSERT_EQ(meshcap({"cleanup"}).status, 0);
  EXPECT_THAT(ns_.exec({"ip", "-4", "rule", "show"}).out, Not(HasSubstr("lookup 133")));
  EXPECT_EQ(ns_.exec({"ip", "-4", "route", "show", "table", "133"}).out, "");
}

// Runs `apply` 10 times at once with 10 configs, for one backend.
class ConcurrentApplies : public ApplyCli, public ::testing::WithParamInterface<const char*> {};

// 20 rounds; the sanitized CI pass asks for fewer (MCADV_REPETITIONS, as
// concurrency_test.py): ten sanitized processes at once cost seconds a round
// and find nothing new after a few rounds.
int repetitions() {
  const char* asked = std::getenv("MCADV_REPETITIONS");
  return asked ? std::max(1, std::atoi(asked)) : 20;
}

TEST_P(ConcurrentApplies, SerialiseAndEndInOneCompleteConfiguration) {
  constexpr int kRuns = 10;
  const std::string backend = GetParam();
  auto config = [&](const char* command, int i) {
    return std::vector<std::string>{command, "--backend", backend, "--outbound-port", std::to_string(20000 + i),
                                    "--exclude-outbound-ports", std::to_string(30000 + i),
                                    "--inbound-mode", i % 2 ? "tproxy" : "redirect"};
  };
  for (int repetition = 0; repetition < repetitions(); ++repetition) {
    std::vector<std::thread> threads;
    std::vector<Outcome> runs(kRuns);
    for (int i = 0; i < kRuns; ++i)
      threads.emplace_back([&, i] { runs[static_cast<size_t>(i)] = meshcap(config("apply", i)); });
    for (auto& t : threads) t.join();
    // The lock serialises them: each run programs and verifies its own
    // config before the next one starts.
    for (const auto& r : runs) EXPECT_EQ(r.status, 0) << r.err;
    int accepted = 0;
    for (int i = 0; i < kRuns; ++i) accepted += meshcap(config("check", i)).status == 0;
    EXPECT_EQ(accepted, 1) << "repetition " << repetition;
  }
}

TEST_P(ConcurrentApplies, ApplyRacingCleanupEndsFullyAppliedOrFullyClean) {
  const std::string backend = GetParam();
  for (int repetition = 0; repetition < 10; ++repetition) {
    Outcome applied, cleaned;
    std::thread a([&] { applied = meshcap({"apply", "--backend", backend, "--inbound-mode", "tproxy"}); });
    std::thread c([&] { cleaned = meshcap({"cleanup", "--backend", backend}); });
    a.join();
    c.join();
    EXPECT_EQ(applied.status, 0) << applied.err;
    EXPECT_EQ(cleaned.status, 0) << cleaned.err;
    bool rules = ns_.ruleset().find("meshcap") != std::string::npos ||
                 ns_.exec({"iptables-legacy-save"}).out.find("MESHCAP") != std::string::npos;
    bool routing = ns_.exec({"ip", "-4", "rule", "show"}).out.find("lookup 133") != std::string::npos;
    EXPECT_EQ(rules, routing) << "tproxy rules and their routing go together, repetition " << repetition;
    if (rules) {
      EXPECT_EQ(meshcap({"check", "--backend", backend, "--inbound-mode", "tproxy"}).status, 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrentApplies, ::testing::Values("nft", "iptables"));

// A process holding meshcap's lock of the namespace, as another meshcap run
// would: it enters the namespace and binds the abstract socket.
class LockHolder {
 public:
  explicit LockHolder(const std::string& netns_path) {
    int ready[2];
    if (pipe(ready) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(ready[0]);
      int fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(1);
      auto lock = sys::lock_netns(std::chrono::milliseconds(0));
      if (!lock) _exit(2);
      (void)!write(ready[1], "x", 1);
      pause();
      _exit(0);
    }
    close(ready[1]);
    char c;
    ok_ = pid_ > 0 && read(ready[0], &c, 1) == 1;
    close(ready[0]);
  }
  ~LockHolder() { release(SIGKILL); }
  bool ok() const { return ok_; }
  void release(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  bool ok_ = false;
};

TEST_F(ApplyCli, ASecondRunWaitsForTheLockAndThenSucceeds) {
  LockHolder holder(ns_.path());
  ASSERT_TRUE(holder.ok());
  auto start = std::chrono::steady_clock::now();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    holder.release(SIGTERM);
  });
  auto o = meshcap({"apply"});
  release.join();
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_GE(waited, std::chrono::milliseconds(1400)) << "apply must wait for the holder";
  EXPECT_THAT(ns_.ruleset(), HasSubstr("table ip meshcap"));
}

TEST_F(ApplyCli, TheLockDiesWithAKilledHolderAndBelongsToTheNamespace) {
  {
    NamedNetns other;
    ASSERT_TRUE(other.ok());
    LockHolder elsewhere(other.path());
    ASSERT_TRUE(elsewhere.ok());
    auto o = meshcap({"apply"});
    EXPECT_EQ(o.status, 0) << "another namespace's lock is no obstacle: " << o.err;
  }
  LockHolder holder(ns_.path());
  ASSERT_TRUE(holder.ok());
  holder.release(SIGKILL);
  auto start = std::chrono::steady_clock::now();
  auto o = meshcap({"check"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << "kill -9 frees the lock";
}

TEST_F(ApplyCli, ALockHeldLongerThanTenSecondsIsExit1) {
  ASSERT_TRUE(meshcap({"apply"}).status == 0);
  auto before = ns_.ruleset();
  LockHolder holder(ns_.path());
  ASSERT_TRUE(holder.ok());
  auto start = std::chrono::steady_clock::now();
  auto o = meshcap({"cleanup"});
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(o.status, 1) << o.err;
  EXPECT_THAT(o.err, HasSubstr("another meshcap holds this namespace's lock (waited 10 s); try again"));
  EXPECT_EQ(ns_.ruleset(), before) << "nothing is touched without the lock";
  EXPECT_EQ(meshcap({"apply", "--dry-run"}).status, 0) << "a dry run takes no lock";
}

// --backend auto and the other backend's leftovers.
class Backends : public ApplyCli {
 protected:
  // The lines of iptables-legacy-save and ip6tables-legacy-save that are
  // meshcap's.
  std::string legacy_meshcap_lines() {
    std::string out;
    for (const char* tool : {"iptables-legacy-save", "ip6tables-legacy-save"}) {
      std::stringstream in(ns_.exec({tool}).out);
      for (std::string l; std::getline(in, l);)
        if (l.find("MESHCAP") != std::string::npos) out += l + "\n";
    }
    return out;
  }
  bool nft_holds_meshcap() { return ns_.ruleset().find("meshcap") != std::string::npos; }
  std::string applied_by(const Outcome& o) {
    for (const char* b : {"nft", "iptables"})
      if (o.err.find(std::string("via ") + b + " (") != std::string::npos) return b;
    return "?";
  }
};

TEST_F(Backends, AutoPicksNftInAnEmptyNamespace) {
  auto o = meshcap({"apply"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(applied_by(o), "nft") << o.err;
  EXPECT_TRUE(nft_holds_meshcap());
  EXPECT_EQ(legacy_meshcap_lines(), "");
  EXPECT_EQ(ns_.exec({"cat", "/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"}).out, "")
      << "probing must not create legacy tables";
}

TEST_F(Backends, AutoPicksIptablesWhereLegacyRulesExist) {
  for (auto rule : {std::vector<std::string>{"iptables-legacy", "-t", "filter", "-A", "INPUT", "-j", "ACCEPT"},
                    std::vector<std::string>{"ip6tables-legacy", "-t", "mangle", "-N", "ADMIN"},
                    // Sharing meshcap's prefix does not make a chain meshcap's.
                    std::vector<std::string>{"iptables-legacy", "-t", "nat", "-N", "MESHCAP_CUSTOM"}}) {
    NamedNetns ns;
    ASSERT_TRUE(ns.ok());
    ASSERT_EQ(ns.exec(rule).status, 0);
    auto args = std::vector<std::string>{MESHCAP_BINARY, "apply"};
    auto o = ns.exec(args);
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(applied_by(o), "iptables") << rule[0] << " " << rule[4] << "\n" << o.err;
    EXPECT_THAT(o.err, HasSubstr("already uses legacy iptables"));
    EXPECT_THAT(ns.ruleset(), Not(HasSubstr("meshcap")));
  }
}

TEST_F(Backends, MeshcapsOwnLegacyChainsDoNotMakeAutoPickIptables) {
  ASSERT_EQ(meshcap({"apply", "--backend", "iptables", "--inbound-mode", "tproxy"}).status, 0);
  auto o = meshcap({"apply", "--inbound-mode", "tproxy"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(applied_by(o), "nft") << o.err;
}

TEST_F(Backends, ApplyWithOneBackendAfterTheOtherLeavesOnlyItsRules) {
  ASSERT_EQ(meshcap({"apply", "--backend", "nft", "--inbound-mode", "tproxy"}).status, 0);
  ASSERT_TRUE(nft_holds_meshcap());
  auto o = meshcap({"apply", "--backend", "iptables", "--inbound-mode", "tproxy"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr("removed meshcap's 22 rules for ip+ip6 from the nft backend"));
  EXPECT_FALSE(nft_holds_meshcap()) << ns_.ruleset();
  EXPECT_NE(legacy_meshcap_lines(), "");
  EXPECT_EQ(meshcap({"check", "--backend", "iptables", "--inbound-mode", "tproxy"}).status, 0);

  o = meshcap({"apply", "--backend", "nft", "--inbound-mode", "tproxy"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr("from the iptables backend"));
  EXPECT_EQ(legacy_meshcap_lines(), "");
  EXPECT_TRUE(nft_holds_meshcap());
  EXPECT_EQ(meshcap({"check", "--backend", "nft", "--inbound-mode", "tproxy"}).status, 0);
}

TEST_F(Backends, CheckFailsNamingTheOtherBackendsMeshcapState) {
  // nft's copy from an older run, iptables' from this one.
  ASSERT_EQ(meshcap({"apply", "--backend", "iptables"}).status, 0);
  auto script = meshcap({"apply", "--dry-run", "--format", "nft"});
  ASSERT_EQ(ns_.exec({"nft", "-f", "-"}, {}, script.out).status, 0);
  auto o = meshcap({"check", "--backend", "iptables"});
  EXPECT_EQ(o.status, 4) << o.err;
  EXPECT_THAT(o.err, HasSubstr("the nft backend still holds"));

  ASSERT_EQ(meshcap({"cleanup"}).status, 0);
  EXPECT_FALSE(nft_holds_meshcap());
  EXPECT_EQ(legacy_meshcap_lines(), "");

  ASSERT_EQ(meshcap({"apply", "--backend", "nft"}).status, 0);
  auto v4 = meshcap({"apply", "--dry-run", "--format", "iptables", "--family", "4"});
  ASSERT_EQ(ns_.exec({"iptables-legacy-restore", "--noflush"}, {}, v4.out).status, 0);
  o = meshcap({"check", "--backend", "nft"});
  EXPECT_EQ(o.status, 4) << o.err;
  EXPECT_THAT(o.err, HasSubstr("the iptables backend still holds"));
  EXPECT_THAT(o.err, Not(HasSubstr("does not hold the intended rules")));
  EXPECT_EQ(meshcap({"apply", "--backend", "nft"}).status, 0);
  EXPECT_EQ(meshcap({"check", "--backend", "nft"}).status, 0) << "apply converged";
  EXPECT_EQ(legacy_meshcap_lines(), "");
}

TEST_F(ApplyCli, JsonLogsAndDebugShowsTheBatch) {
  auto o = meshcap({"apply", "--log-format", "json", "--ipv6", "off"});
  ASSERT_EQ(o.status, 0) << o.err;
  std::stringstream in(o.err);
  int infos = 0;
  for (std::string line; std::getline(in, line);) {
    auto obj = nlohmann::json::parse(line);
    infos += obj["level"] == "info";
  }
  EXPECT_EQ(infos, 1) << "one info line per run:\n" << o.err;
  auto debug = meshcap({"apply", "--log-level", "debug", "--ipv6", "off"});
  ASSERT_EQ(debug.status, 0);
  EXPECT_THAT(debug.err, HasSubstr("meshcap"));
  EXPECT_GT(std::count(debug.err.begin(), debug.err.end(), '\n'), 10) << "debug shows the netlink batch";
}

TEST_F(ApplyCli, VerifyTrafficProvesCaptureWithARealConnection) {
  add_default_route();
  auto o = meshcap({"apply", "--verify", "traffic", "--ipv6", "off"});
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_THAT(o.err, HasSubstr("traffic"));
  // Excluding every destination leaves nothing captured: the probe must not pass.
  auto none = meshcap({"apply", "--verify", "traffic", "--ipv6", "off", "--outbound-cidrs", "",
                       "--include-outbound-ports", ""});
  EXPECT_EQ(none.status, 0) << none.err;
  EXPECT_THAT(none.err, HasSubstr("only the rules were verified"));
}

}  // namespace
}  // namespace meshcap
