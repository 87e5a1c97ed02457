#!/usr/bin/env bash
# Create (or refresh) the Python environment the fixture, reference and demo
# scripts run in: <repo>/.venv with pinned numpy, onnx, onnxruntime and pillow.
# A stamp file records what was installed, so a re-run is instant.
# Usage: scripts/venv.sh            (then use .venv/bin/python)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.unirt-requirements"

REQUIREMENTS="numpy==2.4.6
onnx==1.23.2
onnxruntime==1.32.0
pillow==12.0.0"

PY="${PYTHON:-python3}"
version='import sys; print(sys.version.split()[0])'
pyver="$("$PY" -c "$version")"
want="$(printf '%s\npython=%s\n' "$REQUIREMENTS" "$pyver")"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

echo "venv: setting up $VENV"
# A venv made by another Python (or broken) is rebuilt from scratch.
if [ -e "$VENV" ] && [ "$("$VENV/bin/python" -c "$version" 2>/dev/null || true)" != "$pyver" ]; then
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
req="$(mktemp)"
trap 'rm -f "$req"' EXIT
printf '%s\n' "$REQUIREMENTS" >"$req"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
printf '%s' "$want" >"$STAMP"
echo "venv: ready ($("$VENV/bin/python" -c 'import numpy, onnx, onnxruntime, PIL; print("numpy", numpy.__version__, "onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "pillow", PIL.__version__)'))"
