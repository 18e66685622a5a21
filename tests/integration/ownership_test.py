#!/usr/bin/env python3
"""Ownership across releases: what an older meshcap release left in a
namespace (tests/fixtures/<version>/, written by make_fixtures.py with that
release's binary) is loaded with the standard tools — `nft -f`,
`iptables-legacy-restore --noflush`, `ip rule add ... proto 154`, `ip route
add ... proto 154`, `ip addr add ::6/128 dev lo` — into a fresh namespace
that also holds foreign state (another nft table, a user's iptables chain
with a jump to it, a policy rule and a route of someone else's). Then, with
this build:

  - `check` with that release's settings finds it: it passes (exit 0), or,
    where this release programs a mark differently, exits 4 naming the
    leftover as that release's (see main());
  - `cleanup` removes every trace of it and nothing else: the namespace is
    byte-identical to its state before the fixture was loaded, except for
    an untagged ::6 on lo (see main(): it stays by contract, so the test
    puts it there before taking that state).

usage: ownership_test.py MESHCAP FIXTURE_DIR
"""

import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "adversarial"))
import mcap  # noqa: E402


def add_foreign_state(ns):
    for cmd in (
        ["nft", "add", "table", "inet", "other"],
        ["nft", "add", "chain", "inet", "other", "out", "{ type filter hook output priority 0; }"],
        ["nft", "add", "rule", "inet", "other", "out", "tcp", "dport", "22", "counter", "accept"],
        ["iptables-legacy", "-t", "nat", "-N", "USER_CHAIN"],
        ["iptables-legacy", "-t", "nat", "-A", "USER_CHAIN", "-p", "tcp", "--dport", "2222", "-j", "RETURN"],
        ["iptables-legacy", "-t", "nat", "-A", "OUTPUT", "-j", "USER_CHAIN"],
        ["ip6tables-legacy", "-t", "mangle", "-A", "PREROUTING", "-p", "udp", "-j", "RETURN"],
        ["ip", "-4", "rule", "add", "fwmark", "0x77", "lookup", "200", "priority", "31000"],
        ["ip", "-6", "rule", "add", "fwmark", "0x77", "lookup", "200", "priority", "31000"],
        ["ip", "-4", "route", "add", "local", "default", "dev", "lo", "table", "200"],
    ):
        ns.run(cmd, check=True)


def load_fixture(ns, base):
    def text(suffix):
        with open(f"{base}.{suffix}") as f:
            return f.read()

    if text("nft").strip():
        ns.run(["nft", "-f", f"{base}.nft"], check=True)
    for tool, suffix in (("iptables-legacy-restore", "iptables"), ("ip6tables-legacy-restore", "ip6tables")):
        if text(suffix).strip():
            ns.run([tool, "--noflush"], input=text(suffix), check=True)
    # Only meshcap's routing state: the policy rules and routes it marks
    # with protocol 154, and ::6 on lo.
    for fam, suffix in (("-4", "rule4"), ("-6", "rule6")):
        for line in text(suffix).splitlines():
            if "proto 154" in line:
                prio, selector = line.split(":", 1)
                ns.run(["ip", fam, "rule", "add", "priority", prio] + selector.split(), check=True)
    for fam, suffix in (("-4", "route4"), ("-6", "route6")):
        for line in text(suffix).splitlines():
            if "proto 154" in line:
                words = [w for w in line.split() if w]
                if "pref" in words:  # printed for IPv6, not settable together with everything else
                    i = words.index("pref")
                    del words[i:i + 2]
                ns.run(["ip", fam, "route", "add"] + words, check=True)


def fixture_has_passthrough(base):
    with open(f"{base}.lo") as f:
        return "::6/128" in f.read()


def add_untagged_passthrough(ns):
    ns.run(["ip", "-6", "addr", "add", "::6/128", "dev", "lo", "nodad"], check=True)


def main():
    binary, fixtures = sys.argv[1:3]
    mcap.require_root_and("nft", "iptables-legacy-restore", "ip")
    m = mcap.Meshcap(binary)
    failures = []
    cases = sorted(glob.glob(os.path.join(fixtures, "*", "*.args")))
    if not cases:
        sys.exit(f"no fixtures under {fixtures}")
    for args_file in cases:
        base = args_file[:-len(".args")]
        where = os.path.relpath(base, fixtures)
        with open(args_file) as f:
            args = [a for a in f.read().split("\n") if a]
        with mcap.Netns("own") as ns:
            add_foreign_state(ns)
            # The ::6 a release before 0.2 added to lo carries no owner mark
            # (0.2 tags its own with IFA_PROTO 154): it cannot be told from
            # one an admin or the proxy added, which cleanup must leave, so
            # cleanup leaves this one too. It is part of the state cleanup
            # must come back to, not of what it must remove.
            if fixture_has_passthrough(base):
                add_untagged_passthrough(ns)
            before = mcap.snapshot(ns)
            load_fixture(ns, base)
            c = m.run(ns, "check", args)
            # Release 0.1.0's iptables jumps carry no comment match; this
            # release marks its jumps (docs/ownership.md) and programs them
            # so, and its check compares the kernel with what it programs: a
            # jump without the mark is a difference, named as the old
            # release's with the way forward (`apply` converges it, tested in
            # ipt_backend_test FindsWhatRelease010Left). That is check
            # finding the old state, as the contract asks; passing silently
            # would claim the mark is there. Any other difference fails.
            version = where.split("/")[0].lstrip("v")
            found_old = c.returncode == 4 and f"(left by meshcap {version})" in c.stderr
            if c.returncode != 0 and not found_old:
                failures.append(f"{where}: check with {' '.join(args)} exit {c.returncode}:\n{c.stderr.strip()}")
            r = m.run(ns, "cleanup", args[:2])
            after = mcap.snapshot(ns)
            if r.returncode != 0:
                failures.append(f"{where}: cleanup exit {r.returncode}: {r.stderr.strip()}")
            elif after != before:
                failures.append(f"{where}: after cleanup the namespace differs from before the fixture was "
                                f"loaded:\n{mcap.snapshot_diff(before, after)}")
        print(f"{where}: {'ok' if not failures or not failures[-1].startswith(where) else 'FAILED'}", flush=True)
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
