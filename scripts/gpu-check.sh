#!/usr/bin/env bash
# CUDA check: build lti against a CUDA LibTorch 2.x (for example the one inside a PyTorch
# wheel), train a few epochs of the default model on synthetic data on the GPU, and print the
# epoch times next to a CPU run of the same steps.
#
#   scripts/gpu-check.sh                    # uses python3's torch for LibTorch
#   TORCH_PREFIX=/opt/libtorch scripts/gpu-check.sh
#
# Needs the Debian -dev packages of scripts/install-deps.sh except libtorch-dev (on a machine
# without network, extract the .deb files into a folder and pass it as DEPS_ROOT). LibTorch
# must use the C++11 ABI like Debian's libraries (PyTorch wheels from 2.7 on, or the
# "cxx11-abi" LibTorch zip); TorchConfig otherwise forces the old ABI and linking fails.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_PREFIX=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
PREFIX="$TORCH_PREFIX"
EXTRA=()
if [ -n "${DEPS_ROOT:-}" ]; then
  PREFIX="$PREFIX;$DEPS_ROOT/usr;$DEPS_ROOT/usr/lib/x86_64-linux-gnu/cmake"
  EXTRA+=(-DCMAKE_INCLUDE_PATH="$DEPS_ROOT/usr/include" -DCMAKE_LIBRARY_PATH="$DEPS_ROOT/usr/lib/x86_64-linux-gnu")
  export PKG_CONFIG_PATH="$DEPS_ROOT/usr/lib/x86_64-linux-gnu/pkgconfig:${PKG_CONFIG_PATH:-}"
  export LD_LIBRARY_PATH="$DEPS_ROOT/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
cmake -S . -B build-cuda -DCMAKE_BUILD_TYPE=Release -DLTI_BUILD_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$PREFIX" "${EXTRA[@]}"
cmake --build build-cuda -j "$(nproc)" --target lti

OUT=${OUT:-/tmp/lti-gpu-check}
mkdir -p "$OUT"
LTI=build-cuda/lti
$LTI synth --users ${USERS:-4000} --rows ${ROWS:-1200000} --items 200000 --categories 2000 -o "$OUT/data/train.csv"
echo "== CUDA, default model"
/usr/bin/time -f "cuda wall %e s" $LTI train --device cuda --epochs ${EPOCHS:-3} \
  --data_path "$OUT/data" --save_dir "$OUT/model-cuda" 2>&1 | grep -E "epoch [0-9]+ loss|training on|wall"
echo "== CPU, same data, 5 steps of one epoch"
$LTI train --device cpu --epochs 1 --max_steps 5 --data_path "$OUT/data" --save_dir "$OUT/model-cpu" \
  2>&1 | grep -E "epoch 1 loss|training on"
