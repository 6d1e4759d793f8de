#!/usr/bin/env bash
# Install, index the shipped article, answer a sample question, then start the chat UI
# on http://127.0.0.1:7860 (offline; Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,ui
export GRADIO_ANALYTICS_ENABLED=False
export HF_HUB_OFFLINE=1
.venv/bin/rag index
.venv/bin/rag ask "湖北人工智能产业规模到2025年超过多少?"
exec .venv/bin/rag serve
