#!/usr/bin/env python3
"""Concurrent meshcap runs against one network namespace.

  applies: 10 `apply` runs with 10 different configurations (half redirect,
      half tproxy with their own mark and routing table) start at once into
      one fresh namespace, 20 times. Every run exits 0, or 1 saying another
      meshcap holds the namespace; afterwards exactly one of the 10
      configurations passes `check`, and the namespace holds one table per
      family and only that configuration's routing state.
  cleanup: `apply` (tproxy) races `cleanup` over a namespace that holds
      another configuration, 20 times. Both exit 0; afterwards the namespace
      holds either nothing of meshcap's or exactly the applied configuration.

usage: concurrency_test.py MESHCAP BACKEND applies|cleanup
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "adversarial"))
import mcap  # noqa: E402

# 20; the sanitized CI pass asks for fewer (MCADV_REPETITIONS): ten
# sanitized processes at once cost seconds a round and find nothing new after
# a few rounds.
REPETITIONS = int(os.environ.get("MCADV_REPETITIONS", "20"))
RUNS = 10
LOCKED = "another meshcap holds"


def config(i):
    c = ["--ipv6", "on", "--outbound-port", str(20000 + i), "--exclude-outbound-ports", str(30000 + i)]
    if i % 2:
        c += ["--inbound-mode", "tproxy", "--tproxy-mark", str(0x1000 + i), "--tproxy-table", str(140 + i)]
    return c


def start(binary, ns, command, args):
    return subprocess.Popen(["nsenter", f"--net={ns.path}", binary, command] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace")


def finish(p):
    out, err = p.communicate(timeout=120)
    return p.returncode, err.strip()


def acceptable(status, err):
    return status == 0 or (status == 1 and LOCKED in err)


def meshcap_state(ns):
    """What of meshcap's the namespace holds, as the standard tools show it."""
    s = mcap.snapshot(ns)
    found = []
    if "meshcap" in s["nft"]:
        found.append("nft table")
    if "MESHCAP" in s["iptables"] + s["ip6tables"]:
        found.append("iptables chains")
    for k in ("rule4", "rule6", "route4", "route6"):
        if "proto 154" in s[k]:
            found.append(k + ": " + " / ".join(l for l in s[k].splitlines() if "proto 154" in l))
    return found


def applies(m, binary, backend):
    failures = []
    b = ["--backend", backend]
    for rep in range(REPETITIONS):
        with mcap.Netns("conc") as ns:
            procs = [start(binary, ns, "apply", b + config(i)) for i in range(RUNS)]
            results = [finish(p) for p in procs]
            for i, (status, err) in enumerate(results):
                if not acceptable(status, err):
                    failures.append(f"repetition {rep}, run {i}: exit {status}: {err.splitlines()[-1] if err else ''}")
            passing = [i for i in range(RUNS) if m.run(ns, "check", b + config(i)).returncode == 0]
            if len(passing) != 1:
                state = meshcap_state(ns)
                failures.append(f"repetition {rep}: {len(passing)} configurations pass check ({passing}); "
                                f"the namespace holds {state}")
                continue
            # One config passes check; no other config's routing is left over.
            snap = mcap.snapshot(ns)
            for i in range(RUNS):
                if i != passing[0] and i % 2 and f"lookup {140 + i}" in snap["rule4"] + snap["rule6"]:
                    failures.append(f"repetition {rep}: config {passing[0]} is complete but config {i}'s "
                                    "policy rule is left over")
    return failures


def cleanup_race(m, binary, backend):
    failures = []
    b = ["--backend", backend]
    for rep in range(REPETITIONS):
        with mcap.Netns("race") as ns:
            r = m.run(ns, "apply", b + config(0))
            if r.returncode != 0:
                failures.append(f"repetition {rep}: setting up: {r.stderr.strip()}")
                continue
            # Alternate who starts first so both orders are exercised.
            order = [("apply", config(1)), ("cleanup", [])]
            if rep % 2:
                order.reverse()
            procs = [start(binary, ns, cmd, b + args) for cmd, args in order]
            for (cmd, _), p in zip(order, procs):
                status, err = finish(p)
                if not acceptable(status, err):
                    failures.append(f"repetition {rep}: {cmd} exit {status}: {err.splitlines()[-1] if err else ''}")
            complete = m.run(ns, "check", b + config(1)).returncode == 0
            state = meshcap_state(ns)
            if not complete and state:
                failures.append(f"repetition {rep}: neither nothing nor the applied config: the namespace "
                                f"holds {state}")
    return failures


def main():
    binary, backend, which = sys.argv[1:4]
    mcap.require_root_and("nft", "iptables-legacy-save", "ip")
    m = mcap.Meshcap(binary)
    failures = (applies if which == "applies" else cleanup_race)(m, binary, backend)
    print(f"{which} via {backend}: {REPETITIONS} repetitions, {len(failures)} failures")
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
