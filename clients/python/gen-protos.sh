#!/usr/bin/env bash
# Regenerates unirt_client/unirt_pb2.py from Protos/unirt/v1/unirt.proto with
# grpcio-tools' protoc (in .venv-py). With --check, fails when the committed
# file differs from what the proto produces.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROTOS="$HERE/../../Protos/unirt/v1"
"$HERE/venv.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$HERE/.venv-py/bin/python" -m grpc_tools.protoc -I "$PROTOS" --python_out="$tmp" "$PROTOS/unirt.proto"
if [ "${1:-}" = "--check" ]; then
    cmp -s "$tmp/unirt_pb2.py" "$HERE/unirt_client/unirt_pb2.py" || {
        echo "gen-protos: unirt_client/unirt_pb2.py is stale; run clients/python/gen-protos.sh" >&2
        exit 1
    }
else
    cp "$tmp/unirt_pb2.py" "$HERE/unirt_client/unirt_pb2.py"
fi
