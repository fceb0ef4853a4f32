#!/usr/bin/env python3
"""Replays early-stopping rules on the validation curves that training runs recorded.

Training does not depend on when it will stop: epoch N's weights and validation MRR are the same
whatever rule stops the run later (the same seed and threads). So a run trained long (say with
--patience_steps 100) holds the curve every shorter rule would have seen, and each rule can be
replayed on it: where it stops, and which epoch it keeps (the best validation MRR up to there,
as lti train keeps it). lti train's rule is early_stop.h's; this is its twin.

  scripts/replay-early-stop.py MODEL_DIR...   # folders of lti train (their model.json)

Patience is the run's patience in epochs for its steps an epoch at the default --patience 5
and --patience_steps 30, whatever the run itself used; a window of N steps scores each epoch
by the mean validation MRR of the epochs of N steps ending with it (--best_window_steps), and
the kept epoch's own MRR is shown; "from N validation users" applies the trend only where
that many are scored (--patience_trend_users). Runs trained with --trace_test_users recorded their test
users' figures at every epoch: for those the table shows what each rule's kept epoch scores,
and a second table pools the runs' test users (a run that had not stopped under a rule counts
with the best epoch of its curve, and is counted under "runs not stopped"), with the minutes
of the epochs each rule trains (model.json's seconds: training and validation, not the trace). A run that ended before a rule would
stop shows "-" (it had not stopped yet when the curve ends).
"""
import json
import os
import sys


def slope(values, window):
    """The least-squares slope through the last `window` values (all if fewer); 0 below two."""
    ys = values[-window:] if window > 0 else []
    n = len(ys)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(ys) / n
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(ys))
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    return sxy / sxx


def replay(mrr, patience, trend_window, best_window=1):
    """(stop epoch or None, kept epoch), both 1-based, for patience plus a trend window, each
    epoch scored by the mean MRR of the best_window epochs ending with it (early_stop.h)."""
    best, best_epoch = -1.0, 0
    for i in range(len(mrr)):
        seen = mrr[: i + 1]
        window = seen[-max(best_window, 1):]
        score = sum(window) / len(window)
        if score > best:
            best, best_epoch = score, i + 1
        if i + 1 - best_epoch >= patience and (trend_window == 0 or slope(seen, trend_window) <= 0):
            return i + 1, best_epoch
    return None, best_epoch


def read_run(folder):
    """(epochs of model.json, test users traced or 0) of a folder of lti train."""
    path = os.path.join(folder, "model.json")
    try:
        with open(path) as f:
            j = json.load(f)
        epochs = j["epochs"]
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"{path}: {e}")
    if not epochs:
        sys.exit(f"{path}: no epoch was completed")
    users = j.get("users", {})
    traced = users.get("test_traced", 0) if "test_mrr" in epochs[0] else 0
    validation = users.get("validation", 0) + users.get("validation_one_sitting_moved", 0)
    return epochs, traced, validation


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    # (trend factor, --best_window_steps, --patience_trend_users): the rules before (0, 0, 0)
    # and (3, 0, 0), and others
    rules = [(0, 0, 0), (3, 0, 0), (3, 0, 50), (0, 10, 0), (3, 10, 0), (3, 10, 50)]
    names = [
        ("patience alone" if f == 0 else f"trend over {f}x")
        + (f" from {u} validation users" if f and u else "")
        + (f", window {w} steps" if w else "")
        for f, w, u in rules
    ]
    rows = []
    # users, sums of 4 figures, runs not stopped, seconds of the epochs trained
    pooled = [[0, 0.0, 0.0, 0.0, 0.0, 0, 0.0] for _ in rules]
    for folder in sys.argv[1:]:
        epochs, traced, validation = read_run(folder)
        mrr = [e["val_mrr"] for e in epochs]
        steps = max(epochs[0]["steps"], 1)
        patience = max(5, -(-30 // steps))
        cells = []
        for r, (factor, window_steps, min_users) in enumerate(rules):
            window = max(1, -(-window_steps // steps))
            trend = factor * patience if validation >= min_users else 0
            stop, kept = replay(mrr, patience, trend, window)
            cell = f"{stop or '-'} ({kept}, {mrr[kept - 1]:.3f})"
            if traced:
                e = epochs[kept - 1]
                cell += f" {e['test_recall_at_10']:.3f} / {e['test_mrr']:.3f}"
                p = pooled[r]
                p[0] += traced
                for i, key in enumerate(["test_recall_at_10", "test_mrr",
                                         "test_pooling_recall_at_10", "test_pooling_mrr"]):
                    p[1 + i] += traced * e[key]
                p[5] += stop is None
                p[6] += sum(e["seconds"] for e in epochs[: stop or len(epochs)])
            cells.append(cell)
        name = os.path.basename(os.path.normpath(folder))
        rows.append(f"| {name} | {len(mrr)} | {validation} | {patience} | "
                    + " | ".join(cells) + " |")
    header = ["run", "epochs", "validation users", "patience"] + names
    print("Stop epoch (kept epoch, its validation MRR)"
          + (", and its test users' Recall@10 / MRR (--trace_test_users)" if pooled[0][0] else "")
          + ":\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    print("\n".join(rows))
    if pooled[0][0]:
        print("\nThe traced runs' test users together (the kept epochs' figures):\n")
        print("| rule | users | model R@10 / MRR | mean pooling | model x pooling | "
              "runs not stopped | epochs' minutes |")
        print("|---|---|---|---|---|---|---|")
        for name, (users, r10, m, pr10, pm, unstopped, seconds) in zip(names, pooled):
            r10, m, pr10, pm = (x / users for x in (r10, m, pr10, pm))
            print(f"| {name} | {users} | {r10:.3f} / {m:.3f} | {pr10:.3f} / {pm:.3f} | "
                  f"{r10 / pr10:.2f} / {m / pm:.2f} | {unstopped} | {seconds / 60:.1f} |")


if __name__ == "__main__":
    main()
