#!/usr/bin/env bash
# Stress test of the nft read-back with large hash sets (as root):
#   scripts/stress-sets.sh [RUNS] [MESHCAP]
# runs RUNS (default 1000) `meshcap apply --exclude-outbound-cidrs` of HOSTS
# (default 10000) host addresses 9.x.y.1, PER_NS (default 10) of them into
# each throwaway network namespace (the first creates meshcap's table, the
# others replace it). An apply that exits 4 although a `check` right after
# it passes is a false verification failure. Prints one summary line and
# exits 1 when any run failed.
set -euo pipefail

runs=${1:-1000}
meshcap=${2:-build/meshcap}
hosts=${HOSTS:-10000}
per_ns=${PER_NS:-10}

if [[ ! -x $meshcap ]]; then
  echo "no meshcap binary at $meshcap (build it, or pass its path)" >&2
  exit 2
fi
if (( hosts < 1 || hosts > 65536 )); then
  echo "HOSTS must be 1-65536" >&2
  exit 2
fi

list=""
for (( i = 0; i < hosts; i++ )); do
  list+="${list:+,}9.$(( i >> 8 )).$(( i & 255 )).1"
done

ns=""
cleanup() {
  if [[ -n $ns ]]; then ip netns del "$ns" 2>/dev/null || true; fi
}
trap cleanup EXIT

ok=0 false_failures=0 other_failures=0
log=$(mktemp)
trap 'cleanup; rm -f "$log"' EXIT
start=$(date +%s.%N)
for (( run = 0; run < runs; run++ )); do
  if (( run % per_ns == 0 )); then
    cleanup
    ns="stress-sets-$$-$run"
    ip netns add "$ns"
  fi
  rc=0
  "$meshcap" apply --netns "/run/netns/$ns" --exclude-outbound-cidrs "$list" >"$log" 2>&1 || rc=$?
  if (( rc == 0 )); then
    ok=$(( ok + 1 ))
  elif (( rc == 4 )) && "$meshcap" check --netns "/run/netns/$ns" --exclude-outbound-cidrs "$list" >/dev/null 2>&1; then
    false_failures=$(( false_failures + 1 ))
    echo "run $run: exit 4, but check passes: $(grep -v '^[-+ ]' "$log" | tail -n 1)" >&2
  else
    other_failures=$(( other_failures + 1 ))
    echo "run $run: exit $rc: $(tail -n 1 "$log" | cut -c1-300)" >&2
  fi
done
end=$(date +%s.%N)
seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
echo "stress-sets: $runs applies of $hosts hosts ($per_ns per namespace): $ok exit 0," \
  "$false_failures false verification failures, $other_failures other failures, ${seconds} s"
(( ok == runs ))
