#!/usr/bin/env python3
"""Joins unirt and PyTorch timings (JSON lines) into one table with ratios.

usage: summarize.py GPU_DESCRIPTION unirt.jsonl torch.jsonl > table.md
Throughput is images per second of GPU compute time (CUDA graph replays for
unirt; CUDA events around each call for PyTorch)."""
import json
import sys


def load(path):
    rows = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows


def main():
    gpu, unirt_path, torch_path = sys.argv[1:4]
    t = {}
    for r in load(unirt_path):
        t[("unirt-" + r["precision"], r["batch"])] = r["ms"]
    for r in load(torch_path):
        t[(r["mode"], r["batch"])] = r["ms"]
    modes = ["unirt-fp32", "unirt-fp16", "unirt-int8", "eager-fp32", "eager-fp16", "fp16-cudagraphs", "fp16-compile-max-autotune"]
    batches = sorted({b for _, b in t})
    print(f"# IResNet-50 (112×112 → 512), GPU compute time per batch\n\nGPU: {gpu}\n")
    print("| batch | " + " | ".join(f"{m} ms" for m in modes) + " | unirt fp16 vs eager fp32 | vs fp16+graphs | vs compile | unirt int8 vs unirt fp16 |")
    print("|" + "---|" * (len(modes) + 5))
    for b in batches:
        cells = [f"{t[(m, b)]:.3f}" if (m, b) in t else "–" for m in modes]
        u = t.get(("unirt-fp16", b))

        def ratio(m):
            return f"{t[(m, b)] / u:.2f}×" if u and (m, b) in t else "–"
        i8 = t.get(("unirt-int8", b))
        int8 = f"{u / i8:.2f}×" if u and i8 else "–"
        print(f"| {b} | " + " | ".join(cells) + f" | {ratio('eager-fp32')} | {ratio('fp16-cudagraphs')} | {ratio('fp16-compile-max-autotune')} | {int8} |")
    print("\nRatios are throughput of unirt FP16 over the named PyTorch mode, and of unirt INT8 over unirt FP16 (higher is better for unirt).")


if __name__ == "__main__":
    main()
