#!/usr/bin/env bash
# hardening_test.sh BINARY
#
# scripts/check-hardening.sh passes on the built binary and on the stripped
# copy that make-rootfs.sh puts in the image (PIE, full RELRO, NX, stack
# protector, FORTIFY, no RPATH); so does the static CNI launcher beside them.
set -euo pipefail
# shellcheck source=tests/image/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || fail "usage: $0 BINARY"
bin=$1
need_binary "$bin"
"$src_dir/scripts/check-hardening.sh" "$bin" || fail "$bin is not hardened (see above)"
build_rootfs "$bin"
"$src_dir/scripts/check-hardening.sh" "$rootfs/meshcap" || fail "the image's /meshcap is not hardened (see above)"
launcher=$(dirname "$bin")/meshcap-launcher
"$src_dir/scripts/check-hardening.sh" "$launcher" || fail "$launcher is not hardened (see above)"
if readelf -lW "$bin" | grep -q 'Requesting program interpreter'; then
  "$src_dir/scripts/check-hardening.sh" "$rootfs/meshcap-launcher" || fail "the image's /meshcap-launcher is not hardened (see above)"
fi
echo "$test_name: passed"
