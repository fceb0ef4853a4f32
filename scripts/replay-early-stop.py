#!/usr/bin/env python3
"""Replays early-stopping rules on the validation curves that training runs recorded.

Training does not depend on when it will stop: epoch N's weights and validation MRR are the same
whatever rule stops the run later (the same seed and threads). So a run trained long (say with
--patience_steps 100) holds the curve every shorter rule would have seen, and each rule can be
replayed on it: where it stops, and which epoch it keeps (the best validation MRR up to there,
as lti train keeps it). lti train's rule is early_stop.h's; this is its twin.

  scripts/replay-early-stop.py MODEL_DIR...   # folders of lti train (their model.json)

Patience is the run's patience in epochs for its steps an epoch at the default --patience 5
and --patience_steps 30, whatever the run itself used. A run that ended before a rule would
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


def replay(mrr, patience, trend_window):
    """(stop epoch or None, kept epoch), both 1-based, for patience plus a trend window."""
    best, best_epoch = -1.0, 0
    for i, value in enumerate(mrr):
        if value > best:
            best, best_epoch = value, i + 1
        seen = mrr[: i + 1]
        if i + 1 - best_epoch >= patience and (trend_window == 0 or slope(seen, trend_window) <= 0):
            return i + 1, best_epoch
    return None, best_epoch


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    factors = [0, 2, 3, 4]
    header = ["run", "epochs", "patience"] + [
        "patience alone" if f == 0 else f"trend over {f}x" for f in factors
    ]
    rows = []
    for folder in sys.argv[1:]:
        path = os.path.join(folder, "model.json")
        try:
            with open(path) as f:
                epochs = json.load(f)["epochs"]
        except (OSError, KeyError, ValueError) as e:
            sys.exit(f"{path}: {e}")
        if not epochs:
            sys.exit(f"{path}: no epoch was completed")
        mrr = [e["val_mrr"] for e in epochs]
        steps = max(epochs[0]["steps"], 1)
        patience = max(5, -(-30 // steps))
        cells = []
        for factor in factors:
            stop, kept = replay(mrr, patience, factor * patience)
            cells.append(f"{stop or '-'} ({kept}, {mrr[kept - 1]:.3f})")
        name = os.path.basename(os.path.normpath(folder))
        rows.append(f"| {name} | {len(mrr)} | {patience} | " + " | ".join(cells) + " |")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
