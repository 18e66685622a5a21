#!/usr/bin/env bash
# The whole test suite, as CI runs it: dependencies, a -Werror build, every
# ctest tier (unit, integration and adversarial in throwaway network
# namespaces, image), the image itself built from the Dockerfile and run
# with podman, then the unit, integration and adversarial tiers again under
# ASan+UBSan, then every fuzz target for 20 s. With CI set, a skipped test (or
# a missing tool) fails.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
if [ -n "${CI:-}" ]; then
  export MCTEST_NO_SKIP=1
fi

echo "== lint"
shopt -s nullglob
shellcheck scripts/*.sh bench/*.sh tests/image/*.sh .ci/run
shopt -u nullglob

echo "== build (-Werror)"
cmake -S . -B build -DMESHCAP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

check_no_skips() {
  if [ -n "${CI:-}" ] && grep -q "(Skipped)\|\*\*\*Skipped" "$1"; then
    echo "test.sh: tests were skipped under CI:" >&2
    grep "Skipped" "$1" >&2
    exit 1
  fi
}

echo "== tests"
log=$(mktemp)
ctest --test-dir build --output-on-failure -j"$jobs" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
check_no_skips "$log"
[ "$status" -eq 0 ] || exit "$status"

echo "== image (buildah + podman)"
# The Dockerfile built for real with buildah on a Debian 12 base that
# debootstrap makes from the archive this machine's apt uses (no registry),
# then the image run with podman as Kubernetes runs an init container: with
# meshcap's own arguments, Istio's injected argument list and as Linkerd's
# uid 65534, each proved by real connections (tests/image/podman_run_test.sh).
image_tools_missing=
for tool in buildah podman debootstrap; do
  command -v "$tool" >/dev/null || image_tools_missing+=" $tool"
done
[ "$(id -u)" -eq 0 ] || image_tools_missing+=" root"
if [ -n "$image_tools_missing" ]; then
  if [ -n "${CI:-}" ]; then
    echo "test.sh: the image stage needs$image_tools_missing (CI skips nothing)" >&2
    exit 1
  fi
  echo "test.sh: image stage skipped: needs$image_tools_missing"
else
  MESHCAP_DEBOOTSTRAP=1 scripts/build-image.sh meshcap:ci
  tests/image/podman_run_test.sh meshcap:ci
fi

echo "== unit, integration and adversarial tests under ASan+UBSan"
# Not the image tier: it checks the hardened release build (FORTIFY, the
# stripped copy), which a sanitized build is not. Not the property test (500
# configurations through the same code the other tests drive) nor the kill
# tests (a run killed by SIGKILL never gets to report; the runs around it are
# the same applies and checks as elsewhere): under the sanitizers they would
# take longer than everything else together and find nothing new.
cmake -S . -B build-asan -DMESHCAP_WERROR=ON -DMESHCAP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
# ApplyCli.NeverRunsAnotherProgram runs meshcap under strace, where
# LeakSanitizer cannot work (it fails the run for that alone). Not cni.install:
# it copies the binary into bundles dozens of times, which for the 120 MB
# sanitized binary is a minute of file copying and no sanitized code path
# the unit tests of src/cni do not already take.
# Not the Spec2 landing suites either: they compare where real connections
# land for every rendering and backend, which is time in the kernel, nft and
# iptables-restore; meshcap's own code on those paths is what the other
# integration tests run under the sanitizers.
# The fuzz targets (a clang build) compile meanwhile: these tests spend most
# of their time waiting on namespaces and connections.
fuzz_build_log=$(mktemp)
scripts/fuzz.sh --build-only >"$fuzz_build_log" 2>&1 &
fuzz_build=$!
MCADV_REPETITIONS=3 ctest --test-dir build-asan -LE image \
  -E 'adversarial\.(property|kill)\.|ApplyCli\.NeverRunsAnotherProgram|^cni\.install$|^Spec2/(Capture|RenderingsAgree)\.' \
  --output-on-failure -j"$jobs" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if ! wait "$fuzz_build"; then
  cat "$fuzz_build_log" >&2
  echo "test.sh: building the fuzz targets failed" >&2
  exit 1
fi
rm -f "$fuzz_build_log"
check_no_skips "$log"
rm -f "$log"
[ "$status" -eq 0 ] || exit "$status"

echo "== fuzz (20 s per target)"
scripts/fuzz.sh 20
