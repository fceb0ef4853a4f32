#!/usr/bin/env bash
# Installs every build and test dependency of lti from Debian's archive. Idempotent: packages
# already present are left alone. Uses sudo only when not running as root.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libtorch-dev libgloo-dev libopenblas0-pthread libopenblas0-openmp
  libhiredis-dev libcli11-dev libfccp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev redis-server redis-tools
  python3 python3-torch python3-redis time
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# OpenBLAS built for OpenMP, not pthreads: LibTorch runs its own OpenMP pool, and the pthread
# OpenBLAS spins its threads against it (training is ~1.5x slower; README, Benchmarks).
# Debian picks the pthread build by priority, so select the OpenMP one for the three links.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  target=/usr/lib/$arch/openblas-openmp/$lib
  current=$(readlink -f "/etc/alternatives/$lib-$arch" 2>/dev/null || true)
  if [ -e "$target" ] && [ "$current" != "$target" ]; then
    $SUDO update-alternatives --quiet --set "$lib-$arch" "$target"
    echo "install-deps: $lib -> $target"
  fi
done
