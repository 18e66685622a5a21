#!/usr/bin/env bash
# portable_test.sh BINARY
#
# The CNI plugin that `meshcap cni install` puts on a node runs there with
# nothing of the node's: the runtime execs it on the node itself, which may
# lack meshcap's libraries or have an older glibc. For the usual dynamic
# build, install copies the static launcher, the binary, its loader and its
# libraries (src/cni/bundle.hpp). Checks:
#   - `/meshcap cni install` run from the image's rootfs (scripts/make-rootfs.sh)
#     the way deploy/cni-daemonset.yaml runs it (root, no capability,
#     read-only root, the host's bin and conf dirs mounted in) fills a fresh
#     root R with exactly the launcher, the link and one copy holding the
#     binary, the loader and the libraries, the image's own files; a second
#     install changes nothing; the readiness probe (--check) passes;
#   - in a chroot of R (those files plus an empty /proc mount, nothing else),
#     in a throwaway node namespace, the installed plugin does what a runtime
#     asks: ADD (the rules are there, `nft list ruleset` from outside is the
#     oracle, and a real connection is captured), CHECK, DEL, DEL again; the
#     node's namespace stays empty;
#   - run outside any chroot, where the host's libraries are there to be
#     found, the plugin maps only files of its copy (/proc/<pid>/maps) and
#     its loader opens only those (LD_DEBUG=libs); installing from that
#     installed copy into another dir gives the same files;
#   - a broken bundle: the launcher says so on stderr and, as a CNI plugin,
#     with the CNI error object on stdout.
# The static build has static_test.sh instead. Needs root (chroot, mounts,
# network namespaces).
set -euo pipefail
# shellcheck source=tests/image/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || fail "usage: $0 BINARY"
bin=$1
need_binary "$bin"
readelf -lW "$bin" | grep -q 'Requesting program interpreter' ||
  fail "$bin is static: static_test.sh covers the static build"
need_root
command -v ip >/dev/null || skip "needs iproute2 (ip netns)"
command -v nft >/dev/null || skip "needs nft (the oracle for the kernel's ruleset)"
command -v unshare >/dev/null || skip "needs unshare (util-linux)"
chroot_bin=$(PATH=$PATH:/usr/sbin:/sbin command -v chroot) || skip "needs chroot (coreutils)"

build_rootfs "$bin"

# --- the node: R, its bin dir, and a conf dir outside R ---------------------------
node=$tmp/node
mkdir -p "$node/opt/cni/bin" # the DaemonSet's hostPath (DirectoryOrCreate)
conf=$tmp/net.d
mkdir -p "$conf"
cp "$src_dir/tests/fixtures/cni/10-flannel.conflist" "$conf/"
nodens=meshcap-portable-node-$$
ip netns add "$nodens" || fail "ip netns add $nodens failed"
cleanup_cmds+=("ip netns del '$nodens'")
ip -n "$nodens" link set lo up
ip netns exec "$nodens" nft list ruleset >"$tmp/node-before"

# daemonset ARGS...: /meshcap ARGS in the image's rootfs as the DaemonSet runs
# it: the host's dirs mounted at /host/..., no capability, read-only root.
mkdir -p "$rootfs/host/opt/cni/bin" "$rootfs/host/etc/cni/net.d"
daemonset() {
  # shellcheck disable=SC2016 # the inner shell's positional parameters
  ip netns exec "$nodens" unshare -m --propagation private sh -c '
    mount --bind "$1" "$3/host/opt/cni/bin" && mount --bind "$2" "$3/host/etc/cni/net.d" &&
      shift 3 && exec "$@"' sh "$node/opt/cni/bin" "$conf" "$rootfs" \
    "$python" "$image_dir/contain.py" --caps none "$rootfs" -- /meshcap "$@"
}
install_args=(--bin-dir=/host/opt/cni/bin --conf-dir=/host/etc/cni/net.d --select=all)

run_capture "$tmp/install.out" "$tmp/install.err" daemonset cni install "${install_args[@]}"
[[ $rc -eq 0 ]] || { show "$tmp/install.out" "$tmp/install.err"; fail "cni install from the image exited $rc"; }
run_capture "$tmp/check.out" "$tmp/check.err" daemonset cni install --check "${install_args[@]}"
[[ $rc -eq 0 ]] || { show "$tmp/check.out" "$tmp/check.err"; fail "cni install --check (the readiness probe) exited $rc"; }
ok "cni install from the image's rootfs (no capability, read-only root), and its readiness probe"

# --- R holds exactly what install copied --------------------------------------------
bindir=$node/opt/cni/bin
bindir_real=$(realpath "$bindir") # what the launcher finds through /proc/self/exe
link=$(readlink "$bindir/meshcap.d") || fail "$bindir/meshcap.d is not a symbolic link"
[[ $link =~ ^\.meshcap\.d-[0-9a-f]{16}$ ]] || fail "meshcap.d points to '$link', want .meshcap.d-<hash> beside it"
copy=$bindir/$link
interp=$(readelf -lW "$bin" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
want="./opt ./opt/cni ./opt/cni/bin ./opt/cni/bin/meshcap ./opt/cni/bin/meshcap.d ./opt/cni/bin/$link"
want+=" ./opt/cni/bin/$link/meshcap ./opt/cni/bin/$link/ld.so ./opt/cni/bin/$link/lib"
declare -A lib_src=()
while read -r name arrow path _; do
  [[ $arrow == '=>' ]] || continue
  lib_src[$name]=$rootfs$path
  want+=" ./opt/cni/bin/$link/lib/$name"
done < <(ldd "$bin")
want=$(tr ' ' '\n' <<<"$want" | sort | tr '\n' ' ')
got=$(cd "$node" && find . -mindepth 1 -printf '%p\n' | sort | tr '\n' ' ')
[[ $got == "$want" ]] || fail "R holds"$'\n'"  $got"$'\n'"want"$'\n'"  $want"
cmp -s "$bindir/meshcap" "$rootfs/meshcap-launcher" || fail "the plugin is not the image's /meshcap-launcher"
cmp -s "$copy/meshcap" "$rootfs/meshcap" || fail "meshcap.d/meshcap is not the image's /meshcap"
cmp -s "$copy/ld.so" "$rootfs$interp" || fail "meshcap.d/ld.so is not the image's $interp"
for name in "${!lib_src[@]}"; do
  cmp -s "$copy/lib/$name" "${lib_src[$name]}" || fail "meshcap.d/lib/$name is not the image's ${lib_src[$name]#"$rootfs"}"
done
[[ $(stat -c %a "$bindir/meshcap" "$copy/meshcap" "$copy/ld.so" | sort -u) == 755 ]] || fail "the launcher, binary or loader is not mode 0755"
getcap=$(PATH=$PATH:/usr/sbin:/sbin command -v getcap) || fail "getcap (libcap2-bin) is missing, yet make-rootfs.sh ran"
[[ -z $("$getcap" "$copy/meshcap") ]] || fail "the copy carries the image's file capabilities"
ok "R holds only the launcher, meshcap.d -> $link, the binary, the loader and ${#lib_src[@]} libraries, all the image's"

stamp() { (cd "$node" && find . -printf '%p %i %y %m %s %T@ %l\n' | sort); }
stamp >"$tmp/r1"
run_capture "$tmp/install.out" "$tmp/install.err" daemonset cni install "${install_args[@]}"
[[ $rc -eq 0 ]] || { show "$tmp/install.out" "$tmp/install.err"; fail "a second cni install exited $rc"; }
stamp >"$tmp/r2"
diff -u "$tmp/r1" "$tmp/r2" >&2 || fail "a second install with the same files changed R"
ok "a second install changes nothing in R (same inodes and times)"

# --- the plugin in a chroot of R, as a runtime runs it ----------------------------------
mkdir "$node/proc"
podns=meshcap-portable-pod-$$
pod_netns "$podns"
ip netns exec "$podns" sleep 600 &
sleeper=$!
cleanup_cmds+=("kill $sleeper")
netns=/proc/$sleeper/ns/net
for _ in $(seq 50); do
  [[ $(readlink "$netns" 2>/dev/null) == "$(ip netns exec "$podns" readlink /proc/self/ns/net)" ]] && break
  sleep 0.1
done

# plugin OUT ERR VERB: the installed plugin in the chroot of R, in the node's
# namespace, with the CNI environment and the config on stdin, nothing else.
conf_json='{"cniVersion":"1.0.0","name":"portable","type":"meshcap","select":"all"}'
plugin() {
  local out=$1 err=$2 verb=$3
  rc=0
  # shellcheck disable=SC2016 # the inner shell's positional parameters
  ip netns exec "$nodens" unshare -m --propagation private sh -c \
    'mount -t proc proc "$0/proc" && exec "$@"' "$node" \
    env -i CNI_COMMAND="$verb" CNI_CONTAINERID=portable1 CNI_NETNS="$netns" CNI_IFNAME=eth0 \
    CNI_PATH=/opt/cni/bin "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=portable" \
    "$chroot_bin" "$node" /opt/cni/bin/meshcap <<<"$conf_json" >"$out" 2>"$err" || rc=$?
}
node_unchanged() {
  ip netns exec "$nodens" nft list ruleset >"$tmp/node-after"
  diff -u "$tmp/node-before" "$tmp/node-after" >&2 || fail "$1 changed the node's namespace"
}

plugin "$tmp/add.out" "$tmp/add.err" ADD
[[ $rc -eq 0 ]] || { show "$tmp/add.out" "$tmp/add.err"; fail "ADD exited $rc in a root holding only R"; }
"$python" -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d.get("cniVersion") != "1.0.0")' "$tmp/add.out" ||
  { show "$tmp/add.out"; fail "ADD printed no result in cniVersion 1.0.0"; }
ip netns exec "$podns" nft list ruleset >"$tmp/ruleset"
grep -q 'table ip meshcap' "$tmp/ruleset" || { show "$tmp/ruleset" "$tmp/add.err"; fail "ADD left no table ip meshcap in the pod's namespace"; }
grep -q 'table ip6 meshcap' "$tmp/ruleset" || fail "ADD left no table ip6 meshcap in the pod's namespace"
app_connection_captured "$podns" >"$tmp/traffic.out" 2>&1 || { show "$tmp/traffic.out"; fail "after ADD the app's connection is not captured"; }
node_unchanged ADD
ok "ADD in a chroot of R: rules in the pod's namespace, $(cat "$tmp/traffic.out")"

plugin "$tmp/check.out" "$tmp/check.err" CHECK
[[ $rc -eq 0 ]] || { show "$tmp/check.out" "$tmp/check.err"; fail "CHECK exited $rc"; }
node_unchanged CHECK
plugin "$tmp/del.out" "$tmp/del.err" DEL
[[ $rc -eq 0 ]] || { show "$tmp/del.out" "$tmp/del.err"; fail "DEL exited $rc"; }
ip netns exec "$podns" nft list ruleset >"$tmp/ruleset"
! grep -q meshcap "$tmp/ruleset" || { show "$tmp/ruleset"; fail "DEL left meshcap's tables"; }
plugin "$tmp/del.out" "$tmp/del.err" DEL
[[ $rc -eq 0 ]] || { show "$tmp/del.out" "$tmp/del.err"; fail "DEL again exited $rc"; }
node_unchanged DEL
ok "CHECK, DEL (the pod's namespace is clean), DEL again in a chroot of R; the node's namespace is unchanged"

# --- outside any chroot: only the copy's files ----------------------------------------
run_capture "$tmp/ld.out" "$tmp/ld.err" env LD_DEBUG=libs "$bindir/meshcap" --version
[[ $rc -eq 0 ]] || { show "$tmp/ld.out" "$tmp/ld.err"; fail "the installed plugin's --version exited $rc on the host"; }
grep -q 'calling init: ' "$tmp/ld.err" || { show "$tmp/ld.err"; fail "LD_DEBUG=libs printed no library initialisation"; }
# The loader prints real paths of what it tries and opens: all in the copy.
foreign=$(grep -o '/[^ :]*' "$tmp/ld.err" | grep -v "^$bindir_real/" | sort -u || true)
[[ -z $foreign ]] || { show "$tmp/ld.err"; fail "the installed plugin's loader looked outside its copy: $foreign"; }
ok "LD_DEBUG=libs: the loader tries and opens only files in $link ($(grep -c 'calling init: ' "$tmp/ld.err") initialised)"

conf2=$tmp/net2.d
mkdir -p "$conf2"
cp "$src_dir/tests/fixtures/cni/10-flannel.conflist" "$conf2/"
ip netns exec "$nodens" "$bindir/meshcap" cni install --watch --bin-dir "$tmp/bin2" --conf-dir "$conf2" \
  >"$tmp/watch.out" 2>"$tmp/watch.err" &
watcher=$!
cleanup_cmds+=("kill $watcher 2>/dev/null")
for _ in $(seq 100); do
  [[ -x $tmp/bin2/meshcap ]] && break
  sleep 0.1
done
[[ -x $tmp/bin2/meshcap ]] || { show "$tmp/watch.err"; fail "cni install --watch from the installed copy installed nothing"; }
# Real paths: the loader was given the resolved copy, not the link.
copy_real=$(realpath "$copy")
maps=$(awk '$6 ~ /^\// { print $6 }' "/proc/$watcher/maps" | sort -u)
[[ -n $maps ]] || fail "/proc/$watcher/maps lists no file"
foreign=$(grep -v "^$copy_real/" <<<"$maps" || true)
[[ -z $foreign ]] || fail "the installed plugin maps files outside its copy: $foreign"
ok "/proc/<pid>/maps of the installed plugin: only $(wc -l <<<"$maps") files of its copy"
(cd "$bindir" && find . -printf '%p %y %m %l\n' | sort) >"$tmp/b1"
(cd "$tmp/bin2" && find . -printf '%p %y %m %l\n' | sort) >"$tmp/b2"
diff -u "$tmp/b1" "$tmp/b2" >&2 || fail "installing from the installed copy gave other files"
diff -r "$bindir" "$tmp/bin2" >&2 || fail "installing from the installed copy gave other bytes"
kill -TERM "$watcher"
rc=0
wait "$watcher" || rc=$?
[[ $rc -eq 0 ]] || { show "$tmp/watch.err"; fail "cni install --watch exited $rc on SIGTERM"; }
[[ -z $(ls -A "$tmp/bin2") ]] || fail "uninstall on SIGTERM left $(ls -A "$tmp/bin2")"
cmp -s "$conf2/10-flannel.conflist" "$src_dir/tests/fixtures/cni/10-flannel.conflist" || fail "uninstall did not restore the config"
ok "installing from the installed copy gives the same files; uninstall removes them all"

# --- a broken bundle ----------------------------------------------------------------------
broken=$tmp/broken
cp -a "$bindir" "$broken"
rm "$broken/meshcap.d"
rc=0
env -i CNI_COMMAND=ADD "$broken/meshcap" <<<"$conf_json" >"$tmp/broken.out" 2>"$tmp/broken.err" || rc=$?
[[ $rc -ne 0 ]] || fail "a launcher without its copy exited 0"
if [[ $(wc -l <"$tmp/broken.err") -ne 1 ]] || ! grep -q 'meshcap.d' "$tmp/broken.err"; then
  show "$tmp/broken.err"
  fail "a launcher without its copy did not say what is missing in one line"
fi
"$python" - "$tmp/broken.out" <<'EOF' || { show "$tmp/broken.out"; fail "no CNI error object on stdout"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cniVersion"] == "1.0.0" and d["code"] == 102 and "meshcap.d" in d["details"], d
EOF
ok "a launcher without its copy: one line on stderr, exit $rc, the CNI error object (code 102) on stdout"

echo "$test_name: passed"
