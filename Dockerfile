# meshcap as a Kubernetes init-container image.
#
#   docker build -t REGISTRY/meshcap:0.1.0 .
#
# Stage `build` (Debian 12) compiles a hardened, fully static Release binary
# (MESHCAP_STATIC: static-pie, glibc, libstdc++, Debian's libnftnl.a, and
# libmnl/libiptc built from Debian's source packages by
# scripts/build-static-deps.sh), runs the unit tests, proves the hardening and
# lays out the image's whole filesystem in /rootfs with scripts/make-rootfs.sh
# - the same script tests/image/ runs, so what the tests check is what ships.
# The final stage is that directory on `scratch` and nothing else: the
# stripped static binary, /run/xtables.lock and empty mount points. No
# loader, no library, no shell, no package manager. The same binary is what
# `meshcap cni install` copies onto the node (deploy/cni-daemonset.yaml): it
# runs there whatever the node's distribution and glibc.
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
# Dependencies first, so editing the source does not reinstall them.
# (scripts/install-deps.sh is self-contained: apt-get update + install.)
# setcap (libcap2-bin) gives the image's /meshcap its file capabilities.
# The static libmnl and libiptc come from Debian's sources (apt-get source,
# with deb-src lines derived from this stage's own apt configuration).
COPY scripts/install-deps.sh scripts/install-deps.sh
COPY scripts/build-static-deps.sh scripts/build-static-deps.sh
RUN scripts/install-deps.sh \
 && { command -v setcap >/dev/null || apt-get install -y --no-install-recommends libcap2-bin; } \
 && { command -v dpkg-source >/dev/null || apt-get install -y --no-install-recommends dpkg-dev; } \
 && scripts/build-static-deps.sh /static-deps \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
        -DMESHCAP_HARDEN=ON -DMESHCAP_SANITIZE=OFF -DMESHCAP_TESTS=ON \
        -DMESHCAP_STATIC=ON -DMESHCAP_STATIC_PREFIX=/static-deps \
 && cmake --build /build -j"$(nproc)"
RUN ctest --test-dir /build -L unit --no-tests=error --output-on-failure -j"$(nproc)"
RUN scripts/check-hardening.sh /build/meshcap \
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
