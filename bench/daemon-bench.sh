#!/usr/bin/env bash
# Daemon benchmarks against the bars of the daemon issue: empty round trip,
# recognizer batch-1 latency through unirtd vs in-process, throughput with 32
# clients vs the best offline batch, and a 150 KB shared-memory tensor vs an
# empty request. Results (with the machine description) go to
# bench/results/daemon-<date>.json and .md.
#   bench/daemon-bench.sh [--duration SECONDS]
# BIN selects the folder with unirt and unirtd (default .build/release).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/venv.sh
bash scripts/fetch-models.sh >/dev/null
exec .venv/bin/python bench/daemon_bench.py --bin "${BIN:-$ROOT/.build/release}" "$@"
