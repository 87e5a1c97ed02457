#!/usr/bin/env bash
# GPU check: build a self-contained bundle on a CPU machine, run the GPU checks
# and the GPU benchmark with it on a GPU machine.
#
#   scripts/gpu-check.sh bundle        build .bundle/ (static release unirt + unirtd,
#                                      models and references from .cache/)
#   scripts/gpu-check.sh run [OUTDIR]  on the GPU machine: devices, parity of the
#                                      real models (FP32/FP16), INT8 SFace plans on
#                                      held-out faces, IResNet-50 export, parity (FP32,
#                                      FP16, INT8) and benchmark against PyTorch; GPU plans
#                                      and unirtd with CPU + GPU instances
#                                      (scripts/gpu-daemon-check.sh)
#
# Environment: UNIRT_CUDA_LIBRARY_PATH (extra library folders; `run` adds
# PyTorch's nvidia/cu13/lib when python3 has torch), BENCH_BATCHES (default
# "1 8 32 128"), BENCH_COMPILE_BATCHES (batch sizes also timed with
# torch.compile(mode='max-autotune'), slow to compile; default none),
# SKIP_BENCH=1 to run the parity checks only, SKIP_DAEMON=1 to leave out
# scripts/gpu-daemon-check.sh, SKIP_PARITY=1 to leave out the FP32/FP16 parity
# of the three real models, BENCH_PROFILE=1 to print where GPU time goes,
# BENCH_PRECISIONS (unirt float precisions timed, default "fp32 fp16"; int8 is
# added when the bundle has calibration crops), BENCH_TORCH=0 to leave out PyTorch, UNIRT_BUNDLE (bundle folder, default
# .bundle) and UNIRT_BUNDLE_SCRATCH (build folder, default .build-static).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUNDLE=${UNIRT_BUNDLE:-$ROOT/.bundle}

# Path of the bundle's binary $1, unpacked to /tmp when the bundle holds it compressed
# (unirt-bin.tar.xz; older bundles: $1.gz).
bundle_binary() {
    local bin=$BUNDLE/bin
    if [ -x "$bin/$1" ]; then echo "$bin/$1"; return; fi
    if [ -f "$bin/unirt-bin.tar.xz" ]; then
        if [ ! -x "/tmp/unirt-bundle-bin/$1" ]; then
            mkdir -p /tmp/unirt-bundle-bin
            python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
                "$bin/unirt-bin.tar.xz" /tmp/unirt-bundle-bin >&2
            chmod +x /tmp/unirt-bundle-bin/*
        fi
        echo "/tmp/unirt-bundle-bin/$1"
        return
    fi
    gunzip -c "$bin/$1.gz" > "/tmp/$1-bundle" && chmod +x "/tmp/$1-bundle" && echo "/tmp/$1-bundle"
}

bundle() {
    local scratch=${UNIRT_BUNDLE_SCRATCH:-$ROOT/.build-static}
    UNIRT_STATIC=1 swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product unirt
    UNIRT_STATIC=1 swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product unirtd
    mkdir -p "$BUNDLE/bin" "$BUNDLE/models" "$BUNDLE/refs"
    rm -f "$BUNDLE/bin/"*
    for b in unirt unirtd; do
        cp "$scratch/release/$b" "$BUNDLE/bin/$b"
        strip "$BUNDLE/bin/$b" || true
        if ldd "$BUNDLE/bin/$b" | grep -vE 'linux-vdso|ld-linux|libc\.so|libm\.so|libstdc\+\+|libgcc_s|libdl|libpthread|librt|libutil' | grep -q '=>'; then
            echo "error: $b needs more than glibc/libstdc++/libgcc_s:" >&2
            ldd "$BUNDLE/bin/$b" >&2
            exit 1
        fi
        if ldd "$BUNDLE/bin/$b" | grep -qi cuda; then echo "error: $b links CUDA" >&2; exit 1; fi
    done
    # Both binaries in one xz stream whose dictionary holds them both, so that the static
    # libraries they share are stored once: the bundle and the references travel in well
    # under 64 MiB (two gzip files were 60 MB).
    tar -C "$BUNDLE/bin" -cf - unirt unirtd | xz -9 --lzma2=preset=9,dict=192MiB > "$BUNDLE/bin/unirt-bin.tar.xz"
    rm "$BUNDLE/bin/unirt" "$BUNDLE/bin/unirtd"
    for m in yunet sface multistyle26; do
        cp "$ROOT/.cache/models/$m.onnx" "$BUNDLE/models/"
        rm -rf "$BUNDLE/refs/$m"
        cp -r "$ROOT/.cache/refs/$m" "$BUNDLE/refs/$m"
    done
    # Face crops for int8 GPU plans: calibration samples and evaluation faces with FP32 embeddings.
    rm -rf "$BUNDLE/calib" "$BUNDLE/refs/sface-eval"
    "$ROOT/.venv/bin/python" bench/quant-accuracy.py --export-gpu "$BUNDLE"
    du -sh "$BUNDLE"
}

run() {
    local out=${1:-${OUT:-$ROOT/gpu-results}}
    mkdir -p "$out"
    local unirt
    unirt=$(bundle_binary unirt)
    local torchlib
    torchlib=$(python3 -c 'import os, torch; p = os.path.join(os.path.dirname(torch.__file__), "..", "nvidia", "cu13", "lib"); print(os.path.realpath(p))' 2>/dev/null || true)
    if [ -n "$torchlib" ] && [ -d "$torchlib" ]; then
        export UNIRT_CUDA_LIBRARY_PATH=${UNIRT_CUDA_LIBRARY_PATH:+$UNIRT_CUDA_LIBRARY_PATH:}$torchlib
    fi
    "$unirt" devices | tee "$out/devices.txt"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader > "$out/gpu.txt" 2>/dev/null || true
    local status=0
    [ "${SKIP_PARITY:-0}" = 1 ] || "$unirt" gpu-check --case "$BUNDLE/models/yunet.onnx=$BUNDLE/refs/yunet" \
        --case "$BUNDLE/models/sface.onnx=$BUNDLE/refs/sface" \
        --case "$BUNDLE/models/multistyle26.onnx=$BUNDLE/refs/multistyle26" 2>&1 | tee "$out/parity.txt" || status=1
    # GPU plans and unirtd serving the recognizer from a CPU and a GPU instance at once.
    # INT8 GPU plans: SFace calibrated on face crops (same settings as the CPU accuracy bench), checked on
    # held-out faces against FP32 embeddings and against the same int8 graph on the CPU.
    if [ -d "$BUNDLE/calib/sface" ]; then
        local faces
        faces=$(python3 -c 'import sys, numpy; print(numpy.load(sys.argv[1]).shape[0])' "$BUNDLE/refs/sface-eval/in/data.npy")
        "$unirt" build "$BUNDLE/models/sface.onnx" -o /tmp/sface-int8.plan --device cuda --precision int8 --batch "$faces" \
            --calib "$BUNDLE/calib/sface" --calib-method mse --accuracy-target cosine=0.995 2>&1 | tee -a "$out/int8-build.txt" || status=1
        "$unirt" gpu-check --case "/tmp/sface-int8.plan=$BUNDLE/refs/sface-eval" --precision int8 2>&1 | tee -a "$out/parity.txt" || status=1
        # The plan carries the kernels compiled for this GPU: loading it must not compile them again.
        "$unirt" inspect /tmp/sface-int8.plan | grep '^kernels:' | tee -a "$out/int8-build.txt"
        "$unirt" bench "$BUNDLE/models/sface.onnx" --device cuda --iterations 5 2>&1 | grep '^kernels:' | tee -a "$out/int8-build.txt"
        local planbench
        planbench=$("$unirt" bench /tmp/sface-int8.plan --iterations 5 2>&1 | tee -a "$out/int8-build.txt")
        if grep -q 'GPU kernels loaded from the plan file' <<<"$planbench"; then
            echo "PASS stored GPU kernels: the plan's CUBIN loaded without NVRTC" | tee -a "$out/parity.txt"
        else
            echo "FAIL stored GPU kernels: the plan's CUBIN was not used" | tee -a "$out/parity.txt"
            status=1
        fi
        # Without NVRTC (a deployment machine with only the driver, cuDNN and cuBLASLt): the plan that carries its
        # kernels runs; an ONNX model, whose kernels would need compiling, is refused with one line naming NVRTC.
        if UNIRT_CUDA_NO_NVRTC=1 "$unirt" bench /tmp/sface-int8.plan --iterations 5 2>&1 | tee -a "$out/int8-build.txt" \
            | grep -q 'GPU kernels loaded from the plan file'; then
            echo "PASS without NVRTC: the plan carrying its kernels ran" | tee -a "$out/parity.txt"
        else
            echo "FAIL without NVRTC: the plan carrying its kernels did not run" | tee -a "$out/parity.txt"
            status=1
        fi
        local refused
        refused=$(UNIRT_CUDA_NO_NVRTC=1 "$unirt" bench "$BUNDLE/models/sface.onnx" --device cuda --iterations 5 2>&1) && refused="ran: $refused"
        if [ "$(wc -l <<<"$refused")" = 1 ] && grep -q 'NVRTC is not available' <<<"$refused"; then
            echo "PASS without NVRTC: an ONNX model is refused: $refused" | tee -a "$out/parity.txt"
        else
            echo "FAIL without NVRTC: expected a one-line refusal naming NVRTC, got: $(head -3 <<<"$refused")" | tee -a "$out/parity.txt"
            status=1
        fi
        # The build's tactic choices: loading the plan on the GPU it was built on times nothing again.
        if grep -Eq 'tactics: [1-9][0-9]* from the plan, 0 timed' <<<"$planbench"; then
            echo "PASS stored tactics: $(grep -Eo 'tactics: [0-9]+ from the plan, 0 timed' <<<"$planbench")" | tee -a "$out/parity.txt"
        else
            echo "FAIL stored tactics: $(grep -Eo 'tactics: .*' <<<"$planbench")" | tee -a "$out/parity.txt"
            status=1
        fi
    fi
    [ "${SKIP_DAEMON:-0}" = 1 ] || "$ROOT/scripts/gpu-daemon-check.sh" "$BUNDLE" "$out" || status=1
    [ "${SKIP_BENCH:-0}" = 1 ] && return $status
    local work=/tmp/unirt-gpu-bench
    python3 bench/gpu-vs-pytorch/iresnet.py export "$work"
    "$unirt" gpu-check --case "$work/iresnet50.onnx=$work/ref-iresnet50" --embedding embedding 2>&1 | tee -a "$out/parity.txt" || status=1
    local precisions=${BENCH_PRECISIONS:-fp32 fp16} int8plan=()
    if [ -d "$BUNDLE/calib/sface" ]; then
        # Random weights: every eligible layer in int8 (no accuracy target), calibrated on the face crops. A
        # random 50-layer network amplifies every rounding difference, so this checks that the int8 path runs
        # and stays near the same int8 graph on the CPU; the accuracy bars are the real SFace's above.
        "$unirt" build "$work/iresnet50.onnx" -o "$work/iresnet50-int8.plan" --device cuda --precision int8 \
            --calib "$BUNDLE/calib/sface" --calib-method mse 2>&1 | tee -a "$out/int8-build.txt" || status=1
        "$unirt" gpu-check --case "$work/iresnet50-int8.plan=$work/ref-iresnet50" --precision int8 --embedding embedding \
            --int8-cosine 0.8 --int8-parity-cosine 0.9 2>&1 | tee -a "$out/parity.txt" || status=1
        precisions="$precisions int8"
        int8plan=(--int8-plan "$work/iresnet50-int8.plan")
    fi
    local batches=${BENCH_BATCHES:-1 8 32 128}
    # shellcheck disable=SC2086
    "$unirt" gpu-bench "$work/iresnet50.onnx" --batch $batches --precision $precisions "${int8plan[@]}" ${BENCH_PROFILE:+--profile} \
        --json | tee "$out/unirt.jsonl"
    # shellcheck disable=SC2086
    if [ "${BENCH_TORCH:-1}" = 1 ]; then
        # shellcheck disable=SC2086
        python3 bench/gpu-vs-pytorch/iresnet.py time "$out/torch.jsonl" --batch $batches \
            --compile-batch ${BENCH_COMPILE_BATCHES:-} || status=1
    else
        : > "$out/torch.jsonl"
    fi
    python3 bench/gpu-vs-pytorch/summarize.py "$(head -1 "$out/gpu.txt" 2>/dev/null || echo unknown)" \
        "$out/unirt.jsonl" "$out/torch.jsonl" --svg "$out/summary.svg" | tee "$out/summary.md"
    return $status
}

case "${1:-}" in
    bundle) bundle ;;
    binary) bundle_binary "$2" ;;
    run) shift; run "$@" ;;
    *) echo "usage: $0 bundle | run [OUTDIR]" >&2; exit 2 ;;
esac
