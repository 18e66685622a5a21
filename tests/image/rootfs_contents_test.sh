#!/usr/bin/env bash
# rootfs_contents_test.sh BINARY
#
# The image's filesystem, as scripts/make-rootfs.sh builds it (the Dockerfile's
# final stage is exactly this directory), is small and holds nothing but the
# binary (with the file capabilities cap_net_admin,cap_net_raw+p, for
# non-root init containers), its loader, the libraries it loads, the static
# CNI launcher (for a dynamic binary) and an empty /run/xtables.lock: no shell, no package manager, no setuid file, nothing
# writable by others but that lock. Needs root only because setting file
# capabilities needs CAP_SETFCAP.
set -euo pipefail
# shellcheck source=tests/image/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || fail "usage: $0 BINARY"
bin=$1
need_binary "$bin"
[[ $(id -u) -eq 0 ]] || skip "make-rootfs.sh sets file capabilities, which needs root (CAP_SETFCAP)"
getcap=$(PATH=$PATH:/usr/sbin:/sbin command -v getcap) || skip "needs getcap (libcap2-bin)"
max_bytes=$((10 * 1024 * 1024))

build_rootfs "$bin"
cat "$tmp/make-rootfs.out"

# --- size -------------------------------------------------------------------
total=$(find "$rootfs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
mib=$(awk -v b="$total" 'BEGIN { printf "%.2f", b / 1048576 }')
((total <= max_bytes)) || fail "rootfs is $total bytes ($mib MiB), over the 10 MiB budget"
ok "rootfs is $total bytes ($mib MiB) <= 10 MiB"
grep -q "$total bytes" "$tmp/make-rootfs.out" || fail "make-rootfs.sh did not print the total size ($total bytes)"

# --- nothing that is not needed -------------------------------------------------
interp=$(readelf -lW "$bin" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
[[ -n $interp ]] || note "binary is static (no PT_INTERP)"
[[ -f $rootfs/meshcap && -x $rootfs/meshcap ]] || fail "/meshcap is missing or not executable"

for forbidden in bin/sh bin/bash bin/dash bin/busybox usr/bin/sh sbin/sh \
  usr/bin/apt usr/bin/apt-get usr/bin/dpkg var/lib/dpkg etc/apt \
  usr/bin/env bin/ls; do
  [[ ! -e $rootfs/$forbidden && ! -L $rootfs/$forbidden ]] || fail "rootfs contains /$forbidden"
done
found=$(find "$rootfs" \( -name sh -o -name bash -o -name dash -o -name busybox \
  -o -name 'apt*' -o -name 'dpkg*' -o -name 'nft' -o -name 'iptables*' \) -printf '/%P\n')
[[ -z $found ]] || fail "rootfs contains a shell, package manager or firewall tool:"$'\n'"$found"
ok "no shell, apt, dpkg, nft or iptables"

# Every regular file is /meshcap, the launcher, the loader, the xtables lock, or a shared library under a lib dir.
if [[ -n $interp ]]; then
  [[ -f $rootfs/meshcap-launcher && -x $rootfs/meshcap-launcher ]] || fail "/meshcap-launcher is missing or not executable"
  ! readelf -lW "$rootfs/meshcap-launcher" | grep -q 'Requesting program interpreter' || fail "/meshcap-launcher is not static"
  [[ -z $(readelf -dW "$rootfs/meshcap-launcher" | grep '(NEEDED)' || true) ]] || fail "/meshcap-launcher needs shared libraries"
  strip --strip-all -o "$tmp/expected-launcher" "$(dirname "$bin")/meshcap-launcher"
  cmp -s "$tmp/expected-launcher" "$rootfs/meshcap-launcher" || fail "/meshcap-launcher is not the stripped meshcap-launcher next to $bin"
  ok "/meshcap-launcher: static, the stripped launcher built next to the binary ($(stat -c %s "$rootfs/meshcap-launcher") bytes)"
else
  [[ ! -e $rootfs/meshcap-launcher ]] || fail "a static binary needs no /meshcap-launcher"
fi
while read -r path; do
  case $path in
    /meshcap) ;;
    /meshcap-launcher) [[ -n $interp ]] || fail "/meshcap-launcher beside a static binary" ;;
    /run/xtables.lock) [[ ! -s $rootfs$path ]] || fail "/run/xtables.lock is not empty" ;;
    "$interp") ;;
    /lib/*/*.so* | /usr/lib/*/*.so* | /lib64/*.so* | /lib/*.so* | /usr/lib/*.so*) ;;
    *) fail "unexpected file in rootfs: $path" ;;
  esac
done < <(find "$rootfs" -type f -printf '/%P\n')
others=$(find "$rootfs" -mindepth 1 ! -type f ! -type d -printf '/%P (%y)\n')
[[ -z $others ]] || fail "rootfs holds something other than files and directories:"$'\n'"$others"
ok "only /meshcap${interp:+, /meshcap-launcher}, ${interp:-no loader}, shared libraries and /run/xtables.lock"

# The directories are only the library dirs and the mount points.
while read -r d; do
  case $d in
    /proc | /sys | /dev) [[ -z $(ls -A "$rootfs$d") ]] || fail "mount point $d is not empty" ;;
    /lib | /lib64 | /usr | /usr/lib | /lib/* | /usr/lib/*) ;;
    /run) ;;
    *) fail "unexpected directory in rootfs: $d" ;;
  esac
done < <(find "$rootfs" -mindepth 1 -type d -printf '/%P\n')

# --- each library is one the binary needs (DT_NEEDED closure, independent walk) --
declare -A want=()
walk() {
  local name path
  while read -r name; do
    [[ -n $name && -z ${want[$name]+x} ]] || continue
    want[$name]=1
    path=$(find "$rootfs" -name "$name" -type f -printf '%p\n' | head -n1)
    [[ -n $path ]] || fail "$1 needs $name, which is not in the rootfs"
    walk "$path"
  done < <(readelf -dW "$1" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p')
}
walk "$rootfs/meshcap"
while read -r lib; do
  [[ /$lib == "$interp" ]] && continue
  [[ -n ${want[$(basename "$lib")]+x} ]] || fail "/$lib is in the rootfs but nothing needs it"
done < <(find "$rootfs" -type f -name '*.so*' -printf '%P\n')
ok "libraries: ${!want[*]}"

# --- permissions -----------------------------------------------------------------
bad=$(find "$rootfs" \( -perm -4000 -o -perm -2000 -o -perm -0002 \) ! -path "$rootfs/run/xtables.lock" -printf '/%P\n')
[[ -z $bad ]] || fail "setuid, setgid or world-writable entries:"$'\n'"$bad"
# A non-root meshcap (uid 65534) opens the lock read-only for flock.
[[ $(stat -c '%a %u %g' "$rootfs/run/xtables.lock") == "666 0 0" ]] ||
  fail "/run/xtables.lock is $(stat -c '%a %u:%g' "$rootfs/run/xtables.lock"), want mode 0666 owned by 0:0"
ok "no setuid/setgid/world-writable entries but the empty /run/xtables.lock (0666)"

# File capabilities: exactly NET_ADMIN and NET_RAW, permitted only (no effective bit),
# nothing inheritable, on /meshcap only.
caps=$("$getcap" -r "$rootfs" 2>/dev/null | sed "s|^$rootfs||")
[[ $caps == "/meshcap cap_net_admin,cap_net_raw=p" ]] ||
  fail "file capabilities in the rootfs are '$caps', want only '/meshcap cap_net_admin,cap_net_raw=p'"
ok "file capabilities: $caps"

# --- the binary is a stripped copy of BINARY ---------------------------------------
if readelf -SW "$rootfs/meshcap" | grep -q '\.symtab'; then
  fail "/meshcap still has a .symtab: make-rootfs.sh must strip it"
fi
strip --strip-all -o "$tmp/expected-meshcap" "$bin"
cmp -s "$tmp/expected-meshcap" "$rootfs/meshcap" || fail "/meshcap is not 'strip --strip-all' of $bin"
ok "/meshcap is the stripped binary ($(stat -c %s "$rootfs/meshcap") bytes)"

# --- the script is deterministic and refuses to mix in stale content ------------------
build_rootfs "$bin" "$tmp/rootfs2"
(cd "$tmp/rootfs" && find . -printf '%y %m %p\n' | sort) >"$tmp/a.list"
(cd "$tmp/rootfs2" && find . -printf '%y %m %p\n' | sort) >"$tmp/b.list"
diff -u "$tmp/a.list" "$tmp/b.list" >&2 || fail "two runs of make-rootfs.sh gave different trees"
(cd "$tmp/rootfs" && find . -type f -exec sha256sum {} + | sort -k2) >"$tmp/a.sum"
(cd "$tmp/rootfs2" && find . -type f -exec sha256sum {} + | sort -k2) >"$tmp/b.sum"
diff -u "$tmp/a.sum" "$tmp/b.sum" >&2 || fail "two runs of make-rootfs.sh gave different files"
[[ $("$getcap" "$tmp/rootfs2/meshcap") == *"cap_net_admin,cap_net_raw=p" ]] || fail "the second run's /meshcap lacks the file capabilities"
ok "make-rootfs.sh is deterministic"

touch "$tmp/rootfs2/stale"
if "$make_rootfs" "$tmp/rootfs2" "$bin" >"$tmp/refuse.out" 2>&1; then
  fail "make-rootfs.sh accepted a non-empty directory"
fi
grep -q 'not empty' "$tmp/refuse.out" || { show "$tmp/refuse.out"; fail "make-rootfs.sh refused a non-empty dir without saying why"; }
ok "make-rootfs.sh refuses a non-empty directory"

echo "$test_name: passed"
