#!/usr/bin/env python3
"""unirt vs ONNX Runtime on the CPU, side by side in one run.

For each case the two runtimes are timed in turns (A B A B …) on the same real
inputs with the same thread count (ONNX Runtime: intra-op threads = T, inter-op
1, all graph optimizations on). Each runtime runs in its own process (ONNX
Runtime in a worker that imports only numpy and onnxruntime), so each peak RSS
(VmHWM) is its own; the worker's includes the Python interpreter and numpy. Prints each median, the speed ratio and both peak
RSS, and saves the results with a description of the machine under
bench/results/.

ONNX Runtime cannot run the shipped YuNet and SFace files (opset-21 blockwise
DequantizeLinear; SFace's dangling inputs), so it runs float copies of the same
weights (scripts/onnxtools.py), with initializers taken out of the graph inputs
so that its constant folding is not disabled. unirt runs the shipped files.

    .venv/bin/python bench/cpu-vs-ort.py [--threads 2] [--rounds 5] [--only sface_b1,...]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]

CACHE = Path(os.environ.get("UNIRT_CACHE", ROOT / ".cache"))
UNIRT = os.environ.get("UNIRT", str(ROOT / ".build/release/unirt"))


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    except (OSError, StopIteration):
        flags = []
    return {
        "cpu": cpu, "cores": os.cpu_count(), "machine": platform.machine(), "kernel": platform.release(),
        "simd": [f for f in ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni") if f in flags],
        "onnxruntime": ort.__version__, "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def ort_model(name: str, batch: int) -> bytes:
    """The model ONNX Runtime runs: float copy, initializers out of the inputs, batch set."""
    # Imported here so that the ONNX Runtime worker process does not load them.
    import onnx
    sys.path.insert(0, str(ROOT / "scripts"))
    import onnxtools
    src = CACHE / "models" / f"{name}.onnx"
    m = onnx.load(str(src))
    if name in ("yunet", "sface"):
        m, _ = onnxtools.runnable_by_ort(m)
    inits = {i.name for i in m.graph.initializer}
    keep = [i for i in m.graph.input if i.name not in inits]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    if batch != 1:
        m, _ = onnxtools.override_batch(m, batch)
    return m.SerializeToString()


def inputs_for(name: str, batch: int, size: int) -> dict:
    """Real inputs from the reference set (face crops, letterboxed photo, portrait)."""
    ref = CACHE / "refs"
    if name == "sface":
        crops = np.load(ref / "sface_b4/in/data.npy")
        reps = -(-batch // crops.shape[0])
        return {"data": np.concatenate([crops] * reps)[:batch].astype(np.float32)}
    if name == "yunet":
        return {"input": np.load(ref / "yunet/in/input.npy").astype(np.float32)}
    img = np.load(ref / "multistyle26/in/image.npy")
    if img.shape[-1] != size:
        # Nearest upsampling of the real 256×256 portrait to the benchmark size.
        idx = (np.arange(size) * img.shape[-1] // size)
        img = img[:, :, idx][:, :, :, idx]
    return {"image": np.ascontiguousarray(img, dtype=np.float32),
            "style_weights": np.load(ref / "multistyle26/in/style_weights.npy")}


def ort_worker(model: str, inputs: str, threads: int) -> None:
    """ONNX Runtime in its own process: answers `time N` with the median ms of
    N runs (after 2 warm-ups) and `rss` with its peak RSS in bytes."""
    import resource
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    feed = dict(np.load(inputs))
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "time":
            for _ in range(2):
                sess.run(None, feed)
            ts = []
            for _ in range(int(cmd[1])):
                t = time.perf_counter()
                sess.run(None, feed)
                ts.append(time.perf_counter() - t)
            print(float(np.median(ts)) * 1000, flush=True)
        elif cmd[0] == "rss":
            # VmHWM: Linux's ru_maxrss would include the parent's peak.
            hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
            kib = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(kib * 1024, flush=True)
        else:
            return


class OrtProcess:
    """A running ort_worker for one case."""

    def __init__(self, model: bytes, feed: dict, threads: int, tmp: Path, case: str):
        mp, ip = tmp / f"{case}.onnx", tmp / f"{case}-inputs.npz"
        mp.write_bytes(model)
        np.savez(ip, **feed)
        self.proc = subprocess.Popen([sys.executable, __file__, "--ort-worker", str(mp), str(ip), str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, line: str) -> float:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait()


def time_unirt(name: str, feed: dict, batch: int, threads: int, iters: int, tmp: Path) -> dict:
    args = [UNIRT, "bench", str(CACHE / "models" / f"{name}.onnx"), "--threads", str(threads),
            "--iterations", str(iters), "--warmup", "2", "--json"]
    if batch != 1:
        args += ["--batch", str(batch)]
    for k, v in feed.items():
        p = tmp / f"{name}-{batch}-{k}.npy"
        if not p.exists():
            np.save(p, v)
        args += ["--input", f"{k}={p}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def ratio_chart(report: dict) -> str:
    """An SVG of each case's speed ratio (ORT time / unirt time): the median of the
    per-round ratios as a bar, every round as a dot, and lines at 1.0x and 1.2x."""
    rows = report["results"]
    width, left, bar_h, gap, top = 640, 150, 22, 14, 40
    height = top + len(rows) * (bar_h + gap) + 40
    top_ratio = max([2.0] + [max(r["round_ratios"]) for r in rows]) * 1.05
    def x(v: float) -> float:
        return left + (width - left - 20) * v / top_ratio
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="20" font-size="14">unirt speed vs ONNX Runtime, {report["threads"]} threads '
             f'({report["machine"]["date"]})</text>']
    for v, label, dash in ((1.0, "1.0x", "4,3"), (1.2, "1.2x", "")):
        parts.append(f'<line x1="{x(v):.1f}" y1="{top - 8}" x2="{x(v):.1f}" y2="{height - 30}" stroke="#888" '
                     f'stroke-dasharray="{dash}"/><text x="{x(v) - 12:.1f}" y="{height - 14}">{label}</text>')
    for i, r in enumerate(rows):
        y = top + i * (bar_h + gap)
        med = r["round_ratio_median"]
        color = "#2a7" if med >= 1.2 else "#d83"
        parts.append(f'<text x="{left - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{r["case"]}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{x(med) - left:.1f}" height="{bar_h}" fill="{color}" opacity="0.8"/>')
        parts.append(f'<text x="{left + 6}" y="{y + bar_h * 0.7:.1f}" fill="white" font-weight="bold">{med:.2f}x</text>')
        for v in r["round_ratios"]:
            parts.append(f'<circle cx="{x(v):.1f}" cy="{y + bar_h / 2:.1f}" r="2.5" fill="#123"/>')
    parts.append(f'<text x="{left}" y="{height - 2}" font-size="10">bar: median of per-round ratios; dots: each round '
                 '(ORT and unirt timed back to back)</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5, help="A/B rounds per case")
    ap.add_argument("--iterations", type=int, default=10, help="timed runs per round")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--out", default=str(ROOT / "bench/results"))
    ap.add_argument("--isa", choices=["avx2", "generic"],
                    help="run unirt on these kernels only (UNIRT_CPU_ISA), as on a CPU without AVX-512; "
                         "ONNX Runtime unchanged; results saved as cpu-vs-ort-ISA-*")
    ap.add_argument("--ort-worker", nargs=3, metavar=("MODEL", "INPUTS", "THREADS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.isa:
        os.environ["UNIRT_CPU_ISA"] = args.isa
    if args.ort_worker:
        ort_worker(args.ort_worker[0], args.ort_worker[1], int(args.ort_worker[2]))
        return

    cases = [("sface_b1", "sface", 1, 0), ("sface_b8", "sface", 8, 0),
             ("yunet_640", "yunet", 1, 0), ("multistyle26_512", "multistyle26", 1, 512)]
    if args.only:
        keep = set(args.only.split(","))
        cases = [c for c in cases if c[0] in keep]

    results = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        for case, name, batch, size in cases:
            feed = inputs_for(name, batch, size)
            worker = OrtProcess(ort_model(name, batch), feed, args.threads, tmp, case)
            ort_ms, uni_ms, uni_rss = [], [], []
            for _ in range(args.rounds):
                ort_ms.append(worker.ask(f"time {args.iterations}"))
                r = time_unirt(name, feed, batch, args.threads, args.iterations, tmp)
                uni_ms.append(r["p50_ms"])
                uni_rss.append(r["peak_rss_bytes"])
            ort_rss = int(worker.ask("rss"))
            worker.close()
            o, u = float(np.median(ort_ms)), float(np.median(uni_ms))
            # Each round's pair ran back to back; on a shared machine whose speed drifts,
            # the median of the per-round ratios is the steadier comparison.
            pairs = [a / b for a, b in zip(ort_ms, uni_ms)]
            row = {"case": case, "batch": batch, "threads": args.threads, "ort_ms": o, "unirt_ms": u,
                   "speedup": o / u, "round_ratio_median": float(np.median(pairs)),
                   "round_ratios": pairs, "unirt_peak_rss_bytes": int(max(uni_rss)), "ort_peak_rss_bytes": ort_rss,
                   "rss_ratio": max(uni_rss) / ort_rss, "ort_rounds_ms": ort_ms, "unirt_rounds_ms": uni_ms}
            results.append(row)
            print(f"{case:18s} ORT {o:9.2f} ms   unirt {u:9.2f} ms   unirt/ORT speed {o / u:5.2f}x "
                  f"(per-round median {np.median(pairs):4.2f}x, {min(pairs):4.2f}-{max(pairs):4.2f})   "
                  f"peak RSS ORT {ort_rss / 2**20:7.1f} MiB unirt {max(uni_rss) / 2**20:7.1f} MiB "
                  f"({max(uni_rss) / ort_rss:4.2f}x)", flush=True)

    report = {"machine": machine(), "threads": args.threads, "rounds": args.rounds,
              "unirt_isa": args.isa or "detected", "results": results}
    prefix = f"cpu-vs-ort-{args.isa}" if args.isa else "cpu-vs-ort"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{prefix}-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# unirt vs ONNX Runtime, CPU, {args.threads} threads ({report['machine']['date']})", "",
             f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
             f"SIMD {' '.join(report['machine']['simd'])}; onnxruntime {report['machine']['onnxruntime']}; "
             f"unirt kernels: {report['unirt_isa']}", "",
             "| case | ONNX Runtime p50 ms | unirt p50 ms | speed ratio | per-round ratios (median, range) | ORT peak RSS MiB | unirt peak RSS MiB | RSS ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        rr = r["round_ratios"]
        lines.append(f"| {r['case']} | {r['ort_ms']:.2f} | {r['unirt_ms']:.2f} | {r['speedup']:.2f}× | "
                     f"{r['round_ratio_median']:.2f}× ({min(rr):.2f}–{max(rr):.2f}) | "
                     f"{r['ort_peak_rss_bytes'] / 2**20:.1f} | {r['unirt_peak_rss_bytes'] / 2**20:.1f} | "
                     f"{r['rss_ratio']:.2f}× |")
    (out / f"{prefix}-latest.md").write_text("\n".join(lines) + "\n")
    (out / f"{prefix}-latest.svg").write_text(ratio_chart(report))
    print(f"saved {out / f'{prefix}-{stamp}.json'}")


if __name__ == "__main__":
    main()
