"""`%carbon whatif` on a 10,000-run ledger, against a plain pandas groupby mean of the same runs."""

from __future__ import annotations

import contextlib
import io
import sys
import time

from _common import HEADER, fresh_ledger_env, median_ms, row
from bench_table import fill

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def main() -> None:
    fresh_ledger_env()
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "mlcost_magic")
    fill(shell, RUNS)
    session = shell._mlcost_magics.session

    ours, read, mean = [], [], []
    for _ in range(7):
        with contextlib.redirect_stdout(io.StringIO()):  # the sentence and the sources
            start = time.perf_counter()
            frame = shell.run_line_magic("carbon", "whatif --all")
            ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        rows = session.read_runs(all_sessions=True)
        read.append(time.perf_counter() - start)
        start = time.perf_counter()
        rows.groupby("label", sort=False)[["energy_kwh", "emissions_kg"]].mean()
        mean.append(time.perf_counter() - start)
    assert int(frame["runs"].sum()) == RUNS, frame
    plain = median_ms(read) + median_ms(mean)
    print(HEADER)
    print(
        row(
            f"`%carbon whatif --all` (8 default locations) on a {RUNS:,}-run ledger (median of 7)",
            f"{median_ms(ours):.0f} ms",
            f"`read_runs()` {median_ms(read):.0f} ms + pandas groupby mean "
            f"{median_ms(mean):.1f} ms",
            f"{median_ms(ours) / plain:.1f}x plain read + mean",
            "<= 300 ms",
        )
    )


if __name__ == "__main__":
    main()
