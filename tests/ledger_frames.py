"""Frames shaped like ``Ledger.read_runs()`` for the pure unit tests (metrics, plots, panel)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from mlcost_magic.compare.tradeoffs import FIXED_COLUMNS

XSS_LABEL = "<img src=x onerror=alert(1)>"

# What Session.describe() returns, for tests of the panel footer and the report.
DESCRIPTION = {
    "method": "estimate:tdp-4W/thread",
    "country_iso_code": "FRA",
    "country_name": "France",
    "carbon_intensity_g_per_kwh": 56.0,
    "intensity_source": "codecarbon:global_energy_mix",
    "pue": 1.0,
    "cpu_power_w_per_thread": 4.0,
    "ram_power_w_per_gb": 0.3725,
    "cpu_model": "Test CPU",
    "ledger_path": "/tmp/ledger.sqlite",
    "session_id": "s1",
}

_DEFAULTS = {
    "session_id": "s1",
    "kind": "training",
    "status": "ok",
    "cpu_seconds": 1.0,
    "ram_gb": 2.0,
    "cpu_energy_kwh": 0.0,
    "ram_energy_kwh": 0.0,
    "gpu_energy_kwh": 0.0,
    "carbon_intensity_g_per_kwh": 56.0,
    "intensity_source": "codecarbon:global_energy_mix",
    "country_iso_code": "FRA",
    "country_name": "France",
    "pue": 1.0,
    "method": "estimate:tdp-4W/thread",
    "cpu_power_w_per_thread": 4.0,
    "ram_power_w_per_gb": 0.375,
    "hostname": "testhost",
    "cpu_model": "Test CPU @ 2GHz",
    "cpu_count": 2,
    "gpu_model": None,
    "inferences": None,
    "error": None,
}


def make_frame(runs: Iterable[Mapping], metrics: Iterable[str] = ()) -> pd.DataFrame:
    """One row per run dict; needs label, emissions_kg (energy and duration derive if absent).

    Metric columns listed in ``metrics`` are created (NaN where a run did not log them).
    """
    rows = []
    start = pd.Timestamp("2025-01-01T12:00:00Z")
    for number, run in enumerate(runs):
        row = dict(_DEFAULTS)
        row["run_id"] = f"r{number}"
        row["duration_s"] = 10.0 + number
        row["started_at"] = start + pd.Timedelta(minutes=number)
        row.update(run)
        row.setdefault("energy_kwh", row["emissions_kg"] / 0.056)
        row["ended_at"] = row["started_at"] + pd.Timedelta(seconds=row["duration_s"])
        row.setdefault("tags", {})
        rows.append(row)
    columns = list(FIXED_COLUMNS)
    metrics = list(metrics)
    frame = pd.DataFrame(rows, columns=columns + metrics)
    frame["inferences"] = frame["inferences"].astype("Int64")
    for name in metrics:
        frame[name] = frame[name].astype(float)
    return frame


def random_frame(n_runs: int, n_labels: int = 10, seed: int = 0) -> pd.DataFrame:
    """A plausible ledger of ``n_runs`` runs over ``n_labels`` labels with an accuracy metric."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = [f"model-{i}" for i in range(n_labels)]
    runs = []
    for number in range(n_runs):
        label_number = number % n_labels
        emissions_kg = 1e-6 * (1 + label_number) * rng.uniform(0.8, 1.2)
        runs.append(
            {
                "label": labels[label_number],
                "emissions_kg": emissions_kg,
                "duration_s": 5.0 * (1 + label_number) * rng.uniform(0.8, 1.2),
                "accuracy": min(0.99, 0.7 + 0.03 * label_number + rng.normal(0, 0.01)),
            }
        )
    return make_frame(runs, metrics=["accuracy"])
