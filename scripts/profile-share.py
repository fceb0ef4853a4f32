"""Share of a profiled training step spent in attention, from a LibTorch profiler trace
(bench_train with LTI_PROFILE=trace.json: Chrome trace "X" events, nested per thread).

usage: profile-share.py TRACE.json

Attention is the part of a tower block between q/k/v and the output projection:
  - LibTorch 2.x: the fused kernel, aten::_scaled_dot_product_flash_attention_for_cpu (or any
    other scaled_dot_product kernel) and its backward;
  - LibTorch 1.13 (commit fff1236): the explicit scores q k^T and context p v (aten::bmm, the
    only batched products in the model: the linear layers use addmm/mm), the mask add and the
    softmax, forward and backward.
Each event is counted once: an event inside another counted event of the same thread is not
counted again. The step is the span from the first event's start to the last event's end.
"""
import json
import re
import sys

ATTENTION = re.compile(
    r"scaled_dot_product|flash_attention|efficient_attention|^aten::bmm$|^aten::_softmax$|"
    r"^aten::_softmax_backward_data$|^BmmBackward|^SoftmaxBackward")


def main(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    spans = [e for e in events if e.get("ph") == "X" and "dur" in e]
    if not spans:
        sys.exit(f"{path}: no timed events")
    begin = min(e["ts"] for e in spans)
    end = max(e["ts"] + e["dur"] for e in spans)
    counted = 0.0
    by_name = {}
    last_end = {}  # per thread: end of the last counted event (nested ones are skipped)
    for e in sorted(spans, key=lambda e: (e.get("tid", 0), e["ts"])):
        if not ATTENTION.search(e["name"]):
            continue
        tid = e.get("tid", 0)
        if e["ts"] < last_end.get(tid, -1.0):
            continue
        last_end[tid] = e["ts"] + e["dur"]
        counted += e["dur"]
        by_name[e["name"]] = by_name.get(e["name"], 0.0) + e["dur"]
    step = end - begin
    print(f"step {step / 1e6:.2f} s, attention {counted / 1e6:.2f} s = {100 * counted / step:.1f}%")
    for name, dur in sorted(by_name.items(), key=lambda kv: -kv[1]):
        print(f"  {name}: {dur / 1e6:.3f} s")


if __name__ == "__main__":
    main(sys.argv[1])
