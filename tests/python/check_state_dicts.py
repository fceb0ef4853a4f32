"""Reads an lti save dir the way the original design's Python code does and checks the
state dicts against Appendix A of the specification.

usage: check_state_dicts.py SAVE_DIR EXPECTED_SUMS_JSON
"""
import json
import sys

import torch


def main(save_dir, expected_path):
    with open(f"{save_dir}/model.json") as f:
        meta = json.load(f)
    m = meta["model"]
    H, E, S, D = m["hidden_dim"], m["moe_experts"], m["moe_shared"], m["depth"]
    inner = m["heads"] * m["dim_head"]
    expected = {
        "feature_embedding.pth": {
            "item.weight": [m["num_items"] + 2, m["item_embedding_dim"]],
            "category.weight": [m["num_categories"] + 2, m["cate_embedding_dim"]],
            "weekday.weight": [8, 8], "hour.weight": [25, 8], "weekend.weight": [3, 4],
            "behavior.weight": [5, 8], "continuous.weight": [8, 2], "continuous.bias": [8],
            "proj.weight": [H, m["item_embedding_dim"] + m["cate_embedding_dim"] + 36],
            "proj.bias": [H], "norm.weight": [H], "norm.bias": [H],
        },
        "moe_layer.pth": {"gate.weight": [E, H], "load": [E], "bias": [E]},
    }
    for group, count in (("experts", E), ("shared", S)):
        for i in range(count):
            p = f"{group}.{i}."
            expected["moe_layer.pth"].update({
                p + "norm.weight": [H], p + "norm.bias": [H],
                p + "w1.weight": [m["moe_hidden"], H], p + "w3.weight": [m["moe_hidden"], H],
                p + "w2.weight": [H, m["moe_hidden"]],
            })
    for name, max_len in (("long_term.pth", m["n_max"]), ("short_term.pth", m["k_max"])):
        t = {"cls": [H], "pos.weight": [max_len + 1, H], "norm.weight": [H], "norm.bias": [H]}
        for l in range(D):
            b = f"blocks.{l}."
            t.update({
                b + "attn_norm.weight": [H], b + "attn_norm.bias": [H],
                b + "attn.qkv.weight": [3 * inner, H], b + "attn.out.weight": [H, inner],
                b + "attn.out.bias": [H], b + "ff_norm.weight": [H], b + "ff_norm.bias": [H],
                b + "ff.fc1.weight": [4 * H, H], b + "ff.fc1.bias": [4 * H],
                b + "ff.fc2.weight": [H, 4 * H], b + "ff.fc2.bias": [H],
            })
        expected[name] = t

    with open(expected_path) as f:
        sums = json.load(f)
    problems = []
    for file, shapes in expected.items():
        state = torch.load(f"{save_dir}/{file}")
        if not isinstance(state, dict):
            problems.append(f"{file}: torch.load gave {type(state)}, not a dict")
            continue
        if set(state) != set(shapes):
            problems.append(f"{file}: keys differ: missing {sorted(set(shapes) - set(state))[:5]}, "
                            f"extra {sorted(set(state) - set(shapes))[:5]}")
        for key, shape in shapes.items():
            if key in state and list(state[key].shape) != shape:
                problems.append(f"{file}:{key}: shape {list(state[key].shape)} != {shape}")
        for key, value in sums.get(file, {}).items():
            got = state[key].double().sum().item()
            if abs(got - value) > 1e-4 * max(1.0, abs(value)):
                problems.append(f"{file}:{key}: sum {got} != {value}")
    fe = torch.load(f"{save_dir}/feature_embedding.pth")
    if fe["item.weight"][0].abs().sum().item() != 0:
        problems.append("item.weight row 0 (padding) is not zero")
    load = torch.load(f"{save_dir}/moe_layer.pth")["load"]
    if abs(load.sum().item() - E) > 1e-3:
        problems.append(f"load sums to {load.sum().item()}, not {E}")
    bias = torch.load(f"{save_dir}/moe_layer.pth")["bias"]
    if abs(bias.mean().item()) > 1e-5:
        problems.append(f"bias has mean {bias.mean().item()}, not 0 (it is re-centred)")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"ok: {sum(len(s) for s in expected.values())} tensors in 4 files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
