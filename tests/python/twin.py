"""A PyTorch twin of the lti model, written from SPEC sections 3, 4 and 6 (not from the C++):
reads a Tianchi CSV, an lti save dir (model.json, the four .pth state dicts, the encoders) and
the vectors `lti export` wrote to Redis, recomputes every user's long-term vector, one user at a
time and without padding, and checks that they agree.

usage: twin.py CSV SAVE_DIR REDIS_PORT KEY_PREFIX TOLERANCE
Prints "ok: N users, max |diff| D" and exits 0, or lists the disagreements and exits 1.
"""
import csv
import datetime
import json
import math
import sys

import redis
import torch
import torch.nn.functional as F


def read_encoder(path):
    """raw id -> index: one raw id a line after a '#' header, indices 2, 3, ... (SPEC 3.1)."""
    with open(path) as f:
        ids = [int(line) for line in f if line.strip() and not line.startswith("#")]
    return {raw: i + 2 for i, raw in enumerate(ids)}


def read_sequences(csv_path):
    """raw user id -> that user's rows sorted by time, stable (SPEC 3.2)."""
    users = {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            t = datetime.datetime.strptime(row["time"].strip(), "%Y-%m-%d %H")
            users.setdefault(int(row["user_id"]), []).append(
                (t, int(row["item_id"]), int(row["item_category"]), int(row["behavior_type"])))
    for rows in users.values():
        rows.sort(key=lambda r: r[0])  # Python's sort is stable
    return users


def features(rows, items, categories):
    """The per-interaction features of SPEC 3.5, oldest first."""
    t_first, t_last = rows[0][0], rows[-1][0]
    span = max((t_last - t_first).total_seconds() / 3600.0, 1.0)
    n = len(rows)
    return {
        "item": torch.tensor([items.get(r[1], 1) for r in rows]),
        "category": torch.tensor([categories.get(r[2], 1) for r in rows]),
        "behavior": torch.tensor([r[3] for r in rows]),
        "weekday": torch.tensor([r[0].weekday() + 1 for r in rows]),
        "hour": torch.tensor([r[0].hour + 1 for r in rows]),
        "weekend": torch.tensor([2 if r[0].weekday() >= 5 else 1 for r in rows]),
        "continuous": torch.tensor(
            [[(r[0] - t_first).total_seconds() / 3600.0 / span,
              (t_last - r[0]).total_seconds() / 3600.0 / span] for r in rows]),
        "recency": torch.arange(n, 0, -1),  # the most recent interaction is 1
    }


def layer_norm(x, sd, prefix):
    return F.layer_norm(x, (x.shape[-1],), sd[prefix + ".weight"], sd[prefix + ".bias"], 1e-5)


def feature_embedding(f, sd):
    parts = [F.embedding(f[name], sd[name + ".weight"])
             for name in ("item", "category", "weekday", "hour", "weekend", "behavior")]
    parts.append(F.linear(f["continuous"], sd["continuous.weight"], sd["continuous.bias"]))
    x = F.linear(torch.cat(parts, -1), sd["proj.weight"], sd["proj.bias"])
    return layer_norm(x, sd, "norm")


def expert(x, sd, prefix):
    h = layer_norm(x, sd, prefix + "norm")
    return F.linear(F.silu(F.linear(h, sd[prefix + "w1.weight"])) *
                    F.linear(h, sd[prefix + "w3.weight"]), sd[prefix + "w2.weight"])


def moe(x, sd, m):
    """SPEC 4.2 in eval mode, token by token."""
    s = torch.sigmoid(x @ sd["gate.weight"].t())  # [T, E]
    rule = m["moe_balance"]
    if rule == "bias":
        score = s + sd["bias"]
    elif rule in ("divide", "epoch"):
        score = s / sd["load"].clamp_min(m["moe_load_floor"]) ** m["moe_balance_power"]
    else:
        score = s
    out = []
    for t in range(x.shape[0]):
        chosen = torch.topk(score[t], m["moe_activated"]).indices
        gates = s[t, chosen] / s[t, chosen].sum()
        y = x[t].clone()
        for j in range(m["moe_shared"]):
            y = y + expert(x[t], sd, f"shared.{j}.")
        for g, i in zip(gates, chosen.tolist()):
            y = y + g * expert(x[t], sd, f"experts.{i}.")
        out.append(y)
    return torch.stack(out)


def tower(x, recency, sd, m):
    """SPEC 4.3: CLS first, recency positions, pre-norm blocks, final LayerNorm, CLS out."""
    heads, dh = m["heads"], m["dim_head"]
    inner = heads * dh
    pos = sd["pos.weight"]
    seq = torch.cat([(sd["cls"] + pos[0]).unsqueeze(0), x + pos[recency]])
    for l in range(m["depth"]):
        b = f"blocks.{l}."
        h = layer_norm(seq, sd, b + "attn_norm")
        qkv = h @ sd[b + "attn.qkv.weight"].t()
        q, k, v = (qkv[:, i * inner:(i + 1) * inner].reshape(-1, heads, dh).transpose(0, 1)
                   for i in range(3))
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dh), -1) @ v  # [heads, T, dh]
        att = att.transpose(0, 1).reshape(-1, inner)
        seq = seq + F.linear(att, sd[b + "attn.out.weight"], sd[b + "attn.out.bias"])
        h = layer_norm(seq, sd, b + "ff_norm")
        ff = F.linear(F.gelu(F.linear(h, sd[b + "ff.fc1.weight"], sd[b + "ff.fc1.bias"])),
                      sd[b + "ff.fc2.weight"], sd[b + "ff.fc2.bias"])
        seq = seq + ff
    return layer_norm(seq, sd, "norm")[0]


def main(csv_path, save_dir, port, prefix, tolerance):
    torch.set_grad_enabled(False)
    with open(f"{save_dir}/model.json") as f:
        m = json.load(f)["model"]
    sd = {name: torch.load(f"{save_dir}/{name}.pth")
          for name in ("feature_embedding", "moe_layer", "long_term")}
    items = read_encoder(f"{save_dir}/item_encoder.txt")
    categories = read_encoder(f"{save_dir}/category_encoder.txt")
    r = redis.Redis(host="127.0.0.1", port=port)
    worst, problems, users = 0.0, [], read_sequences(csv_path)
    for raw_id, rows in sorted(users.items()):
        f = features(rows[-m["n_max"]:], items, categories)  # export: the most recent N_MAX
        x = moe(feature_embedding(f, sd["feature_embedding"]), sd["moe_layer"], m)
        mine = tower(x, f["recency"], sd["long_term"], m)
        stored = r.get(f"{prefix}{raw_id}")
        if stored is None:
            problems.append(f"user {raw_id}: no key {prefix}{raw_id}")
            continue
        theirs = torch.tensor(json.loads(stored))
        diff = (mine - theirs).abs().max().item()
        worst = max(worst, diff)
        if diff > tolerance:
            problems.append(f"user {raw_id}: max |diff| {diff:.3g}")
    if problems:
        print("\n".join(problems[:20]))
        return 1
    print(f"ok: {len(users)} users, max |diff| {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])))
