#!/usr/bin/env bash
# Install (if needed) and run the whole test suite offline.
set -euo pipefail
cd "$(dirname "$0")/.."
# The OCR and Milvus extras too, so that their tests run (OCR about 300 MB: docs/ocr.md; Milvus: docs/deploy.md).
bash scripts/setup.sh test,ui,ocr,milvus
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest "$@"
