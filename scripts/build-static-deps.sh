#!/usr/bin/env bash
# build-static-deps.sh PREFIX [libmnl] [libiptc]
#
# Makes PREFIX/lib/libmnl.a and/or libip4tc.a + libip6tc.a (+ headers in
# PREFIX/include), both when no library is named: for the fully static build
# (cmake -DMESHCAP_STATIC=ON -DMESHCAP_STATIC_PREFIX=PREFIX), libiptc alone
# for the shipped dynamic build with libiptc linked in (-DMESHCAP_STATIC_IPTC=ON).
# Debian ships libnftnl.a but no static libmnl or libiptc, so they are built
# here from Debian's own source packages of the versions installed on this
# machine (libmnl-dev, libip4tc-dev): the same code, the same patches,
# nothing vendored into the repository.
#
# Sources come from `apt-get source` through a private apt configuration
# under PREFIX/.apt with one deb-src line for every archive this machine's apt
# already uses (read with `apt-get indextargets`, so sources.list and
# sources.list.d/ in either format count): no archive host is written here,
# and the system's apt state is not touched. An archive that serves
# iptables' sources but not libmnl's: set LIBMNL_SOURCE to a libmnl source
# tree of the installed upstream version. Needs dpkg-dev (dpkg-source, which
# brings xz-utils and bzip2), gcc, make; about 45 s on one core.
#
# Idempotent: a library PREFIX already holds in the installed version is
# left as it is.
set -euo pipefail

prog=$(basename "$0")
die() {
  printf '%s: error: %s\n' "$prog" "$*" >&2
  exit 1
}
[[ $# -ge 1 && $1 != -h && $1 != --help ]] || {
  printf 'usage: %s PREFIX [libmnl] [libiptc]\n' "$prog" >&2
  exit 2
}
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
shift
libs=("$@")
((${#libs[@]})) || libs=(libmnl libiptc)
for lib in "${libs[@]}"; do
  [[ $lib == libmnl || $lib == libiptc ]] || die "unknown library '$lib' (libmnl, libiptc)"
done
for tool in apt-get dpkg-source dpkg-query make cc; do
  command -v "$tool" >/dev/null || die "'$tool' is needed (apt-get install dpkg-dev build-essential)"
done

version_of() { dpkg-query -W -f '${source:Version}' "$1" 2>/dev/null; }
# What each library is built from, and the files that show it was.
declare -A stamp archives
wanted=()
for lib in "${libs[@]}"; do
  case $lib in
    libmnl)
      v=$(version_of libmnl-dev) || die "libmnl-dev is not installed"
      stamp[libmnl]="libmnl=$v"
      archives[libmnl]="libmnl.a"
      ;;
    libiptc)
      v=$(version_of libip4tc-dev) || die "libip4tc-dev is not installed"
      stamp[libiptc]="iptables=$v"
      archives[libiptc]="libip4tc.a libip6tc.a"
      ;;
  esac
  built=1
  [[ -f $prefix/.stamp-$lib && $(cat "$prefix/.stamp-$lib") == "${stamp[$lib]}" ]] || built=0
  for a in ${archives[$lib]}; do [[ -f $prefix/lib/$a ]] || built=0; done
  ((built)) || wanted+=("$lib")
done
if ((${#wanted[@]} == 0)); then
  printf '%s: %s already holds %s\n' "$prog" "$prefix" "${libs[*]}"
  exit 0
fi
needs() { [[ " ${wanted[*]} " == *" $1 "* ]]; }

work=$prefix/.src
rm -rf "$work"
mkdir -p "$work"

# --- the sources ---------------------------------------------------------------
# A private apt configuration under PREFIX/.apt: one deb-src line for every
# `deb` archive this machine uses, its own lists; the system's apt state (and
# whether it has deb-src lines or lists at all) does not matter.
apt_dir=$prefix/.apt
rm -rf "$apt_dir"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources.list.d"
# shellcheck disable=SC2016 # $(...) are apt's format fields, not the shell's
apt-get indextargets --no-release-info --format '$(TARGET_OF) $(REPO_URI) $(RELEASE) $(COMPONENT)' |
  awk '$1 == "deb" || $1 == "deb-src" { print "deb-src", $2, $3, $4 }' | sort -u >"$apt_dir/sources.list"
[[ -s $apt_dir/sources.list ]] || die "this machine's apt configuration names no archive to take sources from (apt-get update first?)"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1
  -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" -qq update || die "apt-get update of the deb-src lines in $apt_dir/sources.list failed"
if needs libiptc; then
  (cd "$work" && apt-get "${apt_opts[@]}" -qq source "${stamp[libiptc]}") ||
    die "apt-get source ${stamp[libiptc]} failed"
fi
# An archive proxy may serve one source package and not another: a libmnl
# source tree of the same upstream version can be named instead.
if needs libmnl && [[ -n ${LIBMNL_SOURCE:-} ]]; then
  [[ -f $LIBMNL_SOURCE/src/nlmsg.c ]] || die "LIBMNL_SOURCE=$LIBMNL_SOURCE is not a libmnl source tree"
  cp -r "$LIBMNL_SOURCE" "$work/libmnl-given"
elif needs libmnl; then
  (cd "$work" && apt-get "${apt_opts[@]}" -qq source "${stamp[libmnl]}") ||
    die "apt-get source ${stamp[libmnl]} failed; if the archive does not serve it, set LIBMNL_SOURCE to a libmnl $(v=${stamp[libmnl]#libmnl=} && echo "${v%-*}") source tree"
fi

# --- build ------------------------------------------------------------------------
jobs=${MESHCAP_JOBS:-2}
# Static, position independent (the binary is static-pie), hardened like the rest.
cflags=(-O2 -fPIE -fstack-protector-strong -D_FORTIFY_SOURCE=2)
export CFLAGS="${cflags[*]}"

mkdir -p "$prefix/lib" "$prefix/include"
if needs libmnl; then
  src=$(find "$work" -maxdepth 1 -type d -name 'libmnl-*' | head -n1)
  [[ -n $src ]] || die "no libmnl source in $work"
  # libmnl is four C files with no configuration: compiled directly, so a tree
  # without a generated configure script (a git checkout) builds the same.
  # Its config.h only says whether the compiler knows symbol visibility.
  (cd "$src" && mkdir -p obj && echo "#define HAVE_VISIBILITY_HIDDEN 1" >obj/config.h && for c in src/*.c; do
    cc "${cflags[@]}" -I obj -I include -c "$c" -o "obj/$(basename "$c" .c).o" || exit 1
  done && ar rcs "$prefix/lib/libmnl.a" obj/*.o &&
    install -d "$prefix/include/libmnl" && install -m 0644 include/libmnl/libmnl.h "$prefix/include/libmnl/") \
    >"$work/libmnl.log" 2>&1 || die "building libmnl failed: see $work/libmnl.log"
fi

if needs libiptc; then
  src=$(find "$work" -maxdepth 1 -type d -name 'iptables-*' | head -n1)
  [[ -n $src ]] || die "no iptables source in $work"
  # Only libiptc (the legacy table library): no nft backend, no extensions.
  (cd "$src" && ./configure -q --prefix="$prefix" --enable-static --disable-shared \
    --disable-nftables --disable-bpf-compiler --disable-nfsynproxy --disable-libipq \
    --without-kernel &&
    make -s -j"$jobs" -C libiptc && make -s -C libiptc install &&
    install -d "$prefix/include/libiptc" && install -m 0644 include/libiptc/*.h "$prefix/include/libiptc/" &&
    install -m 0644 include/xtables-version.h "$prefix/include/" 2>/dev/null || true) >"$work/iptables.log" 2>&1 ||
    die "building libiptc failed: see $work/iptables.log"
fi

for lib in "${wanted[@]}"; do
  for a in ${archives[$lib]}; do
    [[ -f $prefix/lib/$a ]] || die "$prefix/lib/$a was not built: see $work/*.log"
  done
done
rm -rf "$work" "$prefix/.apt"
for lib in "${wanted[@]}"; do printf '%s\n' "${stamp[$lib]}" >"$prefix/.stamp-$lib"; done
from=()
for lib in "${libs[@]}"; do from+=("${stamp[$lib]}"); done
printf '%s: %s holds %s (%s)\n' "$prog" "$prefix" "${libs[*]}" "${from[*]}"
