#!/usr/bin/env bash
# Where a short-lived command's CPU time goes, next to /bin/true's: samples
# the whole machine's cpu-clock with a fixed period while N runs of each
# command happen, each in a fresh network namespace (unshare, lo up, then
# exec), and sorts the samples of the exec'd program into what it was doing:
# glibc's CPU feature probe (cpuid, which a hypervisor traps), the dynamic
# loader, page faults, its own code, libc, other shared libraries, and each
# system call by name. Prints microseconds per run, for /bin/true, for the
# command, and the difference. Run on demand as root; never in CI.
#
#   sudo bench/breakdown.sh build-rel/meshcap apply --backend iptables
#   N=500 sudo bench/breakdown.sh build-rel/meshcap --version
#
# The sampler itself slows what it samples (interrupts, unwinding the kernel
# stack), so the totals run 20-50% above bench/nsrun's wall times; compare
# the rows with each other, not with other benchmarks.
set -euo pipefail

N=${N:-300}
PERIOD_NS=${PERIOD_NS:-100000}  # one sample per 100 us of CPU time
((EUID == 0)) || { echo "breakdown.sh: run as root (it creates network namespaces)" >&2; exit 1; }
(($#)) || { echo "usage: breakdown.sh COMMAND [ARG...]" >&2; exit 2; }
for tool in perf python3 unshare ip; do
  command -v "$tool" >/dev/null || { echo "breakdown.sh: '$tool' is needed" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/meshcap-breakdown.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# record NAME ARGV...: N runs of ARGV, each in a new namespace, sampled.
record() {
  local name=$1
  shift
  printf '%q ' "$@" >"$TMP/$name.cmd"
  # The loop's single-quoted script runs in the new namespace; $0/$@ are its own.
  # shellcheck disable=SC2016
  perf record -q -o "$TMP/$name.data" -e cpu-clock -c "$PERIOD_NS" -g -- \
    bash -c 'for ((i = 0; i < '"$N"'; i++)); do
      unshare -n sh -c '\''ip link set lo up; exec "$0" "$@" >/dev/null 2>&1'\'' "$@" || true
    done' bash "$@" 2>/dev/null
  perf script -i "$TMP/$name.data" -F comm,ip,sym,dso 2>/dev/null >"$TMP/$name.txt"
}

record true /bin/true
# The command runs from a copy, as installed: a file the linker wrote runs
# slower from the page cache (bench/apply.sh says why).
cmd=$(command -v "$1")
cp "$cmd" "$TMP/$(basename "$cmd")"
record cmd "$TMP/$(basename "$cmd")" "${@:2}"

python3 - "$TMP" "$N" "$PERIOD_NS" "$(basename "$1")" <<'EOF'
import collections, re, sys

tmp, runs, period, comm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
probe = ("init_cpu_features", "handle_intel", "intel_check_word", "update_active", "get_common_ind",
         "get_common_cache", "dl_init_cacheinfo")

def classify(frames):
    """frames: (symbol, dso) from the sampled instruction outwards."""
    names = [f[0] for f in frames]
    if any(n.startswith(probe) for n in names):
        return "cpu feature probe (cpuid)"
    if not frames:
        return "?"
    leaf_dso = frames[0][1]
    if "kernel" not in leaf_dso:
        lib = leaf_dso.rsplit("/", 1)[-1]
        if lib.startswith("ld-linux"):
            return "dynamic loader"
        if lib.startswith("libc.so"):
            return "libc"
        return "own code" if lib == comm else "other: " + lib
    for n in names:
        if n.startswith("asm_exc_page_fault"):
            return "page faults"
        if n.startswith(("__x64_sys_", "__do_sys_")):
            return "syscall " + n.split("sys_", 1)[1]
    return "kernel, other"

def load(name, want):
    counts, cur = collections.Counter(), None
    with open(f"{tmp}/{name}.txt", errors="replace") as f:
        for line in f:
            if not line.strip():
                if cur is not None and cur[0] == want:
                    counts[classify(cur[1])] += 1
                cur = None
            elif not line[0].isspace():
                cur = (line.split()[0], [])
            elif cur is not None:
                m = re.match(r"\s+\S+\s+(.*) \((.*)\)$", line)
                if m:
                    cur[1].append((m.group(1), m.group(2)))
    return counts

base, cmd = load("true", "true"), load("cmd", comm[:15])
us = lambda n: n * period / 1000 / runs
rows = sorted(set(base) | set(cmd), key=lambda k: -(cmd[k] - base[k]))
print(f"{runs} runs each, one sample per {period / 1000:g} us of CPU; us per run")
print(f"{'':32} {'/bin/true':>10} {comm:>10} {'difference':>10}")
for k in rows:
    if max(us(cmd[k]), us(base[k])) >= 1:
        print(f"{k:32} {us(base[k]):10.1f} {us(cmd[k]):10.1f} {us(cmd[k] - base[k]):10.1f}")
tb, tc = sum(base.values()), sum(cmd.values())
print(f"{'total':32} {us(tb):10.1f} {us(tc):10.1f} {us(tc - tb):10.1f}")
EOF
echo "command: $(cat "$TMP/cmd.cmd")"
