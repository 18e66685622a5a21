#!/usr/bin/env bash
# CNI ADD latency, on demand as root (never in CI); docs/benchmarks.md, "CNI plugin".
#  - through libcni, bridge + host-local with meshcap chained vs the same
#    conflist without meshcap;
#  - meshcap's ADD alone vs `meshcap apply --netns` of the same settings
#    (target: ADD <= apply + 1 ms).
# The plugin is measured as a node runs it and as a plain binary, side by side
# in one run: the image's files are laid out by scripts/make-rootfs.sh from
# BUILD's binary (stripped, as shipped), then
#   binary   that /meshcap, exec'd directly (the host's loader and libraries)
#   bundle   what `/meshcap cni install` puts into a bin dir: the static
#            launcher, which runs the copied loader with the copied libraries
#            and binary (docs/commands.md, "cni install")
# `apply` is the same /meshcap. Each run gets a fresh namespace; the cases
# interleave; median, quartiles, min and max are printed. Everything happens
# inside a throwaway "node" namespace (the test driver's, tests/cni/driver.go).
#
#   bench/cni.sh                          # N=30 rounds, BUILD=build
#   N=100 BUILD=build-rel bench/cni.sh    # a Release build, as the image has
#   EXTRA_PLUGINS="name=DIR" bench/cni.sh # another bin dir holding `meshcap`, measured alongside
#   NO_RT=1 bench/cni.sh                  # without SCHED_FIFO (default: the driver and
#                                         # everything it execs run under `chrt -f 10`, so a
#                                         # busy machine's builds cannot preempt a measured run)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
if [ ! -x "$BUILD/meshcap" ] || [ ! -x "$BUILD/meshcap-launcher" ]; then
  echo "build meshcap first: cmake --build $BUILD --target meshcap" >&2
  exit 1
fi
work=$(mktemp -d /tmp/meshcap-cni-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS="" GOCACHE=${GOCACHE:-/tmp/meshcap-gocache} \
  go build -o "$work/driver" "$ROOT/tests/cni/driver.go"
"$ROOT/scripts/make-rootfs.sh" "$work/rootfs" "$BUILD/meshcap" >/dev/null
mkdir -p "$work/binary" "$work/bundle" "$work/net.d"
cp "$work/rootfs/meshcap" "$work/binary/meshcap"
# cni install wants a primary config to chain after; the benchmark's own
# conflist is the driver's.
echo '{"cniVersion": "1.0.0", "name": "bench", "plugins": [{"type": "bridge"}]}' >"$work/net.d/10-bench.conflist"
"$work/rootfs/meshcap" cni install --bin-dir "$work/bundle" --conf-dir "$work/net.d"

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
echo "# $(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), ${build_type:-?} build, stripped"
echo "# $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cpus, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# plugin files: binary $(stat -c %s "$work/binary/meshcap") bytes; bundle $(du -sbL "$work/bundle" | cut -f1) bytes"
rt=(chrt -f 10)
[ -z "${NO_RT:-}" ] || rt=()
echo "# scheduling: ${rt[*]:-normal}"
N=${N:-30} MCBENCH_PLUGINS="binary=$work/binary bundle=$work/bundle ${EXTRA_PLUGINS:-}" \
  "${rt[@]}" "$work/driver" run bench --plugin "$work/rootfs/meshcap" 2>/dev/null
