#!/usr/bin/env bash
# Two meshcap binaries side by side (before and after a change), next to the
# nf_tables floor and /bin/true, in one run. Run on demand as root; never in CI.
#
#   sudo bench/compare.sh OLD_MESHCAP NEW_MESHCAP [N]     # N rounds, default 30
#
# Cases, visited once per round in an order bench/nsrun shuffles, each run in
# a new namespace:
# start-up (--version), apply with nft and with iptables for the default
# settings, and apply with both backends for 10,000 /24 CIDRs + 1,000 port
# ranges. Prints the median, p90 and minimum wall time of each case.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OLD=${1:?usage: compare.sh OLD_MESHCAP NEW_MESHCAP [N]}
NEW=${2:?usage: compare.sh OLD_MESHCAP NEW_MESHCAP [N]}
N=${3:-30}
((EUID == 0)) || { echo "compare.sh: run as root" >&2; exit 1; }

TMP=$(mktemp -d /tmp/meshcap-cmp.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
c++ -std=c++20 -O2 -static -o "$TMP/nsrun" "$ROOT/bench/nsrun.cpp"
cc -O2 -o "$TMP/floor.ld" "$ROOT/bench/floor.c" -lnftnl -lmnl
# Each measured program runs from a copy, as installed: a file the linker
# wrote runs slower from the page cache (bench/apply.sh says why).
cp "$TMP/floor.ld" "$TMP/floor"
cp "$OLD" "$TMP/old" && cp "$NEW" "$TMP/new"
OLD=$TMP/old NEW=$TMP/new
python3 - "$TMP/big.json" <<'PY'
import json, sys
json.dump({"excludeOutboundCidrs": ["%d.%d.%d.0/24" % (11 + i // 100, (i // 10) % 10, i % 10) for i in range(10000)],
           "excludeOutboundPorts": ["%d-%d" % (20000 + 3 * i, 20001 + 3 * i) for i in range(1000)]},
          open(sys.argv[1], "w"))
PY
{
  printf 'case true\nrun /bin/true\ncase floor\nprepare ip link set lo up\nrun %s\n' "$TMP/floor"
  for which in old new; do
    bin=$OLD
    [[ $which == new ]] && bin=$NEW
    printf 'case %s-version\nrun %s --version\n' "$which" "$bin"
    printf 'case %s-nft\nprepare ip link set lo up\nrun %s apply\n' "$which" "$bin"
    printf 'case %s-ipt\nprepare ip link set lo up\nrun %s apply --backend iptables\n' "$which" "$bin"
    printf 'case %s-nft-big\nprepare ip link set lo up\nrun %s apply --config %s\n' "$which" "$bin" "$TMP/big.json"
    printf 'case %s-ipt-big\nprepare ip link set lo up\nrun %s apply --backend iptables --config %s\n' "$which" "$bin" "$TMP/big.json"
  done
} >"$TMP/spec"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
chrt -f 10 "$TMP/nsrun" -n "$N" -w 3 -s 20 "$TMP/spec" >"$TMP/out.tsv"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
sort -t$'\t' -k1,1 -k3,3n "$TMP/out.tsv" | awk -F'\t' '
  function flush() {
    if (!n) return
    printf "%-14s %4d %9.3f %9.3f %9.3f\n", label, n, t[int((n + 1) / 2)] / 1e6,
      t[int(0.9 * n + 0.999999)] / 1e6, t[1] / 1e6
    n = 0
  }
  BEGIN { printf "%-14s %4s %9s %9s %9s\n", "case", "n", "median_ms", "p90_ms", "min_ms" }
  $1 != label { flush(); label = $1 }
  { t[++n] = $3 }
  END { flush() }'
