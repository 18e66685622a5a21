#!/usr/bin/env bash
# What a pod's new TCP connections pay for the capture rules, against the
# number of excluded CIDRs and port ranges. Run on demand as root; never in CI.
#
#   sudo bench/datapath.sh                       # SIZES="0 100 1000 10000", 5 rounds
#   COUNT=5000 ROUNDS=3 sudo bench/datapath.sh
#
# For every configuration, in a brand-new pair of network namespaces joined by
# a veth (192.168.99.1 pod, 192.168.99.2 peer; the namespaces are deleted
# afterwards), the pod's rules are loaded, then bench/datapath opens COUNT
# connections one after the other as an application uid (1000) to a server in
# the peer namespace and reports the mean, median and p90 time per connection.
# The peer's address is the last excluded CIDR (the lists are sorted and it
# sorts after the generated ones) and its port is no excluded port, so every
# connection's first packet is checked against both whole lists, then leaves
# uncaptured for the peer; a linear chain pays its full length.
# Configurations (one round visits all, round after round, so drift hits all):
#   none         no rules at all
#   nft@N        meshcap apply (nft: the lists are interval sets)
#   ipt@N        meshcap apply --backend iptables --ipset off (one rule per CIDR
#                and port range)
#   istio@N      an istio-iptables style chain: one RETURN rule per port, per CIDR
#   ipset@N      meshcap apply --backend iptables (--ipset auto: a list of more
#                than 64 becomes an ipset and one -m set rule; only when the
#                kernel has ip_set and xt_set, which a probe run checks)
# The N excluded CIDRs are distinct hosts 11.x.y.1 (nothing to merge); the N
# port ranges are 20000+3i-20001+3i. Raw results: $OUT/datapath.tsv.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESHCAP=${MESHCAP:-$ROOT/build/meshcap}
OUT=${OUT:-/tmp/meshcap-bench}
SIZES=${SIZES:-"0 100 1000 10000"}
COUNT=${COUNT:-2000}
ROUNDS=${ROUNDS:-5}
PLOT=${PLOT:-$ROOT/docs/bench-datapath.png}
APP_UID=1000
PORT=8080

if ((EUID != 0)); then
  echo "datapath.sh: run as root (it creates network namespaces)" >&2
  exit 1
fi
[[ -x $MESHCAP ]] || { echo "datapath.sh: no meshcap binary at $MESHCAP (set MESHCAP=)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/meshcap-dp.XXXXXX)
chmod 755 "$TMP"  # the client runs as the application uid
POD=mcdp-pod-$$
PEER=mcdp-peer-$$
SERVER=""
teardown() {
  if [[ -n $SERVER ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  SERVER=""
  ip netns del "$POD" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
}
cleanup() { teardown; rm -rf "$TMP"; }
trap cleanup EXIT
mkdir -p "$OUT"

c++ -std=c++20 -O2 -o "$TMP/datapath" "$ROOT/bench/datapath.cpp"
# Inputs for N: $TMP/N.json (meshcap --config), $TMP/N.istio (iptables-restore).
make_inputs() {
  local n=$1
  python3 - "$n" "$TMP" <<'PY'
import json, sys
n, tmp = int(sys.argv[1]), sys.argv[2]
cidrs = ["11.%d.%d.1" % (i >> 8, i & 255) for i in range(n)] + ["192.168.99.2"]
ports = ["%d-%d" % (20000 + 3 * i, 20001 + 3 * i) for i in range(n)]
json.dump({"excludeOutboundCidrs": cidrs, "excludeOutboundPorts": ports}, open(f"{tmp}/{n}.json", "w"))
head = ["*nat", ":ISTIO_OUTPUT - [0:0]", ":ISTIO_REDIRECT - [0:0]",
        "-A OUTPUT -p tcp -j ISTIO_OUTPUT",
        "-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
        "-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN",
        "-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN"]
lines = head + ["-A ISTIO_OUTPUT -p tcp --dport %s -j RETURN" % p.replace("-", ":") for p in ports]
lines += ["-A ISTIO_OUTPUT -d %s/32 -j RETURN" % c for c in cidrs]
lines += ["-A ISTIO_OUTPUT -j ISTIO_REDIRECT", "COMMIT"]
open(f"{tmp}/{n}.istio", "w").write("\n".join(lines) + "\n")
PY
}

# Whether meshcap's iptables backend uses ipsets here: a throwaway namespace,
# 100 exclusions, and iptables-legacy-save as the oracle.
HAVE_IPSET=""
make_inputs 100
ip netns add "$POD"
if ip netns exec "$POD" "$MESHCAP" apply --log-level warn --backend iptables --ipv6 off --config "$TMP/100.json" &&
  ip netns exec "$POD" iptables-legacy-save -t nat | grep -q -- '--match-set'; then
  HAVE_IPSET=1
fi
ip netns del "$POD"

setup_pair() {
  ip netns add "$POD"
  ip netns add "$PEER"
  ip -n "$POD" link set lo up
  ip -n "$PEER" link set lo up
  ip -n "$POD" link add veth0 type veth peer name veth0 netns "$PEER"
  ip -n "$POD" addr add 192.168.99.1/24 dev veth0
  ip -n "$PEER" addr add 192.168.99.2/24 dev veth0
  ip -n "$POD" link set veth0 up
  ip -n "$PEER" link set veth0 up
  ip netns exec "$PEER" "$TMP/datapath" server "$PORT" &
  SERVER=$!
}

load_rules() {
  local mode=$1 n=$2
  case $mode in
    none) ;;
    nft) ip netns exec "$POD" "$MESHCAP" apply --log-level warn --config "$TMP/$n.json" ;;
    ipt) ip netns exec "$POD" "$MESHCAP" apply --log-level warn --backend iptables --ipset off --config "$TMP/$n.json" ;;
    istio) ip netns exec "$POD" iptables-legacy-restore --noflush "$TMP/$n.istio" ;;
    ipset)
      ip netns exec "$POD" "$MESHCAP" apply --log-level warn --backend iptables --ipset auto --config "$TMP/$n.json"
      # Above the threshold the lists must be sets, or this column measures nothing new.
      if ((n > 64)) && ! ip netns exec "$POD" iptables-legacy-save -t nat | grep -q -- '--match-set'; then
        echo "datapath.sh: ipset@$n: meshcap programmed no -m set rule" >&2
        exit 1
      fi
      ;;
  esac
}

# One measurement: "mode n round mean median p90".
measure() {
  local mode=$1 n=$2 round=$3 result
  setup_pair
  load_rules "$mode" "$n"
  sleep 0.2  # the server is listening, the veth is up (DAD is not in the way for v4)
  # Warm the path (ARP, caches) before timing.
  ip netns exec "$POD" setpriv --reuid="$APP_UID" --regid="$APP_UID" --clear-groups \
    "$TMP/datapath" client 192.168.99.2 "$PORT" 50 >/dev/null
  result=$(ip netns exec "$POD" setpriv --reuid="$APP_UID" --regid="$APP_UID" --clear-groups \
    "$TMP/datapath" client 192.168.99.2 "$PORT" "$COUNT")
  teardown
  printf '%s\t%s\t%s\t%s\n' "$mode" "$n" "$round" "${result// /$'\t'}"
}

CONFIGS=("none 0")
for n in $SIZES; do
  make_inputs "$n"
  CONFIGS+=("nft $n" "ipt $n" "istio $n")
  if [[ -n $HAVE_IPSET ]]; then CONFIGS+=("ipset $n"); fi
done

{
  printf 'date: %s; load: %s\n' "$(date -u +%FT%TZ)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'cpu: %s, %s cores; kernel %s\n' "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$(nproc)" "$(uname -r)"
  printf 'connections per measurement: %s; rounds: %s; ipset: %s\n' "$COUNT" "$ROUNDS" "${HAVE_IPSET:-no}"
} | tee "$OUT/datapath-machine.txt" >&2

: >"$OUT/datapath.tsv"
for ((round = 1; round <= ROUNDS; round++)); do
  for config in "${CONFIGS[@]}"; do
    read -r mode n <<<"$config"
    measure "$mode" "$n" "$round" | tee -a "$OUT/datapath.tsv"
  done
done

# Per configuration: the median over rounds of the median µs per connection
# (the mean carries the machine's scheduling outliers),
# and its ratio to no rules at all.
sort -t$'\t' -k1,1 -k2,2n -k5,5n "$OUT/datapath.tsv" | awk -F'\t' '
  function flush() { if (c) { med[key] = (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2; keys[++nk] = key }; c = 0 }
  { k = $1 "@" $2; if (k != key) { flush(); key = k }; v[++c] = $5 }
  END {
    flush()
    printf "%-12s %10s %8s\n", "config", "median_us", "vs_none"
    for (i = 1; i <= nk; i++) printf "%-12s %10.2f %8.3f\n", keys[i], med[keys[i]], med[keys[i]] / med["none@0"]
  }' | tee "$OUT/datapath.txt"

# Plot data: n, then nft, ipt, istio, ipset medians; the none line is flat.
awk 'NR > 1 { split($1, a, "@"); v[a[2], a[1]] = $2; ns[a[2]] = 1; if (a[1] == "none") none = $2 }
     END { for (n in ns) if (n != "" && (n, "nft") in v)
             print n, none, v[n, "nft"], v[n, "ipt"], v[n, "istio"], ((n, "ipset") in v) ? v[n, "ipset"] : "NaN" }' \
  "$OUT/datapath.txt" | sort -n >"$OUT/datapath.dat"
if command -v gnuplot >/dev/null; then
  gnuplot -e "datafile='$OUT/datapath.dat'; outfile='$PLOT'" "$ROOT/bench/datapath.gp"
  echo "plot written to $PLOT" >&2
fi
