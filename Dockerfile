# meshcap as a Kubernetes init-container image.
#
#   docker build -t REGISTRY/meshcap:0.1.0 .
#
# Stage `build` (Debian 12) compiles the hardened Release binary (and every
# other default target, so make-rootfs.sh finds what belongs next to it), with
# libiptc linked in (MESHCAP_STATIC_IPTC: built from Debian's iptables source
# package, fetched with apt-get source, so the stage needs the archive), checks
# its hardening and lays out the image's whole filesystem in /rootfs with
# scripts/make-rootfs.sh - the same script tests/image/ runs, so what the tests
# check is what ships. The final stage is that directory on `scratch` and
# nothing else: the stripped /meshcap, the loader and the shared libraries it
# loads (found with ldd and cross-checked against DT_NEEDED), /run/xtables.lock
# and empty mount points. No shell, no package manager.
#
# The tests are not built here (-DMESHCAP_TESTS=OFF, so the build stays a few
# minutes on two cores): scripts/test.sh runs all of them on the same sources
# outside the image. The build stage only checks what is cheap: the hardening,
# and that the binary it ships starts and prints a plan. CI then builds this
# file for real (`MESHCAP_DEBOOTSTRAP=1 scripts/build-image.sh`: buildah on a
# Debian 12 base made by debootstrap, no registry) and runs the image with
# podman as Kubernetes runs an init container - with meshcap's own arguments,
# with Istio's injected `istio-iptables ...` list and as Linkerd's uid 65534
# with only its arguments - proving each with real connections
# (tests/image/podman_run_test.sh).
#
# It runs as root (uid 0) by default because programming netfilter needs
# CAP_NET_ADMIN in the pod's network namespace, but with every other
# capability dropped: the pod spec gives it only NET_ADMIN and NET_RAW, a
# read-only root and no privilege escalation (deploy/pod-init-container.yaml).
# It also runs as a non-root user (Linkerd's init container is uid 65534):
# make-rootfs.sh gives /meshcap the file capabilities cap_net_admin,cap_net_raw+p,
# because Kubernetes hands a non-root process no ambient capabilities, and
# ships an empty, world-writable /run/xtables.lock. The capabilities are the
# security.capability extended attribute, which `COPY --from` keeps with
# buildah (1.22 and later) and BuildKit; scripts/build-image.sh checks the
# built image for it.

ARG DEBIAN_IMAGE=debian:12

FROM ${DEBIAN_IMAGE} AS build
WORKDIR /src
# Dependencies first, so editing the source does not reinstall them. Only what
# the build needs (scripts/install-deps.sh --build, setcap included); nothing
# when the base already has it, as the one build-image.sh makes with
# debootstrap does.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
        -DMESHCAP_HARDEN=ON -DMESHCAP_SANITIZE=OFF -DMESHCAP_TESTS=OFF -DMESHCAP_STATIC_IPTC=ON \
 && cmake --build /build -j"$(nproc)"
RUN scripts/check-hardening.sh /build/meshcap \
 && /build/meshcap apply --dry-run >/dev/null \
 && scripts/make-rootfs.sh /rootfs /build/meshcap \
 && scripts/check-hardening.sh /rootfs/meshcap

# The image: exactly what scripts/make-rootfs.sh produced.
FROM scratch
COPY --from=build /rootfs/ /
LABEL org.opencontainers.image.title="meshcap" \
      org.opencontainers.image.description="Programs a pod's NAT redirect rules so its TCP traffic flows through the sidecar proxy (init container; needs NET_ADMIN and NET_RAW)"
USER 0:0
ENTRYPOINT ["/meshcap"]
CMD ["apply"]
