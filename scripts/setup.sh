#!/usr/bin/env bash
# Create .venv (Python 3.11) and install the project with pinned dependencies.
# Idempotent: a second run only checks. Usage: bash scripts/setup.sh [extras, e.g. test]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=${1:-test,ui}
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras//,/_}"
if [ ! -f "$stamp" ]; then
  # torch first and pinned: the CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
  .venv/bin/pip install -q "torch==2.13.0"
  .venv/bin/pip install -q -e ".[${extras}]"
  touch "$stamp"
fi
