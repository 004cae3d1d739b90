#!/usr/bin/env bash
# Set up everything mlcost-magic needs on a fresh machine, idempotently:
#   scripts/setup.sh            Python venv (.venv) with the package and the tutorial extras
#   scripts/setup.sh test       ... plus the test extras and Debian's chromium (browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="tutorials"
[ "${1:-}" = "test" ] && extras="test"

python_bin="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
stamp=".venv/.mlcost-installed-$extras-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
  touch "$stamp"
fi

if [ "$extras" = "test" ] && [ ! -x /usr/bin/chromium ]; then
  # Debian's Chromium for the JupyterLab browser test (Playwright's own download is not used).
  export DEBIAN_FRONTEND=noninteractive
  for attempt in 1 2 3; do  # a mirror hiccup should not fail a whole CI run
    if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then break; fi
    [ "$attempt" = 3 ] && { echo "could not install Debian's chromium" >&2; exit 1; }
    sleep 10
  done
fi
