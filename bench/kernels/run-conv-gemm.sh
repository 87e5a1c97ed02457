#!/bin/sh
# Builds the convolution-GEMM benchmark against the kernel sources and
# OpenBLAS, then runs it: bench/kernels/run-conv-gemm.sh [repetitions]
set -e
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${TMPDIR:-/tmp}/unirt-conv-gemm-bench
clang -O3 -fno-strict-aliasing -I"$root/Sources/CUnirtKernels/include" \
    "$root"/Sources/CUnirtKernels/*.c "$root/bench/kernels/conv_gemm_bench.c" \
    -lopenblas -lpthread -lm -o "$out"
"$out" "$@"
