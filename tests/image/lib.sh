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

# pod_netns NAME: a namespace like a pod's (lo, eth0 with v4+v6 addresses and
# default routes); removed on exit.
pod_netns() {
  local ns=$1
  ip netns add "$ns" || fail "ip netns add $ns failed"
  cleanup_cmds+=("ip netns del '$ns'")
  ip -n "$ns" link set lo up
  # A veth pair with both ends inside (the dummy driver is not always available).
  ip -n "$ns" link add eth0 type veth peer name node0
  ip -n "$ns" link set node0 up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" addr add 10.244.1.5/24 dev eth0
  ip -n "$ns" addr add fd00:10:244:1::5/64 dev eth0 nodad
  ip -n "$ns" route add default via 10.244.1.1 dev eth0
  ip -n "$ns" -6 route add default via fd00:10:244:1::1 dev eth0
}

# app_connection_captured NS: in NS, a listener on 15001 (as the proxy would)
# and a client as uid 1000 connecting to an off-pod address; the connection
# must land on 15001 and SO_ORIGINAL_DST must give back the address the app
# asked for. Prints what happened; non-zero exit when it was not captured.
app_connection_captured() {
  ip netns exec "$1" "$python" - <<'EOF'
import os, socket, struct, sys
SO_ORIGINAL_DST = 80
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 15001))
srv.listen(1)
srv.settimeout(5)
pid = os.fork()
if pid == 0:
    os.setgid(1000); os.setuid(1000)
    c = socket.socket()
    c.settimeout(5)
    try:
        c.connect(("10.96.0.10", 8080))
        os._exit(0)
    except OSError as e:
        print(f"app connect to 10.96.0.10:8080 failed: {e}", file=sys.stderr)
        os._exit(1)
try:
    conn, _ = srv.accept()
except socket.timeout:
    sys.exit("no connection reached the outbound port 15001")
raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
port, addr = struct.unpack_from("!2xH4s", raw)
dst = f"{socket.inet_ntoa(addr)}:{port}"
os.waitpid(pid, 0)
if dst != "10.96.0.10:8080":
    sys.exit(f"original destination {dst}, want 10.96.0.10:8080")
print(f"captured to 15001, original destination {dst}")
EOF
}
