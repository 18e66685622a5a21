# shellcheck shell=bash
# Helpers shared by tests/image/*_test.sh. Source it after `set -euo pipefail`.
#
# Exit statuses: 0 pass, 1 fail, 77 skip (ctest: SKIP_RETURN_CODE 77).
# MCTEST_NO_SKIP=1 (what CI sets) turns an environment skip into a failure,
# so a green run cannot be all skips.

test_name=$(basename "$0" .sh)
image_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src_dir=$(cd "$image_dir/../.." && pwd)
make_rootfs=$src_dir/scripts/make-rootfs.sh
python=/usr/bin/python3

fail() {
  printf '%s: FAIL: %s\n' "$test_name" "$*" >&2
  exit 1
}
ok() { printf '%s: ok: %s\n' "$test_name" "$*"; }
note() { printf '%s: %s\n' "$test_name" "$*"; }

# skip REASON: the environment cannot run this test.
skip() {
  if [[ -n ${MCTEST_NO_SKIP:-} ]]; then
    fail "cannot run (and MCTEST_NO_SKIP is set): $*"
  fi
  printf '%s: SKIP: %s\n' "$test_name" "$*" >&2
  exit 77
}

need_root() {
  [[ $(id -u) -eq 0 ]] || skip "needs root (chroot, mounts, network namespaces)"
}

need_binary() { # need_binary PATH
  [[ -x $1 ]] || fail "meshcap binary '$1' is missing; build the meshcap target"
}

# Temporary files, removed on exit (also on failure).
declare -a cleanup_cmds=()
on_exit() {
  local i
  for ((i = ${#cleanup_cmds[@]} - 1; i >= 0; i--)); do
    eval "${cleanup_cmds[i]}" || true
  done
}
trap on_exit EXIT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshcap-image.XXXXXX")
cleanup_cmds+=("rm -rf '$tmp'")

# build_rootfs BINARY [DIR]: runs scripts/make-rootfs.sh; sets $rootfs.
build_rootfs() {
  rootfs=${2:-$tmp/rootfs}
  if ! "$make_rootfs" "$rootfs" "$1" >"$tmp/make-rootfs.out" 2>&1; then
    cat "$tmp/make-rootfs.out" >&2
    fail "scripts/make-rootfs.sh $rootfs $1 failed"
  fi
}

# contain ARGS...: tests/image/contain.py (the pod's securityContext in miniature).
contain() { "$python" "$image_dir/contain.py" "$@"; }

# run_capture OUT ERR CMD...: runs CMD, stdout/stderr to files, sets $rc
# (read by the sourcing test).
# shellcheck disable=SC2034
run_capture() {
  local out=$1 err=$2
  shift 2
  rc=0
  "$@" >"$out" 2>"$err" || rc=$?
}

# show FILE...: print files indented, for failure context.
show() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '--- %s\n' "$(basename "$f")" >&2
    sed 's/^/    /' "$f" >&2
  done
}

# says_not_implemented FILE...: the command reported that it is a stub.
says_not_implemented() {
  grep -Eqi 'not (yet )?implemented' "$@"
}
