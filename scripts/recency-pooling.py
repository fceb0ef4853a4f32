#!/usr/bin/env python3
"""How much recency alone is worth on a data set: with a trained model's feature embedding
(tests/python/twin.py computes it from the saved .pth files, as SPEC section 4.1 says), pool
every user's long part by a plain average, by weights exp(-age / tau) (age 0 = the most recent
interaction) and by the average of its last share, and rank all users' short-part averages by
cosine (ties against the user, as `lti eval` does). Every user with both parts takes part, so
the figures are lower than `lti eval`'s on the validation users alone.

usage: recency-pooling.py SAVE_DIR DATA.csv
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
import twin  # noqa: E402


def metrics(long_vectors, short_vectors):
    scores = F.normalize(long_vectors, dim=-1) @ short_vectors.t()
    own = scores.diag().unsqueeze(1)
    rank = (scores >= own).sum(1).float()  # 1 + the other users scoring at least as high
    return f"Recall@10 {(rank <= 10).float().mean():.3f}  MRR {(1 / rank).mean():.3f}"


def main(save_dir, csv_path):
    torch.set_grad_enabled(False)
    with open(f"{save_dir}/model.json") as f:
        m = json.load(f)["model"]
    sd = torch.load(f"{save_dir}/feature_embedding.pth")
    items = twin.read_encoder(f"{save_dir}/item_encoder.txt")
    categories = twin.read_encoder(f"{save_dir}/category_encoder.txt")
    longs, shorts = [], []
    for _, rows in sorted(twin.read_sequences(csv_path).items()):
        cut = int(0.9 * len(rows))  # SPEC 3.3
        if cut == 0 or cut == len(rows):
            continue
        long_part = twin.features(rows[:cut][-m["n_max"]:], items, categories)
        short_part = twin.features(rows[cut:][-m["k_max"]:], items, categories)
        longs.append(twin.feature_embedding(long_part, sd))  # oldest first
        shorts.append(twin.feature_embedding(short_part, sd).mean(0))
    shorts = F.normalize(torch.stack(shorts), dim=-1)
    print(f"{len(shorts)} users")
    print("average          ", metrics(torch.stack([e.mean(0) for e in longs]), shorts))
    for tau in (3, 5, 10, 20, 40):
        pooled = [(e * torch.exp(-torch.arange(len(e) - 1, -1, -1.0) / tau).unsqueeze(1)).sum(0)
                  for e in longs]
        print(f"exp(-age / {tau:<2})   ", metrics(torch.stack(pooled), shorts))
    for share in (0.1, 0.2, 0.3, 0.5):
        pooled = [e[-max(1, int(share * len(e))):].mean(0) for e in longs]
        print(f"last {share:.0%} average", metrics(torch.stack(pooled), shorts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
