#!/usr/bin/env bash
# Start-up of meshcap binaries next to /bin/true (goal 1 of docs/benchmarks.md).
# Run on demand as root; never in CI.
#
#   sudo bench/startup.sh [BINARY...]        # default: build/meshcap
#   N=100 sudo bench/startup.sh old/meshcap new/meshcap
#
# For each binary, load-independent figures first:
#   - instructions of `BINARY --version` (callgrind: total, the dynamic
#     loader's share as the inclusive count of _dl_start, the command line as
#     read_invocation), and /bin/true's total for comparison;
#   - what the loader does (LD_DEBUG=statistics: relocations), the shared
#     libraries (DT_NEEDED closure, from ldd) and the stripped size.
# Then wall time: bench/nsrun visits /bin/true and every `BINARY --version`
# once per round in a shuffled order, N rounds (default 60) after 5 warm-up rounds, each run in a
# fresh network namespace (not timed), under SCHED_FIFO 10 (RT=0: normal
# priority). Prints median, p90 and minimum of each, and each binary's
# median above /bin/true's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${N:-60}
RT=${RT:-10}
((EUID == 0)) || { echo "startup.sh: run as root (bench/nsrun creates network namespaces)" >&2; exit 1; }
(($#)) || set -- "$ROOT/build/meshcap"
for tool in valgrind callgrind_annotate ldd strip c++; do
  command -v "$tool" >/dev/null || { echo "startup.sh: '$tool' is needed" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/meshcap-startup.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# inclusive FILE FUNCTION: callgrind's inclusive count of FUNCTION (0 if absent).
inclusive() {
  callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
    awk -v f="$2" '!found && index($0, f) { gsub(",", "", $1); print $1; found = 1 } END { if (!found) print 0 }'
}
instructions() { # instructions OUT ARGV...: total instructions, callgrind file in OUT
  valgrind --tool=callgrind --callgrind-out-file="$1" "${@:2}" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf 'machine: %s, %s cores; kernel %s; load %s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
  "$(nproc)" "$(uname -r)" "$(cut -d' ' -f1-3 /proc/loadavg)"
true_ir=$(instructions "$TMP/cg.true" /bin/true)
printf '%-40s %12s %12s %12s %7s %6s %10s\n' binary instructions loader cli relocs libs stripped
printf '%-40s %12d\n' /bin/true "$true_ir"
i=0
for bin in "$@"; do
  i=$((i + 1))
  total=$(instructions "$TMP/cg.$i" "$bin" --version)
  loader=$(inclusive "$TMP/cg.$i" ':_dl_start ')
  cli=$(inclusive "$TMP/cg.$i" 'meshcap::app::read_invocation(')
  relocs=$(LD_DEBUG=statistics "$bin" --version 2>&1 >/dev/null | sed -n 's/.*final number of relocations: \([0-9]*\).*/\1/p')
  libs=$(ldd "$bin" 2>/dev/null | grep -c '=>' || true)
  strip --strip-all -o "$TMP/stripped" "$bin"
  printf '%-40s %12d %12d %12d %7s %6s %10d\n' "$bin" "$total" "$loader" "$cli" "${relocs:-0}" "$libs" \
    "$(stat -c %s "$TMP/stripped")"
done

c++ -std=c++20 -O2 -static -o "$TMP/nsrun" "$ROOT/bench/nsrun.cpp"
{
  printf 'case true\nrun /bin/true\n'
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    printf 'case version%d\nrun %s --version\n' "$i" "$bin"
  done
} >"$TMP/spec"
runner=("$TMP/nsrun" -n "$N" -w 5 -s 5 "$TMP/spec")
((RT == 0)) || runner=(chrt -f "$RT" "${runner[@]}")
"${runner[@]}" >"$TMP/out.tsv"
printf 'wall time, N = %d, interleaved (load after: %s)\n' "$N" "$(cut -d' ' -f1-3 /proc/loadavg)"
sort -t$'\t' -k1,1 -k3,3n "$TMP/out.tsv" | awk -F'\t' '
  function flush() {
    if (!n) return
    med[label] = t[int((n + 1) / 2)] / 1e6
    p90[label] = t[int(0.9 * n + 0.999999)] / 1e6
    mn[label] = t[1] / 1e6
    order[++cases] = label
    n = 0
  }
  $1 != label { flush(); label = $1 }
  { t[++n] = $3 }
  END {
    flush()
    printf "%-10s %9s %9s %9s %12s\n", "case", "median_ms", "p90_ms", "min_ms", "above_true"
    for (c = 1; c <= cases; c++) {
      l = order[c]
      printf "%-10s %9.3f %9.3f %9.3f %12.3f\n", l, med[l], p90[l], mn[l], med[l] - med["true"]
    }
  }'
printf 'version<i> is the i-th binary: %s\n' "$*"
