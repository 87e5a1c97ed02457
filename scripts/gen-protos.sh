#!/usr/bin/env bash
# Regenerates the protobuf-c code committed under Sources/ from Protos/.
# With --check, regenerates into a temporary folder and fails when the
# committed code differs (stale generated code).
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
[[ "${1:-}" == "--check" ]] && check=1

if ! command -v protoc-c >/dev/null; then
  echo "gen-protos: protoc-c not installed; skipping" >&2
  exit 0
fi

gen() { # proto_dir proto_file c_target
  local out="$1"
  local tmp; tmp=$(mktemp -d)
  protoc-c --proto_path=Protos --c_out="$tmp" "$2"
  local base; base=$(basename "$2" .proto)
  local sub; sub=$(dirname "$2")
  # Flatten into the C target layout: header under include/, source beside it.
  sed -e "s|#include \"$sub/$base.pb-c.h\"|#include \"$base.pb-c.h\"|" \
    "$tmp/$sub/$base.pb-c.c" > "$tmp/$base.pb-c.c.fixed"
  if [[ $check == 1 ]]; then
    cmp -s "$tmp/$base.pb-c.c.fixed" "$out/$base.pb-c.c" &&
      cmp -s "$tmp/$sub/$base.pb-c.h" "$out/include/$base.pb-c.h" || {
        echo "gen-protos: generated code for $2 is stale; run scripts/gen-protos.sh" >&2
        rm -rf "$tmp"; exit 1; }
  else
    mkdir -p "$out/include"
    cp "$tmp/$base.pb-c.c.fixed" "$out/$base.pb-c.c"
    cp "$tmp/$sub/$base.pb-c.h" "$out/include/$base.pb-c.h"
  fi
  rm -rf "$tmp"
}

gen Sources/COnnxProto onnx/onnx.proto
gen Sources/CUnirtProto unirt/v1/unirt.proto
