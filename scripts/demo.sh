#!/usr/bin/env bash
# Runs meshcap for real in a throwaway pod/peer pair of network namespaces,
# sends a few connections, shows where each one landed, and removes
# everything it created. Needs root (it creates network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run as root (it creates network namespaces)" >&2
  exit 1
fi
if [ ! -x build/meshcap ]; then
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target meshcap
fi
meshcap=$PWD/build/meshcap
probe=$PWD/scripts/demo-probe.py

pod=mcdemo-pod-$$
peer=mcdemo-peer-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$pod" 2>/dev/null || true
  ip netns del "$peer" 2>/dev/null || true
}
trap cleanup EXIT

# A pod (10.249.0.2) and a peer (10.249.0.1) joined by a veth pair.
ip netns add "$pod"
ip netns add "$peer"
ip link add mcdemo-$$ type veth peer name eth0 netns "$pod"
ip link set mcdemo-$$ netns "$peer"
ip -n "$peer" link set mcdemo-$$ name eth0
ip -n "$pod" addr add 10.249.0.2/24 dev eth0
ip -n "$peer" addr add 10.249.0.1/24 dev eth0
for ns in "$pod" "$peer"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
done
ip -n "$pod" route add default via 10.249.0.1

settings=(--ipv6 off --exclude-inbound-ports 15021 --exclude-outbound-ports 9999)

echo "== meshcap apply --dry-run ${settings[*]}"
"$meshcap" apply --dry-run "${settings[@]}"

echo
echo "== ip netns exec $pod meshcap apply ${settings[*]}"
ip netns exec "$pod" "$meshcap" apply "${settings[@]}"
ip netns exec "$pod" "$meshcap" check "${settings[@]}"

# The proxy's listeners and an app in the pod; real servers in the peer.
ip netns exec "$pod" /usr/bin/python3 "$probe" serve proxy 15001 15006 >/dev/null & pids+=($!)
ip netns exec "$pod" /usr/bin/python3 "$probe" serve app 8080 15021 >/dev/null & pids+=($!)
ip netns exec "$peer" /usr/bin/python3 "$probe" serve peer 80 9999 >/dev/null & pids+=($!)
sleep 0.5

run() {  # description, namespace, host, port, [uid]
  local got
  got=$(ip netns exec "$2" /usr/bin/python3 "$probe" connect "$3" "$4" "${5:-}")
  printf '%-44s %-26s %s\n' "$1" "$3:$4" "$got"
}
echo
printf '%-44s %-26s %s\n' "connection" "to" "landed on (original destination)"
run "app (uid 1000) -> peer"                 "$pod"  10.249.0.1 80   1000
run "app (uid 1000) -> peer, excluded port"  "$pod"  10.249.0.1 9999 1000
run "proxy (uid 1337) -> peer"               "$pod"  10.249.0.1 80   1337
run "peer -> pod app port"                   "$peer" 10.249.0.2 8080
run "peer -> pod, excluded inbound port"     "$peer" 10.249.0.2 15021

echo
echo "== meshcap cleanup"
ip netns exec "$pod" "$meshcap" cleanup
echo "demo done; namespaces $pod and $peer are removed on exit"
