// src/ipset against the kernel, in a fresh network namespace per test, with
// the `ipset` tool as the oracle: what meshcap creates is what `ipset save`
// shows, and what `ipset` changes is what meshcap reads back.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "ipset/ipset.hpp"
#include "ipt/ipt_backend.hpp"
#include "meshcap/diff.hpp"
#include "meshcap/lower_iptables.hpp"
#include "meshcap/planner.hpp"
#include "support/netns.hpp"

namespace meshcap {
namespace {

using test::run_in_new_netns;
using test::sh;

// In the child: prints what went wrong and makes the child fail.
#define CHILD_CHECK(cond, ...)                     \
  do {                                             \
    if (!(cond)) {                                 \
      std::fprintf(stderr, "line %d: ", __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);           \
      std::fprintf(stderr, "\n");                  \
      return 1;                                    \
    }                                              \
  } while (0)

ipset::Set nets(const std::string& name, size_t n, int third = 0) {
  ipset::Set s;
  s.name = name;
  for (size_t i = 0; i < n; ++i)
    s.cidrs.push_back(
        *Cidr::parse("10." + std::to_string(third + i / 256) + "." + std::to_string(i % 256) + ".0/24"));
  ipset::normalize(s);
  return s;
}

class IpsetSession : public ::testing::Test {
 protected:
  void SetUp() override { MESHCAP_REQUIRE_NETNS_AND("ipset"); }
};

TEST_F(IpsetSession, CreateFillReadBack) {
  EXPECT_EQ(run_in_new_netns([] {
              auto s = ipset::Session::open();
              CHILD_CHECK(s, "open: %s", s.error().message.c_str());
              auto probe = s->probe();
              CHILD_CHECK(probe, "probe: %s", probe.error().message.c_str());
              auto four = nets("meshcap4-t", 3000);
              auto ok = s->create(four);
              CHILD_CHECK(ok, "create: %s", ok.error().message.c_str());
              ipset::Set six;
              six.name = "meshcap6-t";
              six.family = Family::V6;
              for (int i = 0; i < 100; ++i)
                six.cidrs.push_back(*Cidr::parse("fd00:" + std::to_string(i) + "::/64"));
              ipset::normalize(six);
              ok = s->create(six);
              CHILD_CHECK(ok, "create v6: %s", ok.error().message.c_str());
              ipset::Set ports;
              ports.name = "meshcap4-p";
              ports.kind = ipset::Kind::Port;
              ports.ports = {{80, 80}, {8000, 8099}, {65535, 65535}};
              ok = s->create(ports);
              CHILD_CHECK(ok, "create ports: %s", ok.error().message.c_str());

              // The oracle sees the declared size and every element.
              std::string list = sh("ipset list -t meshcap4-t");
              CHILD_CHECK(list.find("hashsize 4096") != std::string::npos, "%s", list.c_str());
              CHILD_CHECK(list.find("Number of entries: 3000") != std::string::npos, "%s", list.c_str());
              CHILD_CHECK(sh("ipset list meshcap4-t | grep -c '^10\\.'") == "3000\n", "not 3000 elements");
              CHILD_CHECK(sh("ipset test meshcap4-t 10.11.183.7 2>&1 | grep -c 'is in set'") == "1\n",
                          "10.11.183.7");
              CHILD_CHECK(sh("ipset list meshcap6-t | grep -c '^fd00:'") == "100\n", "v6 elements");
              CHILD_CHECK(sh("ipset list meshcap4-p | grep -c '^[0-9]'") == "102\n", "ports");

              // Read back, equal; what the tool changes shows.
              for (const auto* want : {&four, &six, &ports}) {
                auto got = s->read(want->name);
                CHILD_CHECK(got && *got, "read %s", want->name.c_str());
                auto g = **got;
                if (want->kind == ipset::Kind::Port) g.family = want->family;
                CHILD_CHECK(g == *want, "%s reads back different", want->name.c_str());
              }
              sh("ipset del meshcap4-t 10.0.5.0/24; ipset add meshcap4-p 81");
              auto got = s->read("meshcap4-t");
              CHILD_CHECK(got && *got && (*got)->cidrs.size() == 2999, "after ipset del");
              auto p = s->read("meshcap4-p");
              CHILD_CHECK(p && *p && (*p)->ports.front() == (PortRange{80, 81}), "after ipset add 81");
              auto none = s->read("meshcap4-none");
              CHILD_CHECK(none && !*none, "a missing set reads as none");

              auto headers = s->list();
              CHILD_CHECK(headers && headers->size() == 3, "list: %zu", headers ? headers->size() : 0);
              return 0;
            }),
            0);
}

TEST_F(IpsetSession, SwapRenameDestroyAndIndexes) {
  EXPECT_EQ(
      run_in_new_netns([] {
        auto s = ipset::Session::open();
        CHILD_CHECK(s, "open");
        CHILD_CHECK(s->create(nets("meshcap4-a", 10)), "create a");
        CHILD_CHECK(s->create(nets("meshcap4-b", 20, 100)), "create b");
        auto a = ipset::index_of("meshcap4-a");
        CHILD_CHECK(a, "index a: %s", a.error().message.c_str());
        auto name = ipset::name_of(*a);
        CHILD_CHECK(name && *name == "meshcap4-a", "name of %u", *a);
        CHILD_CHECK(!ipset::index_of("meshcap4-missing"), "a missing set has an index");

        // A rule by index: after a swap it sees the other contents.
        CHILD_CHECK(
            sh("iptables-legacy -t nat -A OUTPUT -m set --match-set meshcap4-a dst -j RETURN && echo ok") ==
                "ok\n",
            "rule");
        auto busy = s->destroy("meshcap4-a");
        CHILD_CHECK(busy && !*busy, "a set a rule uses was destroyed");
        CHILD_CHECK(s->swap("meshcap4-a", "meshcap4-b"), "swap");
        auto after = s->read("meshcap4-a");
        CHILD_CHECK(after && *after && (*after)->cidrs.size() == 20, "swap: meshcap4-a holds b's elements");
        CHILD_CHECK(ipset::index_of("meshcap4-a").value() == *a, "the name keeps its index");
        CHILD_CHECK(sh("iptables-legacy-save -t nat | grep -c 'match-set meshcap4-a dst'") == "1\n",
                    "rule names a");

        CHILD_CHECK(s->rename("meshcap4-b", "meshcap4-c"), "rename");
        CHILD_CHECK(sh("ipset list -n | sort | tr '\\n' ' '") == "meshcap4-a meshcap4-c ", "after rename");
        auto gone = s->destroy("meshcap4-c");
        CHILD_CHECK(gone && *gone, "destroy c");
        auto absent = s->destroy("meshcap4-c");
        CHILD_CHECK(absent && *absent, "destroying an absent set is success");
        CHILD_CHECK(!s->create(nets("meshcap4-a", 1)), "creating an existing set succeeded");
        return 0;
      }),
      0);
}

TEST_F(IpsetSession, RefusalsNameTheSet) {
  EXPECT_EQ(run_in_new_netns([] {
              auto s = ipset::Session::open();
              CHILD_CHECK(s, "open");
              ipset::Set bad = nets("meshcap4-zero", 1);
              bad.cidrs = {*Cidr::parse("0.0.0.0/0")};  // hash:net holds no /0
              auto r = s->create(bad);
              CHILD_CHECK(!r, "a /0 was taken");
              CHILD_CHECK(r.error().kind == ErrorKind::Kernel, "kind");
              CHILD_CHECK(r.error().message.find("meshcap4-zero") != std::string::npos, "%s",
                          r.error().message.c_str());
              return 0;
            }),
            0);
}

// The iptables backend's side: what a failed verification's undo does
// (apply of the plan observed before) puts the old sets back, and observe()
// compares elements with the held form.
Plan exclusions(int third, size_t n) {
  Config c;
  c.ipv6 = Ipv6Mode::Off;
  for (size_t i = 0; i < n; ++i)
    c.exclude_outbound_cidrs.push_back(*Cidr::parse("10." + std::to_string(third + i / 128) + "." +
                                                    std::to_string(2 * (i % 128)) + ".0/24"));
  return make_plan(c);
}

TEST_F(IpsetSession, BackendUndoPutsTheOldSetsBack) {
  EXPECT_EQ(
      run_in_new_netns([] {
        auto b = make_iptables_backend(XtablesLockHold::PerCall, true);
        Plan a = exclusions(0, 500), bplan = exclusions(50, 300);
        CHILD_CHECK(b->apply(a), "apply a");
        auto held = b->observe();
        CHILD_CHECK(held, "observe: %s", held.error().message.c_str());
        CHILD_CHECK(diff(b->held_form(a), *held).empty(), "a reads back different: %s",
                    diff(b->held_form(a), *held).c_str());
        std::string sets_a = sh("ipset save | sort");
        CHILD_CHECK(sets_a.find("create meshcap4-x_out_cidrs hash:net") != std::string::npos, "%s",
                    sets_a.c_str());
        CHILD_CHECK(b->apply(bplan), "apply b");
        auto held_b = b->observe();
        CHILD_CHECK(held_b && diff(b->held_form(bplan), *held_b).empty(), "b reads back different");
        CHILD_CHECK(held_b && diff(b->held_form(a), *held_b) != "", "b reads back as a");
        // Undo: the plan observed before b, applied again.
        CHILD_CHECK(b->apply(*held), "undo");
        auto again = b->observe();
        CHILD_CHECK(again && diff(b->held_form(a), *again).empty(), "after undo: not a");
        // The same elements; the set may sit under the other name.
        std::string now = sh("ipset save | sed 's/meshcap4-x_out_cidrs-b/meshcap4-x_out_cidrs/' | sort");
        CHILD_CHECK(now == sets_a, "after undo the sets differ:\n%s\nwant\n%s", now.c_str(), sets_a.c_str());
        CHILD_CHECK(sh("ipset list -n | wc -l") == "1\n", "sets no rule uses are left");
        // A tampered element is a difference; remove() destroys the set.
        sh("ipset list -n | head -1 | xargs -I{} ipset del {} 10.0.2.0/24");
        auto tampered = b->observe();
        CHILD_CHECK(tampered && diff(b->held_form(a), *tampered).find("10.0.2.0/24") != std::string::npos,
                    "tampering is not a difference");
        CHILD_CHECK(b->remove(), "remove");
        CHILD_CHECK(sh("ipset list -n | wc -l") == "0\n", "remove() leaves sets");
        // Without ipsets the same plan is expanded, and reads back so.
        auto off = make_iptables_backend(XtablesLockHold::PerCall, false);
        CHILD_CHECK(off->apply(a), "apply --ipset off");
        auto expanded = off->observe();
        CHILD_CHECK(expanded && diff(off->held_form(a), *expanded).empty(), "expanded reads back different");
        CHILD_CHECK(sh("ipset list -n | wc -l") == "0\n", "--ipset off made a set");
        CHILD_CHECK(sh("iptables-legacy-save -t nat | grep -c '^-A MESHCAP_OUTPUT -d 10\\.'") == "500\n",
                    "not 500 expanded rules");
        return 0;
      }),
      0);
}

// One set serves two tables (the DNS servers: nat and raw). When both of its
// other names are taken (here the second by someone else's rule, as a run
// stopped between the two tables' commits would leave it), the third is used;
// a set someone else's rule uses is left alone.
TEST_F(IpsetSession, ASetOfTwoTablesFindsAFreeName) {
  EXPECT_EQ(run_in_new_netns([] {
              auto dns = [](int first) {
                Config c;
                c.ipv6 = Ipv6Mode::Off;
                c.capture_dns = true;
                for (int i = 0; i < 100; ++i)
                  c.dns_servers.push_back(*Cidr::parse("10.9." + std::to_string(first + i) + ".1"));
                return make_plan(c);
              };
              auto b = make_iptables_backend(XtablesLockHold::PerCall, true);
              CHILD_CHECK(b->apply(dns(0)), "apply");
              CHILD_CHECK(sh("iptables-legacy-save | grep -c 'match-set meshcap4-dns_servers '") == "4\n",
                          "the set is not used by 4 rules in nat and raw");
              sh("ipset create meshcap4-dns_servers-b hash:net && "
                 "iptables-legacy -A INPUT -m set --match-set meshcap4-dns_servers-b src -j ACCEPT");
              CHILD_CHECK(b->apply(dns(100)), "apply with both other names in use");
              auto held = b->observe();
              CHILD_CHECK(held && diff(b->held_form(dns(100)), *held).empty(), "reads back different");
              CHILD_CHECK(sh("iptables-legacy-save | grep -c 'match-set meshcap4-dns_servers-c '") == "4\n",
                          "the rules do not use the third name");
              CHILD_CHECK(sh("ipset list -n | sort | tr '\\n' ' '") ==
                              "meshcap4-dns_servers-b meshcap4-dns_servers-c ",
                          "sets: %s", sh("ipset list -n").c_str());
              return 0;
            }),
            0);
}

}  // namespace
}  // namespace meshcap
