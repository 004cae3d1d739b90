"""Holding up over a long day: 5,000 auto-measured cells in one real kernel (jupyter_client).

Prints, against plain cells in the same kernel (auto off) measured at the start and the end:
  * the added time per cell at the start and at the end: medians of 200 round trips with auto
    on and 200 with it off, interleaved in blocks of 20 so that the machine's drift falls on
    both alike, and their ratio (target: the end within 20 % of the start, and at most 1 ms);
  * the kernel's resident memory growth over the 5,000 cells (target: at most 30 MB);
  * the ledger's rows of kind 'cell': all 5,000 present, ended ok, with energy (intact).

    .venv/bin/python benchmarks/bench_soak.py [--cells 5000] [--window 200]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import _common
import psutil


class Kernel(_common.Kernel):
    def __init__(self, ledger: Path):
        super().__init__(ledger)
        self.process = psutil.Process(self.pid)

    def run(self, code: str) -> float:
        """Round-trip seconds of one cell (send to execute reply)."""
        started = time.perf_counter()
        self.execute(code, timeout_s=60)
        return time.perf_counter() - started

    def rss_mb(self) -> float:
        return self.process.memory_info().rss / 1e6


def median_ms(kernel: Kernel, code: str, n: int) -> float:
    return statistics.median(kernel.run(code) for _ in range(n)) * 1e3


BLOCK = 20


def interleaved_ms(kernel: Kernel, window: int) -> tuple[float, float]:
    """(median auto-on round trip, median plain round trip) over `window` cells each; leaves
    auto on. The %carbon auto cells that switch are not measured (auto skips them)."""
    auto, plain = [], []
    for _ in range(max(window // BLOCK, 1)):
        kernel.run("%carbon auto off")
        plain += [kernel.run("x = 1") for _ in range(BLOCK)]
        kernel.run("%carbon auto on")
        auto += [kernel.run("x = 1") for _ in range(BLOCK)]
    return statistics.median(auto) * 1e3, statistics.median(plain) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=5000)
    parser.add_argument("--window", type=int, default=200)
    args = parser.parse_args()
    ledger = Path(tempfile.mkdtemp(prefix="mlcost-bench-soak-")) / "ledger.sqlite"
    kernel = Kernel(ledger)
    try:
        kernel.run("%load_ext mlcost_magic")
        median_ms(kernel, "x = 1", 50)  # warm
        auto_start, plain_start = interleaved_ms(kernel, args.window)
        rss_start = kernel.rss_mb()
        for _ in range(args.cells - 2 * args.window):
            kernel.run("x = 1")
        rss_end = kernel.rss_mb()
        auto_end, plain_end = interleaved_ms(kernel, args.window)
    finally:
        kernel.shutdown()
    with sqlite3.connect(ledger) as conn:
        cells, intact = conn.execute(
            "SELECT count(*), sum(status = 'ok' AND energy_kwh > 0 AND ended_at IS NOT NULL) "
            "FROM runs WHERE kind = 'cell'"
        ).fetchone()
    added_start, added_end = auto_start - plain_start, auto_end - plain_end
    print("| figure | start | end | ratio / value | target |\n|---|---|---|---|---|")
    print(
        f"| added time per auto-measured cell (median of {args.window} round trips, "
        f"against plain cells) | {added_start:.2f} ms ({auto_start:.2f} vs {plain_start:.2f}) "
        f"| {added_end:.2f} ms ({auto_end:.2f} vs {plain_end:.2f}) "
        f"| end/start {added_end / added_start:.2f} | end within 20 % of start; <= 1 ms |"
    )
    print(
        f"| kernel resident memory over {args.cells:,} cells | {rss_start:.1f} MB "
        f"| {rss_end:.1f} MB | +{rss_end - rss_start:.1f} MB | <= +30 MB |"
    )
    print(
        f"| ledger rows of kind 'cell' | | {cells:,} | {intact:,} intact | {args.cells:,} intact |"
    )


if __name__ == "__main__":
    main()
