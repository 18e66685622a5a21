#!/usr/bin/env bash
# The iptables backend with many excluded hosts against iptables-legacy-restore
# of the same rules. Run on demand as root; never in CI.
#
#   bench/ipt_apply.sh [MESHCAP_BINARY]      # default: build/meshcap
#   N=10000 RUNS=11 bench/ipt_apply.sh
#
# For N excluded hosts (9.x.y.1) it times, each run in a fresh network
# namespace (unshare --net; creating it is not timed):
#   restore        iptables-legacy-restore --noflush of
#                  `meshcap apply --dry-run --format iptables --family 4`
#   apply-noverify meshcap apply --backend iptables --ipv6 off --verify none
#   apply          the same with the default read-back verification
# and prints the median wall and CPU time of each, plus the peak RSS of one apply and
# of one dry run (/usr/bin/time -v).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
M=${1:-$ROOT/build/meshcap}
N=${N:-10000}
RUNS=${RUNS:-11}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

hosts=$(python3 -c "print(','.join('9.%d.%d.1' % (i >> 8, i & 255) for i in range($N)))")
echo "$hosts" >"$TMP/hosts"
"$M" apply --dry-run --format iptables --family 4 --exclude-outbound-cidrs "$hosts" >"$TMP/rules"
echo "meshcap: $M; $N excluded hosts; $(grep -c '^-A' "$TMP/rules") iptables rules; $RUNS runs each"

# "wall_ms cpu_ms" of one command in a fresh namespace (cpu = user + sys of
# the command: on a loaded machine the wall time mostly measures the queue).
timed() {
  unshare --net bash -c 'ip link set lo up; exec python3 -c "
import os, sys, time
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
wall = (time.monotonic() - t0) * 1000
print(\"%.2f %.2f\" % (wall, (ru.ru_utime + ru.ru_stime) * 1000))
sys.exit(os.waitstatus_to_exitcode(status))
" "$@"' bash "$@" || { echo "failed: $*" >&2; exit 1; }
}

# Median of column $1.
median() { awk -v c="$1" '{ print $c }' | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f ms", v[int((NR + 1) / 2)] }'; }

for case in restore apply-noverify apply; do : >"$TMP/$case"; done
for ((i = 0; i < RUNS; i++)); do
  timed iptables-legacy-restore --noflush "$TMP/rules" >>"$TMP/restore"
  timed "$M" apply --backend iptables --ipv6 off --verify none --exclude-outbound-cidrs "$hosts" >>"$TMP/apply-noverify"
  timed "$M" apply --backend iptables --ipv6 off --exclude-outbound-cidrs "$hosts" >>"$TMP/apply"
done
for case in restore apply-noverify apply; do
  printf '%-15s median wall %s, cpu %s\n' "$case" "$(median 1 <"$TMP/$case")" "$(median 2 <"$TMP/$case")"
done

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ { print $2 " KiB" }'; }
printf 'peak RSS apply    %s\n' "$(unshare --net bash -c "$(declare -f rss); ip link set lo up; rss \"\$@\"" bash \
  "$M" apply --backend iptables --ipv6 off --exclude-outbound-cidrs "$hosts")"
printf 'peak RSS dry run  %s\n' "$(rss "$M" apply --dry-run --format iptables --exclude-outbound-cidrs "$hosts")"
