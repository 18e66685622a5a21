#!/bin/bash
# A second real runtime: podman (Debian 12's 4.3, CNI network backend) runs a
# container on a network whose conflist chains meshcap after bridge +
# host-local (select: all). Traffic into and out of the container is captured;
# removing the container runs DEL, which cleans up.
#
# Everything happens in a throwaway "node": a new network and mount namespace
# (podman runs its CNI plugins in the namespace it runs in), with podman's
# storage, run state and network configs in a temporary directory.
#   podman_test.sh MESHCAP_BINARY
set -u
here=$(cd "$(dirname "$0")" && pwd)
meshcap=$(realpath "$1")

skip() {
  if [ -n "${MCTEST_NO_SKIP:-}" ]; then echo "cannot run: $1" >&2; exit 1; fi
  echo "skipped: $1" >&2
  exit 77
}
command -v podman >/dev/null || skip "podman is not installed"
command -v go >/dev/null || skip "the Go toolchain is missing (the container's helper is built with it)"
[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins is not installed"
[ "$(id -u)" = 0 ] || skip "needs root"

if [ -z "${MCTEST_CNI_NODE:-}" ]; then
  exec env MCTEST_CNI_NODE=1 unshare --net --mount --propagation private -- bash "$0" "$@"
fi

failures=0
ok() { echo "ok    $*"; }
bad() { echo "FAIL  $*"; failures=$((failures + 1)); }
expect() { # expect DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}

ip link set lo up
# crun refuses a hybrid cgroup layout (v1 controllers plus an empty v2 mount at
# unified/); this mount namespace is ours, so hide the v2 mount from it.
if mountpoint -q /sys/fs/cgroup/unified && [ -d /sys/fs/cgroup/memory ]; then
  umount /sys/fs/cgroup/unified || skip "cannot hide the hybrid cgroup2 mount from crun"
fi
# Namespace files podman makes live and die with this mount namespace.
mkdir -p /run/netns && mount -t tmpfs mcpodman /run/netns
tmp=$(mktemp -d /tmp/meshcap-podman-XXXXXX)
cleanup() {
  podman_ rm -f -t 0 mctest >/dev/null 2>&1
  podman_ system reset -f >/dev/null 2>&1  # unmounts what podman mounted under $tmp (its --tmpdir too: never the machine's /run/libpod)
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/bin" "$tmp/net.d" "$tmp/rootfs" "$tmp/ipam"
ln -s "$meshcap" "$tmp/bin/meshcap"

cat >"$tmp/containers.conf" <<EOF
[network]
network_backend = "cni"
network_config_dir = "$tmp/net.d"
cni_plugin_dirs = ["$tmp/bin", "/usr/lib/cni"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$tmp/net.d/mcpod.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "mcpod",
  "plugins": [
    {"type": "bridge", "bridge": "mcpodbr0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": "$tmp/ipam",
              "ranges": [[{"subnet": "10.98.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "meshcap", "select": "all", "logFile": "$tmp/meshcap.log",
     "capabilities": {"io.kubernetes.cri.pod-annotations": true}}
  ]
}
EOF
podman_() {
  CONTAINERS_CONF="$tmp/containers.conf" podman --root "$tmp/storage" --runroot "$tmp/run" --tmpdir "$tmp/libpod" \
    --storage-driver vfs --cgroup-manager cgroupfs "$@"
}

# No registry: the image is a local rootfs holding one static helper binary.
CGO_ENABLED=0 GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$tmp/gocache" \
  go build -o "$tmp/rootfs/driver" "$here/driver.go" || { bad "building the static helper"; exit 1; }
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" . || exit 1
podman_ import -q "$tmp/rootfs.tar" localhost/mctest:latest >/dev/null || { bad "podman import"; exit 1; }

snapshot() {
  { nft list ruleset; iptables-legacy-save; ip6tables-legacy-save; ip rule; ip -6 rule; } 2>&1 | grep -v '^#'
}
node_before=$(snapshot)

# The node's side of the conversation: a listener the container calls.
"$tmp/rootfs/driver" helper serve 9999 >"$tmp/node-serve.out" &
node_server=$!
trap 'kill $node_server 2>/dev/null; cleanup' EXIT

if ! podman_ run -d --cgroups disabled --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --name mctest --network mcpod localhost/mctest:latest \
    /driver helper serve 8080 15001 15006 >"$tmp/run.out" 2>&1; then
  bad "podman run on the meshcap network: $(cat "$tmp/run.out")"
  cat "$tmp/meshcap.log" 2>/dev/null
  exit 1
fi
ok "podman run on a network chaining meshcap"
ip=$(podman_ inspect -f '{{(index .NetworkSettings.Networks "mcpod").IPAddress}}' mctest)
pid=$(podman_ inspect -f '{{.State.Pid}}' mctest)
for _ in $(seq 50); do grep -q ready "$tmp/node-serve.out" && break; sleep 0.1; done
sleep 0.3  # the container's listeners

rules=$(nsenter -t "$pid" -n nft list ruleset)
if grep -q "redirect to :15001" <<<"$rules"; then ok "ADD programmed the container's namespace"; else bad "no meshcap rules in the container: $rules"; fi

landed=$("$tmp/rootfs/driver" helper connect "$ip:8080")
[ "$landed" = "15006 $ip:8080" ] && ok "inbound to the container lands on the inbound port ($landed)" ||
  bad "inbound to the container: got '$landed', want '15006 $ip:8080'"
landed=$(podman_ exec mctest /driver helper connect 10.98.0.1:9999)
[ "$landed" = "15001 10.98.0.1:9999" ] && ok "the container's outbound lands on the outbound port ($landed)" ||
  bad "outbound from the container: got '$landed', want '15001 10.98.0.1:9999'"

[ "$(snapshot)" = "$node_before" ] && ok "the node's nft ruleset, iptables and ip rules are unchanged after ADD" ||
  bad "the node's namespace changed after ADD: $(diff <(echo "$node_before") <(snapshot))"

netns=$(readlink "/proc/$pid/ns/net")
if podman_ rm -f -t 0 mctest >"$tmp/rm.out" 2>&1; then ok "podman rm"; else bad "podman rm: $(cat "$tmp/rm.out")"; fi
if grep -q "removed meshcap's tables" "$tmp/meshcap.log" && ! grep -q " error " "$tmp/meshcap.log"; then
  ok "removing the container ran meshcap's DEL cleanly"
else
  bad "no clean DEL in meshcap's log: $(cat "$tmp/meshcap.log")"
fi
[ "$(snapshot)" = "$node_before" ] && ok "the node's namespace is unchanged after DEL" ||
  bad "the node's namespace changed after DEL"
echo "(container namespace was $netns)"

if [ "$failures" -gt 0 ]; then echo "FAIL: $failures checks failed"; exit 1; fi
echo PASS
