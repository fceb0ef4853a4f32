#!/usr/bin/env python3
"""How much of a synthetic data set's signal a trained model uses. On the users `lti eval` scores
by default (the test users of the model's hash split, cut by the model's --eval_split rule, ties
against the user), three scorers and their sums rank every user's short part for each long part:

- interests: the log-likelihood ratio of the short part's items under `lti synth`'s own model
  of the long part (a revisit of one of its items with probability --revisit_share, recent ones
  favoured; otherwise an item of the user's categories with probability --interest_share, or of
  a popular category), against the items' overall frequencies. Uses items and categories only.
  An approximation: it knows neither the users' true categories nor their drift, and without
  revisits (--revisit_share 0) synth also redraws a user's own items, which it does not model.
- boundary: the short part begins when the long part ends. The log-likelihood ratio of the gap
  between the long part's last hour and the short part's first, modulo one week (the weekday and
  hour are all the model sees of a time), learnt from the training users' true gaps under the
  same split. Under the gap split this is the most a clock can do; lti eval's clock row is a
  simpler ranker of the same signal.
- model: cosine of the trained long and short vectors (tests/python/twin.py, SPEC section 4).
- sums of these: what one scorer adds to another.
- model, short parts moved: the model again after every scored short part is moved in time by
  its own random offset of 1-167 hours (every row by the same amount, so the part's own pattern
  is kept). The boundary then says nothing; what the model loses is what it took from the clock.

A sum that beats the model says which signal the model leaves unused.

usage: headroom.py DATA.csv SAVE_DIR [USERS [SPLIT [REVISIT_SHARE [INTEREST_SHARE]]]]
       USERS test (default) or validation; SPLIT gap (default: the model's eval_split) or count;
       shares default to 0.25 and 0.75, the (a) regimes of scripts/bench-quality.sh
"""
import collections
import datetime
import json
import math
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
import twin  # noqa: E402

MASK = (1 << 64) - 1
WEEK = 168
REVISIT_RECENCY = 20.0  # synth's mean distance back of a revisit, in interactions
SMOOTHING = 2.0         # pseudo-interactions of the popularity prior in a user's category mix


def user_role(raw_id, val_fraction, test_fraction):
    """lti's hash split (SPEC section 8, user_role in src/model/model_config.cpp):
    splitmix64(raw id ^ "lti") % 1e6 below val_fraction validates, then test_fraction tests."""
    z = ((raw_id ^ 0x6C7469) + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    share = (z ^ (z >> 31)) % 1000000
    if share < val_fraction * 1000000:
        return "validation"
    if share < (val_fraction + test_fraction) * 1000000:
        return "test"
    return "train"


def split_point(rows, rule, min_gap_hours):
    """Index of the short part's first row, or None (split_user in src/data/sequences.cpp)."""
    n = len(rows)
    ninety = max(int(0.9 * n), 1)  # SPEC 3.3
    if rule == "count":
        return ninety if ninety < n else None

    def pause_before(i):
        return hours_between(rows[i - 1][0], rows[i][0]) >= min_gap_hours

    for i in range(ninety, n):
        if pause_before(i):
            return i
    # No pause at or after the 90% point: the last one before it that keeps half the history.
    for i in range(ninety - 1, max(n // 2, 1) - 1, -1):
        if pause_before(i):
            return i
    return None


def metrics(scores):
    rank = (scores >= scores.diag().unsqueeze(1)).sum(1).double()
    return (f"R@1 {(rank <= 1).double().mean():.3f}  R@10 {(rank <= 10).double().mean():.3f}  "
            f"MRR {(1 / rank).mean():.3f}")


def hours_between(a, b):
    return int((b - a).total_seconds() // 3600)


def interest_scores(longs, shorts, all_rows, revisit_share, interest_share):
    total = len(all_rows)
    item_count = collections.Counter(r[1] for r in all_rows)
    category_count = collections.Counter(r[2] for r in all_rows)
    scores = torch.zeros(len(longs), len(shorts), dtype=torch.float64)
    for u, long_part in enumerate(longs):
        revisit, mine = collections.Counter(), collections.Counter()
        for age, (_, item, category, _) in enumerate(reversed(long_part)):
            revisit[item] += math.exp(-age / REVISIT_RECENCY)
            mine[category] += 1
        revisit_total = sum(revisit.values())
        for v, short_part in enumerate(shorts):
            s = 0.0
            for _, item, category, _ in short_part:
                popular = category_count[category] / total
                category_p = (interest_share * (mine[category] + SMOOTHING * popular) /
                              (len(long_part) + SMOOTHING) + (1 - interest_share) * popular)
                p = (revisit_share * revisit[item] / revisit_total +
                     (1 - revisit_share) * category_p * item_count[item] / category_count[category])
                s += math.log(p * total / item_count[item])
            scores[u, v] = s
    return scores


def boundary_scores(longs, shorts, training_gaps):
    n = len(longs)
    gap = torch.tensor([[hours_between(l[-1][0], s[0][0]) % WEEK for s in shorts] for l in longs])
    true = torch.bincount(torch.tensor(training_gaps) % WEEK, minlength=WEEK).double() + 0.01
    any_pair = torch.bincount(gap.flatten(), minlength=WEEK).double() + 0.01
    log_ratio = (true / true.sum()).log() - (any_pair / (n * n)).log()
    return log_ratio[gap]


def model_scores(longs, shorts, save_dir, m):
    sd = {name: torch.load(f"{save_dir}/{name}.pth")
          for name in ("feature_embedding", "moe_layer", "long_term", "short_term")}
    items = twin.read_encoder(f"{save_dir}/item_encoder.txt")
    categories = twin.read_encoder(f"{save_dir}/category_encoder.txt")

    def vectors(parts, tower):
        out = []
        for rows in parts:
            f = twin.features(rows, items, categories)
            x = twin.moe(twin.feature_embedding(f, sd["feature_embedding"]), sd["moe_layer"], m)
            out.append(twin.tower(x, f["recency"], sd[tower], m))
        return F.normalize(torch.stack(out), dim=-1).double()

    return vectors(longs, "long_term") @ vectors(shorts, "short_term").t()


def main(csv_path, save_dir, scored="test", rule=None, revisit_share=0.25, interest_share=0.75):
    torch.set_grad_enabled(False)
    with open(f"{save_dir}/model.json") as f:
        j = json.load(f)
    m, train = j["model"], j["train"]
    rule = rule or train.get("eval_split", "count")
    min_gap_hours = train.get("min_gap_hours", 4)
    users = twin.read_sequences(csv_path)
    longs, shorts, training_gaps, not_scored = [], [], [], 0
    for raw_id, rows in sorted(users.items()):
        role = user_role(raw_id, train["val_fraction"], train.get("test_fraction", 0.0))
        cut = split_point(rows, rule, min_gap_hours)
        if role == scored and cut is None and len(rows) >= 2:
            not_scored += 1
        if cut is None:
            continue
        if role == scored:
            longs.append(rows[:cut][-m["n_max"]:])  # the most recent N_MAX / K_MAX, as lti
            shorts.append(rows[cut:][-m["k_max"]:])
        elif role == "train":
            training_gaps.append(hours_between(rows[cut - 1][0], rows[cut][0]))
    all_rows = [r for rows in users.values() for r in rows]
    print(f"{len(longs)} {scored} users scored under the {rule} split "
          f"({not_scored} with no pause of {min_gap_hours} h not scored)")
    interests = interest_scores(longs, shorts, all_rows, revisit_share, interest_share)
    boundary = boundary_scores(longs, shorts, training_gaps)
    model = model_scores(longs, shorts, save_dir, m)
    offsets = random.Random(0)
    moved = []
    for short_part in shorts:
        shift = datetime.timedelta(hours=offsets.randint(1, WEEK - 1))
        moved.append([(t + shift, item, category, behavior) for t, item, category, behavior in short_part])
    rows = [("interests", interests), ("boundary", boundary), ("interests + boundary",
            interests + boundary), ("model", model),
            ("model, short parts moved", model_scores(longs, moved, save_dir, m)),
            ("boundary, short parts moved", boundary_scores(longs, moved, training_gaps))]
    for scale in (10, 20):
        rows += [(f"{scale} x model + interests", scale * model + interests),
                 (f"{scale} x model + boundary", scale * model + boundary)]
    for name, scores in rows:
        print(f"{name:<26} {metrics(scores)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *sys.argv[3:5], *map(float, sys.argv[5:]))
