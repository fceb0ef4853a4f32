"""Which kernel LibTorch's scaled_dot_product_attention takes on the CPU with lti's boolean
padding mask, and how it compares with the explicit form (two batched products and a softmax)
at a tower block's shapes: 32 users (a training chunk), 8 heads, 257 positions, dim_head 64,
2 threads, forward + backward and forward alone.

usage: /opt/lti/venv/bin/python scripts/bench-attention.py
"""
import time

import torch

torch.set_num_threads(2)
torch.manual_seed(0)
B, H, T, D = 32, 8, 257, 64
names = {int(v): k for k, v in torch.nn.attention.SDPBackend.__members__.items()}


def explicit(q, k, v, valid):
    s = torch.matmul(q * D ** -0.5, k.transpose(-2, -1))
    s = s + torch.zeros(B, 1, 1, T, dtype=s.dtype).masked_fill(~valid.view(B, 1, 1, T), float("-inf"))
    return torch.matmul(torch.softmax(s, -1), v)


def fused(q, k, v, valid):
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=valid.view(B, 1, 1, T))


def timed(f, *args, backward):
    best = float("inf")
    for _ in range(2):  # the first round warms up
        t0 = time.perf_counter()
        for _ in range(5):
            out = f(*args)
            if backward:
                out.float().sum().backward()
        best = min(best, (time.perf_counter() - t0) / 5)
    return best * 1000


print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, [B, heads, T, dh] = [{B}, {H}, {T}, {D}]")
for dtype in (torch.float32, torch.bfloat16):
    q, k, v = (torch.randn(B, H, T, D, dtype=dtype, requires_grad=True) for _ in range(3))
    valid = torch.rand(B, T) > 0.05
    valid[:, 0] = True
    kernel = names.get(torch._fused_sdp_choice(q, k, v, attn_mask=valid.view(B, 1, 1, T)))
    for name, f in (("explicit", explicit), ("fused", fused)):
        both = timed(f, q, k, v, valid, backward=True)
        with torch.no_grad():
            forward = timed(f, q, k, v, valid, backward=False)
        label = f"fused ({kernel})" if name == "fused" else name
        print(f"{str(dtype):15} {label:26} forward+backward {both:5.0f} ms, forward {forward:4.0f} ms")
