#!/usr/bin/env python3
"""IResNet-50 (ArcFace R50 layout) in PyTorch with fixed random weights.

  iresnet.py export OUTDIR     writes OUTDIR/iresnet50.onnx (dynamic batch) and a reference
                               case OUTDIR/ref-iresnet50/{in/data.npy, ref/embedding.npy}
                               computed in float64 on the CPU
  iresnet.py time OUT.jsonl    times PyTorch eager FP32, eager FP16, FP16 + CUDA graphs and
                               FP16 torch.compile(mode='max-autotune') at each --compile-batch, one JSON object per line

Layout: stem Conv3x3(3→64)-BN-PReLU; four stages of (3, 4, 14, 3) blocks of widths
64/128/256/512, each block BN-Conv3x3-BN-PReLU-Conv3x3(stride)-BN plus a shortcut
(Conv1x1(stride)-BN when the shape changes); then BN, flatten, FC(512·7·7 → 512), BN1d.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-5)
        self.prelu = nn.PReLU(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout, eps=1e-5)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=1e-5))

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return y + (x if self.down is None else self.down(x))


class IResNet50(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, eps=1e-5)
        self.prelu = nn.PReLU(64)
        blocks, cin = [], 64
        for n, w in zip((3, 4, 14, 3), (64, 128, 256, 512)):
            for i in range(n):
                blocks.append(Block(cin, w, 2 if i == 0 else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.bn2 = nn.BatchNorm2d(512, eps=1e-5)
        self.fc = nn.Linear(512 * 7 * 7, 512)
        self.features = nn.BatchNorm1d(512, eps=1e-5)

    def forward(self, x):
        x = self.blocks(self.prelu(self.bn1(self.conv1(x))))
        return self.features(self.fc(torch.flatten(self.bn2(x), 1)))


def build(seed=1234):
    torch.manual_seed(seed)
    m = IResNet50()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, mod in m.named_modules():
            if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
                c = mod.num_features
                # Residual branches end in small gains so activations stay in FP16 range.
                lo, hi = (0.1, 0.3) if name.endswith("bn3") else (0.8, 1.2)
                mod.weight.copy_(torch.rand(c, generator=g) * (hi - lo) + lo)
                mod.bias.copy_((torch.rand(c, generator=g) - 0.5) * 0.2)
                mod.running_mean.copy_((torch.rand(c, generator=g) - 0.5) * 0.2)
                mod.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            elif isinstance(mod, nn.PReLU):
                mod.weight.copy_(torch.rand(mod.weight.shape, generator=g) * 0.3)
    return m.eval()


def export(outdir):
    os.makedirs(outdir, exist_ok=True)
    m = build()
    x = torch.rand(1, 3, 112, 112, generator=torch.Generator().manual_seed(7)) * 2 - 1
    path = os.path.join(outdir, "iresnet50.onnx")
    torch.onnx.export(m, x, path, input_names=["data"], output_names=["embedding"], opset_version=17,
                      dynamic_axes={"data": {0: "N"}, "embedding": {0: "N"}}, dynamo=False)
    with torch.no_grad():
        ref = m.double()(x.double()).float().numpy()
    case = os.path.join(outdir, "ref-iresnet50")
    os.makedirs(os.path.join(case, "in"), exist_ok=True)
    os.makedirs(os.path.join(case, "ref"), exist_ok=True)
    np.save(os.path.join(case, "in", "data.npy"), x.numpy())
    np.save(os.path.join(case, "ref", "embedding.npy"), ref)
    print(f"wrote {path} and {case} (|ref| = {np.linalg.norm(ref):.3f})")


def bench(fn, x, iters, warmup=10):
    for _ in range(warmup):
        fn(x)
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        fn(x)
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return float(np.median(times))


def time_torch(out, batches, iters, compile_batches):
    dev = torch.device("cuda")
    sink = open(out, "w")

    def emit(row):
        print(json.dumps(row), flush=True)
        sink.write(json.dumps(row) + "\n")
        sink.flush()

    m32 = build().to(dev)
    m16 = build().to(dev).half()
    rows = []
    with torch.inference_mode():
        for b in batches:
            x = torch.rand(b, 3, 112, 112, device=dev) * 2 - 1
            rows.append(("eager-fp32", b, bench(m32, x, iters)))
            xh = x.half()
            rows.append(("eager-fp16", b, bench(m16, xh, iters)))
            static = xh.clone()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    m16(static)
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                m16(static)
            rows.append(("fp16-cudagraphs", b, bench(lambda _: graph.replay(), static, iters)))
            for r in rows[-3:]:
                emit({"engine": "pytorch", "mode": r[0], "batch": r[1], "ms": r[2]})
        if compile_batches:
            mc = torch.compile(m16, mode="max-autotune")
            for b in compile_batches:
                xh = (torch.rand(b, 3, 112, 112, device=dev) * 2 - 1).half()
                t0 = time.time()
                mc(xh)
                ms = bench(mc, xh, iters)
                emit({"engine": "pytorch", "mode": "fp16-compile-max-autotune", "batch": b, "ms": ms,
                      "compile_s": time.time() - t0})
    sink.close()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("outdir")
    t = sub.add_parser("time")
    t.add_argument("out")
    t.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32, 128])
    t.add_argument("--iters", type=int, default=50)
    t.add_argument("--compile-batch", type=int, nargs="*", default=[],
                   help="batch sizes also timed with torch.compile(mode='max-autotune') (slow to compile)")
    a = ap.parse_args()
    if a.cmd == "export":
        export(a.outdir)
    else:
        time_torch(a.out, a.batch, a.iters, a.compile_batch)


if __name__ == "__main__":
    sys.exit(main())
