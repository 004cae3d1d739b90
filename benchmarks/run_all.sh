#!/usr/bin/env bash
# Run every benchmark and print the rows of README's "Speed" table (about 10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
for bench in bench_cell_overhead bench_first_cell bench_idle_cpu bench_table bench_whatif bench_panel bench_soak bench_mlflow; do
  echo "## $bench"
  .venv/bin/python "benchmarks/$bench.py"
  echo
done
