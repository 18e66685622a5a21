#!/usr/bin/env bash
# static_test.sh BINARY
#
# The static build (cmake -DMESHCAP_STATIC=ON) is self-contained, as the CNI
# plugin must be: the runtime execs it on the node itself, which has none of
# meshcap's libraries. Checks:
#   - the ELF file asks for no loader and no shared library, and holds no
#     NSS code (static glibc would dlopen the node's libnss_*.so, built for a
#     different glibc, for any user, group, host or service lookup). dlopen
#     itself is linked (libstdc++'s locale code reaches iconv, which can load
#     gconv modules for named charsets), but only a named locale gets there,
#     and meshcap never sets one;
#   - in a root filesystem holding ONLY /meshcap and /proc (mounted), in a
#     throwaway network namespace: --version, apply --dry-run, a real apply
#     (nft and iptables backends; `nft` and `iptables-legacy-save` outside
#     the chroot are the oracles), check, cleanup;
#   - `meshcap cni install` run from that root copies a plugin that itself
#     runs in a second root holding only that copy and /proc.
# Needs root (chroot, mounts, network namespaces).
set -euo pipefail
# shellcheck source=tests/image/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || fail "usage: $0 BINARY"
bin=$1
need_binary "$bin"

# --- the file ---------------------------------------------------------------------
readelf -lW "$bin" | grep -q 'Requesting program interpreter' && fail "$bin asks for a program interpreter: not static"
needed=$(readelf -dW "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[[ -z $needed ]] || fail "$bin needs shared libraries: $needed"
ok "no PT_INTERP, no DT_NEEDED"
# Name lookups through NSS are what static glibc cannot do safely.
symbols=$(readelf -sW "$bin" | awk '{ print $8 }')
[[ -n $symbols ]] || fail "$bin has no symbol table; give the unstripped binary"
bad=$(grep -Ex '(getpw(nam|uid|ent)|getgr(nam|gid|ent)|getgrouplist|initgroups|getspnam|getaddrinfo|getnameinfo|gethostby|getservby|getprotoby|getnetby|__nss_|_nss_)[A-Za-z0-9_@.]*' <<<"$symbols" |
  sort -u | tr '\n' ' ' || true)
[[ -z $bad ]] || fail "the static binary links NSS lookups (they would load the node's libnss_*.so): $bad"
ok "no NSS lookup in the binary"

need_root
command -v ip >/dev/null || skip "needs iproute2 (ip netns)"
command -v nft >/dev/null || skip "needs nft (the oracle for the kernel's ruleset)"
save=$(command -v iptables-legacy-save || true)

# empty_root DIR FILE: a root holding only FILE as /meshcap and an empty /proc.
empty_root() {
  mkdir -p "$1/proc"
  install -m 0755 "$2" "$1/meshcap"
}
# in_root DIR NS ARGS...: /meshcap ARGS in DIR with /proc mounted, inside NS
# (a new mount namespace, so the mount goes with the process).
in_root() {
  local dir=$1 ns=$2
  shift 2
  # shellcheck disable=SC2016 # $0 and $@ are the inner shell's
  ip netns exec "$ns" unshare -m --propagation private sh -c \
    'mount -t proc proc "$0/proc" && exec chroot "$0" /meshcap "$@"' "$dir" "$@"
}

root=$tmp/root
empty_root "$root" "$bin"
listing=$(cd "$root" && find . -mindepth 1 -printf '%p\n' | sort | tr '\n' ' ')
[[ $listing == "./meshcap ./proc " ]] || fail "the root holds more than /meshcap and /proc: $listing"

ns=meshcap-static-$$
pod_netns "$ns"

run_capture "$tmp/version.out" "$tmp/version.err" in_root "$root" "$ns" --version
[[ $rc -eq 0 ]] || { show "$tmp/version.out" "$tmp/version.err"; fail "--version exited $rc in an empty root"; }
ok "--version in an empty root: $(head -n1 "$tmp/version.out")"

run_capture "$tmp/plan.out" "$tmp/plan.err" in_root "$root" "$ns" apply --dry-run
if [[ $rc -ne 0 ]] || ! grep -q '^table ' "$tmp/plan.out"; then
  show "$tmp/plan.out" "$tmp/plan.err"
  fail "apply --dry-run failed in an empty root"
fi
ok "apply --dry-run in an empty root ($(wc -l <"$tmp/plan.out") lines)"

for backend in nft iptables; do
  run_capture "$tmp/apply.out" "$tmp/apply.err" in_root "$root" "$ns" apply --backend "$backend" --verify rules
  [[ $rc -eq 0 ]] || { show "$tmp/apply.out" "$tmp/apply.err"; fail "apply --backend $backend exited $rc in an empty root"; }
  # To files first: `grep -q` closing a pipe early would fail the pipeline (pipefail).
  ip netns exec "$ns" nft list ruleset >"$tmp/ruleset"
  [[ -z $save ]] || ip netns exec "$ns" "$save" -t nat >"$tmp/legacy"
  if [[ $backend == nft ]]; then
    grep -q 'table ip meshcap' "$tmp/ruleset" || fail "apply --backend nft left no table ip meshcap"
  elif [[ -n $save ]]; then
    grep -q 'MESHCAP' "$tmp/legacy" || fail "apply --backend iptables left no MESHCAP chain"
  fi
  app_connection_captured "$ns" >"$tmp/traffic.out" 2>&1 || { show "$tmp/traffic.out"; fail "$backend: not captured"; }
  run_capture "$tmp/check.out" "$tmp/check.err" in_root "$root" "$ns" check --backend "$backend"
  [[ $rc -eq 0 ]] || { show "$tmp/check.out" "$tmp/check.err"; fail "check --backend $backend exited $rc"; }
  run_capture "$tmp/clean.out" "$tmp/clean.err" in_root "$root" "$ns" cleanup
  [[ $rc -eq 0 ]] || { show "$tmp/clean.out" "$tmp/clean.err"; fail "cleanup exited $rc in an empty root"; }
  ip netns exec "$ns" nft list ruleset >"$tmp/ruleset"
  ! grep -q meshcap "$tmp/ruleset" || fail "cleanup left meshcap's nft state"
  if [[ -n $save ]]; then
    ip netns exec "$ns" "$save" -t nat >"$tmp/legacy"
    ! grep -q MESHCAP "$tmp/legacy" || fail "cleanup left meshcap's iptables chains"
  fi
  ok "$backend: apply, a captured connection ($(cat "$tmp/traffic.out")), check, cleanup in an empty root"
done

# --- cni install from the empty root; the copy runs in a root of its own ---------------------
mkdir -p "$root/opt/cni/bin" "$root/etc/cni/net.d"
cp "$src_dir/tests/fixtures/cni/10-flannel.conflist" "$root/etc/cni/net.d/"
run_capture "$tmp/install.out" "$tmp/install.err" in_root "$root" "$ns" cni install
[[ $rc -eq 0 ]] || { show "$tmp/install.out" "$tmp/install.err"; fail "cni install exited $rc in an empty root"; }
cmp -s "$bin" "$root/opt/cni/bin/meshcap" || fail "the installed plugin is not the binary"
node=$tmp/node
empty_root "$node" "$root/opt/cni/bin/meshcap"
run_capture "$tmp/apply.out" "$tmp/apply.err" in_root "$node" "$ns" apply
[[ $rc -eq 0 ]] || { show "$tmp/apply.out" "$tmp/apply.err"; fail "the installed copy's apply exited $rc in a root of its own"; }
run_capture "$tmp/clean.out" "$tmp/clean.err" in_root "$node" "$ns" cleanup
[[ $rc -eq 0 ]] || { show "$tmp/clean.out" "$tmp/clean.err"; fail "the installed copy's cleanup exited $rc"; }
ok "cni install in an empty root; the installed copy applies and cleans up in a root holding only itself"

echo "$test_name: passed"
