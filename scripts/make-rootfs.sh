#!/usr/bin/env bash
# make-rootfs.sh DIR [BINARY]
#
# Builds the complete filesystem of meshcap's container image in DIR: the
# Dockerfile's final stage is `FROM scratch` + `COPY --from=build /rootfs/ /`
# of what this script made, and tests/image/ check the same script's output,
# so the image and the tests cannot drift apart.
#
# What goes in, and nothing else:
#   /meshcap                 a stripped copy of BINARY (default: build/meshcap),
#                            with the file capabilities cap_net_admin,cap_net_raw+p
#                            (see "Non-root" below)
#   /meshcap-launcher        a stripped copy of the static meshcap-launcher built
#                            next to BINARY: `meshcap cni install` run from the
#                            image puts it into the node's CNI bin dir, with
#                            /meshcap, its loader and its libraries beside it
#                            (src/cni/bundle.hpp), so the plugin runs on any node.
#                            Not for a static BINARY, which is installed alone.
#   <PT_INTERP>              the dynamic loader, at the path the binary asks for
#   every shared library the binary loads, at the path the loader resolves it to
#                            (found with ldd, cross-checked against the binary's
#                            DT_NEEDED entries read recursively with readelf)
#                            -- neither for the static binary the Dockerfile
#                            builds (cmake -DMESHCAP_STATIC=ON): the image is
#                            then /meshcap and the lock file, about 4.2 MiB
#   /run/xtables.lock        empty, mode 0666 (see "Non-root" below)
#   /proc /sys /dev          empty mount points (container runtimes mount them;
#                            the tests mount /proc there when they chroot in)
# No shell, no package manager, no /etc: meshcap takes numeric uids/gids, never
# resolves names, and never runs another program (docs/style.md).
#
# Non-root: Linkerd runs its init container as uid 65534 with only
# `capabilities: add [NET_ADMIN, NET_RAW]`. Kubernetes grants a non-root
# process no ambient capabilities, so the capabilities the runtime put in its
# permitted set are lost at execve unless the binary carries them as file
# capabilities (the security.capability extended attribute). With them, execve
# permits /meshcap NET_ADMIN and NET_RAW as far as the pod spec's bounding set
# allows, and a root init container is unaffected. The iptables backend takes
# /run/xtables.lock (flock needs only a read-only descriptor); shipping it
# world-readable and -writable lets uid 65534 open it on a read-only root.
# Setting file capabilities needs CAP_SETFCAP (root) and setcap (libcap2-bin).
#
# Prints the files and the total size. DIR must be absent or empty.
set -euo pipefail

prog=$(basename "$0")
die() {
  printf '%s: error: %s\n' "$prog" "$*" >&2
  exit 1
}

if [[ $# -lt 1 || $# -gt 2 || $1 == -h || $1 == --help ]]; then
  printf 'usage: %s DIR [BINARY]\n' "$prog" >&2
  exit 2
fi

repo_root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
bin=${2:-$repo_root/build/meshcap}

for tool in ldd readelf strip install; do
  command -v "$tool" >/dev/null || die "'$tool' is needed (binutils, libc-bin, coreutils)"
done
# setcap lives in /usr/sbin or /sbin, which a non-root PATH may lack.
setcap=$(PATH=$PATH:/usr/sbin:/sbin command -v setcap) ||
  die "'setcap' is needed to give /meshcap its file capabilities (apt-get install libcap2-bin)"
[[ -f $bin && -x $bin ]] || die "binary '$bin' does not exist or is not executable; build it first (cmake --build build --target meshcap)"
readelf -h "$bin" >/dev/null 2>&1 || die "'$bin' is not an ELF file"
# The loader the binary names in PT_INTERP (absent for a static binary).
interp=$(readelf -lW "$bin" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
launcher=$(dirname "$bin")/meshcap-launcher
if [[ -n $interp ]]; then
  [[ -f $launcher && -x $launcher ]] ||
    die "'$launcher' does not exist; build it next to the binary (cmake --build build --target meshcap-launcher)"
  readelf -lW "$launcher" | grep -q 'Requesting program interpreter' &&
    die "'$launcher' is not static: it must run on nodes that lack meshcap's libraries"
fi

if [[ -e $dir ]]; then
  [[ -d $dir ]] || die "'$dir' exists and is not a directory"
  [[ -z $(ls -A "$dir") ]] || die "'$dir' is not empty; the rootfs must hold exactly what this script puts there"
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# --- the binary -------------------------------------------------------------
strip --strip-all -o "$dir/meshcap" "$bin"
chmod 0755 "$dir/meshcap"
# After strip and chmod: rewriting the file would drop the attribute.
# Permitted only: no inheritable (the set never exceeds NET_ADMIN and NET_RAW,
# whatever the caller's inheritable set holds) and no effective bit, because
# for a file with the effective bit the kernel refuses execve when the bounding
# set lacks one of the two (`docker run` gives no NET_ADMIN; the --dry-run and
# unprivileged uses need none). /meshcap raises its effective set to the
# permitted one itself at start-up (src/sys/caps.hpp).
"$setcap" cap_net_admin,cap_net_raw+p "$dir/meshcap" ||
  die "setcap cap_net_admin,cap_net_raw+p $dir/meshcap failed (needs root or CAP_SETFCAP, and a filesystem with extended attributes)"

# The CNI plugin's launcher: no file capabilities (the runtime runs plugins as root).
if [[ -n $interp ]]; then
  strip --strip-all -o "$dir/meshcap-launcher" "$launcher"
  chmod 0755 "$dir/meshcap-launcher"
fi

# --- the loader and the libraries --------------------------------------------

# name -> path as the loader resolves them. ldd prints
#   libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)
#   /lib64/ld-linux-x86-64.so.2 (0x...)
#   linux-vdso.so.1 (0x...)            (in the kernel, no file)
declare -A lib_path=()
if [[ -n $interp ]]; then
  ldd_out=$(ldd "$bin" 2>&1) || die "ldd '$bin' failed: $ldd_out"
  if grep -q 'not found' <<<"$ldd_out"; then
    die "unresolved libraries:"$'\n'"$(grep 'not found' <<<"$ldd_out")"
  fi
  while read -r name arrow path _; do
    [[ $arrow == '=>' ]] || continue
    [[ $path == /* ]] || die "ldd gave no path for $name: $path"
    lib_path[$name]=$path
  done <<<"$ldd_out"
fi

# Cross-check: the DT_NEEDED closure must be exactly what ldd resolved, so a
# library that ldd printed for another reason (or one it missed) is caught.
needed_of() { readelf -dW "$1" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'; }
declare -A closure=()
queue=("$bin")
while [[ ${#queue[@]} -gt 0 ]]; do
  obj=${queue[0]}
  queue=("${queue[@]:1}")
  while read -r name; do
    [[ -n $name ]] || continue
    [[ -n ${closure[$name]+x} ]] && continue
    closure[$name]=1
    # The loader itself is listed as a DT_NEEDED of libc.
    if [[ -n $interp && $name == "$(basename "$interp")" ]]; then
      continue
    fi
    [[ -n ${lib_path[$name]+x} ]] || die "$obj needs $name but ldd did not resolve it"
    queue+=("${lib_path[$name]}")
  done < <(needed_of "$obj")
done
for name in "${!lib_path[@]}"; do
  [[ -n ${closure[$name]+x} ]] || die "ldd lists $name, which no DT_NEEDED entry asks for"
done

copy_in() { # copy_in SRC DEST_PATH MODE: regular file (symlinks followed)
  install -D -m "$3" "$1" "$dir$2"
}
if [[ -n $interp ]]; then
  copy_in "$interp" "$interp" 0755
fi
for name in "${!lib_path[@]}"; do
  path=${lib_path[$name]}
  [[ $path == "$interp" ]] && continue
  copy_in "$path" "$path" 0644
done

# --- the xtables lock and the mount points ----------------------------------------
mkdir -p "$dir/run"
: >"$dir/run/xtables.lock"
chmod 0666 "$dir/run/xtables.lock"
mkdir -p "$dir/proc" "$dir/sys" "$dir/dev"

# Reproducible timestamps when the build asks for them.
if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
  find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
fi

# --- report -------------------------------------------------------------------
total=0
files=0
while read -r size path; do
  printf '%10d  %s\n' "$size" "${path#"$dir"}"
  total=$((total + size))
  files=$((files + 1))
done < <(find "$dir" -type f -printf '%s %p\n' | sort -k2)
mib=$(awk -v b="$total" 'BEGIN { printf "%.2f", b / 1048576 }')
printf 'rootfs %s: %d files, %d bytes (%s MiB)\n' "$dir" "$files" "$total" "$mib"
