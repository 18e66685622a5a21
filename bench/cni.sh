#!/usr/bin/env bash
# CNI ADD latency, on demand as root (never in CI):
#  - through libcni, bridge + host-local with meshcap chained vs the same
#    conflist without meshcap;
#  - meshcap's ADD alone vs `meshcap apply --netns` of the same settings
#    (target: ADD <= apply + 1 ms).
# Each run gets a fresh namespace; the cases interleave; medians are printed.
# Everything happens inside a throwaway "node" namespace (the test driver's).
#
#   bench/cni.sh            # N=30 rounds
#   N=100 bench/cni.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[ -x "$BUILD/meshcap" ] || { echo "build meshcap first: cmake --build $BUILD --target meshcap" >&2; exit 1; }
driver=$(mktemp /tmp/meshcap-cni-bench-XXXXXX)
trap 'rm -f "$driver"' EXIT
GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS="" GOCACHE=${GOCACHE:-/tmp/meshcap-gocache} \
  go build -o "$driver" "$ROOT/tests/cni/driver.go"
echo "# $(date -u +%FT%TZ) $(uname -r) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
N=${N:-30} "$driver" run bench --plugin "$BUILD/meshcap" 2>/dev/null
