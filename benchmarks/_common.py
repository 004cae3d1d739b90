"""Helpers shared by the benchmark scripts: a fresh ledger folder and a quiet CodeCarbon."""

from __future__ import annotations

import logging
import os
import statistics
import tempfile


def fresh_ledger_env() -> str:
    folder = tempfile.mkdtemp(prefix="mlcost-bench-")
    os.environ["MLCOST_LEDGER"] = os.path.join(folder, "ledger.sqlite")
    os.environ.setdefault("MLCOST_COUNTRY", "FRA")
    os.chdir(folder)
    return folder


def quiet_codecarbon() -> None:
    import codecarbon  # noqa: F401  (its logger exists only after import)

    logging.getLogger("codecarbon").disabled = True


def median_ms(samples_s: list[float]) -> float:
    return statistics.median(samples_s) * 1e3


def row(metric: str, ours: str, baseline: str, ratio: str, target: str) -> str:
    return f"| {metric} | {ours} | {baseline} | {ratio} | {target} |"


HEADER = "| figure | mlcost-magic | baseline | ratio | target |\n|---|---|---|---|---|"
