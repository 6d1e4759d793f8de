#!/usr/bin/env bash
# The soak test of rag serve (issue #21): 50 clients x 40 questions with uploads and deletions on
# loopback; writes docs/bench/soak.json and exits non-zero on any error, 5xx, traceback, answer
# citing a deleted document, or lost document. About 10 minutes on an idle 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python scripts/soak.py --clients "${CLIENTS:-50}" --questions "${QUESTIONS:-40}" \
    --rounds "${ROUNDS:-10}" --json "${OUT:-docs/bench/soak.json}" "$@"
