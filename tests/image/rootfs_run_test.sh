#!/usr/bin/env bash
# rootfs_run_test.sh BINARY [VERSION]
#
# The binary runs inside the rootfs that make-rootfs.sh builds, with nothing
# from the host: the rootfs's own loader resolves every library inside it,
# `meshcap --version` prints VERSION, and `meshcap apply --dry-run` prints an
# nft script (that `nft -c` accepts, when nft is installed) - both under a bare
# chroot and the way the pod runs it (read-only root, only NET_ADMIN and
# NET_RAW; dry-run even as nobody with no capability at all).
# Needs root (chroot, mounts, network namespaces).
set -euo pipefail
# shellcheck source=tests/image/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 && $# -le 2 ]] || fail "usage: $0 BINARY [VERSION]"
bin=$1
version=${2:-}
need_binary "$bin"
need_root
build_rootfs "$bin"

# --- the loader inside the rootfs finds exactly the libraries that are there ----
interp=$(readelf -lW "$rootfs/meshcap" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
if [[ -n $interp ]]; then
  run_capture "$tmp/list.out" "$tmp/list.err" chroot "$rootfs" "$interp" --list /meshcap
  [[ $rc -eq 0 ]] || { show "$tmp/list.out" "$tmp/list.err"; fail "the rootfs's loader cannot load /meshcap (exit $rc)"; }
  if grep -q 'not found' "$tmp/list.out"; then
    show "$tmp/list.out"
    fail "libraries not found inside the rootfs"
  fi
  # Paths the loader resolved, against the library files present.
  sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p' "$tmp/list.out" | sort -u >"$tmp/loaded"
  (cd "$rootfs" && find . -type f -name '*.so*' -printf '/%P\n') | grep -vxF "$interp" | sort -u >"$tmp/present"
  if ! diff -u "$tmp/present" "$tmp/loaded" >"$tmp/diff"; then
    show "$tmp/diff"
    fail "library files in the rootfs differ from what its loader loads (- present only, + loaded only)"
  fi
  ok "the rootfs's loader resolves all $(wc -l <"$tmp/loaded") libraries inside it and no file is unused"
fi

# --- meshcap --version, bare chroot (exactly what `docker run IMAGE --version` does) --
run_capture "$tmp/v.out" "$tmp/v.err" chroot "$rootfs" /meshcap --version
[[ $rc -eq 0 ]] || { show "$tmp/v.out" "$tmp/v.err"; fail "chroot ROOTFS /meshcap --version exited $rc"; }
if [[ -n $version ]]; then
  grep -qF "$version" "$tmp/v.out" || { show "$tmp/v.out"; fail "--version does not print the project version $version"; }
fi
ok "chroot ROOTFS /meshcap --version: $(head -n1 "$tmp/v.out")"

# --- meshcap apply --dry-run -------------------------------------------------------
looks_like_nft() { # looks_like_nft FILE
  grep -Eq '^[[:space:]]*table[[:space:]]+(inet|ip|ip6)[[:space:]]+[A-Za-z0-9_-]+' "$1" &&
    grep -Eq '^[[:space:]]*chain[[:space:]]+' "$1" &&
    grep -Eq 'redirect|tproxy' "$1"
}
check_dry_run() { # check_dry_run LABEL CMD...
  local label=$1
  shift
  run_capture "$tmp/d.out" "$tmp/d.err" "$@"
  [[ $rc -eq 0 ]] || { show "$tmp/d.out" "$tmp/d.err"; fail "$label: apply --dry-run exited $rc"; }
  looks_like_nft "$tmp/d.out" || { show "$tmp/d.out" "$tmp/d.err"; fail "$label: apply --dry-run printed no nft script (table, chain, redirect)"; }
  ok "$label: apply --dry-run printed an nft script ($(wc -l <"$tmp/d.out") lines)"
}
check_dry_run "bare chroot" unshare -n chroot "$rootfs" /meshcap apply --dry-run
cp "$tmp/d.out" "$tmp/dry-run.nft"
check_dry_run "as in the pod (read-only root, NET_ADMIN+NET_RAW)" \
  unshare -n "$python" "$image_dir/contain.py" "$rootfs" -- /meshcap apply --dry-run
cmp -s "$tmp/d.out" "$tmp/dry-run.nft" || fail "dry-run output differs between the bare chroot and the contained run"
check_dry_run "as nobody, no capabilities" \
  unshare -n "$python" "$image_dir/contain.py" --user 65534:65534 --caps none "$rootfs" -- /meshcap apply --dry-run

# An independent oracle: the kernel's nftables parser accepts the script (-c: check only),
# in a throwaway network namespace.
if command -v nft >/dev/null; then
  if ! unshare -n nft -c -f "$tmp/dry-run.nft" >"$tmp/nft.out" 2>&1; then
    show "$tmp/dry-run.nft" "$tmp/nft.out"
    fail "nft -c -f rejects the dry-run script"
  fi
  ok "nft -c -f accepts the dry-run script"
else
  note "nft not installed: dry-run script checked by shape only"
fi

echo "$test_name: passed"
