#!/usr/bin/env bash
# Keep the tutorial notebooks and their sources in step (jupytext, percent format).
#
# Each notebooks/NN_name.ipynb is paired with notebooks/NN_name.py: edit the .py (or the
# notebook in JupyterLab with jupytext installed, which saves both), run this script, and
# commit both files. jupytext --sync takes the newer file of each pair and rewrites the other
# (keeping cell ids); the notebooks are then stripped of outputs, execution counts and saved
# widget state, as they are committed. tests/test_notebooks.py fails when a pair disagrees.
# A new tutorial: write notebooks/NN_name.py with the same header as the others, run this.
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/jupytext --sync notebooks/*.py
if [ -x .venv/bin/ruff ]; then
  # The lint test runs ruff format on the sources; jupytext's blank lines between cells do
  # not always match it. Reformat, then sync again so the notebooks take any change.
  .venv/bin/ruff format --quiet notebooks/*.py
  .venv/bin/jupytext --quiet --sync notebooks/*.py
fi

.venv/bin/python - notebooks/*.ipynb <<'EOF'
import sys

import nbformat

for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    changed = notebook.metadata.pop("widgets", None) is not None
    for cell in notebook.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            cell.outputs, cell.execution_count, changed = [], None, True
    if changed:
        nbformat.write(notebook, path)
        print(f"stripped outputs from {path}")
EOF
