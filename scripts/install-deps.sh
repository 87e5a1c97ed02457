#!/usr/bin/env bash
# Install the Debian packages unirt builds and tests against.
# Installs only what `dpkg -s` reports missing; runs `apt-get update` only then.
set -euo pipefail

PACKAGES=(libuv1-dev libprotobuf-c-dev protobuf-c-compiler libopenblas-dev python3-venv)

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
else
    SUDO=(sudo)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# `python3 -m venv` needs ensurepip; Debian's python3 only has it with python3-venv
# (or python3.X-venv). A python3 from elsewhere (pyenv, a toolchain image) may
# already have it.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    echo "install-deps: python3 lacks ensurepip; installing python${pyver}-venv"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "python${pyver}-venv"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if ! python3 -m venv --without-pip "$tmp/v" >/dev/null 2>&1; then
    echo "install-deps: 'python3 -m venv' does not work with $(command -v python3)" >&2
    exit 1
fi
