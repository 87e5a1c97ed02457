#!/usr/bin/env bash
# GPU end-to-end check of GPU plans and of unirtd's GPU instances, on a GPU machine
# (called by `scripts/gpu-check.sh run`; needs the bundle's unirt, unirtd, the recognizer
# and its references, and python3 with numpy for the comparisons).
#
#   scripts/gpu-daemon-check.sh BUNDLE OUTDIR
#
# 1. `unirt build --device cuda` writes fp32 and fp16 GPU plans of the recognizer;
#    `unirt run` and `unirt bench` run them on the GPU.
# 2. unirtd serves the recognizer from one CPU and one GPU instance (`recognizer`),
#    and for comparison from a CPU instance only (`recognizer_cpu`), a GPU instance
#    only (`recognizer_gpu`) and a GPU instance running the fp16 plan (`recognizer_plan`).
# 3. `unirt perf` drives each with 16 concurrent clients while `unirt infer` clients
#    collect outputs from the mixed model under that load.
#    On a machine with two GPUs or more, `recognizer_2gpu` has one GPU instance on each of
#    GPUs 0 and 1 (`gpu = [0, 1]`): both must execute batches under that load.
# 4. Passes when the metrics show batches executed by both the CPU and the GPU
#    instance of `recognizer`, GPU memory is reported, every output matches the CPU
#    instance's output (fp32: relative L2 ≤ 1e-3; fp16 plan: cosine ≥ 0.9999), and
#    the daemon drains and exits 0 on SIGTERM.
#
# Writes OUTDIR/daemon-check.txt (everything printed), unirtd.log, metrics.txt, perf.jsonl.
# Environment: PERF_SECONDS (per model, default 6), PERF_CONCURRENCY (default 16).
set -uo pipefail
BUNDLE=${1:?usage: $0 BUNDLE OUTDIR}
OUT=${2:?usage: $0 BUNDLE OUTDIR}
mkdir -p "$OUT"
exec > >(tee "$OUT/daemon-check.txt") 2>&1

unirt=$(UNIRT_BUNDLE=$BUNDLE "$(dirname "$0")/gpu-check.sh" binary unirt)
unirtd=$(UNIRT_BUNDLE=$BUNDLE "$(dirname "$0")/gpu-check.sh" binary unirtd)
model=$BUNDLE/models/sface.onnx
ref=$BUNDLE/refs/sface
work=$(mktemp -d /tmp/unirt-gpu-daemon.XXXXXX)
secs=${PERF_SECONDS:-6}
conc=${PERF_CONCURRENCY:-16}
status=0
fail() { echo "FAIL $*"; status=1; }

echo "== GPU plans"
"$unirt" build "$model" -o "$work/sface-fp32.plan" --device cuda --precision fp32 || fail "build fp32 GPU plan"
"$unirt" build "$model" -o "$work/sface-fp16.plan" --device cuda --precision fp16 || fail "build fp16 GPU plan"
"$unirt" inspect "$work/sface-fp16.plan" | head -8
for p in fp32 fp16; do
    "$unirt" run "$work/sface-$p.plan" --input "data=$ref/in/data.npy" --output-dir "$work/run-$p" || fail "run $p GPU plan"
    "$unirt" bench "$work/sface-$p.plan" --iterations 200 --warmup 20 || fail "bench $p GPU plan"
done
"$unirt" bench "$model" --iterations 50 --warmup 5 || fail "bench on the CPU"

echo "== daemon with CPU and GPU instances"
table() {  # name path cpu gpu [GPU ordinals, default 0]
    printf '[models.%s]\npath = "%s"\nmax_batch_size = 16\nmax_queue_delay_us = 1000\nmax_queue_size = 4096\ninstances = { cpu = %s, gpu = %s }\ngpu = [%s]\n\n' "$1" "$2" "$3" "$4" "${5:-0}"
}
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
models=(recognizer recognizer_cpu recognizer_gpu recognizer_plan)
[ "${gpus:-1}" -ge 2 ] && models+=(recognizer_2gpu)
{
    echo "socket = \"$work/unirtd.sock\""
    table recognizer "$model" 1 1
    table recognizer_cpu "$model" 1 0
    table recognizer_gpu "$model" 0 1
    table recognizer_plan "$work/sface-fp16.plan" 0 1
    [ "${gpus:-1}" -ge 2 ] && table recognizer_2gpu "$model" 0 2 "0, 1"
} > "$work/unirtd.toml"
cat "$work/unirtd.toml"
"$unirtd" --config "$work/unirtd.toml" --log-level info 2> "$OUT/unirtd.log" &
daemon=$!
for _ in $(seq 600); do
    grep -qE '\] ready$' "$OUT/unirtd.log" && break
    kill -0 $daemon 2>/dev/null || break
    sleep 0.2
done
grep -E "ready|GPU|error" "$OUT/unirtd.log"
"$unirt" models --socket "$work/unirtd.sock" || fail "models"

echo "== load: $conc clients × ${secs}s per model; infer clients on 'recognizer' meanwhile"
: > "$OUT/perf.jsonl"
for m in "${models[@]}"; do
    clients=()
    if [ $m = recognizer ]; then
        for c in 1 2 3 4; do
            ( for i in 1 2 3 4 5 6; do
                "$unirt" infer --socket "$work/unirtd.sock" --model recognizer --input "data=$ref/in/data.npy" \
                    --output-dir "$work/mixed-$c-$i" > /dev/null || echo "FAIL infer client $c/$i"
              done ) &
            clients+=($!)
        done
    fi
    "$unirt" perf --socket "$work/unirtd.sock" --model $m --input "data=$ref/in/data.npy" \
        --concurrency "$conc" --duration "$secs" --json > "$work/perf-$m.json" || fail "perf $m"
    echo "{\"model\": \"$m\", \"perf\": $(tr -d '\n' < "$work/perf-$m.json")}" >> "$OUT/perf.jsonl"
    echo "$m: $(cat "$work/perf-$m.json")"
    [ ${#clients[@]} = 0 ] || wait "${clients[@]}"
done
for m in "${models[@]:1}"; do
    "$unirt" infer --socket "$work/unirtd.sock" --model $m --input "data=$ref/in/data.npy" --output-dir "$work/$m" > /dev/null \
        || fail "infer $m"
done

echo "== metrics"
"$unirt" metrics --socket "$work/unirtd.sock" > "$OUT/metrics.txt" || fail "metrics"
grep -E '^unirt_(instance_|model_instances|gpu_)|^unirt_executions_total' "$OUT/metrics.txt"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$OUT/metrics.txt"; }
cpu_runs=$(metric 'unirt_instance_executions_total{model="recognizer",device="cpu"}')
gpu_runs=$(metric 'unirt_instance_executions_total{model="recognizer",device="gpu0"}')
echo "recognizer batches: CPU instance ${cpu_runs:-0}, GPU instance ${gpu_runs:-0}"
[ "${cpu_runs:-0}" -gt 0 ] || fail "the CPU instance of 'recognizer' executed no batch"
[ "${gpu_runs:-0}" -gt 0 ] || fail "the GPU instance of 'recognizer' executed no batch"
grep -q '^unirt_gpu_memory_used_bytes{gpu="0"' "$OUT/metrics.txt" || fail "no GPU memory metric"
if [ "${gpus:-1}" -ge 2 ]; then
    for d in gpu0 gpu1; do
        runs=$(metric "unirt_instance_executions_total{model=\"recognizer_2gpu\",device=\"$d\"}")
        echo "recognizer_2gpu batches on $d: ${runs:-0}"
        [ "${runs:-0}" -gt 0 ] || fail "the $d instance of 'recognizer_2gpu' executed no batch"
    done
    grep -q '^unirt_gpu_memory_used_bytes{gpu="1"' "$OUT/metrics.txt" || fail "no GPU memory metric for GPU 1"
else
    echo "note: one GPU here; the two-GPU placement check (recognizer_2gpu) needs two"
fi
grep -q '^unirt_gpu_utilization_ratio{gpu="0"' "$OUT/metrics.txt" || echo "note: no GPU utilization metric (NVML not found)"

echo "== outputs against the CPU instance"
python3 - "$work" "$ref" <<'EOF' || status=1
import glob, sys
import numpy as np
work, ref = sys.argv[1], sys.argv[2]
cpu = np.load(f"{work}/recognizer_cpu/fc1.npy").astype(np.float64).ravel()
onnx = np.load(f"{ref}/ref/fc1.npy").astype(np.float64).ravel()
def rel(a): return float(np.linalg.norm(a - cpu) / np.linalg.norm(cpu))
def cos(a): return float(a @ cpu / (np.linalg.norm(a) * np.linalg.norm(cpu)))
bad = 0
print(f"CPU instance vs reference: rel {rel(onnx):.2e}")
cases = [(p, "fp32") for p in sorted(glob.glob(f"{work}/mixed-*/fc1.npy"))]
cases += [(p, "fp32") for p in glob.glob(f"{work}/recognizer_2gpu/fc1.npy")]
cases += [(f"{work}/recognizer_gpu/fc1.npy", "fp32"), (f"{work}/run-fp32/fc1.npy", "fp32"),
          (f"{work}/recognizer_plan/fc1.npy", "fp16"), (f"{work}/run-fp16/fc1.npy", "fp16")]
for path, prec in cases:
    try:
        a = np.load(path).astype(np.float64).ravel()
    except OSError:
        print(f"FAIL missing {path}"); bad += 1; continue
    ok = rel(a) <= 1e-3 if prec == "fp32" else cos(a) >= 0.9999
    bad += not ok
    print(f"{'PASS' if ok else 'FAIL'} {path[len(work) + 1:]} ({prec}): rel {rel(a):.2e} cos {cos(a):.6f}")
mixed = len(glob.glob(f"{work}/mixed-*/fc1.npy"))
print(f"{mixed} outputs of 'recognizer' collected under load; {bad} over the bar")
sys.exit(1 if bad or mixed < 24 else 0)
EOF

echo "== SIGTERM"
kill -TERM $daemon
for _ in $(seq 300); do kill -0 $daemon 2>/dev/null || break; sleep 0.2; done
kill -0 $daemon 2>/dev/null && { fail "unirtd did not exit within 60 s of SIGTERM"; kill -KILL $daemon; }
wait $daemon
code=$?
[ $code = 0 ] || fail "unirtd exited $code"
rm -rf "$work"
[ $status = 0 ] && echo "PASS gpu-daemon-check" || echo "FAIL gpu-daemon-check"
exit $status
