#!/usr/bin/env bash
# Installs every build and test dependency of lti from Debian's archive. Idempotent: packages
# already present are left alone. Uses sudo only when not running as root.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libtorch-dev libgloo-dev libopenblas0-pthread
  libhiredis-dev libcli11-dev libfccp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev redis-server redis-tools
  python3 python3-torch python3-redis time
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
