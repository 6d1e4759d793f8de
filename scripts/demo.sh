#!/usr/bin/env bash
# Install, index the shipped article and answer a sample question (offline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export HF_HUB_OFFLINE=1
.venv/bin/rag index
.venv/bin/rag ask "湖北人工智能产业规模到2025年超过多少?"
