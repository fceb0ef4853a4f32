#!/usr/bin/env bash
# Prepares, on a CPU machine with Debian's archive, the folder of .deb files that
# scripts/gpu-check.sh unpacks on a GPU machine without network or Debian -dev packages:
# lti's build and test dependencies other than LibTorch, and redis-server with its libraries.
#   scripts/gpu-deps.sh [FOLDER]      # default gpu-deps/ (ignored by git; about 12 MB)
# Then carry the folder with the working tree to the GPU machine (the device tool's carry).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-gpu-deps}
PACKAGES=(
  libhiredis-dev libhiredis0.14 libcli11-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  libfccp-dev nlohmann-json3-dev libgtest-dev googletest libgloo-dev
  redis-server redis-tools libjemalloc2 liblzf1 libatomic1 libssl3 libsystemd0 libcap2
  libgcrypt20 libgpg-error0 liblzma5 libzstd1 liblz4-1
)
mkdir -p "$DIR"
cd "$DIR"
shopt -s nullglob
debs=(./*.deb)
have=${#debs[@]}
if [ "$have" -ge "${#PACKAGES[@]}" ]; then
  echo "gpu-deps: $DIR already holds $have .deb files"
  exit 0
fi
apt-get download "${PACKAGES[@]}"
debs=(./*.deb)
echo "gpu-deps: ${#debs[@]} .deb files, $(du -sh . | cut -f1), in $DIR"
