#!/usr/bin/env bash
# Builds bench/kernels/int8_conv_harness.cu against the int8 kernels as unirt compiles them (the source
# string of Sources/UnirtCUDA/CUDAKernelSource+Int8.swift) and runs it: bench/kernels/run-int8-conv.sh [batch].
# Needs nvcc and a GPU of compute capability 9.0 (the wgmma kernels are sm_90a).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
sed -n '/^struct QGeom/,/^"""#/p' Sources/UnirtCUDA/CUDAKernelSource+Int8.swift | sed '$d' > "$work/int8_conv_kernels.cuh"
cp bench/kernels/int8_conv_harness.cu "$work/"
nvcc -O3 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -diag-suppress 177 -o "$work/int8_conv_harness" "$work/int8_conv_harness.cu" -lcuda
"$work/int8_conv_harness" "${1:-128}"
