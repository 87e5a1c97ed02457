#!/usr/bin/env bash
# The face verification demo (scripts/demo.py) through the daemon: starts unirtd
# on a temporary socket with the shipped model repository (Config/unirtd.toml:
# detector, recognizer, portrait), runs the pipeline with the Python client,
# then stops the daemon (SIGTERM: drain and exit).
#
#   scripts/demo-daemon.sh [PHOTO ...]
#
# UNIRTD selects the daemon binary (default .build/release/unirtd, built when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/venv.sh
bash scripts/fetch-models.sh >/dev/null

UNIRTD="${UNIRTD:-$ROOT/.build/release/unirtd}"
if [ ! -x "$UNIRTD" ]; then
    echo "demo: building unirtd (swift build -c release --product unirtd)"
    swift build -c release --product unirtd
fi

tmp="$(mktemp -d /tmp/unirt-demo-daemon.XXXXXX)"
sock="$tmp/unirtd.sock"
"$UNIRTD" --config Config/unirtd.toml --socket "$sock" 2>"$tmp/unirtd.log" &
pid=$!
stop() {
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" || echo "demo: unirtd exited with $?; log: $tmp/unirtd.log" >&2
    fi
    rm -rf "$tmp"
}
trap stop EXIT

status=0
"$ROOT/.venv/bin/python" scripts/demo.py --daemon "$sock" "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "demo: unirtd log:" >&2
    cat "$tmp/unirtd.log" >&2
fi
exit "$status"
