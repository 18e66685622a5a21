#!/usr/bin/env bash
# Benchmark `meshcap apply` (both backends) against the nf_tables floor
# (bench/floor.c), `nft -f` of the same script and what an istio-iptables
# style init container execs (on legacy iptables and on iptables-nft); the
# default part also times start-up (`meshcap --version` next to /bin/true)
# and the floor of a libiptc client (bench/ipt_floor.c).
# Run on demand as root (needs CAP_NET_ADMIN + CAP_SYS_ADMIN for unshare);
# never in CI. Needs libnftnl-dev and libmnl-dev for the floor, and
# libip4tc-dev and libip6tc-dev for the iptables floor (bench/ipt_floor.c).
#
#   sudo bench/apply.sh                 # default + big scenario + sweep + plot
#   sudo bench/apply.sh --quick         # fewer iterations, to try it out
#   sudo bench/apply.sh --only default  # one part: default, big or sweep
#   sudo bench/apply.sh --no-rt         # normal priority instead of SCHED_FIFO 10
#   NODE_HOOKS=0 sudo bench/apply.sh    # no namespace holding nat hooks (see below)
#
# Every measured run happens in a brand-new network namespace created by
# bench/nsrun (not timed), so each starts from an empty netfilter state.
# Namespaces are anonymous (unshare), never named: they vanish with the
# process that holds them, so an interrupted run leaks none; the EXIT trap
# removes the temporary files.
# The cases of one part run side by side in the same process: every round visits
# each case once, in an order bench/nsrun shuffles afresh each round.
# Results (raw TSV, summaries) go to $OUT (default /tmp/meshcap-bench); the
# plot goes to docs/bench-exclusions.png.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
OUT=${OUT:-/tmp/meshcap-bench}
N_DEFAULT=${N_DEFAULT:-100}
N_BIG=${N_BIG:-20}
N_SWEEP=${N_SWEEP:-15}
SWEEP=${SWEEP:-"0 100 1000 3000 10000"}
SETTLE_MS=${SETTLE_MS:-20}
ONLY=""
# Real-time priority for the runner and what it execs (inherited), so other
# work on the machine (compilers, ...) cannot preempt a measured run; 0 = off.
RT=${RT:-10}
# A Kubernetes node keeps netfilter's nat hooks registered all the time
# (kube-proxy's tables in its own namespace), so the kernel's static keys
# for those hooks stay on. On a machine without any, the first namespace to
# register one patches the kernel's text (jump labels: IPIs to every CPU,
# which a hypervisor traps), up to ~1 ms, paid by whichever case gets there
# first after the last namespace holding them was torn down: a cost that
# lands on different cases from run to run. NODE_HOOKS=1 holds ip and ip6
# nat tables in a namespace of their own for the whole run, as on a node;
# NODE_HOOKS=0 measures the bare machine. docs/benchmarks.md, "The kernel's
# static keys".
NODE_HOOKS=${NODE_HOOKS:-1}
PLOT=${PLOT:-$ROOT/docs/bench-exclusions.png}

while (($#)); do
  case $1 in
    --quick) N_DEFAULT=10 N_BIG=3 N_SWEEP=3; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --no-rt) RT=0; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { print }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "apply.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if ((EUID != 0)); then
  echo "apply.sh: run as root (it creates network namespaces)" >&2
  exit 1
fi

TMP=$(mktemp -d /tmp/meshcap-bench.XXXXXX)
HOLDER=""
cleanup() {
  [[ -n $HOLDER ]] && kill "$HOLDER" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
mkdir -p "$OUT"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'apply.sh: %s\n' "$*" >&2; exit 1; }

# --- build ------------------------------------------------------------------
MESHCAP=${MESHCAP:-}
if [[ -z $MESHCAP ]]; then
  # As the image builds it: libiptc linked in (from Debian's iptables source
  # package; STATIC_IPTC=OFF where the archive serves no sources).
  log "building meshcap (Release, MESHCAP_STATIC_IPTC=${STATIC_IPTC:-ON}) in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMESHCAP_STATIC_IPTC="${STATIC_IPTC:-ON}" >/dev/null
  cmake --build "$BUILD" -j2 --target meshcap >/dev/null
  MESHCAP=$BUILD/meshcap
fi
NSRUN=$TMP/nsrun
c++ -std=c++20 -O2 -static -o "$NSRUN" "$ROOT/bench/nsrun.cpp"
# The floor of any nf_tables client: one create + delete table batch, exit.
cc -O2 -o "$TMP/floor.ld" "$ROOT/bench/floor.c" -lnftnl -lmnl
# The floor of a libiptc client doing the iptables apply's kernel work.
cc -O2 -o "$TMP/ipt_floor.ld" "$ROOT/bench/ipt_floor.c" -lip4tc -lip6tc
# Every measured program runs from a copy, as an image or a package installs
# it: a file the linker wrote sits in the page cache in small pieces, and a
# run of it takes more page faults, each slower, than a run of the same bytes
# written whole (0.4-0.6 ms more for meshcap; docs/benchmarks.md, "The
# binary's page cache"). /bin/true, nft and iptables are installed files.
cp "$MESHCAP" "$TMP/meshcap"
MESHCAP=$TMP/meshcap
FLOOR=$TMP/floor
cp "$TMP/floor.ld" "$FLOOR"
IPT_FLOOR=$TMP/ipt_floor
cp "$TMP/ipt_floor.ld" "$IPT_FLOOR"
PRIO=()
if ((RT > 0)); then
  PRIO=(chrt -f "$RT")
else
  RT=""
fi

# --- inputs -----------------------------------------------------------------
# n distinct /24 blocks, deterministic. Short text on purpose: the whole list
# is one argument, and Linux caps one argv/env string at 128 KiB
# (MAX_ARG_STRLEN); 10,000 of these are 121,100 bytes, 10.x.y.0/24 would not fit.
gen_cidrs() {
  local n=$1 i out=""
  for ((i = 0; i < n; i++)); do
    out+="$((11 + i / 100)).$(((i / 10) % 10)).$((i % 10)).0/24,"
  done
  printf '%s' "${out%,}"
}
# n disjoint two-port ranges 20000-20001, 20003-20004, ...
gen_ports() {
  local n=$1 i out=""
  for ((i = 0; i < n; i++)); do
    out+="$((20000 + 3 * i))-$((20001 + 3 * i)),"
  done
  printf '%s' "${out%,}"
}

# settings_args NCIDRS NPORTS: meshcap flags for that many exclusions.
settings_args() {
  local -n _args=$3
  _args=()
  if (($1 > 0)); then _args+=(--exclude-outbound-cidrs "$(gen_cidrs "$1")"); fi
  if (($2 > 0)); then _args+=(--exclude-outbound-ports "$(gen_ports "$2")"); fi
}

# make_inputs NAME NCIDRS NPORTS: dry-run files $TMP/NAME.{nft,v4,v6,args}.
make_inputs() {
  local name=$1 args
  settings_args "$2" "$3" args
  "$MESHCAP" apply --dry-run --format nft "${args[@]}" >"$TMP/$name.nft"
  # The peers load one rule per CIDR and port range, as istio-iptables does:
  # the expanded rules (meshcap's own iptables apply keeps a list of more
  # than 64 in an ipset; meshcap-ipt-off is meshcap with the peers' rules).
  "$MESHCAP" apply --dry-run --format iptables --ipset off --family 4 "${args[@]}" >"$TMP/$name.v4"
  "$MESHCAP" apply --dry-run --format iptables --ipset off --family 6 "${args[@]}" >"$TMP/$name.v6"
  printf '%s\n' "${args[*]}" >"$TMP/$name.args"  # space separated, for the spec
}

# The spec lines of the contenders for input NAME, each next to the floor:
# meshcap with both backends, nft -f, the istio-style sequence on legacy
# iptables and on iptables-nft.
spec_cases() {
  local name=$1 label=$2 args
  args=$(<"$TMP/$name.args")
  cat <<EOF
case floor${label}
prepare ip link set lo up
run $FLOOR
case meshcap${label}
prepare ip link set lo up
run $MESHCAP apply ${args}
case meshcap-ipt${label}
prepare ip link set lo up
run $MESHCAP apply --backend iptables ${args}
case meshcap-ipt-off${label}
prepare ip link set lo up
run $MESHCAP apply --backend iptables --ipset off ${args}
case nft-f${label}
prepare ip link set lo up
run nft -f $TMP/$name.nft
case iptables${label}
prepare ip link set lo up
run iptables-legacy-save
run iptables-nft-save
run iptables-legacy-restore --noflush $TMP/$name.v4
run ip6tables-legacy-restore --noflush $TMP/$name.v6
run iptables-legacy-save
run ip6tables-legacy-save
case iptables-nft${label}
prepare ip link set lo up
run iptables-legacy-save
run iptables-nft-save
run iptables-nft-restore --noflush $TMP/$name.v4
run ip6tables-nft-restore --noflush $TMP/$name.v6
run iptables-nft-save
run ip6tables-nft-save
EOF
  if [[ ${3:-} == with-restore ]]; then
    cat <<EOF
case restore${label}
prepare ip link set lo up
run iptables-legacy-restore --noflush $TMP/$name.v4
run ip6tables-legacy-restore --noflush $TMP/$name.v6
EOF
  fi
}

# Runs each contender once in a throwaway namespace and checks the kernel
# really holds the rules, so we never time a command that silently did nothing.
sanity() {
  local name=$1 args
  read -r -a args <"$TMP/$name.args"
  # The single-quoted scripts run in the new namespace; their $vars are theirs.
  # shellcheck disable=SC2016
  unshare -n bash -euo pipefail -c '
    ip link set lo up
    "$0" apply "$@"
    nft list table ip meshcap | grep -c "redirect to :15001" >/dev/null
    nft list table ip6 meshcap | grep -c "redirect to :15001" >/dev/null' "$MESHCAP" "${args[@]}" 2>"$TMP/err" ||
    die "$name: meshcap apply did not program the rules: $(tail -3 "$TMP/err" | cut -c1-300)"
  # shellcheck disable=SC2016
  unshare -n bash -euo pipefail -c '
    nft -f "$0"
    nft list table ip meshcap | grep -c "redirect to :15001" >/dev/null
    nft list table ip6 meshcap | grep -c "redirect to :15001" >/dev/null' "$TMP/$name.nft" 2>"$TMP/err" ||
    die "$name: nft -f did not load the script: $(tail -3 "$TMP/err" | cut -c1-300)"
  # shellcheck disable=SC2016
  unshare -n bash -euo pipefail -c '
    iptables-legacy-restore --noflush "$0"
    ip6tables-legacy-restore --noflush "$1"
    test "$(iptables-legacy-save -t nat | grep -c "^-A MESHCAP")" = "$(grep -c "^-A MESHCAP" "$0")"
    test "$(ip6tables-legacy-save -t nat | grep -c "^-A MESHCAP")" = "$(grep -c "^-A MESHCAP" "$1")"' \
    "$TMP/$name.v4" "$TMP/$name.v6" 2>"$TMP/err" ||
    die "$name: iptables-legacy-restore did not load the rules: $(tail -3 "$TMP/err" | cut -c1-300)"
  log "$name: nft script $(wc -l <"$TMP/$name.nft") lines, iptables v4 $(grep -c '^-A' "$TMP/$name.v4") rules, v6 $(grep -c '^-A' "$TMP/$name.v6") rules; all three load"
}

# summarize TSV: per case: n; median, p90, min wall ms; median CPU ms (user +
# system of the exec'd commands); median and max peak RSS (KiB).
summarize() {
  sort -t$'\t' -k1,1 -k3,3n "$1" | awk -F'\t' '
    function median(a, n) { return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function isort(a, n,   i, j, x) {  # mawk has no asort
      for (i = 2; i <= n; i++) {
        x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x
      }
    }
    function flush() {
      if (n == 0) return
      isort(r, n); isort(u, n)
      # t is sorted by sort(1); p90 is the nearest rank
      printf "%-16s %4d %9.3f %9.3f %9.3f %9.3f %8d %8d\n", label, n, median(t, n) / 1e6,
        t[int(0.9 * n + 0.999999)] / 1e6, t[1] / 1e6, median(u, n) / 1e3, median(r, n), r[n]
      n = 0; delete t; delete r; delete u
    }
    $1 != label { flush(); label = $1 }
    { t[++n] = $3; r[n] = $4; u[n] = $5 }
    END { flush() }' | sort -t@ -k1,1 -k2,2n | {  # sweep labels: case@cidrs
    printf '%-16s %4s %9s %9s %9s %9s %8s %8s\n' case n median_ms p90_ms min_ms cpu_ms rss_kib rss_max
    cat
  }
}

machine() {
  printf 'date: %s\n' "$(date -u +%FT%TZ)"
  printf 'cpu: %s, %s cores\n' "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$(nproc)"
  printf 'kernel: %s, Debian %s\n' "$(uname -r)" "$(cat /etc/debian_version)"
  printf 'meshcap: %s (%s)\n' "$("$MESHCAP" --version)" "$(git -C "$ROOT" rev-parse --short HEAD)"
  printf 'nft: %s; iptables: %s\n' "$(nft --version)" "$(iptables-legacy --version)"
}

# ratios SUMMARY LABEL: the goals of the performance issue as ratios of
# medians from the same run.
ratios() {
  awk -v l="$2" '{ m[$1] = $3 }
    END {
      if ((l == "") && ("version" in m)) printf "start-up: meshcap --version - /bin/true = %.3f ms\n", m["version"] - m["true"]
      printf "nft: meshcap / floor = %.3f (%.3f / %.3f ms)\n", m["meshcap" l] / m["floor" l], m["meshcap" l], m["floor" l]
      printf "nft: nft -f / floor = %.3f\n", m["nft-f" l] / m["floor" l]
      printf "iptables: istio-style legacy / meshcap --backend iptables = %.2f (%.3f / %.3f ms)\n", m["iptables" l] / m["meshcap-ipt" l], m["iptables" l], m["meshcap-ipt" l]
      printf "iptables: istio-style iptables-nft / meshcap --backend iptables = %.2f\n", m["iptables-nft" l] / m["meshcap-ipt" l]
      if ((l == "") && ("true" in m)) {
        t = m["true"]
        printf "iptables, /bin/true subtracted: legacy / meshcap = %.2f (%.3f / %.3f ms); legacy / ipt-floor = %.2f (ipt-floor %.3f ms)\n", (m["iptables"] - t) / (m["meshcap-ipt"] - t), m["iptables"] - t, m["meshcap-ipt"] - t, (m["iptables"] - t) / (m["ipt-floor"] - t), m["ipt-floor"] - t
      }
    }' "$1"
}

run_part() {
  local part=$1 n=$2 spec=$TMP/$1.spec
  log "$part: $n iterations per case (new netns each, settle ${SETTLE_MS} ms, ${RT:+SCHED_FIFO $RT, }load $(cut -d' ' -f1-3 /proc/loadavg))"
  printf '%s: load average before: %s\n' "$part" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
  "${PRIO[@]}" "$NSRUN" -n "$n" -w 3 -s "$SETTLE_MS" "$spec" >"$OUT/$part.tsv"
  summarize "$OUT/$part.tsv" | tee "$OUT/$part.txt"
}

if ((NODE_HOOKS)); then
  # Anonymous like the measured namespaces: it goes when the sleep is killed.
  unshare -n sh -c 'iptables-legacy -t nat -S >/dev/null && ip6tables-legacy -t nat -S >/dev/null && exec sleep infinity' &
  HOLDER=$!
  sleep 0.2
  kill -0 "$HOLDER" 2>/dev/null || die "could not hold nat tables in a namespace of their own (NODE_HOOKS=0 to measure without)"
fi
machine | tee "$OUT/machine.txt"
printf 'nat hooks held by another namespace (as on a node): %s\n' "$( ((NODE_HOOKS)) && echo yes || echo no)" | tee -a "$OUT/machine.txt"

if [[ -z $ONLY || $ONLY == default ]]; then
  make_inputs default 0 0
  sanity default
  spec_cases default "" >"$TMP/default.spec"
  # Start-up alone: meshcap --version next to /bin/true; the iptables floor.
  printf 'case true\nrun /bin/true\ncase version\nrun %s --version\n' "$MESHCAP" >>"$TMP/default.spec"
  printf 'case ipt-floor\nprepare ip link set lo up\nrun %s\n' "$IPT_FLOOR" >>"$TMP/default.spec"
  run_part default "$N_DEFAULT"
  ratios "$OUT/default.txt" "" | tee "$OUT/default-ratios.txt"
fi

if [[ -z $ONLY || $ONLY == big ]]; then
  make_inputs big 10000 1000
  sanity big
  spec_cases big "-big" >"$TMP/big.spec"
  run_part big "$N_BIG"
  ratios "$OUT/big.txt" "-big" | tee "$OUT/big-ratios.txt"
fi

if [[ -z $ONLY || $ONLY == sweep ]]; then
  : >"$TMP/sweep.spec"
  for k in $SWEEP; do
    make_inputs "sweep$k" "$k" 0
    sanity "sweep$k"
    spec_cases "sweep$k" "@$k" with-restore >>"$TMP/sweep.spec"
  done
  run_part sweep "$N_SWEEP"
  # Columns: cidrs, then the median ms of meshcap, nft -f, iptables (all 6
  # commands), iptables-restore (only the two restores), the floor, meshcap
  # --backend iptables, the 6 commands on iptables-nft, and meshcap --backend
  # iptables --ipset off.
  awk 'index($1, "@") {
         split($1, a, "@"); v[a[2], a[1]] = $3; ks[a[2]] = 1
       }
       END {
         for (k in ks)
           print k, v[k, "meshcap"], v[k, "nft-f"], v[k, "iptables"], v[k, "restore"], v[k, "floor"], v[k, "meshcap-ipt"], v[k, "iptables-nft"], v[k, "meshcap-ipt-off"]
       }' \
    "$OUT/sweep.txt" | sort -n >"$OUT/sweep.dat"
  gnuplot -e "datafile='$OUT/sweep.dat'; outfile='$PLOT'" "$ROOT/bench/exclusions.gp"
  log "plot written to $PLOT"
fi
