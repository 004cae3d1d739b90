#!/usr/bin/env bash
# Set everything up and run the main job: execute the tutorial notebooks headless in a real
# kernel against the embedded default ledger, write executed notebooks, the four-panel figure
# and the HTML report to output/, and print the comparison table. Arguments go to
# mlcost_magic.tutorials (--output DIR, --allow-download, notebook names...).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m mlcost_magic.tutorials --output output "$@"
