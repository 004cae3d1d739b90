"""Added wall time of a warm `%%carbon -q` cell around `pass` (median of N cells), against a
plain cell (with and without a `%carbon budget` set) and against a new CodeCarbon
OfflineEmissionsTracker start/stop, in the same run."""

from __future__ import annotations

import sys
import time

from _common import HEADER, fresh_ledger_env, median_ms, quiet_codecarbon, row

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def time_cells(shell, source: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        shell.run_cell(source, store_history=True)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    fresh_ledger_env()
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "mlcost_magic")
    time_cells(shell, "%%carbon -q\npass", 20)  # warm
    plain, tracked = [], []
    for _ in range(N // 50):  # interleave so drift hits both alike
        plain += time_cells(shell, "pass", 50)
        tracked += time_cells(shell, "%%carbon -q\npass", 50)
    added_ms = median_ms(tracked) - median_ms(plain)
    shell.run_line_magic("carbon", "budget 1kg")  # the summary then says how much is used
    plain_b, budgeted = [], []
    for _ in range(N // 50):
        plain_b += time_cells(shell, "pass", 50)
        budgeted += time_cells(shell, "%%carbon -q\npass", 50)
    budget_ms = median_ms(budgeted) - median_ms(plain_b)

    quiet_codecarbon()
    from codecarbon import OfflineEmissionsTracker

    def codecarbon_run() -> float:
        start = time.perf_counter()
        tracker = OfflineEmissionsTracker(
            country_iso_code="FRA", save_to_file=False, output_methods=[], log_level="error"
        )
        tracker.start()
        tracker.stop()
        return time.perf_counter() - start

    for _ in range(5):
        codecarbon_run()  # warm: CPU detection done once per process
    cc_ms = median_ms([codecarbon_run() for _ in range(max(N // 3, 100))])

    print(HEADER)
    print(
        row(
            f"added wall time, warm `%%carbon -q` around `pass` (median of {len(tracked)})",
            f"{added_ms:.3f} ms",
            f"plain cell {median_ms(plain):.3f} ms",
            f"{(median_ms(plain) + added_ms) / median_ms(plain):.2f}x plain cell",
            "<= 1 ms",
        )
    )
    print(
        row(
            "same, with a `%carbon budget` set",
            f"{budget_ms:.3f} ms",
            f"plain cell {median_ms(plain_b):.3f} ms",
            f"{budget_ms - added_ms:+.3f} ms against no budget",
            "<= 1 ms",
        )
    )
    print(
        row(
            "same, against a new CodeCarbon OfflineEmissionsTracker start/stop",
            f"{added_ms:.3f} ms",
            f"{cc_ms:.2f} ms",
            f"{cc_ms / added_ms:.1f}x less than CodeCarbon",
            ">= 5x less",
        )
    )


if __name__ == "__main__":
    main()
