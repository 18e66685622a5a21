#!/usr/bin/env python3
"""Large exclusion lists through --backend iptables become ipsets: checked
against the kernel with `ipset` and `iptables-legacy-save` as oracles and
with real connections from a pod namespace to a peer namespace.

  - 1,000 excluded CIDRs and 201 port ranges: one hash:net and one
    bitmap:port per family, one `-m set` rule each; a connection to an
    excluded port reaches the peer, one to a port and address on neither
    list lands on the proxy's outbound port;
  - a changed list converges (the peer's address excluded now: reached
    directly), and a re-run with the same lists changes no set;
  - `ipset del` of one element is drift for `check`, and apply repairs it;
  - an apply whose iptables commit fails after its sets were built leaves
    the old rules and the old sets exactly as they were;
  - `--ipset off` programs the expanded rules and no set; switching to
    `--backend nft` and `cleanup` leave no set and no chain;
  - a `meshcap4-`/`meshcap6-` set no rule uses (a killed run's leftover)
    beside the rules of small lists: `check` exits 4 naming it, `apply`
    (also with `--ipset off`, also with `--backend nft`) and `cleanup`
    remove it, and a set of another prefix stays untouched.

usage: ipset_test.py MESHCAP
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "adversarial"))
import mcap  # noqa: E402

CIDRS = [f"9.{i // 100}.{(i % 100) * 2}.0/24" for i in range(999)]
PORTS = [f"{20000 + 10 * i}-{20003 + 10 * i}" for i in range(200)] + ["9090"]
BASE = ["--backend", "iptables", "--ipv6", "on", "--exclude-outbound-ports", ",".join(PORTS)]
# A: the peer's address is not excluded; B: it is (the 1,000th CIDR).
A = BASE + ["--exclude-outbound-cidrs", ",".join(CIDRS + ["9.99.0.0/24"])]
B = BASE + ["--exclude-outbound-cidrs", ",".join(CIDRS + [mcap.PEER4 + "/32"])]
PROBES = [f"tcp,{mcap.PEER4},8080", f"tcp,{mcap.PEER4},9090", f"tcp,{mcap.PEER6},8080", f"tcp,{mcap.PEER6},9090"]
LANDS_A = ["pod:15001", "peer:9090", "pod:15001", "peer:9090"]
LANDS_B = ["peer:8080", "peer:9090", "pod:15001", "peer:9090"]

failures = []
checked = [0]


# LeakSanitizer cannot run under ptrace: a sanitized build traced by strace
# would fail at exit for that reason alone (as in kill_test.py).
UNDER_PTRACE = ["env", "ASAN_OPTIONS=" + ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))]

def expect(cond, what):
    checked[0] += 1
    if not cond:
        failures.append(what)
        print("FAIL " + what, flush=True)
    return cond


def sets(pod):
    """{name: (type, [elements])} as `ipset save` prints them."""
    out = {}
    for line in pod.ns.run(["ipset", "save"], check=True).stdout.splitlines():
        w = line.split()
        if w[0] == "create":
            out[w[1]] = (w[2], [])
        elif w[0] == "add":
            out[w[1]][1].append(w[2])
    return out


def saved(pod):
    return (mcap.strip_counters(pod.ns.run(["iptables-legacy-save"], check=True).stdout),
            mcap.strip_counters(pod.ns.run(["ip6tables-legacy-save"], check=True).stdout))


def set_rules(pod):
    return sorted(re.findall(r"^-A MESHCAP_OUTPUT .*--match-set \S+ \w+ -j RETURN$", "\n".join(saved(pod)), re.M))


def live(pod):
    """The sets the rules name, and whether every meshcap set is one of them."""
    named = set(re.findall(r"--match-set (\S+)", "\n".join(saved(pod))))
    return named, {s for s in sets(pod) if s.startswith("meshcap")} <= named


def main():
    binary = sys.argv[1]
    mcap.require_root_and("ipset", "iptables-legacy-save", "ip6tables-legacy-save", "strace", "ip")
    m = mcap.Meshcap(binary)

    def pod():
        return mcap.Pod(pod_tcp=[15001, 15006], pod_udp=[], peer_tcp=[8080, 9090], peer_udp=[])

    with pod() as p:
        r = m.run(p.ns, "apply", A)
        expect(r.returncode == 0, f"apply A: exit {r.returncode}: {r.stderr.strip()}")
        s = sets(p)
        expect(s.get("meshcap4-x_out_cidrs", ("", []))[0] == "hash:net", f"no hash:net of the CIDRs: {list(s)}")
        expect(len(s.get("meshcap4-x_out_cidrs", ("", []))[1]) == 1000, "the hash:net does not hold 1,000 CIDRs")
        expect(s.get("meshcap4-x_out_ports", ("", []))[0] == "bitmap:port", "no bitmap:port of the ports")
        # bitmap:port lists each port: 200 ranges of 4 and 9090.
        expect(len(s.get("meshcap4-x_out_ports", ("", []))[1]) == 801, "the bitmap:port does not hold 801 ports")
        expect("meshcap6-x_out_ports" in s, "no IPv6 port set")
        expect(set_rules(p) == sorted([
            "-A MESHCAP_OUTPUT -p tcp -m set --match-set meshcap4-x_out_ports dst -j RETURN",
            "-A MESHCAP_OUTPUT -m set --match-set meshcap4-x_out_cidrs dst -j RETURN",
            "-A MESHCAP_OUTPUT -p tcp -m set --match-set meshcap6-x_out_ports dst -j RETURN"]),
            f"the -m set rules: {set_rules(p)}")
        v4, v6 = saved(p)
        expect(v4.count("-A MESHCAP_OUTPUT") < 20, "IPv4 lists expanded into rules")
        got = p.probe(PROBES, [])
        expect(got == LANDS_A, f"A: connections land as {got}, want {LANDS_A}")
        r = m.run(p.ns, "check", A)
        expect(r.returncode == 0, f"check A: exit {r.returncode}: {r.stderr.strip()[-300:]}")

        # The same settings again: no set changes.
        before = sets(p)
        r = m.run(p.ns, "apply", A)
        expect(r.returncode == 0 and sets(p) == before, "a re-run of A changed the sets")

        # A changed list converges; the old sets go.
        r = m.run(p.ns, "apply", B)
        expect(r.returncode == 0, f"apply B: exit {r.returncode}: {r.stderr.strip()}")
        got = p.probe(PROBES, [])
        expect(got == LANDS_B, f"B: connections land as {got}, want {LANDS_B}")
        named, only = live(p)
        expect(only, f"sets no rule names are left: {sorted(sets(p))} (named: {sorted(named)})")
        cidr_set = next((n for n in named if n.startswith("meshcap4-x_out_cidrs")), "meshcap4-x_out_cidrs")
        expect(mcap.PEER4 in sets(p).get(cidr_set, ("", []))[1], "the peer's address is not in the set")
        expect(m.run(p.ns, "check", B).returncode == 0, "check B after apply B")
        expect(m.run(p.ns, "check", A).returncode == 4, "check A passes after apply B")

        # Tampering with a set is drift.
        p.ns.run(["ipset", "del", cidr_set, mcap.PEER4], check=True)
        r = m.run(p.ns, "check", B)
        expect(r.returncode == 4 and mcap.PEER4 in r.stderr,
               f"check after ipset del: exit {r.returncode}, {r.stderr.strip()[-300:]}")
        r = m.run(p.ns, "apply", B)
        expect(r.returncode == 0 and m.run(p.ns, "check", B).returncode == 0, "apply does not repair the set")
        expect(p.probe(PROBES, []) == LANDS_B, "after the repair")

        # A commit that fails after the sets were built: every table commit
        # (IPT_SO_SET_REPLACE) in turn refused; the old state stays whole.
        trace = f"/tmp/meshcap-ipset-{os.getpid()}"
        r = m.run(p.ns, "apply", A, prefix=UNDER_PTRACE + ["strace", "-f", "-qq", "-o", trace, "-e", "trace=setsockopt"])
        calls = [line for line in open(trace).read().splitlines() if "setsockopt(" in line]
        os.remove(trace)
        commits = [i + 1 for i, line in enumerate(calls) if "_SO_SET_REPLACE" in line]
        expect(len(commits) >= 2, f"expected a commit per table, saw {len(commits)}")
        r = m.run(p.ns, "apply", B)
        for k in commits:
            before = (saved(p), sets(p))
            r = m.run(p.ns, "apply", A,
                      prefix=UNDER_PTRACE + ["strace", "-f", "-qq", "-o", "/dev/null", "-e", f"inject=setsockopt:error=EPERM:when={k}"])
            expect(r.returncode == 3, f"commit #{k} refused: exit {r.returncode}: {r.stderr.strip()[-300:]}")
            after = (saved(p), sets(p))
            expect(after == before, f"commit #{k} refused: the namespace changed "
                                    f"(sets {sorted(before[1])} -> {sorted(after[1])})")
            expect(m.run(p.ns, "check", B).returncode == 0, f"commit #{k} refused: check B fails")
        expect(p.probe(PROBES, []) == LANDS_B, "after the refused commits")

        # --ipset off: the expanded rules, no set.
        r = m.run(p.ns, "apply", B + ["--ipset", "off"])
        expect(r.returncode == 0, f"apply --ipset off: {r.stderr.strip()}")
        expect(not [s for s in sets(p) if s.startswith("meshcap")], f"--ipset off leaves sets: {list(sets(p))}")
        v4, _ = saved(p)
        expect(v4.count("-A MESHCAP_OUTPUT -p tcp -m tcp --dport") == 201 and v4.count("-A MESHCAP_OUTPUT -d 9.") == 999,
               "--ipset off: not the expanded rules")
        expect("--match-set" not in v4, "--ipset off: a -m set rule")
        expect(p.probe(PROBES, []) == LANDS_B, "--ipset off: connections")
        expect(m.run(p.ns, "check", B + ["--ipset", "off"]).returncode == 0, "check --ipset off")

        # Switching to nft removes the iptables backend's rules and sets.
        expect(m.run(p.ns, "apply", B).returncode == 0, "apply B after --ipset off")
        nft = [a if a != "iptables" else "nft" for a in B]
        r = m.run(p.ns, "apply", nft)
        expect(r.returncode == 0, f"apply --backend nft: {r.stderr.strip()}")
        expect(not [s for s in sets(p) if s.startswith("meshcap")], f"--backend nft leaves ipsets: {list(sets(p))}")
        expect(p.probe(PROBES, []) == LANDS_B, "--backend nft: connections")
        expect(m.run(p.ns, "cleanup", []).returncode == 0, "cleanup after nft")

        # Back to sets, then cleanup: nothing of meshcap's.
        expect(m.run(p.ns, "apply", B).returncode == 0, "apply B after nft")
        expect(set_rules(p) != [], "no -m set rules after going back to sets")
        r = m.run(p.ns, "cleanup", ["--backend", "iptables"])
        expect(r.returncode == 0, f"cleanup: {r.stderr.strip()}")
        expect(not [s for s in sets(p) if s.startswith("meshcap")], f"cleanup leaves sets: {list(sets(p))}")
        expect("MESHCAP" not in "".join(saved(p)), "cleanup leaves chains")

    # A set of meshcap's that no rule uses (what a killed run leaves) beside
    # the rules of small lists: check names it, every apply removes it (with
    # --ipset off too), a set of another prefix is never touched.
    small = ["--backend", "iptables", "--ipv6", "on", "--exclude-outbound-cidrs", "9.1.0.0/16"]
    with pod() as p:
        p.ns.run(["ipset", "create", "other-x", "hash:net"], check=True)
        p.ns.run(["ipset", "add", "other-x", "9.9.9.0/24"], check=True)
        for extra in ([], ["--ipset", "off"]):
            r = m.run(p.ns, "apply", small + extra)
            expect(r.returncode == 0, f"apply small{extra}: {r.stderr.strip()}")
            expect(m.run(p.ns, "check", small + extra).returncode == 0, f"check small{extra} before the stray")
            rules = saved(p)
            p.ns.run(["ipset", "create", "meshcap4-x_out_cidrs-b", "hash:net"], check=True)
            p.ns.run(["ipset", "create", "meshcap6-stray", "hash:net", "family", "inet6"], check=True)
            r = m.run(p.ns, "check", small + extra)
            expect(r.returncode == 4 and "meshcap4-x_out_cidrs-b" in r.stderr and "meshcap6-stray" in r.stderr,
                   f"check{extra} with stray sets: exit {r.returncode}: {r.stderr.strip()[-400:]}")
            r = m.run(p.ns, "apply", small + extra)
            expect(r.returncode == 0, f"apply small{extra} over stray sets: {r.stderr.strip()}")
            left = sorted(sets(p))
            expect(left == ["other-x"], f"apply small{extra} leaves sets: {left}")
            expect(sets(p).get("other-x", ("", []))[1] == ["9.9.9.0/24"], "other-x was changed")
            expect(saved(p) == rules, f"apply small{extra}: the rules changed")
            r = m.run(p.ns, "check", small + extra)
            expect(r.returncode == 0, f"check small{extra} after apply: exit {r.returncode}: {r.stderr.strip()[-300:]}")
        # With nft in use, check still sees one, apply removes it; cleanup too.
        nft = ["--backend", "nft", "--ipv6", "on"]
        expect(m.run(p.ns, "apply", nft).returncode == 0, "apply nft")
        p.ns.run(["ipset", "create", "meshcap4-stray", "hash:net"], check=True)
        r = m.run(p.ns, "check", nft)
        expect(r.returncode == 4 and "iptables backend still holds ipset meshcap4-stray (no rule uses it)" in r.stderr,
               f"check nft with a stray set: exit {r.returncode}: {r.stderr.strip()[-300:]}")
        expect(m.run(p.ns, "apply", nft).returncode == 0 and sorted(sets(p)) == ["other-x"],
               f"apply nft leaves sets: {sorted(sets(p))}")
        p.ns.run(["ipset", "create", "meshcap4-stray", "hash:net"], check=True)
        expect(m.run(p.ns, "cleanup", []).returncode == 0 and sorted(sets(p)) == ["other-x"],
               f"cleanup leaves sets: {sorted(sets(p))}")

    # The dry run loads: ipset -exist restore, then iptables-restore, and
    # check agrees with what was loaded.
    with mcap.Netns("ipset") as ns:
        text = ns.run([binary, "apply", "--dry-run", "--format", "iptables"] + B, check=True).stdout
        sections = re.split(r"^# === ", text, flags=re.M)
        ipsets = next(s for s in sections if s.startswith("ipsets"))
        v4 = next(s for s in sections if s.startswith("IPv4"))
        v6 = next(s for s in sections if s.startswith("IPv6"))
        ns.run(["ipset", "-exist", "restore"], input=ipsets.split("\n", 1)[1], check=True)
        ns.run(["iptables-legacy-restore", "--noflush"], input=v4.split("\n", 1)[1], check=True)
        ns.run(["ip6tables-legacy-restore", "--noflush"], input=v6.split("\n", 1)[1], check=True)
        for line in text.splitlines():
            if line.startswith("# ip "):
                ns.run(line[2:].split(), check=True)
        r = mcap.Meshcap(binary).run(ns, "check", B)
        expect(r.returncode == 0, f"check after loading the dry run: exit {r.returncode}: {r.stderr.strip()[-300:]}")

    print(f"{checked[0]} checks, {len(failures)} failures", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
