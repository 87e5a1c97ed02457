#!/usr/bin/env python3
"""Joins unirt and PyTorch timings (JSON lines) into one table with ratios.

usage: summarize.py GPU_DESCRIPTION unirt.jsonl torch.jsonl [--svg chart.svg] > table.md
Throughput is images per second of GPU compute time (CUDA graph replays for
unirt; CUDA events around each call for PyTorch). --svg also draws it: one group
of bars per batch size, one bar per mode, on a logarithmic axis."""
import json
import math
import sys


def load(path):
    rows = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows


MODES = ["unirt-fp32", "unirt-fp16", "unirt-int8", "eager-fp32", "eager-fp16", "fp16-cudagraphs", "fp16-compile-max-autotune"]
COLORS = {"unirt-fp32": "#9ecae1", "unirt-fp16": "#3182bd", "unirt-int8": "#08519c", "eager-fp32": "#fdae6b",
          "eager-fp16": "#e6550d", "fp16-cudagraphs": "#a63603", "fp16-compile-max-autotune": "#7f2704"}


def svg_chart(t, gpu):
    """Grouped bars of images per second (log axis) per batch size and mode."""
    batches = sorted({b for _, b in t})
    modes = [m for m in MODES if any((m, b) in t for b in batches)]
    ips = {k: k[1] * 1000.0 / ms for k, ms in t.items()}
    lo = 10 ** math.floor(math.log10(min(ips.values())))
    hi = 10 ** math.ceil(math.log10(max(ips.values())))
    bar, gap, left, top, plot_h = 14, 26, 70, 40, 260
    group = len(modes) * bar + gap
    width = left + len(batches) * group + 190
    height = top + plot_h + 50

    def y(v):
        return top + plot_h * (1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<text x="{left}" y="18" font-size="13">IResNet-50 images/s, GPU compute time ({gpu})</text>']
    decade = lo
    while decade <= hi:
        out.append(f'<line x1="{left}" x2="{left + len(batches) * group}" y1="{y(decade):.1f}" y2="{y(decade):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(decade) + 4:.1f}" text-anchor="end">{decade:g}</text>')
        decade *= 10
    for gi, b in enumerate(batches):
        x0 = left + gi * group + gap / 2
        for mi, m in enumerate(modes):
            if (m, b) not in ips:
                continue
            v = ips[(m, b)]
            x = x0 + mi * bar
            out.append(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bar - 2}" height="{top + plot_h - y(v):.1f}" fill="{COLORS[m]}">'
                       f'<title>{m}, batch {b}: {v:.0f} images/s ({t[(m, b)]:.3f} ms)</title></rect>')
        out.append(f'<text x="{x0 + len(modes) * bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">batch {b}</text>')
    for mi, m in enumerate(modes):
        ly = top + 10 + mi * 18
        lx = left + len(batches) * group + 14
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="11" height="11" fill="{COLORS[m]}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly}">{m}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    args = sys.argv[1:]
    svg = None
    if "--svg" in args:
        i = args.index("--svg")
        svg = args[i + 1]
        del args[i:i + 2]
    gpu, unirt_path, torch_path = args[:3]
    t = {}
    for r in load(unirt_path):
        t[("unirt-" + r["precision"], r["batch"])] = r["ms"]
    for r in load(torch_path):
        t[(r["mode"], r["batch"])] = r["ms"]
    modes = MODES
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
    if svg and t:
        with open(svg, "w") as f:
            f.write(svg_chart(t, gpu))


if __name__ == "__main__":
    main()
