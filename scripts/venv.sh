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
want="$(printf '%s\npython=%s\n' "$REQUIREMENTS" "$("$PY" -c 'import sys; print(sys.version.split()[0])')")"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

echo "venv: setting up $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
req="$(mktemp)"
trap 'rm -f "$req"' EXIT
printf '%s\n' "$REQUIREMENTS" >"$req"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$VENV/bin/python" -c 'import numpy, onnx, onnxruntime, PIL' 
printf '%s' "$want" >"$STAMP"
echo "venv: ready ($("$VENV/bin/python" -c 'import numpy, onnx, onnxruntime, PIL; print("numpy", numpy.__version__, "onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "pillow", PIL.__version__)'))"
