#!/usr/bin/env python3
"""Property test: random valid configurations (fixed seed) through the whole
life cycle, each in a namespace that held nothing of meshcap's before:

  apply (exit 0) -> check (exit 0) -> apply again (exit 0, and the ruleset
  as `nft list ruleset` / `iptables-legacy-save` print it, counters aside,
  does not change) -> cleanup (exit 0, and the namespace is byte-identical
  to before: nft ruleset, iptables/ip6tables-legacy-save, ip rule, ip -6
  rule, ip route show table all, lo's addresses).

usage: property_test.py MESHCAP BACKEND SEED COUNT
One namespace serves a whole sequence of configurations (cleanup must bring
it back to its first state anyway); it is replaced after a failure so one
defect is reported once, not for every configuration after it.
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "adversarial"))
import mcap  # noqa: E402


def port_list(rng, avoid, n_max=4):
    items = []
    for _ in range(rng.randint(0, n_max)):
        lo = rng.randint(1, 65535)
        if rng.random() < 0.2 and lo < 65535:
            hi = min(65535, lo + rng.randint(1, 500))
            if any(lo <= a <= hi for a in avoid):
                continue
            items.append(f"{lo}-{hi}")
        elif lo not in avoid:
            items.append(str(lo))
    return ",".join(items)


def cidr(rng):
    if rng.random() < 0.5:
        prefix = rng.choice([0, 1, 8, 16, 24, 31, 32]) if rng.random() < 0.3 else rng.randint(1, 32)
        addr = rng.getrandbits(32) & ((0xffffffff << (32 - prefix)) & 0xffffffff)
        text = ".".join(str((addr >> s) & 0xff) for s in (24, 16, 8, 0))
        return f"{text}/{prefix}" if prefix != 32 or rng.random() < 0.5 else text
    prefix = rng.choice([0, 8, 48, 64, 127, 128]) if rng.random() < 0.3 else rng.randint(1, 128)
    addr = rng.getrandbits(128) & (((1 << 128) - 1) ^ ((1 << (128 - prefix)) - 1))
    groups = ":".join(f"{(addr >> s) & 0xffff:x}" for s in range(112, -1, -16))
    return f"{groups}/{prefix}"


def cidr_list(rng, n_max=5):
    # Mostly short lists; now and then a long one (an nft set of many elements).
    n = rng.randint(0, n_max) if rng.random() < 0.9 else rng.randint(20, 200)
    return ",".join(cidr(rng) for _ in range(n))


def ifaces(rng):
    return ",".join(rng.choice(["eth1", "eth2", "veth0", "tap-x", "wg0", "ens3"]) for _ in range(rng.randint(0, 2)))


def random_config(rng):
    ports = rng.sample(range(1024, 65535), 3)
    outbound, inbound, dns = ports
    proxy = [outbound, inbound, dns]
    args = ["--outbound-port", str(outbound), "--inbound-port", str(inbound)]
    uids = [str(rng.randint(1, 65534)) for _ in range(rng.randint(1, 3))]
    args += ["--proxy-uid", ",".join(uids)]
    if rng.random() < 0.3:
        args += ["--proxy-gid", ",".join(str(rng.randint(1, 65534)) for _ in range(rng.randint(1, 2)))]
    r = rng.random()
    args += ["--inbound-ports", "*" if r < 0.5 else ("" if r < 0.6 else port_list(rng, proxy) or "*")]
    args += ["--exclude-inbound-ports", port_list(rng, [])]
    r = rng.random()
    args += ["--outbound-cidrs", "*" if r < 0.6 else ("" if r < 0.7 else cidr_list(rng))]
    args += ["--exclude-outbound-cidrs", cidr_list(rng)]
    args += ["--exclude-outbound-ports", port_list(rng, [])]
    args += ["--include-outbound-ports", port_list(rng, [])]
    args += ["--exclude-interfaces", ifaces(rng), "--virt-interfaces", ifaces(rng)]
    if rng.random() < 0.4:
        args += ["--inbound-mode", "tproxy", "--tproxy-mark", str(rng.choice([1337, rng.randint(1, 0xffffff)])),
                 "--tproxy-table", str(rng.choice([133, rng.randint(1, 250)]))]
    if rng.random() < 0.4:
        args += ["--capture-dns", "--dns-port", str(dns)]
        if rng.random() < 0.5:
            args += ["--dns-servers", cidr_list(rng, 3)]
    args += ["--ipv6", rng.choice(["on", "on", "off"])]
    return args


RULES = ["nft", "iptables", "ip6tables"]


def failed(what, r):
    """`what exit N: <meshcap's one-line reason>`, then the rest of stderr."""
    err = r.stderr.strip()
    return f"{what} exit {r.returncode}: {err.splitlines()[-1] if err else ''}\n{err[-1500:]}"


def kind_of(problem):
    """A failure's kind, for the summary: its first line without numbers."""
    import re
    first = problem.split("\n", 1)[0]
    if "different from before" in first:
        parts = re.findall(r"^--- (\S+) before", problem, re.M)
        return first + " (" + ", ".join(parts) + ")"
    return re.sub(r"\d+", "N", first)[:160]


def main():
    binary, backend, seed, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    mcap.require_root_and("nft", "iptables-legacy-save", "ip")
    m = mcap.Meshcap(binary)
    rng = random.Random(seed)
    b = ["--backend", backend]
    failures = []
    refused = 0
    ns = mcap.Netns("prop")
    ns.enter()
    before = mcap.snapshot(ns)
    started = time.time()
    done = 0
    while done < count:
        args = random_config(rng)
        # The generator aims at valid settings; a combination meshcap refuses
        # (exit 2) is drawn again rather than counted.
        if mcap.run([binary, "apply", "--dry-run"] + args).returncode == 2:
            refused += 1
            continue
        done += 1
        where = f"seed {seed} #{done} ({' '.join(a if a else repr(a) for a in args)[:600]})"
        problem = None
        r = m.run(ns, "apply", b + args)
        if r.returncode != 0:
            problem = failed("apply", r)
        else:
            c = m.run(ns, "check", b + args)
            if c.returncode != 0:
                problem = failed("check after apply", c)
            else:
                first = mcap.snapshot(ns, RULES)
                r = m.run(ns, "apply", b + args)
                second = mcap.snapshot(ns, RULES)
                if r.returncode != 0:
                    problem = failed("re-apply", r)
                elif first != second:
                    problem = "re-apply changed the ruleset:\n" + mcap.snapshot_diff(first, second)[:2000]
        r = m.run(ns, "cleanup", b)
        after = mcap.snapshot(ns)
        if not problem and r.returncode != 0:
            problem = failed("cleanup", r)
        if not problem and after != before:
            problem = "cleanup left the namespace different from before:\n" + mcap.snapshot_diff(before, after)[:2000]
        if problem:
            failures.append((kind_of(problem), f"{where}: {problem}"))
            ns.delete()
            ns = mcap.Netns("prop")
            ns.enter()
            before = mcap.snapshot(ns)
    ns.delete()
    print(f"{backend}, seed {seed}: {count} configurations ({refused} refused ones redrawn) in "
          f"{time.time() - started:.1f} s, {len(failures)} failures")
    kinds = {}
    for kind, text in failures:
        kinds.setdefault(kind, []).append(text)
    for kind, texts in kinds.items():
        print(f"FAIL x{len(texts)}: {kind}")
        for t in texts[:2]:
            print("  e.g. " + t.replace("\n", "\n    "))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
