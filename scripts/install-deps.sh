#!/usr/bin/env bash
# Installs every build and test dependency of lti. Idempotent, and quick when all is there.
#  - From Debian's archive: the compiler, CMake, hiredis, CLI11, fast-cpp-csv-parser,
#    nlohmann/json, spdlog, GoogleTest, Gloo's headers, redis-server.
#  - From PyPI, into one virtual environment shared by every clone on the machine
#    (LTI_VENV, default /opt/lti/venv): the pinned torch wheel of scripts/requirements.txt,
#    whose LibTorch the build links (CUDA 13, with its CUDA libraries; 5.4 GB installed), and
#    the Python packages the tests use.
# Uses sudo only when not running as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake
  libgloo-dev libhiredis-dev libcli11-dev libfccp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev redis-server redis-tools
  python3 python3-venv time
)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} Debian packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The venv is up to date when it was made from this very requirements file.
VENV=${LTI_VENV:-/opt/lti/venv}
REQUIREMENTS=scripts/requirements.txt
STAMP="$VENV/lti-requirements.txt"
if [ -x "$VENV/bin/python" ] && cmp -s "$REQUIREMENTS" "$STAMP" &&
  "$VENV/bin/python" -c 'import torch, redis' 2>/dev/null; then
  echo "install-deps: $VENV already has $(grep -c '==' "$REQUIREMENTS") pinned Python packages"
else
  echo "install-deps: installing $(grep '==' "$REQUIREMENTS" | tr '\n' ' ')into $VENV"
  $SUDO mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || $SUDO /usr/bin/python3 -m venv "$VENV"
  $SUDO "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS"
  $SUDO cp "$REQUIREMENTS" "$STAMP"
fi
