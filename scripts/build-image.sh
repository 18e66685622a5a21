#!/usr/bin/env bash
# build-image.sh [TAG]
#
# Builds the init-container image from the Dockerfile (default tag
# meshcap:dev) from a clean export of the committed tree (git archive HEAD),
# so uncommitted edits never end up in an image.
#
# Uses `docker build` when a Docker daemon answers, else buildah (daemonless;
# `apt-get install buildah`). Where no registry is reachable but Debian's
# archive is, MESHCAP_DEBOOTSTRAP=1 first makes the base image debian:12 with
# debootstrap (`apt-get install debootstrap`) so the build needs no pull.
set -euo pipefail

prog=$(basename "$0")
die() {
  printf '%s: error: %s\n' "$prog" "$*" >&2
  exit 1
}
tag=${1:-meshcap:dev}
repo_root=$(cd "$(dirname "$0")/.." && pwd)

ctx=$(mktemp -d "${TMPDIR:-/tmp}/meshcap-image-ctx.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
git -C "$repo_root" archive HEAD | tar -x -C "$ctx"

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker build -t "$tag" "$ctx"
  docker image ls "$tag"
  exit 0
fi

command -v buildah >/dev/null || die "no Docker daemon and no buildah: install one (apt-get install buildah)"
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
pull=()
if [[ -n ${MESHCAP_DEBOOTSTRAP:-} ]]; then
  if ! buildah inspect --type image docker.io/library/debian:12 >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || die "MESHCAP_DEBOOTSTRAP needs debootstrap (apt-get install debootstrap)"
    base=$(mktemp -d "${TMPDIR:-/tmp}/meshcap-debian12.XXXXXX")
    trap 'rm -rf "$ctx" "$base"' EXIT
    debootstrap --variant=minbase bookworm "$base" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
    c=$(buildah from scratch)
    buildah copy -q "$c" "$base" / >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$c"
    buildah commit -q "$c" docker.io/library/debian:12 >/dev/null
    buildah rm "$c" >/dev/null
  fi
  pull=(--pull-never)
fi
buildah bud "${pull[@]}" --layers -t "$tag" "$ctx"
buildah images "$tag"
