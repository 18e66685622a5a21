#!/usr/bin/env bash
# Installs every build, test and demo dependency from Debian's archive.
# Idempotent: does nothing (not even apt-get update) when all are present.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config g++
  libnftnl-dev libmnl-dev libiptc-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libexpected-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang-14 libclang-rt-14-dev
  # kernel oracles used by the tests and the demo (never by meshcap itself)
  nftables iptables iproute2 conntrack strace procps util-linux
  python3 python3-yaml shellcheck
  # the image's file capabilities (scripts/make-rootfs.sh runs setcap)
  libcap2-bin
  # CNI mode against real runtimes: the libcni test driver, the standard
  # plugins it chains meshcap after, and podman with its CNI backend
  golang-go golang-github-appc-cni-dev containernetworking-plugins podman
)

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
