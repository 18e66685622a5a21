#!/usr/bin/env bash
# install-deps.sh [--build] [--print]
#
# Installs the dependencies from Debian's archive (apt-get, as root or with
# sudo). Idempotent: only what is missing is installed, and with nothing
# missing it does nothing at all (not even apt-get update).
#
#   (no flag)  everything: build, tests, benchmarks, fuzzing, demo, and the
#              image stage of scripts/test.sh (debootstrap, buildah, podman)
#   --build    only what building meshcap and laying out the image's root
#              need (the Dockerfile's build stage: no test framework). The
#              base that scripts/build-image.sh makes with debootstrap already
#              holds these, so in the image build this is a no-op.
#   --print    print the selected package names, one a line; install nothing
set -euo pipefail

build_only=
print=
for arg in "$@"; do
  case $arg in
  --build) build_only=1 ;;
  --print) print=1 ;;
  *)
    echo "usage: $0 [--build] [--print]" >&2
    exit 2
    ;;
  esac
done

build=(
  g++ make cmake pkg-config
  libnftnl-dev libmnl-dev libiptc-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libexpected-dev
  # the image's file capabilities (scripts/make-rootfs.sh runs setcap)
  libcap2-bin
  # the image links libiptc in, built from Debian's iptables source package
  # (scripts/build-static-deps.sh: apt-get source, dpkg-source)
  dpkg-dev
)
rest=(
  build-essential
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # kernel oracles used by the tests and the demo (never by meshcap itself)
  nftables iptables iproute2 conntrack strace procps util-linux
  python3 python3-yaml shellcheck
  # CNI mode against real runtimes: the libcni test driver, the standard
  # plugins it chains meshcap after, and podman with its CNI backend
  golang-go golang-github-appc-cni-dev containernetworking-plugins podman
  # the image stage (scripts/build-image.sh with MESHCAP_DEBOOTSTRAP=1, then
  # tests/image/podman_run_test.sh): a Debian base without a registry, the
  # Dockerfile built daemonless, the image run as Kubernetes runs it
  debootstrap buildah
)

packages=("${build[@]}")
[[ -n $build_only ]] || packages+=("${rest[@]}")
if [[ -n $print ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
