#!/usr/bin/env bash
# Set up (idempotently) and run LANCE's main job on the embedded default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
.venv/bin/lance generate "What is the capital of France?" --temperature 0 --max-tokens 32 --usage
