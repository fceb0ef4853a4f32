#!/usr/bin/env bash
# The GPU check, one command on a GPU machine that has Python with a CUDA torch, CMake, a C++
# compiler and ninja, but no network and no Debian -dev packages:
#   scripts/gpu-deps.sh                  # first, on the CPU machine: .deb files into gpu-deps/
#   OUT=/some/folder scripts/gpu-check.sh   # then there, with gpu-deps/ carried along
# It unpacks gpu-deps/ into a folder, builds lti and the CUDA tests against that machine's
# torch, and on the Tianchi preset of `lti synth` measures: one epoch of the default model on
# the GPU in bf16 and in fp32 (with the GPU's utilisation), the export into a local
# redis-server (users/s), lti eval, CPU against GPU vectors of the same model for 200 users
# (fp32, smallest cosine), and `ctest -L cuda` under LTI_REQUIRE_CUDA=1. Everything goes into
# $OUT/gpu-report.md, with each step's log beside it. Fails fast: a step that fails ends the
# check with its log's tail in the report. Budget: about 6 minutes on one H200 with 16 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lti-gpu-check}
WORK=${WORK:-/tmp/lti-gpu-work}
DEPS_DEBS=${DEPS_DEBS:-gpu-deps}
PYTHON=${PYTHON:-python3}
# A rehearsal on a machine without a GPU: DEVICE=cpu SYNTH_ARGS="--users 300 --rows 30000"
# LTI_ARGS="--config configs/small.toml" runs every step on the CPU (nothing then requires CUDA).
DEVICE=${DEVICE:-cuda}
SYNTH_ARGS=${SYNTH_ARGS:---preset tianchi}
LTI_ARGS=${LTI_ARGS:-}
mkdir -p "$OUT" "$WORK"
REPORT="$OUT/gpu-report.md"
START=$(date +%s)
: >"$REPORT"
say() { echo "$*" | tee -a "$REPORT"; }
fail() {
  say ""
  say "**FAILED: $*** ($(($(date +%s) - START)) s into the check)"
  exit 1
}
# step NAME TIMEOUT_S COMMAND...: runs it with its output in $OUT/NAME.log, times it.
step() {
  local name=$1 limit=$2
  shift 2
  local t0
  t0=$(date +%s%N)
  if ! timeout "$limit" "$@" >"$OUT/$name.log" 2>&1; then
    say '```'
    tail -n 25 "$OUT/$name.log" | tee -a "$REPORT"
    say '```'
    fail "step $name (log: $name.log)"
  fi
  local ms=$((($(date +%s%N) - t0) / 1000000))
  STEP_S="$((ms / 1000)).$((ms % 1000 / 100))"
  echo "  [$name: ${STEP_S} s]"
}

say "# lti GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
say ""
command -v nvidia-smi >/dev/null && say "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
say "- CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
TORCH_INFO=$($PYTHON -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda, "available" if torch.cuda.is_available() else "NOT AVAILABLE")') ||
  fail "$PYTHON cannot import torch"
say "- torch: $TORCH_INFO"
# LTI_GPU_CHECK_BUILD_ONLY=1: unpack and build, then stop (a rehearsal on a machine without a
# GPU; EXTRA_CMAKE_ARGS=-DLTI_TORCH_WITHOUT_TOOLKIT=ON builds as a machine without nvcc would).
case "$TORCH_INFO" in
  *"NOT AVAILABLE"*) [ -n "${LTI_GPU_CHECK_BUILD_ONLY:-}" ] || [ "$DEVICE" = cpu ] || fail "torch sees no GPU" ;;
esac

# --- dependencies from the carried .deb files
[ -d "$DEPS_DEBS" ] || fail "no $DEPS_DEBS/ folder: run scripts/gpu-deps.sh on the CPU machine and carry it"
DEPS="$WORK/deps"
step unpack 120 $PYTHON - "$DEPS_DEBS" "$DEPS" <<'PY'
# A .deb is an ar archive holding data.tar.*; unpacked without dpkg (the machine may lack it).
import glob, io, os, sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for deb in sorted(glob.glob(os.path.join(src, "*.deb"))):
    with open(deb, "rb") as f:
        assert f.read(8) == b"!<arch>\n", deb
        while True:
            header = f.read(60)
            if len(header) < 60:
                break
            name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58])
            body = f.read(size)
            f.read(size % 2)
            if name.startswith("data.tar"):
                with tarfile.open(fileobj=io.BytesIO(body)) as tar:
                    tar.extractall(dst, filter="fully_trusted") if hasattr(tarfile, "data_filter") else tar.extractall(dst)
    print("unpacked", os.path.basename(deb))
PY
ARCH_LIB="$DEPS/usr/lib/x86_64-linux-gnu"
export LD_LIBRARY_PATH="$ARCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# --- build: lti and the CUDA tests, against this machine's torch
BUILD="$WORK/build"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
step configure 120 cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DLTI_NCCL=ON \
  -DLTI_TORCH_PYTHON="$(command -v $PYTHON)" \
  -DCMAKE_PREFIX_PATH="$DEPS/usr;$ARCH_LIB/cmake;$DEPS/usr/share/cmake" \
  -DCMAKE_INCLUDE_PATH="$DEPS/usr/include" -DCMAKE_LIBRARY_PATH="$ARCH_LIB" ${EXTRA_CMAKE_ARGS:-}
grep -E "LibTorch|nvcc" "$OUT/configure.log" | sed 's/^-- /- build: /' | tee -a "$REPORT"
step build "${BUILD_TIMEOUT:-300}" cmake --build "$BUILD" -j "$(nproc)" --target lti lti_cuda_tests
say "- build: lti and lti_cuda_tests in ${STEP_S} s"
LTI="$BUILD/lti $LTI_ARGS"
# shellcheck disable=SC2086  # $LTI is the binary and LTI_ARGS
if [ -n "${LTI_GPU_CHECK_BUILD_ONLY:-}" ]; then
  say "- stopped after the build (LTI_GPU_CHECK_BUILD_ONLY)"
  exit 0
fi

# --- data: the Tianchi preset (10,000 users, 12.3M rows)
DATA="$WORK/data"
# shellcheck disable=SC2086
step synth 180 $LTI synth $SYNTH_ARGS -o "$DATA/train.csv"
say "- data: lti synth $SYNTH_ARGS, $(($(wc -l <"$DATA/train.csv") - 1)) rows, in ${STEP_S} s"
say ""
say "## Training, default model, one epoch on the GPU"
say ""
say "| precision | epoch | tokens/s | validation R@10 / MRR | GPU utilisation (mean / max) | GPU memory (max) |"
say "|---|---|---|---|---|---|"
for precision in bf16 fp32; do
  SMI="$OUT/smi-train-$precision.csv"
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 250 >"$SMI" 2>/dev/null &
  SMI_PID=$!
  step "train-$precision" 240 $LTI train --device "$DEVICE" --precision "$precision" --epochs 1 \
    --data_path "$DATA" --save_dir "$WORK/model-$precision"
  kill "$SMI_PID" 2>/dev/null || true
  line=$(grep -E "epoch 1 loss" "$OUT/train-$precision.log" | tail -1)
  epoch_s=$(echo "$line" | grep -oE '[0-9.]+ s \|' | grep -oE '[0-9.]+')
  tokens=$(echo "$line" | grep -oE '[0-9]+ tokens/s' | grep -oE '[0-9]+')
  r10=$(echo "$line" | grep -oE 'val_R@10 [0-9.]+' | cut -d' ' -f2)
  mrr=$(echo "$line" | grep -oE 'val_MRR [0-9.]+' | cut -d' ' -f2)
  util=$(awk -F', ' '{s += $1; if ($1 > m) m = $1; if ($2 > g) g = $2; n++} END {if (n) printf "%.0f%% / %.0f%% | %.1f GiB", s / n, m, g / 1024}' "$SMI")
  say "| $precision | ${epoch_s:-?} s | ${tokens:-?} | ${r10:-?} / ${mrr:-?} | ${util:-no nvidia-smi} |"
done
say ""
say "(the whole \`lti train\` run, ingest and validation included: see train-bf16.log, train-fp32.log)"

# --- eval, then the CUDA tests: before anything that needs the carried redis-server
say ""
say "## Eval (the bf16-trained model, fp32 inference)"
say ""
step eval 180 $LTI eval --device "$DEVICE" --data_path "$DATA" --save_dir "$WORK/model-bf16"
say ""
say '```'
grep -v '^\[' "$OUT/eval.log" | tee -a "$REPORT" >/dev/null
say '```'

# --- the CUDA tests (a missing GPU fails them, except in a CPU rehearsal)
REQUIRE=()
if [ "$DEVICE" = cuda ]; then REQUIRE=(LTI_REQUIRE_CUDA=1) REQUIRE_NOTE="(LTI_REQUIRE_CUDA=1)"; fi
say ""
say "## ctest -L cuda ${REQUIRE_NOTE:-}"
step ctest 240 env "${REQUIRE[@]}" ctest --test-dir "$BUILD" -L cuda -V
say ""
say '```'
grep -E "tests passed|Test +#[0-9]+:|smallest CPU/CUDA" "$OUT/ctest.log" | tee -a "$REPORT" >/dev/null
say '```'
# --- export into a local redis-server
say ""
say "## Export (the bf16-trained model, fp32 inference)"
say ""
PORT=$($PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REDIS_SERVER="$DEPS/usr/bin/redis-server"
REDIS_CLI="$DEPS/usr/bin/redis-cli"
"$REDIS_SERVER" --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --dir "$WORK" --logfile "$OUT/redis.log" || fail "redis-server from $DEPS_DEBS does not start here"
trap '"$REDIS_CLI" -p "$PORT" shutdown nosave >/dev/null 2>&1 || true' EXIT
for _ in $(seq 50); do "$REDIS_CLI" -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
SMI="$OUT/smi-export.csv"
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits -lms 250 >"$SMI" 2>/dev/null &
SMI_PID=$!
step export 180 $LTI export --device "$DEVICE" --data_path "$DATA" --save_dir "$WORK/model-bf16" --redis "127.0.0.1:$PORT"
kill "$SMI_PID" 2>/dev/null || true
say "- export (--device $DEVICE): $(grep -oE 'users expected.*' "$OUT/export.log" | head -1)"
util=$(awk -F', ' '{s += $1; if ($1 > m) m = $1; n++} END {if (n) printf "%.0f%% mean, %.0f%% max", s / n, m}' "$SMI")
say "- GPU utilisation during the export: ${util:-?}"

# --- CPU against GPU vectors of the same model, 200 users
say ""
say "## CPU against GPU vectors (fp32, 200 users)"
SAMPLE="$WORK/sample"
mkdir -p "$SAMPLE"
awk -F, 'NR == 1 {print; next} !($1 in seen) && n < 200 {seen[$1]; n++} ($1 in seen) {print}' \
  "$DATA/train.csv" >"$SAMPLE/train.csv"
step export-cpu 240 $LTI export --device cpu --precision fp32 --data_path "$SAMPLE" \
  --save_dir "$WORK/model-fp32" --redis "127.0.0.1:$PORT" --key_prefix cpu: --db 1
step export-gpu 120 $LTI export --device "$DEVICE" --precision fp32 --data_path "$SAMPLE" \
  --save_dir "$WORK/model-fp32" --redis "127.0.0.1:$PORT" --key_prefix gpu: --db 1
cut -d, -f1 "$SAMPLE/train.csv" | tail -n +2 | sort -u >"$WORK/sample-users.txt"
step compare 120 $PYTHON - "$REDIS_CLI" "$PORT" "$WORK/sample-users.txt" <<'PY'
import json, subprocess, sys
import torch
cli, port, users = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().split()
def vectors(prefix):
    out = subprocess.run([cli, "-p", port, "-n", "1", "--raw", "MGET", *[prefix + u for u in users]],
                         check=True, capture_output=True, text=True).stdout.split("\n")
    return torch.tensor([json.loads(line) for line in out if line.strip()], dtype=torch.float64)
cpu, gpu = vectors("cpu:"), vectors("gpu:")
assert cpu.shape == gpu.shape and cpu.shape[0] == len(users), (cpu.shape, gpu.shape, len(users))
cos = torch.nn.functional.cosine_similarity(cpu, gpu, dim=1)
print(f"users {len(users)}, cosine min {cos.min():.7f} mean {cos.mean():.7f}, "
      f"max |difference| {(cpu - gpu).abs().max():.2e}")
sys.exit(0 if cos.min() > 0.9999 else 1)
PY
say "- $(tail -1 "$OUT/compare.log") (needs > 0.9999)"

say ""
say "All steps passed in $(($(date +%s) - START)) s."
