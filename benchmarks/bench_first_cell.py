"""`%load_ext mlcost_magic` and the first tracked cell right after it (as Run All does it, no
pause), each in a fresh process, against a plain first cell and CodeCarbon's first tracker."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from _common import HEADER, fresh_ledger_env, row

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5

OURS = """
import json, time
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
shell.run_cell("x = 1")  # the shell itself is warm, as in a started kernel
t0 = time.perf_counter(); shell.run_cell("%load_ext mlcost_magic"); t1 = time.perf_counter()
shell.run_cell("%%carbon -q\\npass"); t2 = time.perf_counter()
shell.run_cell("pass"); t3 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "first": t2 - t1, "plain": t3 - t2}))
"""

CODECARBON = """
import json, logging, time
import codecarbon
logging.getLogger("codecarbon").disabled = True
from codecarbon import OfflineEmissionsTracker
t0 = time.perf_counter()
tracker = OfflineEmissionsTracker(country_iso_code="FRA", save_to_file=False, output_methods=[])
tracker.start(); tracker.stop()
print(json.dumps({"first": time.perf_counter() - t0}))
"""


def run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    fresh_ledger_env()
    ours = [run(OURS) for _ in range(REPEATS)]
    codecarbon = [run(CODECARBON)["first"] for _ in range(REPEATS)]
    load_ms = statistics.median(r["load"] for r in ours) * 1e3
    added_ms = statistics.median(r["first"] - r["plain"] for r in ours) * 1e3
    cc_ms = statistics.median(codecarbon) * 1e3
    print(HEADER)
    print(
        row(
            f"`%load_ext mlcost_magic` (median of {REPEATS} fresh processes)",
            f"{load_ms:.0f} ms",
            f"first CodeCarbon tracker {cc_ms:.0f} ms",
            f"{cc_ms / load_ms:.1f}x faster",
            "<= 300 ms",
        )
    )
    print(
        row(
            "added wall time of the first `%%carbon` cell right after it",
            f"{added_ms:.1f} ms",
            f"first CodeCarbon tracker {cc_ms:.0f} ms",
            f"{cc_ms / added_ms:.0f}x faster",
            "<= 50 ms",
        )
    )


if __name__ == "__main__":
    main()
