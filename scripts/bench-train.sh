#!/usr/bin/env bash
# Training speed side by side: the lti of an older commit (OLD, default fff1236, the last build
# on Debian's LibTorch 1.13) and this checkout's build/lti (LibTorch 2.15), on the same
# Tianchi-preset file, the model of four blocks a tower that docs/performance.md's figures were
# taken with (the default until the default became two; DEPTH=2 for that, bench_train keeps
# four), batch 256, 2 threads, whole histories (--min_prefix 1), one run after the other, in
# fp32 and in bf16. For each: steady-state seconds a step (from the log's timestamps, the first
# logged step excluded), the epoch line's tokens/s and real-token share, and peak RSS.
#   scripts/bench-train.sh                      # old and new, fp32 and bf16
#   STEPS=8 scripts/bench-train.sh               # more steps a run (default 5)
#   DATA_DIR=/tmp/lti-bench/quality/data-a1 BATCH=128 scripts/bench-train.sh   # another data set
#   OLD_LTI=/path/to/old/lti scripts/bench-train.sh   # an old binary already built
#   BREAKDOWN=1 scripts/bench-train.sh           # also bench_train's split of a step and the
#                                                # attention's share of one (profile-share.py),
#                                                # old and new
#   OLD_BLAS=1 scripts/bench-train.sh            # also the old build with Debian's default
#                                                # pthread OpenBLAS, which it was installed with
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-lib.sh
OUT=${BENCH_DIR:-/tmp/lti-bench}
OLD=${OLD:-$DEBIAN_TORCH_COMMIT}
STEPS=${STEPS:-5}
BATCH=${BATCH:-256}
THREADS=${THREADS:-2}
DATA_DIR=${DATA_DIR:-$OUT/tianchi}
mkdir -p "$OUT" "$DATA_DIR"
[ -n "$(ls "$DATA_DIR"/*.csv 2>/dev/null)" ] || build/lti synth --preset tianchi -o "$DATA_DIR/train.csv"

OLD_LTI=${OLD_LTI:-$(old_lti "$OUT" "$OLD")}

# One epoch of STEPS steps; no validation users, so the run is the steps and the save.
run() {  # name lti [extra flags]
  local name=$1 exe=$2
  shift 2
  local log=$OUT/bench-train-$name.log model=$OUT/bench-train-$name.model
  rm -rf "$model"
  /usr/bin/time -f "peak RSS %M KiB" "$exe" train --data_path "$DATA_DIR" --save_dir "$model" \
    --epochs 1 --max_steps "$STEPS" --batch_size "$BATCH" --threads "$THREADS" \
    --val_fraction 0 --depth "${DEPTH:-4}" "$@" >"$log" 2>&1 || { tail -5 "$log"; exit 1; }
  rm -rf "$model"
  /usr/bin/python3 - "$name" "$log" <<'PY'
import re, sys
from datetime import datetime
name, log = sys.argv[1], open(sys.argv[2]).read()
steps = [(int(m[2]), datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S.%f"))
         for m in re.finditer(r"\[([\d-]+ [\d:.]+)\] \[info\] epoch 1 step (\d+)/", log)]
(k0, t0), (k1, t1) = steps[0], steps[-1]
epoch = re.search(r"epoch 1 loss .*? tokens/s(?: \(\d+% of positions real\))? ([\d.]+) s \|", log)
if k1 > k0:
    step = f"{(t1 - t0).total_seconds() / (k1 - k0):.2f} s (steps {k0 + 1}-{k1})"
else:  # steps under 10 s are not all logged: the epoch's mean, first step included
    step = f"{float(epoch[1]) / k1:.2f} s (mean of {k1})"
tokens = re.search(r"epoch 1 loss .*? (\d+) tokens/s", log)
real = re.search(r"\((\d+)% of positions real\)", log)
rss = int(re.search(r"peak RSS (\d+) KiB", log)[1]) / 1048576
print(f"| {name} | {step} | {tokens[1] if tokens else '?'} | "
      f"{real[1] + '%' if real else 'not reported'} | {rss:.2f} GiB |")
PY
}

echo "| build | steady step | tokens/s (epoch) | real positions | peak RSS |"
echo "|---|---|---|---|---|"
# Whole histories every epoch (--min_prefix 1): the same work a step in both builds.
for p in fp32 bf16; do
  run "old-$OLD-$p" "$OLD_LTI" --precision "$p" --min_prefix 1
  if [ -n "${OLD_BLAS:-}" ]; then
    LD_LIBRARY_PATH=$PTHREAD_BLAS_DIR run "old-$OLD-$p-pthread-blas" "$OLD_LTI" --precision "$p" --min_prefix 1
  fi
  run "new-$p" build/lti --precision "$p" --min_prefix 1
done
if [ -n "${BREAKDOWN:-}" ]; then
  csv=$(ls "$DATA_DIR"/*.csv | head -1)
  for p in fp32 bf16; do
    for build in "old-$OLD:$(dirname "$OLD_LTI")" "new:build"; do
      name=${build%%:*} dir=${build#*:}
      echo "== $name $p: bench_train, then the attention's share of its last step"
      LTI_PROFILE="$OUT/profile-$name-$p.json" "$dir/bench_train" "$csv" "$STEPS" "$BATCH" "$THREADS" "$p" | tail -4
      /usr/bin/python3 scripts/profile-share.py "$OUT/profile-$name-$p.json"
    done
  done
fi
