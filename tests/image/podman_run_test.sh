#!/usr/bin/env bash
# podman_run_test.sh IMAGE
#
# The built image (scripts/build-image.sh), run with podman the way Kubernetes
# runs an init container: `--cap-drop ALL --cap-add NET_ADMIN,NET_RAW`, a
# read-only root with nothing writable mounted over it (`--read-only
# --read-only-tmpfs=false`: Kubernetes' readOnlyRootFilesystem adds no tmpfs),
# no privilege escalation (`--security-opt no-new-privileges`), in the pod's
# network namespace (`--network ns:/var/run/netns/POD`, prepared here), never
# pulled (`--pull never`). Three ways, each in a fresh pod namespace:
#
#   meshcap  meshcap's own arguments (`apply ... --backend iptables`, then
#            `check` with the same arguments), as root
#   istio    Istio's injected argument list, `istio-iptables -p 15001 -z 15006
#            -u 1337 -m REDIRECT -i '*' -x '' -b '*' -d 15090,15021,15020
#            --log_output_level=default:info`, as root
#   linkerd  as Linkerd runs its proxy-init: `--user 65534`, only NET_ADMIN and
#            NET_RAW, and only Linkerd's arguments (no command: they follow
#            the image's entrypoint)
#
# After each: the kernel state read with `iptables-legacy-save` or `nft list
# ruleset` (independent oracles) holds the mesh's redirects, and real
# connections land where the mesh wants them: from the peer namespace to an
# app port on the pod's inbound listener, to an excluded port on that port;
# from an app uid to the peer on the pod's outbound listener with its
# original destination; from the proxy's uid straight to the peer.
#
# podman, unlike Kubernetes, also hands a non-root user the added
# capabilities as ambient ones; /meshcap carries file capabilities, so execve
# drops the ambient set and its permitted set comes from the file either way.
# That non-root works with no ambient capabilities at all is what
# nonroot_test.sh proves (contain.py asks for none).
#
# Everything runs in a private mount namespace with podman's storage, run
# state and configuration in a temporary directory (the image is copied in
# with `podman save`/`load`, file capabilities included), so the namespace
# files, podman's mounts and its state all go with the test. Two things only
# this kind of machine needs, neither of which meshcap can notice: crun
# refuses a hybrid cgroup layout (v1 controllers plus an empty cgroup2 mount
# at unified/), which is hidden from it in that mount namespace; and podman
# raises RLIMIT_NOFILE/NPROC for root, which needs CAP_SYS_RESOURCE, so the
# containers get small fixed limits instead (meshcap needs a few descriptors
# and never forks).
#
# Needs root, podman (rootful), iproute2, nft, iptables-legacy-save, python3.
set -euo pipefail
if [[ -z ${MCTEST_PODMAN_MOUNTNS:-} && $(id -u) -eq 0 ]]; then
  exec env MCTEST_PODMAN_MOUNTNS=1 unshare --mount --propagation private -- bash "$0" "$@"
fi
# shellcheck source=tests/image/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || fail "usage: $0 IMAGE"
image=$1
probe=$src_dir/scripts/demo-probe.py
need_root
[[ -n ${MCTEST_PODMAN_MOUNTNS:-} ]] || fail "not in a private mount namespace (unshare failed?)"
for tool in podman ip nft iptables-legacy-save; do
  command -v "$tool" >/dev/null || skip "needs $tool"
done
getcap=$(PATH=$PATH:/usr/sbin:/sbin command -v getcap) || skip "needs getcap (libcap2-bin)"
podman image exists "$image" || fail "no image '$image' in podman's local storage; build it (scripts/build-image.sh $image)"

if mountpoint -q /sys/fs/cgroup/unified && [[ -d /sys/fs/cgroup/memory ]]; then
  umount /sys/fs/cgroup/unified || fail "cannot hide the hybrid cgroup2 mount from crun"
fi
mkdir -p /run/netns
mount -t tmpfs mcpodman-image /run/netns
# podman's own state (storage, run state, locks, events, network configs) all
# in $tmp: the machine's podman, and whoever else uses it, never sees this one.
printf '%s\n' '[engine]' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' \
  "tmp_dir = \"$tmp/libpod\"" '[network]' "network_config_dir = \"$tmp/net.d\"" >"$tmp/containers.conf"
podman_cmd=(env "CONTAINERS_CONF=$tmp/containers.conf" podman --root "$tmp/storage" --runroot "$tmp/run"
  --storage-driver vfs --cgroup-manager cgroupfs)
podman_() { "${podman_cmd[@]}" "$@"; }
# Whatever podman left mounted under $tmp goes before lib.sh removes $tmp.
cleanup_cmds+=("findmnt -rn -o TARGET | grep '^$tmp/' | sort -r | xargs -r umount -l")
podman save -q -o "$tmp/image.tar" "$image" || fail "podman save $image failed"
loaded=$(podman_ load -q -i "$tmp/image.tar") || fail "podman load of $image into the test's storage failed"
rm -f "$tmp/image.tar"
image=${loaded##*: }
root=$(podman_ image mount "$image") || fail "podman image mount $image failed"
caps=$("$getcap" "$root/meshcap")
podman_ image unmount "$image" >/dev/null
[[ $caps == *"cap_net_admin,cap_net_raw=p" ]] || fail "the image's /meshcap has file capabilities '$caps', want cap_net_admin,cap_net_raw=p"
ok "$image: /meshcap carries cap_net_admin,cap_net_raw=p"

pod_ip=10.250.0.2
peer_ip=10.250.0.1

# pod_pair RUN: a pod namespace and a peer namespace joined by a veth pair
# (v4 and v6, default routes through the peer); sets $pod and $peer.
pod_pair() {
  pod=mcpod-$1-$$
  peer=mcpeer-$1-$$
  ip netns add "$pod" || fail "ip netns add $pod failed"
  cleanup_cmds+=("ip netns del '$pod'")
  ip netns add "$peer" || fail "ip netns add $peer failed"
  cleanup_cmds+=("ip netns del '$peer'")
  ip -n "$pod" link add eth0 type veth peer name eth0 netns "$peer"
  ip -n "$pod" addr add "$pod_ip/24" dev eth0
  ip -n "$pod" addr add fd00:10:250::2/64 dev eth0 nodad
  ip -n "$peer" addr add "$peer_ip/24" dev eth0
  ip -n "$peer" addr add fd00:10:250::1/64 dev eth0 nodad
  local ns
  for ns in "$pod" "$peer"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done
  ip -n "$pod" route add default via "$peer_ip"
  ip -n "$pod" -6 route add default via fd00:10:250::1
}

# serve NS NAME PORT...: demo-probe.py listeners in NS, answering each
# connection with "NAME:PORT orig=ORIGINAL_DESTINATION"; stopped on exit.
serve() {
  local ns=$1 name=$2 out=$tmp/serve-$1-$2 i
  shift 2
  : >"$out"
  ip netns exec "$ns" "$python" "$probe" serve "$name" "$@" >"$out" 2>&1 &
  cleanup_cmds+=("kill $!")
  for ((i = 0; i < 50; i++)); do
    grep -q '^ready' "$out" && return 0
    sleep 0.1
  done
  show "$out"
  fail "listener $name on $* in $ns did not start"
}

# lands NS HOST PORT UID WANT: a connection from NS (as UID, or the caller
# when empty) to HOST:PORT is answered by the listener WANT names
# ("NAME:PORT orig=ADDR:PORT", or a prefix of it).
lands() {
  local ns=$1 host=$2 port=$3 uid=$4 want=$5 got
  got=$(ip netns exec "$ns" "$python" "$probe" connect "$host" "$port" "$uid")
  [[ $got == "$want"* ]] || fail "from $ns${uid:+ as uid $uid} to $host:$port: landed on '$got', want '$want'"
  ok "from $ns${uid:+ as uid $uid} to $host:$port: $got"
}

# run_image RUN PODMAN_ARGS... -- ARGS...: the image in $pod as Kubernetes
# would run it; fails the test unless it exits 0.
run_image() {
  local run=$1 name=meshcap-podman-$1-$$ opts=()
  shift
  while [[ $1 != -- ]]; do
    opts+=("$1")
    shift
  done
  shift
  cleanup_cmds+=("podman_ rm -f -i '$name' >/dev/null 2>&1")
  run_capture "$tmp/$run.out" "$tmp/$run.err" timeout 120 "${podman_cmd[@]}" run --rm --name "$name" --pull never \
    --network "ns:/var/run/netns/$pod" \
    --cap-drop ALL --cap-add NET_ADMIN,NET_RAW \
    --read-only --read-only-tmpfs=false --security-opt no-new-privileges \
    --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
    "${opts[@]}" "$image" "$@"
  [[ $rc -eq 0 ]] || { show "$tmp/$run.out" "$tmp/$run.err"; fail "podman run ($run) ${opts[*]} $image $* exited $rc"; }
  ok "podman run ($run)${opts[*]:+ ${opts[*]}} $image $*: exit 0: $(tail -n1 "$tmp/$run.err")"
}

# oracle RUN: the pod's netfilter state as the standard tools see it, in
# $tmp/RUN.v4 (iptables-legacy-save, then nft list ruleset) and $tmp/RUN.v6
# (ip6tables-legacy-save, then nft list ruleset).
oracle() {
  local nft
  nft=$(ip netns exec "$pod" nft list ruleset)
  { ip netns exec "$pod" iptables-legacy-save | sed '/^#/d' && echo "$nft"; } >"$tmp/$1.v4"
  { ip netns exec "$pod" ip6tables-legacy-save | sed '/^#/d' && echo "$nft"; } >"$tmp/$1.v6"
}

# holds RUN v4|v6 WHAT PATTERN: the oracle's output matches PATTERN (grep -E).
holds() {
  local file=$tmp/$1.$2
  grep -Eq -- "$4" "$file" || { show "$file"; fail "$1: the kernel does not hold $3 (no match for '$4')"; }
  ok "$1: the kernel holds $3"
}

# listeners OUTBOUND INBOUND EXCLUDED: the pod's proxy listens on
# OUTBOUND and INBOUND, an app on 8080 and on the excluded inbound port
# EXCLUDED, the peer on 80. Before the image runs nothing is captured: the
# app's connection reaches the peer itself.
listeners() {
  serve "$pod" proxy "$1" "$2"
  serve "$pod" app 8080 "$3"
  serve "$peer" peer 80
  lands "$pod" "$peer_ip" 80 1000 "peer:80 "
}

# traffic PROXY_UID OUTBOUND INBOUND EXCLUDED: after the image ran, every path
# lands where the mesh wants it.
traffic() {
  local uid=$1 out=$2 in=$3 excluded=$4
  lands "$peer" "$pod_ip" 8080 "" "proxy:$in orig=$pod_ip:8080"
  lands "$peer" "$pod_ip" "$excluded" "" "app:$excluded "
  lands "$pod" "$peer_ip" 80 1000 "proxy:$out orig=$peer_ip:80"
  lands "$pod" "$peer_ip" 80 "$uid" "peer:80 "
}

# --- meshcap's own arguments, the iptables backend (libiptc, /run/xtables.lock
# on the read-only root) ------------------------------------------------------------
own=(--backend iptables --exclude-inbound-ports 15021)
pod_pair meshcap
listeners 15001 15006 15021
run_image meshcap -- apply "${own[@]}"
oracle meshcap
holds meshcap v4 "the outbound redirect to 15001" '^-A MESHCAP_.*-j REDIRECT --to-ports 15001'
holds meshcap v4 "the inbound redirect to 15006" '^-A MESHCAP_.*-j REDIRECT --to-ports 15006'
holds meshcap v4 "the excluded inbound port 15021" '^-A MESHCAP_.*--dport 15021 .*-j RETURN'
holds meshcap v6 "the IPv6 outbound redirect" '^-A MESHCAP_.*-j REDIRECT --to-ports 15001'
traffic 1337 15001 15006 15021
run_image meshcap-check -- check "${own[@]}"

# --- Istio's injected argument list -------------------------------------------------
pod_pair istio
listeners 15001 15006 15021
run_image istio -- istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x '' -b '*' \
  -d 15090,15021,15020 --log_output_level=default:info
oracle istio
holds istio v4 "a redirect to 15006" 'redirect to :15006|--to-ports 15006'
holds istio v4 "a redirect to 15001" 'redirect to :15001|--to-ports 15001'
holds istio v4 "the excluded inbound ports" '15020.*15021.*15090|15090.*15021.*15020'
traffic 1337 15001 15006 15021

# --- Linkerd: uid 65534, NET_ADMIN and NET_RAW only, arguments only -----------------
pod_pair linkerd
listeners 4140 4143 4190
run_image linkerd --user 65534:65534 -- --incoming-proxy-port 4143 --outgoing-proxy-port 4140 \
  --proxy-uid 2102 --inbound-ports-to-ignore 4190,4191,4567,4568 --outbound-ports-to-ignore 4567,4568
oracle linkerd
holds linkerd v4 "a redirect to 4143" 'redirect to :4143|--to-ports 4143'
holds linkerd v4 "a redirect to 4140" 'redirect to :4140|--to-ports 4140'
holds linkerd v4 "the proxy's uid 2102" 'skuid 2102|--uid-owner 2102'
traffic 2102 4140 4143 4190

echo "$test_name: passed"
