#!/usr/bin/env python3
"""Kill at every step: `meshcap apply` changing a namespace from OLD to NEW
settings is killed (SIGKILL, injected by strace) at its K-th sendto, sendmsg
or setsockopt, for every K up to the last one an un-killed run makes. After
each kill, in a fresh pod namespace per K:

  - `check` with OLD or with NEW passes, or `check` with NEW exits 4 and
    prints the difference (it names the leftover);
  - real connections (outbound v4/v6 TCP and DNS from the app's uid,
    inbound v4/v6 TCP from outside) land exactly as under OLD or exactly as
    under NEW — never dropped, never elsewhere. With nft (one transaction
    for both families) all of them at once: never a mix. With legacy
    iptables, each connection on its own (see `per_connection` below);
  - the next `apply` of NEW converges: exit 0, `check` exit 0, and the
    connections land as under NEW; with iptables, no meshcap ipset is left
    that no rule uses. A scenario may name a THEN for the next apply instead
    of NEW: "big-to-small" kills an apply of 10,000 exclusions (its ipsets
    half made or in use) and converges with small lists, which create no set.

usage: kill_test.py MESHCAP BACKEND SCENARIO   (scenarios: see SCENARIOS)
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "adversarial"))
import mcap  # noqa: E402

REDIRECT = ["--ipv6", "on", "--outbound-port", "15001", "--inbound-port", "15006"]
TPROXY = ["--ipv6", "on", "--inbound-mode", "tproxy", "--outbound-port", "16001", "--inbound-port", "16006",
          "--capture-dns", "--dns-port", "16053"]
# 10,000 host addresses (a hash set in nft, 10,000 rules in iptables), the
# peer's address last: the outbound probes to it are excluded only under NEW.
BIG_HOSTS = [f"9.{i // 250}.{i % 250}.1" for i in range(9998)] + [mcap.PEER4 + "/32", mcap.PEER6 + "/128"]
BIG = REDIRECT + ["--exclude-outbound-cidrs", ",".join(BIG_HOSTS)]
# Another 10,000 (with --backend iptables: another ipset's contents), the
# peer not among them.
BIG2 = REDIRECT + ["--exclude-outbound-cidrs", ",".join(f"9.{i // 250}.{i % 250}.2" for i in range(10000))]

OUTBOUND = [f"tcp,{mcap.PEER4},8080", f"tcp,{mcap.PEER6},8080", f"udp,{mcap.PEER4},53", f"udp,{mcap.PEER6},53"]
INBOUND = [f"tcp,{mcap.POD4},8080", f"tcp,{mcap.POD6},8080"]
# Where each probe lands under each settings (outbound..., inbound...).
LANDS = {
    "redirect": ["pod:15001", "pod:15001", "peer:53", "peer:53", "pod:15006", "pod:15006"],
    "tproxy": ["pod:16001", "pod:16001", "pod:16053", "pod:16053", "pod:16006", "pod:16006"],
    "big": ["peer:8080", "peer:8080", "peer:53", "peer:53", "pod:15006", "pod:15006"],
    "big2": ["pod:15001", "pod:15001", "peer:53", "peer:53", "pod:15006", "pod:15006"],
}
SETTINGS = {"redirect": REDIRECT, "tproxy": TPROXY, "big": BIG, "big2": BIG2}
SCENARIOS = {
    "redirect-to-tproxy": ("redirect", "tproxy"),
    "tproxy-to-redirect": ("tproxy", "redirect"),
    "redirect-to-big": ("redirect", "big"),
    "big-to-big2": ("big", "big2"),
    # From small lists, the big apply killed, then small lists again.
    "big-to-small": ("redirect", "big", "redirect"),
}
SYSCALLS = ["sendto", "sendmsg", "setsockopt"]
# LeakSanitizer cannot run under ptrace: a sanitized build traced by strace
# would fail at exit for that reason alone.
UNDER_PTRACE = ["env", "ASAN_OPTIONS=" + ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))]


def per_connection(backend):
    """Whether a killed run is judged connection by connection rather than as
    a whole. Legacy iptables commits one table of one family at a time and
    the kernel offers no transaction across them: v4 and v6 are separate
    tables, and a change of inbound mode moves inbound capture from nat
    (REDIRECT) to mangle (TPROXY) while outbound capture stays in nat, so no
    order of commits switches a family's outbound and inbound at one
    instant. What the backend guarantees (it orders its commits for this) is
    that each connection is handled exactly as under OLD or exactly as under
    NEW at every step: never dropped, never captured to a port of neither.
    nft commits both families in one transaction and is held to the whole."""
    return backend == "iptables"


def stray_sets(pod):
    """meshcap's ipsets that no rule names (none once a run converged)."""
    if pod.ns.run(["sh", "-c", "command -v ipset"]).returncode != 0:
        return []
    saved = pod.ns.run(["sh", "-c", "iptables-legacy-save; ip6tables-legacy-save"]).stdout
    named = {line.split("--match-set ")[1].split()[0] for line in saved.splitlines() if "--match-set " in line}
    have = pod.ns.run(["ipset", "list", "-n"]).stdout.split()
    return sorted(n for n in have if n.startswith("meshcap") and n not in named)


def new_pod():
    return mcap.Pod(pod_tcp=[15001, 16001, 15006, 16006, 8080], pod_udp=[16053],
                    peer_tcp=[8080], peer_udp=[53])


def main():
    binary, backend, scenario = sys.argv[1:4]
    mcap.require_root_and("strace", "nft", "iptables-legacy-save", "ip", *(["ipset"] if backend == "iptables" else []))
    old, new, then = (SCENARIOS[scenario] + (None,))[:3]
    then = then or new
    m = mcap.Meshcap(binary)
    b = ["--backend", backend]
    failures = []

    def apply(pod, which, prefix=()):
        return m.run(pod.ns, "apply", b + SETTINGS[which], prefix=prefix, timeout=300)

    def landings(pod):
        return pod.probe(OUTBOUND, INBOUND)

    # The un-killed run: how many of each syscall it makes, and the oracle's
    # sanity (each side's probes land as LANDS says).
    counts = {}
    with new_pod() as pod:
        r = apply(pod, old)
        assert r.returncode == 0, r.stderr
        assert landings(pod) == LANDS[old], f"{old}: {landings(pod)}"
        trace = f"/tmp/meshcap-kill-{os.getpid()}"
        r = apply(pod, new, prefix=UNDER_PTRACE + ["strace", "-f", "-qq", "-o", trace, "-e", "trace=" + ",".join(SYSCALLS)])
        assert r.returncode == 0, r.stderr
        assert landings(pod) == LANDS[new], f"{new}: {landings(pod)}"
        lines = open(trace).read().splitlines()
        os.remove(trace)
        for s in SYSCALLS:
            counts[s] = sum(1 for line in lines if line.split(" ", 1)[-1].lstrip().startswith(s + "("))
    print(f"{scenario} via {backend}: an un-killed apply makes {counts}", flush=True)

    started = time.time()
    runs = 0
    for syscall in SYSCALLS:
        for k in range(1, counts[syscall] + 1):
            runs += 1
            where = f"{scenario} via {backend}, killed at {syscall} #{k}"
            with new_pod() as pod:
                r = apply(pod, old)
                if r.returncode != 0:
                    failures.append(f"{where}: setting up {old} failed: {r.stderr.strip()}")
                    continue
                inject = f"inject={syscall}:signal=KILL:when={k}"
                r = apply(pod, new, prefix=UNDER_PTRACE + ["strace", "-f", "-qq", "-o", "/dev/null", "-e", inject])
                if r.returncode not in (-9, 128 + 9):
                    failures.append(f"{where}: expected the run to be killed, exit {r.returncode}: "
                                    f"{r.stderr.strip()[:300]}")
                state = None
                for which in (old, new):
                    c = m.run(pod.ns, "check", b + SETTINGS[which], timeout=300)
                    if c.returncode == 0:
                        state = which
                        break
                if state is None:
                    c = m.run(pod.ns, "check", b + SETTINGS[new], timeout=300)
                    diff = [line for line in c.stderr.splitlines() if line[:1] in "+-" or line.startswith("#")]
                    if c.returncode != 4 or not diff:
                        failures.append(f"{where}: check neither passes nor names a difference "
                                        f"(exit {c.returncode}): {c.stderr.strip()[:300]}")
                    else:
                        print(f"{where}: half-programmed; check names: " + " | ".join(diff[:6]), flush=True)
                got = landings(pod)
                if per_connection(backend):
                    mixed = [i for i, g in enumerate(got) if g not in (LANDS[old][i], LANDS[new][i])]
                    if mixed:
                        failures.append(f"{where}: connections {mixed} land as {[got[i] for i in mixed]}, neither "
                                        f"as under {old} nor as under {new} (all: {got})")
                elif got not in (LANDS[old], LANDS[new]):
                    failures.append(f"{where}: connections land as {got}, neither as under {old} "
                                    f"{LANDS[old]} nor as under {new} {LANDS[new]} (check: {state or 'neither'})")
                elif state and got != LANDS[state]:
                    failures.append(f"{where}: check passes for {state} but connections land as {got}")
                r = apply(pod, then)
                c = m.run(pod.ns, "check", b + SETTINGS[then], timeout=300)
                if r.returncode != 0 or c.returncode != 0:
                    failures.append(f"{where}: the next apply ({then}) does not converge: apply exit {r.returncode} "
                                    f"({r.stderr.strip()[:300]}), check exit {c.returncode}")
                elif landings(pod) != LANDS[then]:
                    failures.append(f"{where}: after converging, connections land as {landings(pod)}")
                elif backend == "iptables" and stray_sets(pod):
                    failures.append(f"{where}: after converging, ipsets no rule uses: {stray_sets(pod)}")
    print(f"{runs} kills in {time.time() - started:.1f} s, {len(failures)} failures", flush=True)
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
