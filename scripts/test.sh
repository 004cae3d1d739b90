#!/usr/bin/env bash
# Set everything up on a fresh machine and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
mkdir -p test-artifacts
exec timeout 1500 .venv/bin/python -m pytest -p no:cacheprovider "$@"
