#!/usr/bin/env bash
# Face verification demo over the unirt CLI: YuNet detection, alignment, batched
# SFace embeddings, cosine similarity of a same-person and a different-person pair.
#
#   scripts/demo.sh [PHOTO ...]
#
# UNIRT selects the CLI (default .build/release/unirt, built with `swift build -c
# release` when missing). To check the pipeline against ONNX Runtime instead:
#   UNIRT=".venv/bin/python scripts/ort-run.py" scripts/demo.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/venv.sh
bash scripts/fetch-models.sh >/dev/null

if [ -z "${UNIRT:-}" ]; then
    UNIRT="$ROOT/.build/release/unirt"
    if [ ! -x "$UNIRT" ]; then
        if command -v swift >/dev/null 2>&1 && [ -f Package.swift ]; then
            echo "demo: building unirt (swift build -c release)"
            swift build -c release --product unirt
        else
            echo "demo: $UNIRT not found and no Swift toolchain to build it;" >&2
            echo "      set UNIRT, e.g. UNIRT=\".venv/bin/python scripts/ort-run.py\" $0" >&2
            exit 1
        fi
    fi
fi
export UNIRT

exec "$ROOT/.venv/bin/python" scripts/demo.py "$@"
