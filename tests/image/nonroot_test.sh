#!/usr/bin/env bash
# nonroot_test.sh BINARY nft|iptables
#
# The image works as a non-root init container, the way Linkerd runs its own:
# `runAsUser: 65534`, `capabilities: {drop: [ALL], add: [NET_ADMIN, NET_RAW]}`,
# a read-only root and no privilege escalation. Kubernetes hands a non-root
# process no ambient capabilities, so after execve /meshcap holds NET_ADMIN
# and NET_RAW only because make-rootfs.sh gave the file those capabilities.
#
# contain.py runs the rootfs's /meshcap as uid/gid 65534 with no
# supplementary groups, bounding set NET_ADMIN+NET_RAW, empty inheritable and
# ambient sets, no_new_privs and a read-only root (runc's order). (setpriv
# cannot do this here: it would have to run after chroot, and the rootfs has
# no setpriv.) In a throwaway namespace shaped like a pod's, with the given
# backend: apply exits 0, the independent oracle (`nft list table` or
# `iptables-legacy-save`) holds meshcap's rules, an app connection lands on
# 15001 with its original destination, check exits 0, cleanup removes it all.
# Control: the same rootfs with the file capabilities removed must fail and
# touch nothing, which proves the capabilities came from the file and not
# from the caller. Needs root.
set -euo pipefail
# shellcheck source=tests/image/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 2 && ($2 == nft || $2 == iptables) ]] || fail "usage: $0 BINARY nft|iptables"
bin=$1
backend=$2
test_name+=".$backend"
need_binary "$bin"
need_root
command -v ip >/dev/null || skip "needs iproute2 (ip netns)"
getcap=$(PATH=$PATH:/usr/sbin:/sbin command -v getcap) || skip "needs getcap (libcap2-bin)"
if [[ $backend == nft ]]; then
  command -v nft >/dev/null || skip "needs nft (the independent oracle for the kernel's ruleset)"
else
  command -v iptables-legacy-save >/dev/null || skip "needs iptables-legacy-save (the independent oracle)"
fi
build_rootfs "$bin"

# --- the image carries the file capabilities and a lock anyone can open -----------
caps=$("$getcap" "$rootfs/meshcap")
[[ $caps == *"cap_net_admin,cap_net_raw=p" ]] || fail "/meshcap has file capabilities '$caps', want cap_net_admin,cap_net_raw=p"
[[ $(stat -c %a "$rootfs/run/xtables.lock") == 666 ]] || fail "/run/xtables.lock is not mode 0666"
ok "/meshcap carries cap_net_admin,cap_net_raw=p; /run/xtables.lock is 0666"

granted=net_admin,net_raw
as_nobody() { # as_nobody NS ROOTFS ARGS...: /meshcap ARGS as uid 65534 in NS, with $granted
  local ns=$1 root=$2
  shift 2
  ip netns exec "$ns" "$python" "$image_dir/contain.py" --user 65534:65534 --caps "$granted" \
    -e MESHCAP_BACKEND="$backend" "$root" -- /meshcap "$@"
}

# oracle NS: meshcap's state as the standard tools see it.
oracle() {
  if [[ $backend == nft ]]; then
    ip netns exec "$1" nft list ruleset
  else
    ip netns exec "$1" iptables-legacy-save | sed '/^#/d'
    ip netns exec "$1" ip6tables-legacy-save | sed '/^#/d'
  fi
}

ns=meshcap-nonroot-$$
pod_netns "$ns"
oracle "$ns" >"$tmp/before"

# --- control: without file capabilities uid 65534 can do nothing --------------------
cp -a "$rootfs" "$tmp/nocaps"
"$(PATH=$PATH:/usr/sbin:/sbin command -v setcap)" -r "$tmp/nocaps/meshcap"
run_capture "$tmp/nocaps.out" "$tmp/nocaps.err" as_nobody "$ns" "$tmp/nocaps" apply
[[ $rc -ne 0 ]] || { show "$tmp/nocaps.err"; fail "apply as uid 65534 without file capabilities exited 0: the caller leaked capabilities, the test proves nothing"; }
oracle "$ns" >"$tmp/after-nocaps"
diff -u "$tmp/before" "$tmp/after-nocaps" >&2 || fail "a failed apply without capabilities changed the namespace"
ok "control: without file capabilities apply exits $rc and touches nothing: $(tail -n1 "$tmp/nocaps.err")"

# --- apply, oracle, traffic, check, cleanup ------------------------------------------
run_capture "$tmp/apply.out" "$tmp/apply.err" as_nobody "$ns" "$rootfs" apply
[[ $rc -eq 0 ]] || { show "$tmp/apply.out" "$tmp/apply.err"; fail "apply --backend $backend as uid 65534 exited $rc"; }
ok "apply --backend $backend as uid 65534 (NET_ADMIN+NET_RAW from the file, no ambient): $(tail -n1 "$tmp/apply.err")"

oracle "$ns" >"$tmp/ruleset"
if [[ $backend == nft ]]; then
  grep -q '^table ip meshcap' "$tmp/ruleset" || { show "$tmp/ruleset"; fail "nft holds no table ip meshcap"; }
else
  grep -q '^-A OUTPUT -m comment --comment meshcap -j MESHCAP_OUTPUT' "$tmp/ruleset" || { show "$tmp/ruleset"; fail "iptables-legacy-save shows no jump to MESHCAP_OUTPUT"; }
fi
ok "the oracle holds meshcap's rules"

if ! app_connection_captured "$ns" >"$tmp/traffic.out" 2>&1; then
  show "$tmp/traffic.out"
  fail "an app connection was not captured to the outbound port"
fi
ok "app connection $(cat "$tmp/traffic.out")"

run_capture "$tmp/check.out" "$tmp/check.err" as_nobody "$ns" "$rootfs" check
[[ $rc -eq 0 ]] || { show "$tmp/check.out" "$tmp/check.err"; fail "check as uid 65534 exited $rc right after apply"; }
ok "check as uid 65534 exits 0"

run_capture "$tmp/clean.out" "$tmp/clean.err" as_nobody "$ns" "$rootfs" cleanup
[[ $rc -eq 0 ]] || { show "$tmp/clean.out" "$tmp/clean.err"; fail "cleanup as uid 65534 exited $rc"; }
oracle "$ns" >"$tmp/after"
if grep -qi meshcap "$tmp/after"; then
  show "$tmp/after"
  fail "meshcap's rules are still there after cleanup as uid 65534"
fi
ok "cleanup as uid 65534 removed meshcap's rules"

# --- nft needs only NET_ADMIN: a pod that grants just that still works --------------
# (The file capabilities are permitted-only, so a bounding set without NET_RAW
# does not make execve fail; see scripts/make-rootfs.sh.)
if [[ $backend == nft ]]; then
  granted=net_admin
  run_capture "$tmp/admin.out" "$tmp/admin.err" as_nobody "$ns" "$rootfs" apply
  [[ $rc -eq 0 ]] || { show "$tmp/admin.out" "$tmp/admin.err"; fail "apply as uid 65534 with only NET_ADMIN exited $rc"; }
  run_capture "$tmp/admin.out" "$tmp/admin.err" as_nobody "$ns" "$rootfs" cleanup
  [[ $rc -eq 0 ]] || { show "$tmp/admin.out" "$tmp/admin.err"; fail "cleanup as uid 65534 with only NET_ADMIN exited $rc"; }
  ok "with only NET_ADMIN granted, apply and cleanup as uid 65534 exit 0"
fi

echo "$test_name: passed"
