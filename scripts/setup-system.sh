#!/usr/bin/env bash
# Install the system packages rootwatch's build and tests need (Debian/Ubuntu, as root): a Docker
# engine with containerd and runc, a static busybox for the test image, Prometheus (promtool + server),
# and the C toolchain node-gyp builds the process-connector addon with.
# Idempotent: does nothing when everything is present.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The process-connector addon is built with node-gyp: a C compiler, make and python3.
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# Packaging and its tests: strip (binutils), lintian for the .deb, debootstrap for the Debian base
# images the image and systemd tests build without a registry.
command -v strip >/dev/null 2>&1 || need+=(binutils)
command -v lintian >/dev/null 2>&1 || need+=(lintian)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
# Podman through its Docker-compatible API: a private rootful `podman system service` in the tests.
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v conmon >/dev/null 2>&1 || need+=(conmon)
command -v newuidmap >/dev/null 2>&1 || need+=(uidmap)   # rootless Podman (a throw-away test user)
# The audit source's tests run rootwatch beside auditd (started by the test, stopped after it;
# policy-rc.d below keeps the package from starting it at install).
command -v auditd >/dev/null 2>&1 || need+=(auditd)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "rootwatch setup: missing ${need[*]}; install them (needs root and apt-get)" >&2
  exit 1
fi
echo "rootwatch setup: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the package from starting the host's own dockerd/prometheus: the tests run
# private instances and must never touch the host's engine.
restore_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && restore_policy=1
fi
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
[ "$restore_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
exit 0
