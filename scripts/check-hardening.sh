#!/usr/bin/env bash
# check-hardening.sh BINARY
#
# checksec-style proof that a meshcap binary carries the hardening that
# MESHCAP_HARDEN=ON asks for (-D_FORTIFY_SOURCE=2 -fstack-protector-strong
# -fPIE -pie -Wl,-z,relro,-z,now), read from the ELF file with readelf only,
# so it works on the stripped copy in the image too (strip keeps .dynsym).
#
#   PIE           ELF type DYN with FLAGS_1 PIE
#   RELRO         a GNU_RELRO segment
#   BIND_NOW      DT_FLAGS BIND_NOW or DT_FLAGS_1 NOW (with RELRO: full RELRO)
#   NX            GNU_STACK not executable
#   stack guard   imports __stack_chk_fail
#   FORTIFY       imports at least one __*_chk function
#   no RPATH      neither DT_RPATH nor DT_RUNPATH (a privileged binary must not
#                 load libraries from a path an image layer could shadow)
#
# Prints one line per check; exits 1 when any fails.
set -euo pipefail

prog=$(basename "$0")
if [[ $# -ne 1 ]]; then
  printf 'usage: %s BINARY\n' "$prog" >&2
  exit 2
fi
bin=$1
command -v readelf >/dev/null || { echo "$prog: readelf (binutils) is needed" >&2; exit 1; }
[[ -f $bin ]] || { echo "$prog: '$bin' does not exist" >&2; exit 1; }

header=$(readelf -hW "$bin")
segments=$(readelf -lW "$bin")
dynamic=$(readelf -dW "$bin")
dynsyms=$(readelf --dyn-syms -W "$bin")

failed=0
check() { # check NAME DETAIL CONDITION...
  local name=$1 detail=$2
  shift 2
  if "$@"; then
    printf 'ok    %-12s %s\n' "$name" "$detail"
  else
    printf 'FAIL  %-12s %s\n' "$name" "$detail"
    failed=1
  fi
}
has() { grep -Eq -- "$1" <<<"$2"; }

is_pie() { has 'Type:[[:space:]]+DYN' "$header" && has 'FLAGS_1.*PIE' "$dynamic"; }
is_now() { has '\(FLAGS\)[[:space:]]+.*BIND_NOW' "$dynamic" || has 'FLAGS_1.*[[:space:]]NOW' "$dynamic"; }
is_nx() { has 'GNU_STACK' "$segments" && ! has 'GNU_STACK.*RWE' "$segments"; }
no_rpath() { ! has '\((RPATH|RUNPATH)\)' "$dynamic"; }

check PIE "ELF type DYN, FLAGS_1 PIE" is_pie
check RELRO "GNU_RELRO segment" has 'GNU_RELRO' "$segments"
check BIND_NOW "DT_FLAGS BIND_NOW or DT_FLAGS_1 NOW" is_now
check NX "GNU_STACK is RW, not RWE" is_nx
if has '\(NEEDED\)' "$dynamic"; then
  check stack-guard "imports __stack_chk_fail" has '[[:space:]]__stack_chk_fail' "$dynsyms"
  chk=$(grep -Eo '__[a-z0-9_]+_chk' <<<"$dynsyms" | grep -v '^__stack_chk' | sort -u | tr '\n' ' ' || true)
  chk=${chk% }
  check FORTIFY "imports __*_chk: ${chk:-none}" test -n "$chk"
else
  # Static (MESHCAP_STATIC): nothing is imported; the checking functions are
  # linked in. Their symbols when the file has a symbol table, else the
  # messages only they print (a stripped copy keeps .rodata).
  symtab=$(readelf -sW "$bin")
  if has '[[:space:]]__stack_chk_fail$' "$symtab"; then
    check stack-guard "static: links __stack_chk_fail" true
    chk=$(grep -Eo '__[a-z0-9_]+_chk$' <<<"$symtab" | grep -v '^__stack_chk' | sort -u | tr '\n' ' ' || true)
    chk=${chk% }
    check FORTIFY "static: links __*_chk: ${chk:-none}" test -n "$chk"
  else
    check stack-guard "static, stripped: holds 'stack smashing detected'" grep -aq 'stack smashing detected' "$bin"
    check FORTIFY "static, stripped: holds 'buffer overflow detected'" grep -aq 'buffer overflow detected' "$bin"
  fi
fi
check no-RPATH "no DT_RPATH/DT_RUNPATH" no_rpath

if [[ $failed -ne 0 ]]; then
  echo "$prog: '$bin' is missing hardening; build with -DMESHCAP_HARDEN=ON -DMESHCAP_SANITIZE=OFF and an optimised build type (FORTIFY needs -O1 or more)" >&2
  exit 1
fi
echo "$prog: '$bin' is hardened"
