#!/usr/bin/env bash
# Set up (idempotently) and run the test suite. Extra arguments go to pytest,
# e.g. `bash scripts/test.sh --runslow` for the slow, opt-in checks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
exec .venv/bin/python -m pytest -q "$@"
