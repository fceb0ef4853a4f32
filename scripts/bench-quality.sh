#!/usr/bin/env bash
# Quality by default (issue 11): for each data regime, `lti train` with no options (the
# defaults) and with configs/seed.toml (the original design), then `lti eval`; prints one
# Markdown table: model vs mean pooling vs chance (Recall@1/10/50, MRR), the model/mean-pooling
# ratios, the epochs run and the best one, and the expert-share CV of every epoch.
#   scripts/bench-quality.sh                 # every regime below
#   scripts/bench-quality.sh a1 a2           # some of them
#   VARIANTS="default" scripts/bench-quality.sh b   # only the defaults
#   TABLE_ONLY=1 scripts/bench-quality.sh      # the table of the runs already in $BENCH_DIR
#   VARIANTS="lr3" FLAGS_lr3="--lr 3e-4" scripts/bench-quality.sh a1   # defaults plus flags
# Regimes (lti synth; the real data set cannot be downloaded here):
#   a1  1,000 users, 100,000 rows, 1,700 items, 200 categories (the size of a real log we lack)
#   a2  the same sizes, seed 2, fixed interests (drift 0), weaker signal (interest_share 0.5)
#   a3  the same sizes, seed 3, strong drift (1.0), 1-2 interests a user
#   a4  a ratings-style log of a real data set's shape (943 users, 100,000 rows, 1,682 items,
#       216 categories): no revisits (each item at most once per user), weaker signal (0.5)
#   a5  a4's shape with persistent tastes (interest share 0.9, drift 0.2)
#   a6  a5 rated in sittings (scripts/sittings.py: each user's rows fall into 1-3 hours, the
#       file shuffled), as a ratings log converted at hour resolution: the long/short split
#       cuts the last sitting at random, and an average of the user's items is a strong baseline
#   a7  a4 rated in sittings
#   a8  a5 in visits (scripts/sittings.py ... visits): 40% of users in one visit, the others in
#       2-30 visits of random sizes, each 1-3 hours, a third with a 2-3 hour pause inside
#   a9  a4 in visits
#   a10 a small ratings log in visits: a8's settings with 300 users and 32,000 rows (about 60
#       users to train on and 10 to validate once users in one visit are left out)
#   a11 a9's settings with 300 users and 32,000 rows
#   b   20,000 users x 300 rows, 600,000 items, 2,000 categories
#   c   the Tianchi preset (10,000 users, 12.3 M rows, 2.9 M items, 8,916 categories)
#   s1  short histories: 5,000 users, 50,000 rows (median 6 a user: a long part of ~5, a short
#       part of 1), 3,000 items, 100 categories
#   s2  few users: 300 users x 30 rows, 1,000 items, 50 categories
#   m1  a real ratings log: MovieLens 100K (943 users, 100,000 ratings, 1,682 films, their 216
#       genre combinations as categories), from the copy in RecBole's PyPI wheel
#       (scripts/movielens.py; needs pip and PyPI). 97% of its users' short parts begin in the
#       hour their long part ends; 291 users have a pause of 4 h to split at. Its draws m1.K
#       are the same log with 10,000 K added to every user id, so other users are test users
#   m2  a second real ratings log: the 2016 MovieLens ml-latest-small (671 users, 100,004
#       ratings in half stars, 9,125 films, 902 genre combinations), from the copy in LensKit's
#       PyPI source archive (downloaded with curl from PyPI's file host and checked against its
#       SHA-256). 95% of the short parts begin in the hour their long part ends; 255 users have
#       a pause of 4 h. Draws m2.K as m1.K
#   m3  a small real ratings log: 300 users of m1 drawn at random (scripts/movielens.py --users
#       300), all their ratings; draw m3.K draws other users (--user_seed 100 K) and gives them
#       other roles (ids + 10,000 K)
#   m4  300 users of m2, the same way
#   m5, m6  500 users of m1 and of m2, the same way: logs whose validation users (41-48 at
#       the default --val_fraction) sit at --patience_trend_users' line
# b and c do not fit whole epochs of the default model into a session on 2 cores: both variants
# train on the first CUT_USERS (default 3,840) users of one epoch (30 steps of 128 for the
# defaults, 15 of 256 for seed.toml); set CUT_USERS=0 for full runs.
# The (a) regimes and s2 hold out 30% of users for testing (--test_fraction 0.3; validation
# keeps its default 10%), so the test figures rest on about 300 users (fewer where users in
# one sitting cannot be scored). Every figure is lti eval's default: test users, the gap split.
# Each model is also scored with --split count (the original 90/10 split), where the clock row
# shows how much of a margin the boundary's hour alone explains.
#   GAPS="1 2 4 8" scripts/bench-quality.sh a8   # also eval --min_gap_hours G for each G
#   EVAL_ONLY=1 scripts/bench-quality.sh a1    # score the models already trained again (a new lti)
#   scripts/bench-quality.sh a10.1 a10.2       # a regime again on other data: REGIME.K draws
#       lti synth and the sittings with seed + 100 K, the same sizes and settings; the table
#       then gives the mean and spread of model x pooling over the draws of each regime, and
#       the figures of all the draws' scored users together
# "moved" is lti eval's model (moved) row: the same model with each short part moved in time by
# a random 1-167 h, so that the boundary says nothing; what the model loses there is the clock.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_DIR:-/tmp/lti-bench}/quality
LTI=${LTI:-build/lti}
CUT_USERS=${CUT_USERS:-3840}
VARIANTS=${VARIANTS:-"default seed"}
THREADS=${THREADS:-0}  # 0 = all CPUs; 1 lets two copies of this script share 2 cores
mkdir -p "$OUT"
regimes=("$@")
[ ${#regimes[@]} -gt 0 ] || regimes=(a1 a2 a3 a4 b c)

drawn_seed() {  # seed regime: the seed of draw K of a regime REGIME.K (seed + 100 K)
  local draw=0
  [[ $2 == *.* ]] && draw=${2#*.}
  echo $(($1 + 100 * draw))
}
synth_flags() {
  case $1 in
    *.*)  # another draw of a regime: its flags with the drawn seed
      local flags seed
      flags=$(synth_flags "${1%%.*}")
      seed=$(sed -E 's/.*--seed ([0-9]+).*/\1/' <<<"$flags")
      echo "${flags/--seed $seed/--seed $(drawn_seed "$seed" "$1")}" ;;
    a1) echo "--users 1000 --rows 100000 --items 1700 --categories 200 --seed 1" ;;
    a2) echo "--users 1000 --rows 100000 --items 1700 --categories 200 --seed 2 --interest_drift 0 --interest_share 0.5" ;;
    a3) echo "--users 1000 --rows 100000 --items 1700 --categories 200 --seed 3 --interest_drift 1.0 --min_interests 1 --max_interests 2" ;;
    a4) echo "--users 943 --rows 100000 --items 1682 --categories 216 --seed 4 --revisit_share 0 --interest_share 0.5" ;;
    a5) echo "--users 943 --rows 100000 --items 1682 --categories 216 --seed 5 --revisit_share 0 --interest_share 0.9 --interest_drift 0.2" ;;
    a6) synth_flags a5 ;;  # then rated in sittings (below)
    a7 | a9) synth_flags a4 ;;
    a8) synth_flags a5 ;;
    a10) echo "--users 300 --rows 32000 --items 1682 --categories 216 --seed 10 --revisit_share 0 --interest_share 0.9 --interest_drift 0.2" ;;
    a11) echo "--users 300 --rows 32000 --items 1682 --categories 216 --seed 12 --revisit_share 0 --interest_share 0.5" ;;
    b) echo "--users 20000 --rows 6000000 --items 600000 --categories 2000 --seed 7" ;;
    c) echo "--preset tianchi --seed 11" ;;
    s1) echo "--users 5000 --rows 50000 --items 3000 --categories 100 --seed 21" ;;
    s2) echo "--users 300 --rows 9000 --items 1000 --categories 50 --seed 22" ;;
    *) echo "unknown regime $1" >&2; return 2 ;;
  esac
}
# regime: fetch the PyPI package that bundles its MovieLens copy (once); print the copy's folder.
# A command substitution does not inherit set -e, so each step that can fail returns.
movielens_folder() {
  local pypi="$OUT/pypi"
  mkdir -p "$pypi"
  case ${1%%.*} in
    m3 | m5) movielens_folder m1 ;;
    m4 | m6) movielens_folder m2 ;;
    m1)  # MovieLens 100K in RecBole's wheel
      local wheel="$pypi/recbole-1.2.1-py3-none-any.whl"
      [ -f "$wheel" ] || python3 -m pip download recbole==1.2.1 --no-deps -d "$pypi" >&2 || return 1
      [ -f "$pypi/recbole/dataset_example/ml-100k/ml-100k.item" ] ||
        (cd "$pypi" && python3 -m zipfile -e "$wheel" . >/dev/null) || return 1
      echo "$pypi/recbole/dataset_example/ml-100k" ;;
    m2)  # ml-latest-small in LensKit's source archive (pip would build it, which needs Rust)
      local archive="$pypi/lenskit-2025.8.1.tar.gz"
      if [ ! -f "$archive" ]; then
        curl -fsSL -o "$archive.part" "https://files.pythonhosted.org/packages/85/d4/b0f120bd01fe614520281afd21b80b4222ef138e687f861a3f3ea4bbab7a/lenskit-2025.8.1.tar.gz" || return 1
        echo "954b22a81e8a0d2012a173340079aa3d0c68dcc8cb9954e488fc228d77d4cb55  $archive.part" | sha256sum -c --quiet >&2 || return 1
        mv "$archive.part" "$archive"
      fi
      [ -f "$pypi/lenskit-2025.8.1/data/ml-latest-small/ratings.csv" ] ||
        tar xzf "$archive" -C "$pypi" lenskit-2025.8.1/data/ml-latest-small || return 1
      echo "$pypi/lenskit-2025.8.1/data/ml-latest-small" ;;
  esac
}
train_flags() {  # variant regime
  local flags="" batch=128
  [ "$1" = seed ] && flags="--config configs/seed.toml" && batch=256
  local extra="FLAGS_$1"
  [ "$1" != seed ] && [ "$1" != default ] && flags="${!extra:?set $extra to the flags of variant $1}"
  case ${2%%.*} in
    a* | s2 | m[1-6]) flags="$flags --test_fraction 0.3" ;;
    b | c) [ "$CUT_USERS" -gt 0 ] && flags="$flags --epochs 1 --max_steps $((CUT_USERS / batch))" ;;
  esac
  echo "$flags"
}

for regime in "${regimes[@]}"; do
  [ -n "${TABLE_ONLY:-}" ] && break  # TABLE_ONLY=1: only print the table of the runs already made
  data="$OUT/data-$regime"
  # shellcheck disable=SC2046
  if [ ! -f "$data/train.csv" ] && [[ ${regime%%.*} == m[1-6] ]]; then
    movielens=$(movielens_folder "$regime")
    draw_seed=$(drawn_seed 0 "$regime")  # 100 K for draw K
    sample=()  # m3, m4: 300 of the log's users (m5, m6: 500), other ones in each draw
    case ${regime%%.*} in
      m3 | m4) sample=(--users 300 --user_seed "$draw_seed") ;;
      m5 | m6) sample=(--users 500 --user_seed "$draw_seed") ;;
    esac
    mkdir -p "$data" && python3 scripts/movielens.py "$movielens" "$data/train.csv" \
      --user_offset $((100 * draw_seed)) "${sample[@]}" >&2  # 10,000 K
  elif [ ! -f "$data/train.csv" ]; then
    "$LTI" synth -o "$data/train.csv" $(synth_flags "$regime") >/dev/null 2>&1
    base=${regime%%.*}
    sittings_seed=$(drawn_seed "${base#a}" "$regime")
    case $base in  # rated in sittings
      a6 | a7) python3 scripts/sittings.py "$data/train.csv" "$data/rated.csv" "$sittings_seed" thirds &&
        mv "$data/rated.csv" "$data/train.csv" ;;
      a8 | a9 | a10 | a11) python3 scripts/sittings.py "$data/train.csv" "$data/rated.csv" "$sittings_seed" visits &&
        mv "$data/rated.csv" "$data/train.csv" ;;
    esac
  fi
  for variant in $VARIANTS; do
    model="$OUT/model-$regime-$variant"
    if [ -z "${EVAL_ONLY:-}" ]; then
      flags=$(train_flags "$variant" "$regime")
      rm -rf "$model"
      # The config file goes before the subcommand; the rest after it.
      config=""
      case $flags in --config*) config="--config configs/seed.toml"; flags=${flags#--config configs/seed.toml} ;; esac
      echo "== $regime $variant: lti $config train $flags" >&2
      # shellcheck disable=SC2086
      /usr/bin/time -f "train wall %e s, peak RSS %M KiB" "$LTI" $config train --data_path "$data" \
        --save_dir "$model" --threads "$THREADS" $flags >"$model.log" 2>&1 || { tail -5 "$model.log"; exit 1; }
      tail -1 "$model.log" >&2
    fi
    "$LTI" eval --data_path "$data" --save_dir "$model" --threads "$THREADS" --json >"$model.eval.json" 2>"$model.eval.log"
    "$LTI" eval --data_path "$data" --save_dir "$model" --threads "$THREADS" --split count --json \
      >"$model.eval-count.json" 2>>"$model.eval.log"
    for g in ${GAPS:-}; do
      "$LTI" eval --data_path "$data" --save_dir "$model" --threads "$THREADS" --split gap \
        --min_gap_hours "$g" --json >"$model.eval-gap$g.json" 2>>"$model.eval.log"
    done
  done
done

/usr/bin/python3 - "$OUT" "${regimes[@]}" -- $VARIANTS <<'EOF'
import glob, json, re, sys
out = sys.argv[1]
split = sys.argv.index("--")
regimes, variants = sys.argv[2:split], sys.argv[split + 1:]
f = lambda m: f"{m['recall@10']:.3f} / {m['mrr']:.3f}"
x = lambda a, b: f"{a['recall@10'] / b['recall@10']:.2f} / {a['mrr'] / b['mrr']:.2f}"
def interval(e):  # model x pooling's 95% intervals (lti eval's paired bootstrap)
    m = e.get("model_over_mean_pooling")
    if not m or not m.get("resamples"):
        return "-"
    g = lambda k: f"{m[k]['low']:.2f}-{m[k]['high']:.2f}" if m[k]["low"] is not None else "inf"
    return f"{g('recall@10')} / {g('mrr')}"
print("| regime | variant | epochs (best) | train min | scored (not) | model R@10 / MRR | "
      "model (moved) | mean pooling | clock | chance | model x pooling | 95% interval | "
      "moved x pooling | clock x chance | 90/10 split: model | 90/10: moved | 90/10: pooling | "
      "90/10: clock |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
ratios = {}  # (base regime, variant) -> [(R@10 ratio, MRR ratio, eval JSON)], one a draw
missing = {"recall@10": float("nan"), "mrr": float("nan")}
for r in regimes:
    for v in variants:
        try:
            e = json.load(open(f"{out}/model-{r}-{v}.eval.json"))
            c = json.load(open(f"{out}/model-{r}-{v}.eval-count.json"))
            j = json.load(open(f"{out}/model-{r}-{v}/model.json"))
        except OSError:
            continue
        minutes = sum(x["seconds"] for x in j["epochs"]) / 60
        print(f"| {r} | {v} | {j['epochs_completed']} ({j['best_epoch']}) | {minutes:.1f} | "
              f"{e['model']['users']} ({e['not_scored']}) | {f(e['model'])} | "
              f"{f(e.get('model_moved', missing))} | "
              f"{f(e['mean_pooling'])} | {f(e['clock'])} | {f(e['chance'])} | "
              f"{x(e['model'], e['mean_pooling'])} | {interval(e)} | "
              f"{x(e.get('model_moved', missing), e['mean_pooling'])} | "
              f"{x(e['clock'], e['chance'])} | {f(c['model'])} | "
              f"{f(c.get('model_moved', missing))} | {f(c['mean_pooling'])} | {f(c['clock'])} |")
        ratios.setdefault((r.split(".")[0], v), []).append(
            (e["model"]["recall@10"] / e["mean_pooling"]["recall@10"],
             e["model"]["mrr"] / e["mean_pooling"]["mrr"], e))
draws = {k: d for k, d in ratios.items() if len(d) > 1}
if draws:
    import statistics as st
    print()
    print("| regime | variant | draws | users scored | model x pooling, mean (min-max) R@10 | "
          "MRR | all draws' users together: model | mean pooling | model x pooling |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (r, v), d in draws.items():
        col = lambda i: (f"{st.mean(p[i] for p in d):.2f} "
                         f"({min(p[i] for p in d):.2f}-{max(p[i] for p in d):.2f})")
        n = sum(p[2]["model"]["users"] for p in d)
        pooled = lambda row: {k: sum(p[2][row][k] * p[2]["model"]["users"] for p in d) / n
                              for k in ("recall@10", "mrr")}
        print(f"| {r} | {v} | {len(d)} | {n} | {col(0)} | {col(1)} | {f(pooled('model'))} | "
              f"{f(pooled('mean_pooling'))} | {x(pooled('model'), pooled('mean_pooling'))} |")
gaps = sorted({int(m.group(1)) for r in regimes for v in variants
               for m in [re.search(r"eval-gap(\d+)", p)
                         for p in glob.glob(f"{out}/model-{r}-{v}.eval-gap*.json")] if m})
if gaps:
    print()
    print("| regime | variant | G | scored (not) | model R@10 / MRR | mean pooling | clock | "
          "chance | clock x chance |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in regimes:
        for v in variants:
            for g in gaps:
                try:
                    e = json.load(open(f"{out}/model-{r}-{v}.eval-gap{g}.json"))
                except OSError:
                    continue
                print(f"| {r} | {v} | {g} | {e['model']['users']} ({e['not_scored']}) | "
                      f"{f(e['model'])} | {f(e['mean_pooling'])} | {f(e['clock'])} | "
                      f"{f(e['chance'])} | {x(e['clock'], e['chance'])} |")
EOF
