#!/usr/bin/env bash
# Creates (or refreshes) clients/python/.venv-py: the client's runtime
# dependencies plus pytest, grpcio-tools (protoc for gen-protos.sh) and Pillow
# (the example test), pinned
# in requirements-dev.txt. A stamp records what was installed, so a re-run is instant.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-py"
STAMP="$VENV/.unirt-requirements"
PY="${PYTHON:-python3}"
want="$(cat "$HERE/requirements-dev.txt"; "$PY" -c 'import sys; print("python=" + sys.version.split()[0])')"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
echo "venv: setting up $VENV" >&2
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
    rm -rf "$VENV"
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements-dev.txt"
printf '%s' "$want" >"$STAMP"
