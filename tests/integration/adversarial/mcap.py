"""Shared helpers of the adversarial tests (kill, concurrency, property,
ownership): throwaway named network namespaces, the meshcap binary run inside
them, and the kernel oracles (nft, iptables-legacy-save, ip) that say what a
namespace holds. Black-box on purpose: these tests know meshcap only by its
command line, its exit codes and the kernel state it leaves."""

import os
import re
import subprocess
import sys
import time

SKIP = 77  # ctest SKIP_RETURN_CODE; MCTEST_NO_SKIP=1 turns a skip into a failure


def skip(reason):
    if os.environ.get("MCTEST_NO_SKIP"):
        print(f"cannot run: {reason}", file=sys.stderr)
        sys.exit(1)
    print(f"skipped: {reason}", file=sys.stderr)
    sys.exit(SKIP)


def require_root_and(*tools):
    if os.geteuid() != 0:
        skip("needs root (network namespaces)")
    for t in tools:
        if subprocess.run(["sh", "-c", f"command -v {t}"], capture_output=True).returncode != 0:
            skip(f"{t} (test oracle) not installed")


def run(argv, check=False, timeout=120, env=None, input=None):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, input=input,
                       errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:8])}... exit {p.returncode}: {p.stderr.strip()}")
    return p


_counter = 0


class Netns:
    """`ip netns add` for the lifetime of the object (use as a context manager)."""

    def __init__(self, tag="adv"):
        global _counter
        _counter += 1
        self.name = f"mcadv-{tag}-{os.getpid()}-{_counter}"
        self.entered = False
        run(["ip", "netns", "add", self.name], check=True)
        self.run(["ip", "link", "set", "lo", "up"], check=True)

    @property
    def path(self):
        return f"/run/netns/{self.name}"

    def run(self, argv, **kw):
        # nsenter only switches the network namespace (`ip netns exec` also
        # remounts /sys: twice the cost, and these tests run thousands of
        # commands); after enter(), commands run directly.
        if self.entered:
            return run(list(argv), **kw)
        return run(["nsenter", f"--net={self.path}"] + list(argv), **kw)

    def enter(self):
        """Moves this whole process into the namespace (setns(2)), for tests
        that run everything in one namespace at a time."""
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(fd)
        self.entered = True

    def delete(self):
        if self.name:
            run(["ip", "netns", "del", self.name])
            self.name = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.delete()


def strip_counters(text):
    """iptables-save output without its time stamps and packet counters, and
    without tables that hold nothing but empty built-in chains with policy
    ACCEPT: legacy iptables creates a table when it is first opened and has no
    way to remove it again, so such a table is the one trace a cleanup cannot
    avoid (it changes no packet's fate)."""
    out = []
    table = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        line = re.sub(r"\[\d+:\d+\]", "[0:0]", line)
        table.append(line)
        if line == "COMMIT":
            inert = all(re.fullmatch(r"\*\w+|:[A-Z]+ ACCEPT \[0:0\]|COMMIT", t) for t in table)
            if not inert:
                out += table
            table = []
    out += table
    return "\n".join(out) + "\n"


SNAPSHOT = {
    "nft": "nft list ruleset",
    "iptables": "iptables-legacy-save",
    "ip6tables": "ip6tables-legacy-save",
    "rule4": "ip -4 -d rule show",
    "rule6": "ip -6 -d rule show",
    "route4": "ip -4 route show table all",
    "route6": "ip -6 route show table all",
    "addr_lo": "ip addr show dev lo",
}


def snapshot(ns, parts=None):
    """Everything meshcap may touch, as the standard tools print it (one shell
    for all of them: this runs thousands of times). The routing tables'
    kernel-made entries are part of it: meshcap must leave them alone too."""
    sep = "\n@@@mcadv@@@\n"
    names = parts or list(SNAPSHOT)
    script = "; ".join(f"{SNAPSHOT[n]} 2>&1; printf '{sep}'" for n in names)
    snap = dict(zip(names, ns.run(["sh", "-c", script]).stdout.split(sep)))
    for k in ("iptables", "ip6tables"):
        if k in snap:
            snap[k] = strip_counters(snap[k])
    return snap


def snapshot_diff(before, after):
    """The names of the parts that differ, each with a unified diff."""
    import difflib
    out = []
    for k in before:
        if before[k] != after[k]:
            d = difflib.unified_diff(before[k].splitlines(), after[k].splitlines(), k + " before",
                                     k + " after", lineterm="", n=1)
            out.append("\n".join(d))
    return "\n".join(out)


class Meshcap:
    def __init__(self, binary):
        self.binary = binary

    def run(self, ns, command, args, timeout=120, prefix=()):
        return ns.run(list(prefix) + [self.binary, command] + list(args), timeout=timeout)


PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")
POD4, PEER4 = "10.248.0.2", "10.248.0.1"
POD6, PEER6 = "fd00:248::2", "fd00:248::1"
APP_UID = 1000  # the app: any uid that is not the proxy's


class Pod:
    """A pod namespace wired to a peer namespace over a veth (v4 and v6, a
    default route through the peer), with listeners on both sides: the pod
    listens on `pod_tcp`/`pod_udp` (the proxy's ports and the app's), the peer
    on `peer_tcp`/`peer_udp` (an outside server). probe() sends real
    connections and says which listener each landed on."""

    def __init__(self, pod_tcp, pod_udp, peer_tcp, peer_udp):
        self.ns = Netns("pod")
        self.peer = Netns("peer")
        self.servers = []
        try:
            r = lambda ns, *a: ns.run(list(a), check=True)
            for ns in (self.ns, self.peer):  # no 1 s wait for duplicate address detection
                r(ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0")
            r(self.ns, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0", "netns",
              self.peer.name)
            for ns, dev, a4, a6 in ((self.ns, "eth0", POD4, POD6), (self.peer, "peer0", PEER4, PEER6)):
                r(ns, "ip", "addr", "add", a4 + "/24", "dev", dev)
                r(ns, "ip", "-6", "addr", "add", a6 + "/64", "dev", dev, "nodad")
                r(ns, "ip", "link", "set", dev, "up")
            # Static neighbours: IPv6 neighbour discovery would cost the first
            # probe a 1 s retransmission while the veth comes up.
            import json
            mac = {ns.name: json.loads(ns.run(["ip", "-j", "link", "show", "dev", dev], check=True).stdout)[0]["address"]
                   for ns, dev in ((self.ns, "eth0"), (self.peer, "peer0"))}
            for ns, dev, other, a4, a6 in ((self.ns, "eth0", self.peer, PEER4, PEER6),
                                           (self.peer, "peer0", self.ns, POD4, POD6)):
                for a in (a4, a6):
                    r(ns, "ip", "neigh", "replace", a, "lladdr", mac[other.name], "dev", dev, "nud", "permanent")
            r(self.ns, "ip", "route", "add", "default", "via", PEER4)
            r(self.ns, "ip", "-6", "route", "add", "default", "via", PEER6)
            # The veth's carrier and neighbour discovery take a moment: the
            # first probe must not time out because of them. A refused
            # connection (nothing listens on port 9) proves the path works.
            for _ in range(50):
                got = self.probe([f"tcp,{PEER4},9", f"tcp,{PEER6},9"], [], timeout=0.05)
                if all("Refused" in g for g in got):
                    break
            else:
                raise RuntimeError(f"the peer namespace is unreachable from the pod: {got}")
            self._serve(self.ns, "pod", pod_tcp, pod_udp)
            self._serve(self.peer, "peer", peer_tcp, peer_udp)
        except Exception:
            self.close()
            raise

    def _serve(self, ns, name, tcp, udp):
        p = subprocess.Popen(["nsenter", f"--net={ns.path}", sys.executable, PROBE, "serve", name,
                              ",".join(map(str, tcp)), ",".join(map(str, udp))],
                             stdout=subprocess.PIPE, text=True)
        self.servers.append(p)
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"probe server in {ns.name} did not start")

    def probe(self, outbound, inbound, timeout=1.0):
        """outbound: specs sent from the pod as the app's uid; inbound: specs
        sent from the peer. Returns the landing of each, in order."""
        res = []
        for ns, uid, specs in ((self.ns, APP_UID, outbound), (self.peer, -1, inbound)):
            if specs:
                out = ns.run(["env", f"PROBE_TIMEOUT={timeout}", sys.executable, PROBE, "ask", str(uid)] + specs,
                             timeout=60).stdout
                res += out.split()
        return res

    def close(self):
        for p in self.servers:
            p.kill()
            p.wait()
        self.servers = []
        self.ns.delete()
        self.peer.delete()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
