#!/usr/bin/env bash
# build-image.sh [TAG]
#
# Builds the init-container image from the Dockerfile (default tag
# meshcap:dev) from a clean export of the committed tree (git archive HEAD),
# so uncommitted edits never end up in an image.
#
# Uses `docker build` when a Docker daemon answers, else buildah (daemonless;
# `apt-get install buildah`). Where no registry is reachable but a Debian
# archive is (CI: scripts/test.sh), MESHCAP_DEBOOTSTRAP=1 makes the build
# stage's base itself: `debootstrap --variant=minbase bookworm` with the
# packages the build needs already included (`scripts/install-deps.sh --build
# --print`, so the Dockerfile's own install step finds nothing to do), committed
# as the local image localhost/meshcap-build-base:bookworm and handed to the
# Dockerfile as DEBIAN_IMAGE; nothing is pulled. A base already in local
# storage is reused (`buildah rmi` it to start over); a fresh machine makes it.
# The archive is the one this machine's own apt uses for bookworm (read with
# `apt-get indextargets`, so /etc/apt/sources.list and sources.list.d/ in
# either format count), or DEBIAN_MIRROR when set: no archive host is written
# here. Each step prints how long it took.
#
# Layers are not cached (a fresh CI machine has none to reuse, and committing
# every step costs time); set BUILDAH_LAYERS=true to cache them while iterating.
#
# Afterwards it checks that the image's /meshcap still carries its file
# capabilities (cap_net_admin,cap_net_raw+p, set by make-rootfs.sh): they
# travel as the security.capability extended attribute, a PAX header
# `SCHILY.xattr.security.capability` in the layer. buildah (since 1.22) and
# BuildKit keep it across `COPY --from`; a builder that drops it (old classic
# docker build, kaniko) would make an image that fails as a non-root init
# container, so the build fails instead.
set -euo pipefail

prog=$(basename "$0")
die() {
  printf '%s: error: %s\n' "$prog" "$*" >&2
  exit 1
}
tag=${1:-meshcap:dev}
repo_root=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/meshcap-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
ctx=$work/ctx
mkdir "$ctx"
git -C "$repo_root" archive HEAD | tar -x -C "$ctx"

# check_caps ARCHIVE: the docker-archive of the image has /meshcap with
# exactly cap_net_admin,cap_net_raw in permitted, nothing inheritable, no
# effective flag (make-rootfs.sh says why).
check_caps() {
  python3 - "$1" <<'EOF'
import io, json, struct, sys, tarfile
outer = tarfile.open(sys.argv[1])
layers = json.load(outer.extractfile("manifest.json"))[0]["Layers"]
found = None
for layer in layers:  # the last layer that has /meshcap wins, as in the image
    with tarfile.open(fileobj=io.BytesIO(outer.extractfile(layer).read())) as t:
        for m in t.getmembers():
            if m.name.lstrip("./") == "meshcap":
                found = m.pax_headers.get("SCHILY.xattr.security.capability")
if found is None:
    sys.exit("the image's /meshcap has no file capabilities: the builder dropped the "
             "security.capability attribute that make-rootfs.sh set")
raw = found.encode("utf-8", "surrogateescape")
magic, permitted, inheritable = struct.unpack_from("<III", raw)
want = (1 << 12) | (1 << 13)  # CAP_NET_ADMIN, CAP_NET_RAW
if magic & 1 or permitted != want or inheritable:
    sys.exit(f"the image's /meshcap has file capabilities {raw.hex()}, want cap_net_admin,cap_net_raw+p")
print("the image's /meshcap carries cap_net_admin,cap_net_raw+p")
EOF
}

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker build -t "$tag" "$ctx"
  docker save -o "$work/image.tar" "$tag"
  check_caps "$work/image.tar" || die "docker build lost /meshcap's file capabilities (use BuildKit or buildah)"
  docker image ls "$tag"
  exit 0
fi

command -v buildah >/dev/null || die "no Docker daemon and no buildah: install one (apt-get install buildah)"
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
step_start=$SECONDS
step_done() { # step_done WHAT: how long the step since the previous one took
  printf '%s: %s: %d s\n' "$prog" "$1" $((SECONDS - step_start))
  step_start=$SECONDS
}

bud_args=()
if [[ -n ${MESHCAP_DEBOOTSTRAP:-} ]]; then
  base_tag=localhost/meshcap-build-base:bookworm
  include=$("$ctx/scripts/install-deps.sh" --build --print | paste -sd, -)
  # shellcheck disable=SC2016 # a Go template, not the shell's
  base_has=$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "meshcap.build-packages"}}' \
    "$base_tag" 2>/dev/null || true)
  if [[ $base_has != "$include" ]]; then
    # Absent, or made for another package list: make it (anew).
    old_base=$(buildah inspect --type image --format '{{.FromImageID}}' "$base_tag" 2>/dev/null || true)
    command -v debootstrap >/dev/null || die "MESHCAP_DEBOOTSTRAP needs debootstrap (apt-get install debootstrap)"
    # shellcheck disable=SC2016 # $(...) are apt's format fields, not the shell's
    mirror=${DEBIAN_MIRROR:-$(apt-get indextargets --no-release-info \
      --format '$(REPO_URI) $(RELEASE) $(IDENTIFIER)' 2>/dev/null |
      awk '$2 == "bookworm" && $3 == "Packages" { print $1; exit }')}
    [[ -n $mirror ]] || die "no apt source for bookworm in this machine's apt configuration (/etc/apt/sources.list, sources.list.d/); set DEBIAN_MIRROR"
    # debootstrap straight into a working container's root: no copy of the tree.
    c=$(buildah from scratch)
    trap 'buildah rm "$c" >/dev/null 2>&1; rm -rf "$work"' EXIT
    root=$(buildah mount "$c")
    echo "$prog: debootstrap --variant=minbase --include=$include bookworm $mirror"
    debootstrap --variant=minbase --include="$include" bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    step_done debootstrap
    buildah umount "$c" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash \
      --label "meshcap.build-packages=$include" "$c"
    buildah commit -q --rm "$c" "$base_tag" >/dev/null
    trap 'rm -rf "$work"' EXIT
    [[ -z $old_base ]] || buildah rmi "$old_base" >/dev/null 2>&1 || true
    step_done "commit $base_tag"
  else
    echo "$prog: reusing the base $base_tag from local storage"
  fi
  bud_args=(--pull-never --build-arg "DEBIAN_IMAGE=$base_tag")
fi
previous=$(buildah inspect --type image --format '{{.FromImageID}}' "$tag" 2>/dev/null || true)
buildah bud "${bud_args[@]}" -t "$tag" "$ctx"
step_done "buildah bud"
# The image this tag named before is now nameless: remove it (unless in use).
if [[ -n $previous && $previous != "$(buildah inspect --type image --format '{{.FromImageID}}' "$tag")" ]]; then
  buildah rmi "$previous" >/dev/null 2>&1 || true
fi
buildah push -q "$tag" "docker-archive:$work/image.tar:$tag" >/dev/null
check_caps "$work/image.tar" || die "the image lost /meshcap's file capabilities"
buildah images "$tag"
