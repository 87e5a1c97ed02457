#!/usr/bin/env bash
# Runs the Python client's tests against the real daemon (.build/release/unirtd,
# or $UNIRTD). Creates the venv on first use, checks that the generated
# unirt_pb2.py matches the proto, and exits non-zero on any failure, including
# pytest collecting no tests (its exit status 5).
#   clients/python/run-tests.sh [PYTEST ARGS...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
./venv.sh
./gen-protos.sh --check
status=0
.venv-py/bin/python -m pytest -q -p no:cacheprovider "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "python client: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
